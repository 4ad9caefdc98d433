//! `GET /metrics`: the service's counters in the Prometheus text format (0.0.4), open without
//! a token so a scraper needs no secret.
//!
//! | metric | type | what |
//! |---|---|---|
//! | `pilot_events_appended_total` | counter | events stored by appends through this process |
//! | `pilot_append_conflicts_total` | counter | appends refused with 409 `version_conflict` |
//! | `pilot_append_rejections_total{reason}` | counter | appends refused, by error code |
//! | `pilot_projection_position` | gauge | the stream position the projections reached |
//! | `pilot_log_last_position` | gauge | the log's last position, read at scrape time |
//! | `pilot_projection_lag` | gauge | log last position − projection position |
//! | `pilot_projection_applied_total`, `..._duplicates_total`, `..._quarantined_total` | counter | messages the projector applied, found already applied, or quarantined |
//! | `pilot_alerts{state}` | gauge | alerts by state (`pending`, `warning`, `firing`, `resolved`) |
//! | `pilot_http_request_duration_seconds{method,route,status}` | histogram | time to the response head, by matched route |
//! | `pilot_alerts_recorded_total{kind}` | counter | alert events this process recorded, by kind (`warning`, `fired`, ...; `acknowledged` and `silenced` through the API) |
//! | `pilot_alerts_already_recorded_total` | counter | transitions the alerter found recorded already (by another alerter or an earlier run) |
//! | `pilot_webhook_delivered_total` | counter | notifications a webhook answered with 2xx |
//! | `pilot_webhook_failed_attempts_total` | counter | webhook requests that failed (non-2xx status, refused, timed out) |
//! | `pilot_webhook_dead_lettered_total{reason}` | counter | notifications put on `PILOT_DEAD_LETTERS` (`failed`: out of attempts; `undecodable`: not an alert event) |
//! | `pilot_webhook_skipped_total` | counter | alert events not sent because `notify` is false |
//! | `pilot_webhook_queue_depth` | gauge | notifications taken from the stream and not yet settled (queued or being sent) |
//! | `pilot_email_*` | | the same five for the e-mail sink (delivered: the SMTP server accepted the message) |
//! | `pilot_ready` | gauge | 1 while `/readyz` would answer 200, else 0 (catching up, halted, the store unreachable) |
//! | `pilot_nats_connected` | gauge | 1 while the event log's store can be reached (the check `/readyz` makes), else 0 |
//! | `pilot_build_info{version,git_commit,rustc}` | gauge | always 1; the labels say which build runs |
//! | `process_cpu_seconds_total` | counter | user and system CPU time of the process (read from `/proc/self`: `process.rs`, Linux) |
//! | `process_resident_memory_bytes`, `process_virtual_memory_bytes` | gauge | memory of the process |
//! | `process_open_fds`, `process_max_fds` | gauge | open file descriptors and their limit |
//! | `process_start_time_seconds` | gauge | when the process started, seconds since the epoch |
//!
//! Projection figures are read from the live projection when scraped rather than copied on
//! every event, so the fold path pays nothing for them.

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use pilot_runtime::projection::Projection;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod process;

/// The alert states docs/domain.md names; each is shown (as 0) before the alerter reports it, so a
/// dashboard does not mistake "none" for "unknown".
pub const ALERT_STATES: &[&str] = &["pending", "warning", "firing", "resolved"];

/// Why the webhook sink dead-lettered a message (`pilot_alerter::webhook`'s `DEAD_*`).
pub const WEBHOOK_DEAD_REASONS: &[&str] = &["failed", "undecodable"];

/// A scrape must not hang on a slow store: without the log's position it still answers.
pub const LOG_POSITION_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: String,
}

/// Which build runs: what an operator needs to match a dashboard to a release.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BuildInfo {
    /// The `pilot` binary's version (its Cargo package version).
    pub version: String,
    /// The commit it was built from, where the build was told (empty otherwise).
    pub git_commit: Option<String>,
    /// The compiler that built it (`rustc --version`), where known.
    pub rustc: Option<String>,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: &'static str,
    /// The route pattern (`/api/v1/pilots/{id}`), never the raw path: ids would make one
    /// series per pilot.
    route: String,
    status: u16,
}

