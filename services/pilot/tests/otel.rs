//! The OpenTelemetry trace export (`--features otel`): a `pilot serve` pointed at a collector
//! sends it, over OTLP/HTTP in protobuf, a span for an HTTP request it served, from service
//! `pilot`. The collector is this test's: a listener on 127.0.0.1 that decodes what arrives.
//! Run: `cargo test -p pilot-service --features otel --test otel`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use pilot_nats_harness::NatsServer;
use prost::Message;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;

use common::process::PilotProcess;

type Received = Arc<Mutex<Vec<ExportTraceServiceRequest>>>;

/// The collector's one endpoint: decodes the export, keeps it, answers as a collector does.
async fn traces(State(received): State<Received>, body: Bytes) -> Vec<u8> {
    let request = ExportTraceServiceRequest::decode(body).unwrap();
    received.lock().unwrap().push(request);
    ExportTraceServiceResponse::default().encode_to_vec()
}

fn text(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(s) => Some(s.clone()),
            _ => None,
        }
    })
}

/// (service.name, span name, span `uri` attribute) of every span received so far.
fn spans(received: &Received) -> Vec<(Option<String>, String, Option<String>)> {
    let mut out = Vec::new();
    for request in received.lock().unwrap().iter() {
        for resource_spans in &request.resource_spans {
            let service = resource_spans
                .resource
                .as_ref()
                .and_then(|r| text(&r.attributes, "service.name"));
            for scope in &resource_spans.scope_spans {
                for span in &scope.spans {
                    out.push((
                        service.clone(),
                        span.name.clone(),
                        text(&span.attributes, "uri"),
                    ));
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn ops_otel_a_request_span_reaches_the_collector_as_service_pilot() {
    let received = Received::default();
    let collector = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", collector.local_addr().unwrap());
    let app = axum::Router::new()
        .route("/v1/traces", post(traces))
        .with_state(received.clone());
    tokio::spawn(async move { axum::serve(collector, app).await });

    let server = NatsServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut pilot = PilotProcess::serve(
        &[
            "--nats",
            &server.url(),
            "--data-dir",
            data.to_str().unwrap(),
            "--otlp-endpoint",
            &endpoint,
        ],
        &[],
        &dir.path().join("stderr.log"),
    );
    let ready = pilot.wait_for_url();
    let host = ready
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap();
    let path = "/api/v1/pilots?traced=1";
    let _ = reqwest::get(format!("http://{host}{path}")).await.unwrap();

    // The batch goes out within its 5 s delay; a stop sends what is left.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !spans(&received)
        .iter()
        .any(|s| s.2.as_deref() == Some(path))
    {
        if Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let found = spans(&received);
    let request = found
        .iter()
        .find(|s| s.2.as_deref() == Some(path))
        .unwrap_or_else(|| panic!("no span for {path} among {found:?}\n{}", pilot.stderr()));
    assert_eq!(request.0.as_deref(), Some("pilot"), "{request:?}");
    assert_eq!(request.1, "request", "{request:?}");
    assert!(pilot.terminate().success(), "{}", pilot.stderr());
}
