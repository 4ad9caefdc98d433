//! `pilot serve` on a real 3-node JetStream cluster: every stream and the checkpoint store
//! on three servers, read-your-writes across API processes on different nodes, and a start
//! refused, with the reason, when the servers cannot place the replicas asked for. The faults are
//! `cluster_faults.rs`'s.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use common::process::{serve_must_exit, PilotProcess};
use pilot_nats_harness::{NatsCluster, NatsServer};
use pilot_store::layout::{Layout, CHECKPOINT_BUCKET};
use serde_json::{json, Value};
use std::path::Path;

const TOKEN: &str = "cluster-test-admin-token-0123456789abcdef";

fn r3_config(dir: &Path) -> String {
    let path = dir.join("pilot.toml");
    std::fs::write(&path, "[nats]\nreplicas = 3\n").unwrap();
    path.to_str().unwrap().to_owned()
}

fn serve(dir: &Path, name: &str, nats: &str, config: &str) -> (PilotProcess, String) {
    let data = dir.join(name);
    let args = [
        "--nats",
        nats,
        "--config",
        config,
        "--data-dir",
        data.to_str().unwrap(),
        "--consumer",
        name,
        "--only",
        "api",
    ];
    let stderr = dir.join(format!("{name}.stderr.log"));
    let mut process = PilotProcess::serve(&args, &[("PILOT_ADMIN_TOKEN", TOKEN)], &stderr);
    let url = process.wait_for_url();
    let origin = url.trim_end_matches("/api/v1/pilots").to_owned();
    (process, origin)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_stream_has_three_replicas_and_a_write_is_read_back_through_another_node() {
    let cluster = NatsCluster::start(3).unwrap();
    let temp = tempfile::tempdir().unwrap();
    let config = r3_config(temp.path());
    let urls = cluster.url_list();
    // Two API processes, each given its own node first.
    let first = format!("{},{},{}", urls[0], urls[1], urls[2]);
    let second = format!("{},{},{}", urls[1], urls[2], urls[0]);
    let (mut one, one_origin) = serve(temp.path(), "api-1", &first, &config);
    let (mut two, two_origin) = serve(temp.path(), "api-2", &second, &config);

    let client = async_nats::connect(urls[2].as_str()).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let mut streams: Vec<String> = Layout::default()
        .configs()
        .into_iter()
        .map(|c| c.name)
        .collect();
    streams.push(format!("OBJ_{CHECKPOINT_BUCKET}"));
    for name in &streams {
        let mut stream = js.get_stream(name).await.unwrap();
        let info = stream.info().await.unwrap();
        assert_eq!(info.config.num_replicas, 3, "{name}");
        let cluster_info = info.cluster.as_ref().unwrap();
        assert!(cluster_info.leader.is_some(), "{name} has no leader");
        assert_eq!(cluster_info.replicas.len(), 2, "{name}: {cluster_info:?}");
    }

    // Written through api-1, read through api-2 at once, with the position api-1 answered.
    let http = reqwest::Client::new();
    let pilot = "01950000-00c1-7000-8000-000000000001";
    let draft = json!({
        "type": "pilot.proposed",
        "pilot_id": pilot,
        "occurred_at": "2024-01-01T09:00:00+08:00",
        "actor": {"office": "SSDNC", "user": "clerk"},
        "data": {
            "title": "Read back through another node",
            "jurisdiction": "Nanguo",
            "policy_area": "health insurance",
            "level": "municipal",
            "problem_frame": "Whether min_position holds across processes."
        }
    });
    let answer: Value = http
        .post(format!("{one_origin}/api/v1/events"))
        .bearer_auth(TOKEN)
        .json(&draft)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let position = answer["position"]
        .as_u64()
        .unwrap_or_else(|| panic!("{answer}"));
    let response = http
        .get(format!(
            "{two_origin}/api/v1/pilots/{pilot}?min_position={position}"
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let view: Value = response.json().await.unwrap();
    assert!(
        view.to_string().contains("Read back through another node"),
        "{view}"
    );

    for process in [&mut one, &mut two] {
        assert_eq!(process.terminate().code(), Some(0), "{}", process.stderr());
    }
}

#[test]
fn three_replicas_on_a_single_server_are_refused_with_the_reason() {
    let server = NatsServer::start().unwrap();
    let temp = tempfile::tempdir().unwrap();
    let config = r3_config(temp.path());
    let data = temp.path().join("data");
    let (code, stderr) = serve_must_exit(
        &[
            "--nats",
            &server.url(),
            "--config",
            &config,
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &[("PILOT_ADMIN_TOKEN", TOKEN)],
    );
    assert_ne!(code, Some(0), "{stderr}");
    assert!(stderr.contains("replicas = 3"), "{stderr}");
    assert!(stderr.contains("not part of a cluster"), "{stderr}");
}

#[test]
fn five_replicas_on_three_servers_are_refused_with_the_reason() {
    let cluster = NatsCluster::start(3).unwrap();
    let temp = tempfile::tempdir().unwrap();
    let config = temp.path().join("pilot.toml");
    std::fs::write(&config, "[nats]\nreplicas = 5\n").unwrap();
    let data = temp.path().join("data");
    let (code, stderr) = serve_must_exit(
        &[
            "--nats",
            &cluster.urls(),
            "--config",
            config.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &[("PILOT_ADMIN_TOKEN", TOKEN)],
    );
    assert_ne!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("cannot place stream PILOT_EVENTS with 5 replicas"),
        "{stderr}"
    );
    assert!(stderr.contains("start the missing nodes"), "{stderr}");
}
