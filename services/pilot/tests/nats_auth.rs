//! NATS credentials: the nats-server `pilot serve` starts for itself refuses clients without
//! a login, and the users of `deploy/nats/users.conf` may do only what their role needs: the
//! reader never reads the key store, and only the eraser deletes a key.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use common::process::PilotProcess;
use futures::{FutureExt, StreamExt};
use pilot_nats_harness::{NatsServer, ServerOptions};
use pilot_service::nats_auth::{
    inbox_prefix, password_variable, Credentials, Role, CREDENTIALS_FILE,
};
use pilot_store::layout::{
    subject_key_subject, EVENTS_STREAM, SUBJECT_KEYS_STREAM, SUBJECT_KEYS_SUBJECTS,
};
use pilot_store::subject_keys::{ConnectEraser, Eraser, EraserConnecting, SubjectKeys};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

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

    // pilot made the key store with the streams, and has the eraser's login for it.
    let mut keys = js.get_stream(SUBJECT_KEYS_STREAM).await.unwrap();
    assert!(!keys.info().await.unwrap().config.deny_delete);
    assert_eq!(
        credentials.login(Role::Eraser).unwrap().user,
        "pilot-eraser"
    );
    assert!(
        !pilot.stderr().contains("No eraser login"),
        "{}",
        pilot.stderr()
    );

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

/// A nats-server configured with `deploy/nats/users.conf` as deployed, each role's password
/// (`$PILOT_NATS_<ROLE>_PASSWORD`) defined ahead of it; and those passwords.
fn deploy_server() -> (NatsServer, BTreeMap<Role, String>) {
    let users = std::fs::read_to_string(
        pilot_nats_harness::workspace_root().join("deploy/nats/users.conf"),
    )
    .unwrap();
    let mut passwords = BTreeMap::new();
    let mut config = String::new();
    for role in Role::ALL {
        let password = format!("test-{}-password", role.name());
        let variable = password_variable(role);
        config.push_str(&format!("{}: \"{password}\"\n", &variable[1..]));
        passwords.insert(role, password);
    }
    config.push_str(&users);
    let server = NatsServer::start_with(ServerOptions::default().config(config)).unwrap();
    (server, passwords)
}

/// A JetStream context logged in as `role`, quick to give up on a refused request.
async fn jetstream_as(
    server: &NatsServer,
    passwords: &BTreeMap<Role, String>,
    role: Role,
) -> async_nats::jetstream::Context {
    let client =
        async_nats::ConnectOptions::with_user_and_password(role.user(), passwords[&role].clone())
            .connect(server.url())
            .await
            .unwrap();
    async_nats::jetstream::ContextBuilder::new()
        .timeout(Duration::from_secs(2))
        .build(client)
}

