//! Traces to an OpenTelemetry collector (feature `otel`): every `tracing` span (the HTTP
//! request spans, the projector's and the alerter's) becomes an OTLP span, sent over HTTP in
//! protobuf to `<endpoint>/v1/traces` in batches from the exporter's own thread, so a slow or
//! absent collector never holds up a request: its spans are dropped when the batch queue is full.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use std::time::Duration;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// The `service.name` traces carry unless `OTEL_SERVICE_NAME` names another (one per process
/// of a deployment, say).
pub const SERVICE_NAME: &str = "pilot";
/// The standard variable for the service name.
const SERVICE_NAME_VAR: &str = "OTEL_SERVICE_NAME";
/// How long the last spans may take to leave at exit.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// The running export; dropping it sends what is still queued.
#[derive(Debug)]
pub struct Traces {
    provider: SdkTracerProvider,
}

impl Drop for Traces {
    fn drop(&mut self) {
        if let Err(error) = self.provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT) {
            // The logger may be gone by now; stderr is not.
            eprintln!("pilot: the last traces could not be sent: {error}");
        }
    }
}

/// The spans sent: INFO and above, whatever `RUST_LOG` keeps in the log.
pub fn filter() -> LevelFilter {
    LevelFilter::INFO
}

/// The OTLP exporter refused its settings (a bad URL, say).
#[derive(Debug, thiserror::Error)]
#[error("cannot send traces to {endpoint}: {message} (check --otlp-endpoint, PILOT_OTLP_ENDPOINT, otlp_endpoint or OTEL_EXPORTER_OTLP_ENDPOINT)")]
pub struct ExporterError {
    endpoint: String,
    message: String,
}

/// The layer that turns spans into OTLP spans, and the export behind it. `endpoint` is the
/// collector's base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT` gives it.
pub fn layer<S>(endpoint: &str) -> Result<(impl Layer<S>, Traces), ExporterError>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span>,
{
    let url = traces_url(endpoint);
    let exporter = SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url.clone())
        .build()
        .map_err(|error| ExporterError {
            endpoint: url,
            message: error.to_string(),
        })?;
    let service = std::env::var(SERVICE_NAME_VAR)
        .ok()
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| SERVICE_NAME.to_string());
    let resource = Resource::builder()
        .with_service_name(service)
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build();
    let tracer = provider.tracer(SERVICE_NAME);
    let layer = tracing_opentelemetry::layer().with_tracer(tracer);
    Ok((layer, Traces { provider }))
}

/// `<base>/v1/traces`, as the SDKs derive it from `OTEL_EXPORTER_OTLP_ENDPOINT`; a URL that
/// names the path already is kept.
fn traces_url(endpoint: &str) -> String {
    let base = endpoint.trim().trim_end_matches('/');
    if base.ends_with("/v1/traces") {
        base.to_string()
    } else {
        format!("{base}/v1/traces")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_traces_path_is_added_once() {
        for (given, url) in [
            ("http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/traces"),
            ("http://otel:4318/", "http://otel:4318/v1/traces"),
            ("http://otel:4318/v1/traces", "http://otel:4318/v1/traces"),
            ("http://gw/otlp", "http://gw/otlp/v1/traces"),
        ] {
            assert_eq!(traces_url(given), url, "{given}");
        }
    }
}
