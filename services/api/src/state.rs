//! What the HTTP handlers share: the log, the live projection (the process's one fold: world,
//! alert book, recorded alerts), the writer, who may call, and whether the projection has
//! caught up with the log since start-up.

use crate::auth::Tokens;
use crate::http_layers::CorsOrigins;
use pilot_alerter::{Clock, SystemClock};
use pilot_metrics::Metrics;
use pilot_projections::retention::RetentionRules;
use pilot_projections::stall_terms::StallPolicy;
use pilot_runtime::projection::Projection;
use pilot_runtime::writer::Writer;
use pilot_store::subject_keys::{Eraser, SubjectKeys};
use pilot_store::{AlertLog, EventLog, Reachable, SealLog, SharedLog};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::watch;

/// The largest request body `POST /api/v1/events` takes: far above any real batch of
/// events (1,000 events of 1 KiB), far below what could hurt the process.
pub const DEFAULT_MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// The largest body of one `POST /api/v1/import`; `pilot import` sends smaller chunks.
pub const DEFAULT_MAX_IMPORT_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct AppState {
    /// The store: JetStream in `pilot serve`, the in-memory log in tests.
    pub log: SharedLog,
    pub projection: Arc<Projection>,
    pub writer: Arc<Writer<SharedLog>>,
    pub access: Arc<Access>,
    pub metrics: Arc<Metrics>,
    /// "Now" for acknowledgements and silences: the wall clock, or a test's.
    pub clock: Arc<dyn Clock>,
    /// The writer's signing key (none in tests that do not sign).
    pub signer: Option<Arc<pilot_store::signing::EventSigner>>,
    /// What new approval requests record (the `[alerts]` rules): the writer fills it in, and
    /// the pilot list's `stalled` filter counts unrecorded requests by it.
    pub stall_terms: Arc<StallPolicy>,
    /// The office site (JetStream domain) this service writes at (`[nats] site`); `None` at
    /// the centre or on a single server. The writer refuses the chains the centre writes.
    pub site: Option<String>,
    /// Asks the sealer for a seal now (after an import).
    pub seals: crate::sealer::SealRequests,
    /// The browser origins whose pages may call the API ([`crate::http_layers`]).
    pub cors: Arc<CorsOrigins>,
    /// The key store persons' personal fields are sealed with (docs/personal-data.md); `None`
    /// refuses a person's personal text rather than storing it plain.
    pub subject_keys: Option<SubjectKeys>,
    /// Destroys keys: held only where the eraser credential is configured, used only on the
    /// erasure path ([`crate::erasure`]).
    pub eraser: Option<Eraser>,
    /// The `[[retention]]` rules: what the erasure plan lists and the retention loop erases
    /// ([`crate::retention`]); none by default.
    pub retention: Arc<RetentionRules>,
    ready: Arc<AtomicBool>,
    /// Why writes stopped for good (a stream's configuration changed under the service);
    /// `None` while all is well. See the `pilot` binary's `layout_watch`.
    halted: Arc<watch::Sender<Option<String>>>,
    /// Set once the server stops: open event streams end, so a graceful shutdown does not
    /// wait on responses that never finish by themselves.
    shutdown: Arc<watch::Sender<bool>>,
}

/// Who may call, and how much they may send.
#[derive(Debug, Clone)]
pub struct Access {
    pub tokens: Tokens,
    /// GET requests under /api/v1 without a token are answered as for an analyst.
    pub anonymous_reads: bool,
    pub max_body_bytes: usize,
    pub max_import_bytes: usize,
}

impl Default for Access {
    /// No tokens, nothing open: every /api/v1 request gets 401 until tokens are configured.
    fn default() -> Self {
        Access {
            tokens: Tokens::default(),
            anonymous_reads: false,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_import_bytes: DEFAULT_MAX_IMPORT_BYTES,
        }
    }
}

impl AppState {
    /// Not ready until [`AppState::set_ready`]: the API answers 503 until then.
    pub fn new<L>(log: L, projection: Arc<Projection>) -> Self
    where
        L: EventLog + AlertLog + SealLog + Reachable,
    {
        Self::shared(SharedLog::new(log), projection)
    }