/// A `pilot` configuration file naming `server` and the login of `role`.
fn config_as(
    dir: &Path,
    server: &NatsServer,
    passwords: &BTreeMap<Role, String>,
    role: Role,
) -> PathBuf {
    let path = dir.join(format!("{}.toml", role.name()));
    let text = format!(
        "[nats]\nurl = \"{}\"\nuser = \"{}\"\npassword = \"{}\"\n",
        server.url(),
        role.user(),
        passwords[&role]
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// `pilot init --config FILE`.
fn pilot_init(config: &Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_pilot"))
        .args(["init", "--config", config.to_str().unwrap()])
        .env_remove("PILOT_NATS_URL")
        .env_remove("PILOT_CONFIG")
        .output()
        .unwrap()
}

#[tokio::test]
async fn deploy_users_stop_the_writer_from_updating_a_stream_and_the_reader_from_publishing() {
    let (server, passwords) = deploy_server();
    let dir = tempfile::tempdir().unwrap();
    let init = pilot_init(&config_as(dir.path(), &server, &passwords, Role::Operator));
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let operator = jetstream_as(&server, &passwords, Role::Operator).await;
    let api = jetstream_as(&server, &passwords, Role::Api).await;
    let reader = jetstream_as(&server, &passwords, Role::Reader).await;
    let projector = jetstream_as(&server, &passwords, Role::Projector).await;
    let subject = format!("pilot.events.p.{}", uuid::Uuid::now_v7());

    // The writer may publish events and read them back ...
    let ack = api.publish(subject.clone(), "{}".into()).await.unwrap();
    assert_eq!(ack.await.unwrap().sequence, 1);
    let mut events = api.get_stream(EVENTS_STREAM).await.unwrap();
    let wanted = events.info().await.unwrap().config.clone();

    // ... but not cut the stream, nor delete it or a consumer.
    let cut = async_nats::jetstream::stream::Config {
        max_messages: 10,
        discard: async_nats::jetstream::stream::DiscardPolicy::Old,
        ..wanted.clone()
    };
    assert!(
        api.update_stream(&cut).await.is_err(),
        "the writer updated the stream"
    );
    assert!(api.delete_stream(EVENTS_STREAM).await.is_err());
    assert!(projector.update_stream(&cut).await.is_err());
    let mut stored = operator.get_stream(EVENTS_STREAM).await.unwrap();
    let info = stored.info().await.unwrap();
    assert_eq!(info.config.max_messages, -1, "the stream was changed");
    assert_eq!(info.config.discard, wanted.discard);

    // The reader reads, and publishes nothing: not an event, not even through JetStream.
    let mut seen = reader.get_stream(EVENTS_STREAM).await.unwrap();
    assert_eq!(seen.info().await.unwrap().state.last_sequence, 1);
    for (who, js) in [("reader", &reader), ("projector", &projector)] {
        let refused = match js.publish(subject.clone(), "{}".into()).await {
            Err(_) => true,
            Ok(ack) => ack.await.is_err(),
        };
        assert!(refused, "the {who} published an event");
    }
    let info = stored.info().await.unwrap();
    assert_eq!(info.state.last_sequence, 1, "a refused publish was stored");

    // The API makes its own durable consumer; nobody else may redirect it (a create under
    // its name with another filter would update it) or delete it.
    let own = async_nats::jetstream::consumer::pull::Config {
        durable_name: Some("pilot-api".to_string()),
        ..Default::default()
    };
    events.create_consumer(own.clone()).await.unwrap();
    let hijack = async_nats::jetstream::consumer::pull::Config {
        filter_subject: "pilot.events.s.>".to_string(),
        ..own
    };
    for (who, js) in [("reader", &reader), ("projector", &projector)] {
        let stream = js.get_stream(EVENTS_STREAM).await.unwrap();
        assert!(
            stream.create_consumer(hijack.clone()).await.is_err(),
            "the {who} changed the API's consumer"
        );
        assert!(stream.delete_consumer("pilot-api").await.is_err());
    }
    let consumer: async_nats::jetstream::consumer::PullConsumer =
        stored.get_consumer("pilot-api").await.unwrap();
    assert_eq!(consumer.cached_info().config.filter_subject, "");
}

/// Polls `url` until it answers 200 with a body containing `needle` (bounded).
async fn wait_for_body(url: &str, needle: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut last = String::new();
    while std::time::Instant::now() < deadline {
        if let Ok(response) = reqwest::get(url).await {
            let status = response.status();
            last = response.text().await.unwrap_or_default();
            if status == 200 && last.contains(needle) {
                return last;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} never answered with {needle:?}: {last}");
}

#[tokio::test]
async fn each_part_runs_with_its_own_deploy_user_once_the_operator_has_initialised() {
    let (server, passwords) = deploy_server();
    let dir = tempfile::tempdir().unwrap();
    let config = |role| config_as(dir.path(), &server, &passwords, role);
    let part = |role: Role, consumer: &str, extra: &[&str]| {
        let data = dir.path().join(consumer);
        let config = config(role);
        let only = role.name();
        let args = [
            &[
                "--config",
                config.to_str().unwrap(),
                "--data-dir",
                data.to_str().unwrap(),
                "--only",
                only,
                "--consumer",
                consumer,
            ][..],
            extra,
        ]
        .concat();
        PilotProcess::serve(&args, &[], &data.with_extension("stderr.log"))
    };

    // Before `pilot init`, a part may not create what is missing, and says what to do.
    let early = part(Role::Api, "pilot-api", &[]);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !early.stderr().contains("pilot init") {
        assert!(
            std::time::Instant::now() < deadline,
            "no hint to run `pilot init`:\n{}",
            early.stderr()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(early);

    let init = pilot_init(&config(Role::Operator));
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );

    // The API appends the Nanguo history with its own user; the alerter records its alerts
    // with its own; the projector follows with its own.
    let mut api = part(Role::Api, "pilot-api", &["--demo"]);
    let api_url = api.wait_for_url();
    let mut alerter = part(Role::Alerter, "pilot-alerter", &[]);
    alerter.wait_for_url();
    let mut projector = part(Role::Projector, "pilot-projector", &[]);
    // A second API process, with a consumer of its own.
    let mut api_2 = part(Role::Api, "pilot-api-2", &[]);
    let api_2_url = api_2.wait_for_url();
    let projector_url = projector.wait_for_url();
    let base = api_url.split("/api/").next().unwrap().to_string();
    wait_for_body(&format!("{base}/api/v1/alerts?state=resolved"), "granted").await;
    wait_for_body(
        &projector_url,
        &format!("\"position\":{}", common::nanguo_events()),
    )
    .await;
    let base_2 = api_2_url.split("/api/").next().unwrap().to_string();
    wait_for_body(
        &format!("{base_2}/readyz"),
        &format!("\"position\":{}", common::nanguo_events()),
    )
    .await;
    // An outside reader exports and verifies the log with the reader's login.
    let reader_url = format!(
        "nats://{}:{}@127.0.0.1:{}",
        Role::Reader.user(),
        passwords[&Role::Reader],
        server.port()
    );
    for command in ["export", "verify"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_pilot"))
            .args([command, "--nats", &reader_url])
            .env_remove("PILOT_SERVER")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pilot {command} as the reader: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if command == "export" {
            assert_eq!(
                String::from_utf8_lossy(&out.stdout).lines().count(),
                common::nanguo_events()
            );
        }
    }
    for pilot in [&mut api, &mut api_2, &mut alerter, &mut projector] {
        let status = pilot.terminate();
        assert_eq!(status.code(), Some(0), "{}", pilot.stderr());
        // A rebuild's ordered consumer is ephemeral: its clean-up is refused (only the
        // operator deletes consumers) and the server removes it once it is idle.
        let stderr = pilot.stderr();
        let refused: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains("Permissions Violation"))
            .filter(|l| !l.contains("CONSUMER.DELETE.PILOT_EVENTS.pilot-rebuild-"))
            .collect();
        assert!(refused.is_empty(), "{refused:#?}");
    }
}

/// A JetStream context logged in as `role` on its private inbox, as `pilot serve` connects.
async fn jetstream_privately(
    server: &NatsServer,
    passwords: &BTreeMap<Role, String>,
    role: Role,
) -> async_nats::jetstream::Context {
    let client =
        async_nats::ConnectOptions::with_user_and_password(role.user(), passwords[&role].clone())
            .custom_inbox_prefix(inbox_prefix(&role.user()))
            .connect(server.url())
            .await
            .unwrap();
    async_nats::jetstream::ContextBuilder::new()
        .timeout(Duration::from_secs(2))
        .build(client)
}

/// An eraser that logs in as `role` for each erasure.
fn eraser_as(server: &NatsServer, passwords: &BTreeMap<Role, String>, role: Role) -> Eraser {
    let (url, password) = (server.url(), passwords[&role].clone());
    let connect: ConnectEraser = Arc::new(move || -> EraserConnecting {
        let (url, password) = (url.clone(), password.clone());
        Box::pin(async move {
            async_nats::ConnectOptions::with_user_and_password(role.user(), password)
                .custom_inbox_prefix(inbox_prefix(&role.user()))
                .connect(url)
                .await
                .map_err(|error| error.to_string())
        })
    });
    Eraser::jetstream(connect)
}

/// Whether any message `subscriber` received so far holds `needle`.
fn saw(messages: &mut async_nats::Subscriber, needle: &[u8]) -> Vec<String> {
    let mut seen = Vec::new();
    while let Some(Some(message)) = messages.next().now_or_never() {
        if message.payload.windows(needle.len()).any(|w| w == needle) {
            seen.push(message.subject.to_string());
        }
    }
    seen
}

#[tokio::test]
async fn deploy_users_keep_the_key_store_from_the_reader_and_deleting_keys_to_the_eraser() {
    let (server, passwords) = deploy_server();
    let dir = tempfile::tempdir().unwrap();
    let init = pilot_init(&config_as(dir.path(), &server, &passwords, Role::Operator));
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let api = jetstream_privately(&server, &passwords, Role::Api).await;
    let projector = jetstream_privately(&server, &passwords, Role::Projector).await;
    let reader = jetstream_as(&server, &passwords, Role::Reader).await;

    // The reader listens wherever a key could pass: the bucket's subjects, every inbox it
    // may subscribe to, and the API's private one (refused).
    let mut snooped = Vec::new();
    for subject in [
        SUBJECT_KEYS_SUBJECTS.to_string(),
        "_INBOX.>".to_string(),
        format!("{}.>", inbox_prefix(&Role::Api.user())),
        ">".to_string(),
    ] {
        snooped.push(reader.client().subscribe(subject).await.unwrap());
    }
    reader.client().flush().await.unwrap();

    // The service creates a key and reads it back from the bucket.
    let subject = uuid::Uuid::now_v7();
    let key = SubjectKeys::jetstream(api.clone())
        .key_or_create(subject)
        .await
        .unwrap();
    let read = SubjectKeys::jetstream(api.clone())
        .key(subject)
        .await
        .unwrap();
    assert_eq!(read, Some(key.clone()));
    let bytes = key.as_bytes().to_vec();

    // The reader can read nothing of the key store: not a key, not even the bucket's info,
    // and it saw no key go by.
    assert!(
        SubjectKeys::jetstream(reader.clone())
            .key(subject)
            .await
            .is_err(),
        "the reader read a key"
    );
    assert!(reader.get_stream(SUBJECT_KEYS_STREAM).await.is_err());
    let raw = reader
        .get_stream_no_info(SUBJECT_KEYS_STREAM)
        .await
        .unwrap()
        .get_last_raw_message_by_subject(&subject_key_subject(subject))
        .await;
    assert!(raw.is_err(), "the reader read a key's message");
    tokio::time::sleep(Duration::from_millis(300)).await;
    for messages in &mut snooped {
        let seen = saw(messages, &bytes);
        assert!(seen.is_empty(), "the reader saw a key on {seen:?}");
    }
    // The projector checks the bucket's configuration but reads no key.
    assert!(projector.get_stream(SUBJECT_KEYS_STREAM).await.is_ok());
    assert!(SubjectKeys::jetstream(projector.clone())
        .key(subject)
        .await
        .is_err());

    // The service may not delete a key: not with a secure delete, not as an eraser, not by
    // overwriting it or purging the bucket.
    let stream = api.get_stream_no_info(SUBJECT_KEYS_STREAM).await.unwrap();
    let sequence = stream
        .direct_get_last_for_subject(subject_key_subject(subject))
        .await
        .unwrap()
        .sequence;
    assert!(stream.delete_message(sequence).await.is_err());
    assert!(
        eraser_as(&server, &passwords, Role::Api)
            .destroy(subject)
            .await
            .is_err(),
        "the service destroyed a key"
    );
    let overwrite = match api
        .publish(subject_key_subject(subject), vec![0u8; 32].into())
        .await
    {
        Err(_) => true,
        Ok(ack) => ack.await.is_err(),
    };
    assert!(overwrite, "the service replaced a key");
    assert!(stream.purge().await.is_err(), "the service purged the keys");
    assert_eq!(
        SubjectKeys::jetstream(api.clone())
            .key(subject)
            .await
            .unwrap(),
        Some(key.clone())
    );

    // The eraser may, and may do nothing else.
    let eraser = eraser_as(&server, &passwords, Role::Eraser);
    assert!(eraser.destroy(subject).await.unwrap());
    assert_eq!(
        SubjectKeys::jetstream(api.clone())
            .key(subject)
            .await
            .unwrap(),
        None
    );
    let eraser_js = jetstream_privately(&server, &passwords, Role::Eraser).await;
    assert!(eraser_js.get_stream(EVENTS_STREAM).await.is_err());
    let published = match eraser_js
        .publish(format!("pilot.events.p.{subject}"), "{}".into())
        .await
    {
        Err(_) => false,
        Ok(ack) => ack.await.is_ok(),
    };
    assert!(!published, "the eraser published an event");
}
