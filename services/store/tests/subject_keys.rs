//! The key store on a real nats-server: keys are written once and shared by every process,
//! and the eraser's secure delete leaves no byte of a key in the server's files.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is the failure report

use async_nats::jetstream::{self, message::PublishMessage};
use pilot_nats_harness::NatsServer;
use pilot_store::layout::{subject_key_subject, Layout, SUBJECT_KEYS_STREAM};
use pilot_store::subject_keys::{ConnectEraser, Eraser, EraserConnecting, SubjectKeys};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

async fn jetstream_on(server: &NatsServer) -> jetstream::Context {
    let client = async_nats::connect(server.url()).await.unwrap();
    jetstream::ContextBuilder::new()
        .timeout(Duration::from_secs(2))
        .build(client)
}

/// An eraser that connects (anonymously, on this open test server) for each erasure.
fn eraser_on(server: &NatsServer) -> Eraser {
    let url = server.url();
    let connect: ConnectEraser = Arc::new(move || -> EraserConnecting {
        let url = url.clone();
        Box::pin(async move {
            async_nats::connect(url)
                .await
                .map_err(|error| error.to_string())
        })
    });
    Eraser::jetstream(connect)
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_holding(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    found.push(path.display().to_string());
                }
            }
        }
    }
    found
}

/// Waits (bounded) until `check` holds of the files under `dir` holding `needle`.
fn wait_for_files(dir: &Path, needle: &[u8], what: &str, check: impl Fn(&[String]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found = files_holding(dir, needle);
        if check(&found) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: {found:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn a_key_is_stored_once_shared_and_erased_from_the_servers_files() {
    let server = NatsServer::start().unwrap();
    let js = jetstream_on(&server).await;
    Layout::default().ensure(&js).await.unwrap();
    let subject = Uuid::now_v7();

    // Keys stored before and after it keep the erased one inside a block of the stream's
    // files: a delete that only marks it (an empty block's file is removed whole) would
    // leave its bytes there.
    let before = SubjectKeys::jetstream(js.clone());
    before.key_or_create(Uuid::now_v7()).await.unwrap();

    // Two processes creating one subject's key at once agree on the one stored first.
    let (first, second) = (
        SubjectKeys::jetstream(js.clone()),
        SubjectKeys::jetstream(js.clone()),
    );
    assert_eq!(first.key(subject).await.unwrap(), None);
    let (a, b) = tokio::join!(first.key_or_create(subject), second.key_or_create(subject));
    let key = a.unwrap();
    assert_eq!(b.unwrap(), key);
    before.key_or_create(Uuid::now_v7()).await.unwrap();
    // A process that never saw it reads it from the bucket.
    let third = SubjectKeys::jetstream(js.clone());
    assert_eq!(third.key(subject).await.unwrap(), Some(key.clone()));
    assert_eq!(third.key_or_create(subject).await.unwrap(), key);

    // Create-only: a plain publish on the key's subject, without any expectation, and a
    // rollup are refused by the stream itself; purging is denied.
    let subject_name = subject_key_subject(subject);
    let overwrite = js
        .publish(subject_name.clone(), vec![7u8; 32].into())
        .await
        .unwrap()
        .await;
    assert!(overwrite.is_err(), "a second key was stored: {overwrite:?}");
    let rollup = PublishMessage::build()
        .payload(vec![8u8; 32].into())
        .header("Nats-Rollup", "sub");
    let rolled = js
        .send_publish(subject_name.clone(), rollup)
        .await
        .unwrap()
        .await;
    assert!(rolled.is_err(), "a rollup replaced the key: {rolled:?}");
    let stream = js.get_stream(SUBJECT_KEYS_STREAM).await.unwrap();
    assert!(stream.purge().await.is_err(), "the key store was purged");
    assert_eq!(
        SubjectKeys::jetstream(js.clone())
            .key(subject)
            .await
            .unwrap(),
        Some(key.clone())
    );

    // The key's bytes are in the server's files (so the search below can find them) ...
    let store = server.store_dir().to_path_buf();
    let bytes = key.as_bytes().to_vec();
    wait_for_files(&store, &bytes, "the key never reached the store", |f| {
        !f.is_empty()
    });

    // ... and after the eraser's secure delete, in none of them.
    let eraser = eraser_on(&server);
    assert!(eraser.destroy(subject).await.unwrap());
    assert!(!eraser.destroy(subject).await.unwrap(), "destroyed twice");
    assert_eq!(
        SubjectKeys::jetstream(js.clone())
            .key(subject)
            .await
            .unwrap(),
        None
    );
    wait_for_files(&store, &bytes, "the key is still in", |f| f.is_empty());
    // A handle that read it keeps it until it forgets it (its cache is the process's).
    assert_eq!(third.key(subject).await.unwrap(), Some(key.clone()));
    third.forget(subject);
    assert_eq!(third.key(subject).await.unwrap(), None);

    // After a restart the server has nothing of it either.
    let mut server = server;
    server.restart().unwrap();
    let js = jetstream_on(&server).await;
    assert_eq!(SubjectKeys::jetstream(js).key(subject).await.unwrap(), None);
    assert!(files_holding(server.store_dir(), &bytes).is_empty());
}

#[tokio::test]
async fn the_eraser_destroys_several_keys_over_one_connection_and_leaves_the_others() {
    let server = NatsServer::start().unwrap();
    let js = jetstream_on(&server).await;
    Layout::default().ensure(&js).await.unwrap();
    let keys = SubjectKeys::jetstream(js.clone());
    let (a, b, kept) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    for subject in [a, b, kept] {
        keys.key_or_create(subject).await.unwrap();
    }
    let kept_key = keys.key(kept).await.unwrap();
    let never = Uuid::now_v7();
    let destroyed = eraser_on(&server).destroy_all([a, b, never]).await.unwrap();
    assert_eq!(destroyed, 2);
    let fresh = SubjectKeys::jetstream(js);
    assert_eq!(fresh.key(a).await.unwrap(), None);
    assert_eq!(fresh.key(b).await.unwrap(), None);
    assert_eq!(fresh.key(kept).await.unwrap(), kept_key);
}

#[tokio::test]
async fn an_eraser_that_cannot_connect_says_so() {
    let connect: ConnectEraser =
        Arc::new(|| -> EraserConnecting { Box::pin(async { Err("refused".to_string()) }) });
    let error = Eraser::jetstream(connect)
        .destroy(Uuid::now_v7())
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("eraser's login: refused"),
        "{error}"
    );
}