type HttpFamily = Family<HttpLabels, Histogram, fn() -> Histogram>;

/// The service's metrics, shared by every handler.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    appended: Counter,
    conflicts: Counter,
    rejections: Family<ReasonLabel, Counter>,
    alerts: Family<StateLabel, Gauge>,
    alerts_recorded: Family<KindLabel, Counter>,
    alerts_already_recorded: Counter,
    webhook: SinkMetrics,
    email: SinkMetrics,
    http: HttpFamily,
    /// The log's last position at the latest scrape; -1 when it could not be read.
    log_last: Arc<AtomicI64>,
    ready: Gauge,
    nats_connected: Gauge,
    build_info: Family<BuildInfo, Gauge>,
}

impl Metrics {
    pub fn new(projection: Arc<Projection>) -> Self {
        let mut registry = Registry::default();
        let appended = Counter::default();
        registry.register(
            "pilot_events_appended",
            "Events stored by appends through this process",
            appended.clone(),
        );
        let conflicts = Counter::default();
        registry.register(
            "pilot_append_conflicts",
            "Appends refused because the chain had moved on (409 version_conflict)",
            conflicts.clone(),
        );
        let rejections = Family::<ReasonLabel, Counter>::default();
        registry.register(
            "pilot_append_rejections",
            "Appends refused, by error code",
            rejections.clone(),
        );
        let alerts = Family::<StateLabel, Gauge>::default();
        for state in ALERT_STATES {
            alerts
                .get_or_create(&StateLabel {
                    state: (*state).to_string(),
                })
                .set(0);
        }
        registry.register("pilot_alerts", "Alerts by state", alerts.clone());
        let alerts_recorded = Family::<KindLabel, Counter>::default();
        // Every kind of alert event (the subject token), each shown as 0 from the start.
        for kind in pilot_projections::alerting::record::KINDS {
            let _ = alerts_recorded.get_or_create(&KindLabel {
                kind: kind.subject.to_string(),
            });
        }
        registry.register(
            "pilot_alerts_recorded",
            "Alert events recorded on the alert stream by this process (the alerter's transitions, the API's acknowledgements and silences), by kind",
            alerts_recorded.clone(),
        );
        let alerts_already_recorded = Counter::default();
        registry.register(
            "pilot_alerts_already_recorded",
            "Alert transitions the alerter found recorded already (by another alerter or an earlier run)",
            alerts_already_recorded.clone(),
        );
        let webhook =
            SinkMetrics::register(&mut registry, "webhook", "the webhook answered with 2xx");
        let email = SinkMetrics::register(&mut registry, "email", "the SMTP server accepted");
        let http: HttpFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "pilot_http_request_duration_seconds",
            "Time from a request to its response head, by method, matched route and status",
            http.clone(),
        );
        let log_last = Arc::new(AtomicI64::new(-1));
        registry.register_collector(Box::new(ProjectionCollector {
            projection,
            log_last: log_last.clone(),
        }));
        let ready = Gauge::default();
        registry.register(
            "pilot_ready",
            "1 while /readyz answers 200 (caught up, not halted, the store reachable), else 0",
            ready.clone(),
        );
        let nats_connected = Gauge::default();
        registry.register(
            "pilot_nats_connected",
            "1 while the event log's store (NATS) can be reached, else 0",
            nats_connected.clone(),
        );
        let build_info = Family::<BuildInfo, Gauge>::default();
        registry.register(
            "pilot_build_info",
            "Always 1: the labels say which build of pilot runs",
            build_info.clone(),
        );
        registry.register_collector(Box::new(process::ProcessCollector));
        Metrics {
            registry,
            appended,
            conflicts,
            rejections,
            alerts,
            alerts_recorded,
            alerts_already_recorded,
            webhook,
            email,
            http,
            log_last,
            ready,
            nats_connected,
            build_info,
        }
    }

    /// Whether `/readyz` would answer 200 now; set at each scrape.
    pub fn set_ready(&self, ready: bool) {
        self.ready.set(i64::from(ready));
    }

    /// Whether the event log's store can be reached now; set at each scrape.
    pub fn set_nats_connected(&self, connected: bool) {
        self.nats_connected.set(i64::from(connected));
    }

    /// Says which build runs (`pilot_build_info`), once at start-up; the binary knows it, this
    /// crate does not.
    pub fn set_build_info(&self, build: BuildInfo) {
        self.build_info.clear();
        self.build_info.get_or_create(&build).set(1);
    }

    /// `n` events were stored by one append.
    pub fn appended(&self, n: u64) {
        self.appended.inc_by(n);
    }

    /// An append lost to a concurrent writer and was refused with 409.
    pub fn conflict(&self) {
        self.conflicts.inc();
    }

    /// An append was refused; `reason` is the error code (`invalid_event`, `unknown_pilot`, ...),
    /// a closed list, so the label cannot grow without bound.
    pub fn rejected(&self, reason: &str) {
        self.rejections
            .get_or_create(&ReasonLabel {
                reason: reason.to_string(),
            })
            .inc();
    }

    /// The alerter reports how many alerts are in `state` now.
    pub fn set_alerts(&self, state: &str, n: i64) {
        self.alerts
            .get_or_create(&StateLabel {
                state: state.to_string(),
            })
            .set(n);
    }

    /// The alerter or the API recorded an alert event of `kind` (`AlertEvent::kind`, a closed
    /// list).
    pub fn alert_recorded(&self, kind: &str) {
        self.alerts_recorded
            .get_or_create(&KindLabel {
                kind: kind.to_string(),
            })
            .inc();
    }

    /// The alerter computed a transition that was recorded already.
    pub fn alert_already_recorded(&self) {
        self.alerts_already_recorded.inc();
    }

    /// The webhook sink's figures (`pilot_webhook_*`).
    pub fn webhook(&self) -> &SinkMetrics {
        &self.webhook
    }

    /// The e-mail sink's figures (`pilot_email_*`).
    pub fn email(&self) -> &SinkMetrics {
        &self.email
    }

    fn observe_request(&self, labels: HttpLabels, elapsed: Duration) {
        self.http
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// Everything, in the Prometheus text format; `log_last` is the log's last position if it
    /// could be read for this scrape.
    pub fn render(&self, log_last: Option<u64>) -> Result<String, std::fmt::Error> {
        let last = log_last.map_or(-1, |p| i64::try_from(p).unwrap_or(i64::MAX));
        self.log_last.store(last, Ordering::Relaxed);
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// One alert sink's figures (`pilot_alerter::webhook`, `pilot_alerter::email`): the same
/// families under `pilot_<sink>_`.
#[derive(Debug)]
pub struct SinkMetrics {
    delivered: Counter,
    failed_attempts: Counter,
    dead_lettered: Family<ReasonLabel, Counter>,
    skipped: Counter,
    queue_depth: Gauge,
}

impl SinkMetrics {
    /// Registers `pilot_<sink>_*`; `delivered` says what counts as delivered.
    fn register(registry: &mut Registry, sink: &str, delivered: &str) -> Self {
        let metrics = SinkMetrics {
            delivered: Counter::default(),
            failed_attempts: Counter::default(),
            dead_lettered: Family::default(),
            skipped: Counter::default(),
            queue_depth: Gauge::default(),
        };
        for reason in WEBHOOK_DEAD_REASONS {
            let _ = metrics.dead_lettered.get_or_create(&ReasonLabel {
                reason: (*reason).to_string(),
            });
        }
        registry.register(
            format!("pilot_{sink}_delivered"),
            format!("Notifications {delivered}"),
            metrics.delivered.clone(),
        );
        registry.register(
            format!("pilot_{sink}_failed_attempts"),
            format!("Attempts of the {sink} sink that failed: refused, timed out, or answered with an error"),
            metrics.failed_attempts.clone(),
        );
        registry.register(
            format!("pilot_{sink}_dead_lettered"),
            "Notifications put on the dead-letter stream, by reason (failed: out of attempts; undecodable: not an alert event)",
            metrics.dead_lettered.clone(),
        );
        registry.register(
            format!("pilot_{sink}_skipped"),
            "Alert events not sent because notify is false (acknowledgements, silences)",
            metrics.skipped.clone(),
        );
        registry.register(
            format!("pilot_{sink}_queue_depth"),
            "Notifications taken from the alert stream and not yet settled (queued or being sent)",
            metrics.queue_depth.clone(),
        );
        metrics
    }

    /// A notification was delivered.
    pub fn delivered(&self) {
        self.delivered.inc();
    }

    /// One attempt failed.
    pub fn failed_attempt(&self) {
        self.failed_attempts.inc();
    }

    /// A notification went to the dead letters; `reason` is `failed` or `undecodable`.
    pub fn dead_lettered(&self, reason: &str) {
        self.dead_lettered
            .get_or_create(&ReasonLabel {
                reason: reason.to_string(),
            })
            .inc();
    }

    /// An alert event was not sent because its `notify` is false.
    pub fn skipped(&self) {
        self.skipped.inc();
    }

    /// The sink took a message from the stream.
    pub fn queued(&self) {
        self.queue_depth.inc();
    }

    /// The sink settled (or handed back) a message it had taken.
    pub fn dequeued(&self) {
        self.queue_depth.dec();
    }

    /// The sink stopped: it holds nothing.
    pub fn queue_reset(&self) {
        self.queue_depth.set(0);
    }
}

/// 0.5 ms to about 16 s, doubling: reads answer in milliseconds, a write waits for the
/// projection, and a `min_position` wait gives up after 5 s.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// The projection's figures, read at scrape time.
#[derive(Debug)]
struct ProjectionCollector {
    projection: Arc<Projection>,
    log_last: Arc<AtomicI64>,
}

impl Collector for ProjectionCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let counters = &self.projection.counters;
        for (name, help, value) in [
            (
                "pilot_projection_applied",
                "Messages the projector applied",
                counters.applied.load(Ordering::Relaxed),
            ),
            (
                "pilot_projection_duplicates",
                "Messages the projector found already applied",
                counters.duplicates.load(Ordering::Relaxed),
            ),
            (
                "pilot_projection_quarantined",
                "Messages the projector could not apply and quarantined",
                counters.quarantined.load(Ordering::Relaxed),
            ),
        ] {
            let counter = ConstCounter::new(value);
            counter.encode(encoder.encode_descriptor(
                name,
                help,
                None,
                counter.metric_type(),
            )?)?;
        }
        let position = i64::try_from(self.projection.position()).unwrap_or(i64::MAX);
        let mut gauges = vec![(
            "pilot_projection_position",
            "The stream position the projections have reached",
            position,
        )];
        let log_last = self.log_last.load(Ordering::Relaxed);
        if log_last >= 0 {
            gauges.push((
                "pilot_log_last_position",
                "The event log's last position, read at scrape time",
                log_last,
            ));
            gauges.push((
                "pilot_projection_lag",
                "Messages stored in the log that the projections have not reached yet",
                log_last.saturating_sub(position).max(0),
            ));
        }
        for (name, help, value) in gauges {
            let gauge = ConstGauge::new(value);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        Ok(())
    }
}

/// Middleware timing every request by its matched route (`Router::layer` runs it after
/// routing, so the route is known); requests no route matched share one `unmatched` series.
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let started = Instant::now();
    let response = next.run(request).await;
    let labels = HttpLabels {
        method,
        route,
        status: response.status().as_u16(),
    };
    metrics.observe_request(labels, started.elapsed());
    response
}

