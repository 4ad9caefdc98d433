//! The e-mail sink against a real SMTP server: Python's `aiosmtpd` on a free loopback port,
//! started by the test, which writes each message it accepts (decoded by Python's own `email`
//! package) to a directory the test reads. One message per notifying transition and language,
//! to the right recipients, in their language; what does not notify is not sent; a server
//! that never answers ends in a dead letter on `pilot.dead.email.…`.
//!
//! `scripts/test.sh` installs aiosmtpd into `.tools/aiosmtpd-<version>` and sets
//! `PILOT_AIOSMTPD_PATH`; without it the SMTP test prints why it skipped.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use bytes::Bytes;
use pilot_alerter::email::{self, EmailConfig, Recipient};
use pilot_events::Level;
use pilot_metrics::Metrics;
use pilot_projections::alert::{ResolutionReason, Transition, TransitionKind};
use pilot_projections::alerting::{AlertEvent, AlertNotice, DayUnit, Threshold};
use pilot_projections::World;
use pilot_runtime::projection::Projection;
use pilot_store::alerts::AlertMessage;
use pilot_store::memory::MemoryLog;
use pilot_store::AlertLog;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use time::macros::datetime;
use time::OffsetDateTime;
use tokio::sync::watch;
use uuid::Uuid;

const TITLE: &str = "Health insurance for private-enterprise and migrant workers";

fn event(alert: u128, kind: TransitionKind, at: OffsetDateTime, notify: bool) -> AlertEvent {
    let requested_at = datetime!(2000-03-01 09:00 UTC);
    let waited = at - requested_at;
    let notice = AlertNotice {
        alert_id: Uuid::from_u128(alert),
        pilot_id: Uuid::from_u128(5),
        pilot_title: TITLE.into(),
        approval_id: format!("approval-{alert}"),
        request_event_id: Uuid::from_u128(alert),
        approver_id: Uuid::from_u128(15),
        approver_name: Some("Mayor of Nanguo".into()),
        level: Level::Municipal,
        requested_at,
        waited_seconds: waited.whole_seconds(),
        waited_days: u64::try_from(waited.whole_days()).unwrap(),
        threshold: Threshold {
            days: 30,
            extra_days: 0,
            unit: DayUnit::CalendarDays,
            calendar: None,
            basis: None,
            counted_in: "calendar days".into(),
        },
        last_activity: datetime!(2000-02-20 12:00 UTC),
        transition: Transition { at, kind, notify },
    };
    AlertEvent::new(notice, at, "alerter")
}

async fn publish(log: &MemoryLog, event: &AlertEvent) -> String {
    let subject = event.subject();
    let message = AlertMessage {
        subject: subject.clone(),
        bytes: Bytes::from(serde_json::to_vec(event).unwrap()),
    };
    log.record_alerts(&[message]).await.unwrap();
    subject
}

/// The four events of one alert: warned, fired, acknowledged (not sent), resolved (granted).
fn lifecycle(alert: u128) -> Vec<AlertEvent> {
    let warned = datetime!(2000-03-25 09:00 UTC);
    let fired = datetime!(2000-03-31 09:00 UTC);
    let resolved = datetime!(2000-04-10 09:00 UTC);
    vec![
        event(
            alert,
            TransitionKind::Warned { due_at: fired },
            warned,
            true,
        ),
        event(alert, TransitionKind::Fired { due_at: fired }, fired, true),
        event(
            alert,
            TransitionKind::Acknowledged {
                user: "clerk".into(),
            },
            fired + time::Duration::hours(1),
            false,
        ),
        event(
            alert,
            TransitionKind::Resolved {
                reason: ResolutionReason::Granted,
                waited: resolved - datetime!(2000-03-01 09:00 UTC),
            },
            resolved,
            true,
        ),
    ]
}

fn metrics() -> Arc<Metrics> {
    Arc::new(Metrics::new(Arc::new(Projection::new(World::default()))))
}

/// aiosmtpd, running until dropped.
struct SmtpServer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SmtpServer {
    /// Starts it, or says why it cannot (no aiosmtpd).
    fn start() -> Result<SmtpServer, String> {
        let path = std::env::var("PILOT_AIOSMTPD_PATH").map_err(|_| {
            "PILOT_AIOSMTPD_PATH is not set (scripts/test.sh installs aiosmtpd and sets it)"
                .to_string()
        })?;
        let import = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .env("PYTHONPATH", &path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| format!("no python3: {e}"))?;
        if !import.success() {
            return Err(format!(
                "aiosmtpd is not importable from {path} (scripts/test.sh installs it)"
            ));
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_sink.py");
        let child = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(dir.path())
            .env("PYTHONPATH", &path)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start python3: {e}"))?;
        let server = SmtpServer { child, port, dir };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "aiosmtpd did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(server)
    }

    /// The messages received so far, in the order received.
    fn received(&self) -> Vec<Value> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect()
    }
}

