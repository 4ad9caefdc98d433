//! Where a process's logs and traces go: set up once, in `main`, before anything logs.
//!
//! Logs go to stderr (stdout carries only the ready line and the client commands' answers),
//! filtered by `RUST_LOG`, as text ([`EscapedFields`]: one event one line, control characters
//! escaped) or as JSON (one object a line; serde_json escapes what the text format escapes by
//! hand). With the `otel` feature and an endpoint, every span also goes to an OpenTelemetry
//! collector ([`crate::otel`]); without the feature an endpoint is reported and ignored, so one
//! configuration file fits both builds.

use crate::config::{LogFormat, Telemetry};
use crate::log_format::EscapedFields;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// Why logging or tracing could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("a global logger is set already: {0}")]
    Init(#[from] tracing_subscriber::util::TryInitError),
    #[cfg(feature = "otel")]
    #[error(transparent)]
    Exporter(#[from] crate::otel::ExporterError),
}

/// Held by `main` while the process runs: dropping it sends the spans not yet sent.
#[derive(Debug, Default)]
#[must_use = "dropping the guard stops the trace export"]
pub struct TelemetryGuard {
    /// Held only to be dropped: its `Drop` sends the last spans.
    #[cfg(feature = "otel")]
    #[allow(dead_code)]
    traces: Option<crate::otel::Traces>,
}

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// Installs the global logger (and trace export); `default_level` applies without `RUST_LOG`.
pub fn init(settings: &Telemetry, default_level: &str) -> Result<TelemetryGuard, TelemetryError> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let logs = logs(settings.log_format).with_filter(filter).boxed();
    let (traces, guard) = traces(settings)?;
    let layers: Vec<BoxedLayer> = std::iter::once(logs).chain(traces).collect();
    tracing_subscriber::registry().with(layers).try_init()?;
    #[cfg(not(feature = "otel"))]
    if let Some(endpoint) = &settings.otlp_endpoint {
        tracing::warn!(
            message = "An OTLP endpoint is configured but this pilot was built without the `otel` feature: no traces are sent. Build with `cargo build --release --features otel`.",
            %endpoint
        );
    }
    Ok(guard)
}

/// The layer sending spans to the collector, if one is configured.
#[cfg(feature = "otel")]
fn traces(settings: &Telemetry) -> Result<(Option<BoxedLayer>, TelemetryGuard), TelemetryError> {
    let Some(endpoint) = &settings.otlp_endpoint else {
        return Ok((None, TelemetryGuard::default()));
    };
    let (layer, traces) = crate::otel::layer::<Registry>(endpoint)?;
    // Spans reach the collector by their own filter: `RUST_LOG=warn` keeps the log short
    // without losing the request spans.
    let layer = layer.with_filter(crate::otel::filter()).boxed();
    Ok((
        Some(layer),
        TelemetryGuard {
            traces: Some(traces),
        },
    ))
}

#[cfg(not(feature = "otel"))]
fn traces(_: &Telemetry) -> Result<(Option<BoxedLayer>, TelemetryGuard), TelemetryError> {
    Ok((None, TelemetryGuard::default()))
}

/// The stderr log layer in `format`.
fn logs(format: LogFormat) -> BoxedLayer {
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    match format {
        LogFormat::Text => layer
            .fmt_fields(EscapedFields::default())
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .boxed(),
        LogFormat::Json => layer
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .boxed(),
    }
}
