//! A NATS server that takes only TLS clients, with a private CA made in the test: pilot
//! reaches it through the `[nats] tls_ca_file` setting, and a client that does not trust that
//! CA is refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use common::process::PilotProcess;
use pilot_nats::NatsConfig;
use pilot_nats_harness::{NatsServer, ServerOptions};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Writes a CA certificate and a server certificate for 127.0.0.1 signed by it into `dir`:
/// (ca.pem, server.pem, server-key.pem).
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "pilot-tracker test CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let paths = (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server-key.pem"),
    );
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, server.pem()).unwrap();
    std::fs::write(&paths.2, key.serialize_pem()).unwrap();
    paths
}

#[tokio::test]
async fn a_tls_only_server_is_reached_with_the_configured_ca_and_refuses_others() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = certificates(dir.path());
    let config = format!(
        "tls {{\n  cert_file: \"{}\"\n  key_file: \"{}\"\n  timeout: 2\n}}\n",
        cert.display(),
        key.display()
    );
    let server = NatsServer::start_with(ServerOptions::default().config(config)).unwrap();
    let url = format!("tls://127.0.0.1:{}", server.port());

    // Without the CA the server's certificate is not trusted: no connection.
    let untrusted = tokio::time::timeout(Duration::from_secs(10), async_nats::connect(&url)).await;
    assert!(
        matches!(untrusted, Ok(Err(_))),
        "a client without the CA connected"
    );
    // Nor in plain text: the server requires TLS.
    let plain = async_nats::ConnectOptions::new()
        .connect(format!("nats://127.0.0.1:{}", server.port()))
        .await;
    assert!(plain.is_err(), "a plain-text client connected");

    // With `[nats] tls_ca_file` it is.
    let nats = NatsConfig {
        tls_ca_file: Some(ca.clone()),
        tls_required: true,
        ..NatsConfig::default()
    };
    let options = pilot_nats::connect_options(&nats).await.unwrap();
    options.connect(&url).await.unwrap();

    // And so is `pilot serve`, from its configuration file.
    let file = dir.path().join("pilot.toml");
    std::fs::write(
        &file,
        format!(
            "[nats]\nurl = \"{url}\"\ntls_required = true\ntls_ca_file = \"{}\"\n",
            ca.display()
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let mut pilot = PilotProcess::serve(
        &[
            "--config",
            file.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
            "--demo",
        ],
        &[],
        &dir.path().join("pilot.stderr.log"),
    );
    let ready = pilot.wait_for_url();
    let pilots = reqwest::get(&ready).await.unwrap().text().await.unwrap();
    assert!(
        pilots.contains("Nanguo") || pilots.contains("HICI"),
        "{pilots}"
    );
    let status = pilot.terminate();
    assert_eq!(status.code(), Some(0), "{}", pilot.stderr());
}
