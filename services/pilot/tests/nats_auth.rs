//! NATS credentials: the nats-server `pilot serve` starts for itself refuses clients without
//! a login, and the users of `deploy/nats/users.conf` may do only what their role needs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use common::process::PilotProcess;
use pilot_service::nats_auth::{Credentials, Role, CREDENTIALS_FILE};
use std::path::Path;

/// `pilot serve` on its own data directory, without `--nats`, and the URL of its nats-server
/// (from the "Started a local nats-server." line on stderr).
fn serve_local(data_dir: &Path) -> (PilotProcess, String) {
    let stderr = data_dir.with_extension("stderr.log");
    let mut pilot = PilotProcess::serve(&["--data-dir", data_dir.to_str().unwrap()], &[], &stderr);
    pilot.wait_for_url();
    let log = pilot.stderr();
    let start = log
        .find("nats://127.0.0.1:")
        .unwrap_or_else(|| panic!("no local nats-server URL on stderr:\n{log}"));
    let url: String = log[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || ":/.".contains(*c))
        .collect();
    (pilot, url)
}

#[tokio::test]
async fn an_unauthenticated_nats_client_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (pilot, url) = serve_local(&data);

    let anonymous = async_nats::ConnectOptions::new().connect(&url);
    let refused = tokio::time::timeout(std::time::Duration::from_secs(10), anonymous).await;
    match refused {
        Ok(Err(error)) => assert!(
            error.to_string().to_lowercase().contains("authorization"),
            "refused, but not for want of credentials: {error}"
        ),
        Ok(Ok(_)) => panic!("a client without credentials connected to {url}"),
        Err(_) => panic!("connecting without credentials neither failed nor succeeded"),
    }

    let credentials = Credentials::load_or_create(&data).unwrap();
    let operator = credentials.login(Role::Operator).unwrap();
    let client = async_nats::ConnectOptions::with_user_and_password(
        operator.user.clone(),
        operator.password.clone(),
    )
    .connect(&url)
    .await
    .unwrap();
    let js = async_nats::jetstream::new(client);
    let mut events = js
        .get_stream(pilot_store::layout::EVENTS_STREAM)
        .await
        .unwrap();
    assert!(events.info().await.is_ok());

    // The password is written to the data directory only: never to a log.
    let log = pilot.stderr() + &std::fs::read_to_string(data.join("nats-server.log")).unwrap();
    for role in Role::ALL {
        let password = &credentials.login(role).unwrap().password;
        assert!(
            !log.contains(password.as_str()),
            "the {role:?} password is in a log"
        );
    }
    assert!(data.join(CREDENTIALS_FILE).is_file());
}