fn config(smtp_url: String) -> EmailConfig {
    EmailConfig {
        initial_backoff_ms: 10,
        max_backoff_ms: 40,
        timeout_ms: 2_000,
        deliver_backlog: true,
        ..EmailConfig::new(
            smtp_url,
            "Pilot tracker <pilot-alerts@example.gov>",
            vec![
                Recipient::Address("duty-office@example.gov".into()),
                Recipient::WithLanguage {
                    address: "li.wei@example.gov".into(),
                    language: email::Language::ZhCn,
                },
                Recipient::Address("deputy@example.gov".into()),
            ],
        )
    }
}

async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_email_one_message_per_transition_and_language_to_its_recipients() {
    let server = match SmtpServer::start() {
        Ok(server) => server,
        Err(reason) => {
            eprintln!("skipped: {reason}");
            return;
        }
    };
    let log = Arc::new(MemoryLog::new());
    let events = lifecycle(0xa1);
    let mut subjects = Vec::new();
    for event in &events {
        subjects.push(publish(&log, event).await);
    }
    let metrics = metrics();
    let (stop, shutdown) = watch::channel(false);
    let config = config(format!("smtp://127.0.0.1:{}", server.port));
    let sink = tokio::spawn(email::run(log.clone(), config, metrics.clone(), shutdown));
    // Three transitions notify (the acknowledgement does not), each in two languages.
    eventually("six messages", || server.received().len() >= 6).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.send_replace(true);
    sink.await.unwrap().unwrap();
    let received = server.received();
    assert_eq!(received.len(), 6, "{received:#?}");

    let rcpt = |m: &Value| -> Vec<String> {
        let mut to: Vec<String> = m["rcpt_tos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        to.sort();
        to
    };
    let english = ["deputy@example.gov", "duty-office@example.gov"];
    for (pair, subject) in received
        .chunks(2)
        .zip([&subjects[0], &subjects[1], &subjects[3]])
    {
        let (en, zh) = (&pair[0], &pair[1]);
        assert_eq!(rcpt(en), english);
        assert_eq!(rcpt(zh), ["li.wei@example.gov"]);
        for message in pair {
            assert_eq!(message["mail_from"], "pilot-alerts@example.gov");
            assert_eq!(message["content_type"], "text/plain");
            let body = message["body"].as_str().unwrap();
            assert!(body.contains(TITLE), "{body}");
            assert!(body.contains(subject.as_str()), "{body}");
            assert!(message["subject"]
                .as_str()
                .unwrap()
                .starts_with(&format!("[{TITLE}]")));
        }
        assert!(en["message_id"]
            .as_str()
            .unwrap()
            .contains(subject.as_str()));
    }
    let subject_of = |i: usize| received[i]["subject"].as_str().unwrap().to_string();
    assert_eq!(
        subject_of(0),
        format!("[{TITLE}] Approval due soon: Mayor of Nanguo has waited 24 days of 30 days")
    );
    assert_eq!(
        subject_of(1),
        format!("[{TITLE}] 审批即将超期：Mayor of Nanguo 已等待 24 天（时限 30 天）")
    );
    assert_eq!(
        subject_of(2),
        format!(
            "[{TITLE}] Approval stalled: Mayor of Nanguo has waited 30 days (threshold 30 days)"
        )
    );
    assert_eq!(
        subject_of(4),
        format!("[{TITLE}] Approval granted: Mayor of Nanguo after 40 days (threshold 30 days)")
    );
    assert_eq!(
        subject_of(5),
        format!("[{TITLE}] 审批已批准：Mayor of Nanguo，共等待 40 天（时限 30 天）")
    );
    assert!(received[1]["body"]
        .as_str()
        .unwrap()
        .contains("审批方: Mayor of Nanguo (市级)"));
    let text = metrics.render(None).unwrap();
    for line in [
        "pilot_email_delivered_total 3",
        "pilot_email_skipped_total 1",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_email_a_server_that_never_answers_ends_in_a_dead_letter() {
    let log = Arc::new(MemoryLog::new());
    let subject = publish(&log, &lifecycle(0xa2)[1]).await;
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = EmailConfig {
        max_attempts: 2,
        ..config(format!("smtp://127.0.0.1:{port}"))
    };
    let (stop, shutdown) = watch::channel(false);
    let metrics = metrics();
    let sink = tokio::spawn(email::run(log.clone(), config, metrics.clone(), shutdown));
    let mut letters = Vec::new();
    for _ in 0..500 {
        letters = log.dead_letters().await.unwrap();
        if !letters.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send_replace(true);
    sink.await.unwrap().unwrap();
    assert_eq!(letters.len(), 1, "{letters:#?}");
    assert_eq!(letters[0].sink, "email");
    assert_eq!(letters[0].alert_subject, subject);
    assert_eq!(letters[0].attempts, 2);
    assert!(
        letters[0].reason.starts_with("SMTP"),
        "{}",
        letters[0].reason
    );
    let text = metrics.render(None).unwrap();
    assert!(
        text.lines()
            .any(|l| l == "pilot_email_dead_lettered_total{reason=\"failed\"} 1"),
        "{text}"
    );
}