/// Methods outside the usual few are one label, so odd requests cannot add series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pilot_projections::World;

    fn metrics() -> Metrics {
        Metrics::new(Arc::new(Projection::new(World::default())))
    }

    #[test]
    fn renders_every_family_with_its_labels() {
        let metrics = metrics();
        metrics.appended(3);
        metrics.conflict();
        metrics.rejected("invalid_event");
        metrics.rejected("invalid_event");
        metrics.set_alerts("firing", 2);
        metrics.alert_recorded("fired");
        metrics.alert_recorded("fired");
        metrics.alert_already_recorded();
        metrics.webhook().delivered();
        metrics.webhook().failed_attempt();
        metrics.webhook().failed_attempt();
        metrics.webhook().dead_lettered("failed");
        metrics.webhook().skipped();
        metrics.webhook().queued();
        metrics.webhook().queued();
        metrics.webhook().dequeued();
        metrics.email().delivered();
        metrics.observe_request(
            HttpLabels {
                method: "GET",
                route: "/api/v1/pilots/{id}".into(),
                status: 200,
            },
            Duration::from_millis(3),
        );
        let text = metrics.render(Some(10)).unwrap();
        for line in [
            "pilot_events_appended_total 3",
            "pilot_append_conflicts_total 1",
            "pilot_append_rejections_total{reason=\"invalid_event\"} 2",
            "pilot_alerts{state=\"firing\"} 2",
            "pilot_alerts{state=\"pending\"} 0",
            "pilot_projection_position 0",
            "pilot_log_last_position 10",
            "pilot_projection_lag 10",
            "pilot_projection_quarantined_total 0",
            "pilot_alerts_recorded_total{kind=\"fired\"} 2",
            "pilot_alerts_recorded_total{kind=\"resolved\"} 0",
            "pilot_alerts_already_recorded_total 1",
            "pilot_webhook_delivered_total 1",
            "pilot_webhook_failed_attempts_total 2",
            "pilot_webhook_dead_lettered_total{reason=\"failed\"} 1",
            "pilot_webhook_dead_lettered_total{reason=\"undecodable\"} 0",
            "pilot_webhook_skipped_total 1",
            "pilot_webhook_queue_depth 1",
            "pilot_email_delivered_total 1",
            "pilot_email_dead_lettered_total{reason=\"failed\"} 0",
            "pilot_http_request_duration_seconds_count{method=\"GET\",route=\"/api/v1/pilots/{id}\",status=\"200\"} 1",
        ] {
            assert!(text.contains(line), "{line:?} missing in\n{text}");
        }
    }

    #[test]
    fn readiness_the_store_and_the_build_are_shown() {
        let metrics = metrics();
        metrics.set_ready(true);
        metrics.set_nats_connected(false);
        metrics.set_build_info(BuildInfo {
            version: "1.2.3".into(),
            git_commit: None,
            rustc: Some("rustc 1.89.0".into()),
        });
        let text = metrics.render(None).unwrap();
        for line in [
            "pilot_ready 1",
            "pilot_nats_connected 0",
            "pilot_build_info{version=\"1.2.3\",git_commit=\"\",rustc=\"rustc 1.89.0\"} 1",
        ] {
            assert!(text.contains(line), "{line:?} missing in\n{text}");
        }
        #[cfg(target_os = "linux")]
        for name in [
            "process_cpu_seconds_total ",
            "process_resident_memory_bytes ",
            "process_open_fds ",
            "process_max_fds ",
            "process_start_time_seconds ",
        ] {
            assert!(
                text.lines().any(|l| l.starts_with(name)),
                "{name:?} missing in\n{text}"
            );
        }
    }

    #[test]
    fn without_the_logs_position_there_is_no_lag() {
        let text = metrics().render(None).unwrap();
        assert!(text.contains("pilot_projection_position 0"), "{text}");
        assert!(!text.contains("pilot_projection_lag"), "{text}");
    }
}