    /// The same over a log the caller keeps too (a test's in-memory log).
    pub fn shared(log: SharedLog, projection: Arc<Projection>) -> Self {
        let writer = Arc::new(Writer::new(Arc::new(log.clone()), projection.clone()));
        let metrics = Arc::new(Metrics::new(projection.clone()));
        AppState {
            log,
            projection,
            writer,
            access: Arc::new(Access::default()),
            metrics,
            clock: Arc::new(SystemClock),
            signer: None,
            stall_terms: Arc::new(StallPolicy::default()),
            site: None,
            seals: crate::sealer::SealRequests::default(),
            cors: Arc::new(CorsOrigins::Off),
            subject_keys: None,
            eraser: None,
            retention: Arc::new(RetentionRules::default()),
            ready: Arc::new(AtomicBool::new(false)),
            halted: Arc::new(watch::Sender::new(None)),
            shutdown: Arc::new(watch::Sender::new(false)),
        }
    }

    /// The writer signs every event it seals with `signer`.
    pub fn with_signer(mut self, signer: Arc<pilot_store::signing::EventSigner>) -> Self {
        self.signer = Some(signer);
        self.writer = Arc::new(self.new_writer());
        self
    }

    /// The writer records new approval requests under `policy` (the `[alerts]` rules).
    pub fn with_stall_terms(mut self, policy: StallPolicy) -> Self {
        self.stall_terms = Arc::new(policy);
        self.writer = Arc::new(self.new_writer());
        self
    }

    /// The writer writes at the office site `domain` (docs/sites.md).
    pub fn with_site(mut self, domain: Option<String>) -> Self {
        self.site = domain;
        self.writer = Arc::new(self.new_writer());
        self
    }

    /// Seals persons' personal fields with `keys`, and erases with `eraser` (none: erasure
    /// requests are refused before anything is recorded). The projection forgets an erased
    /// person's cached key as it applies the erasure, whichever process recorded it.
    pub fn with_personal_data(mut self, keys: SubjectKeys, eraser: Option<Eraser>) -> Self {
        self.projection.forget_keys_on_erasure(keys.clone());
        self.subject_keys = Some(keys);
        self.eraser = eraser;
        self.writer = Arc::new(self.new_writer());
        self
    }

    /// A writer with this state's signer, stall terms, site and key store.
    fn new_writer(&self) -> Writer<SharedLog> {
        let mut writer = Writer::new(Arc::new(self.log.clone()), self.projection.clone())
            .with_stall_terms(self.stall_terms.clone());
        if let Some(keys) = &self.subject_keys {
            writer = writer.with_subject_keys(keys.clone());
        }
        if let Some(site) = &self.site {
            writer = writer.at_site(site.clone());
        }
        match &self.signer {
            Some(signer) => writer.with_signer(signer.clone()),
            None => writer,
        }
    }

    /// Pages from `origins` may call the API (CORS); off by default.
    pub fn with_cors(mut self, origins: CorsOrigins) -> Self {
        self.cors = Arc::new(origins);
        self
    }

    /// Persons of the kinds `rules` name are erased when their rule says ([`crate::retention`]).
    pub fn with_retention(mut self, rules: RetentionRules) -> Self {
        self.retention = Arc::new(rules);
        self
    }

    pub fn with_access(mut self, access: Access) -> Self {
        self.access = Arc::new(access);
        self
    }

    /// Acknowledgements, silences and the retention loop take "now" from `clock` (tests move
    /// it by hand).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The projection has caught up with what the log held at start-up (and the demo
    /// history, if asked for, is loaded): the API may answer.
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Why the service refuses to serve for good (until an operator acts and restarts it): the
    /// event log holds less than the projections have seen (see `pilot_runtime::checkpoint`).
    /// `/readyz` and every `/api/v1` route answer 503 with it, so no append is accepted at a
    /// position the projections would take for one they have already applied.
    pub fn refused(&self) -> Option<String> {
        self.projection.halted().map(|reason| {
            format!("the event log holds less than this service has seen, so it does not serve: {reason}")
        })
    }

    /// Stops every write until a restart, and makes `/readyz` answer 503 with `reason`: what
    /// the record is kept in no longer is what the service checked at start-up.
    pub fn halt(&self, reason: String) {
        self.halted.send_replace(Some(reason));
    }

    /// Why writes are stopped (reads go on), if they are.
    pub fn writes_stopped(&self) -> Option<String> {
        self.halted.borrow().clone()
    }

    /// Ends the open event streams (`GET /api/v1/events/stream`); call it when the server
    /// begins its graceful shutdown.
    pub fn shut_down(&self) {
        self.shutdown.send_replace(true);
    }

    /// Becomes true when [`AppState::shut_down`] is called.
    pub fn shutting_down(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }
}
