//! An office on its own site (docs/sites.md): a leaf node of the centre with its own JetStream
//! domain, whose PILOT_EVENTS the central PILOT_EVENTS sources. The office keeps writing while
//! its link is cut; once the link returns the centre holds every event of the office once,
//! each chain as the office wrote it, and folds the same pilots.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)] // test code

mod common;

use common::*;

use pilot_events::data::*;
use pilot_events::{Channel, Event, Level, StakeholderKind, Strategy, Subject};
use pilot_nats_harness::{start_site, LeafHub};
use pilot_projections::World;
use pilot_runtime::checkpoint::CheckpointKey;
use pilot_runtime::projection::Projection;
use pilot_runtime::writer::{AppendError, Writer};
use pilot_store::jetstream::{ConnectError, JetStreamLog};
use pilot_store::layout::{Layout, LayoutError, EVENTS_SUBJECTS};
use pilot_store::{EventLog, Stored};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

const OFFICE: &str = "office-a";
/// How long the centre may take to catch up with the office once the link is up.
const CATCH_UP: Duration = Duration::from_secs(30);

/// A loopback TCP proxy in front of the hub's leafnode port: the office's link to the centre,
/// which the test cuts (every connection closed, new ones refused) and restores.
struct Link {
    addr: SocketAddr,
    cut: Arc<AtomicBool>,
    pipes: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Link {
    async fn start(upstream: SocketAddr) -> Link {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let pipes: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (is_cut, open) = (cut.clone(), pipes.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut down, _)) = listener.accept().await {
                if is_cut.load(Ordering::SeqCst) {
                    drop(down); // refused: closed at once
                    continue;
                }
                let pipe = tokio::spawn(async move {
                    if let Ok(mut up) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                    }
                });
                open.lock().unwrap().push(pipe);
            }
        });
        Link {
            addr,
            cut,
            pipes,
            accept,
        }
    }

    /// Closes every connection through the link and refuses new ones.
    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for pipe in self.pipes.lock().unwrap().drain(..) {
            pipe.abort(); // drops both sockets
        }
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

/// A log with a projection folding it, as a service runs one.
struct Node {
    log: JetStreamLog,
    projection: Arc<Projection>,
    _stop: watch::Sender<bool>,
}

async fn node(url: &str, layout: &Layout) -> Node {
    let log = JetStreamLog::connect(url, layout).await.unwrap();
    let projection = Arc::new(Projection::new(World::new()));
    projection.set_checkpoint_key(CheckpointKey::generate().unwrap());
    let (stop, shutdown) = watch::channel(false);
    let (follower, p) = (log.clone(), projection.clone());
    tokio::spawn(async move {
        pilot_runtime::follow::run_projector(&follower, "sites-test", p, shutdown).await
    });
    Node {
        log,
        projection,
        _stop: stop,
    }
}

fn centre_layout(sites: &[&str]) -> Layout {
    Layout {
        sites: sites.iter().map(|s| s.to_string()).collect(),
        ..Layout::default()
    }
}

/// Every message of the stream, in order.
async fn all(log: &JetStreamLog) -> Vec<Stored> {
    let mut out: Vec<Stored> = Vec::new();
    loop {
        let from = out.last().map_or(1, |s| s.position + 1);
        let batch = log.read_from(from, 1_000).await.unwrap();
        if batch.is_empty() {
            return out;
        }
        out.extend(batch);
    }
}

/// Waits (up to `bound`) until the log holds `count` messages; how many it holds then.
async fn wait_for_count(log: &JetStreamLog, count: usize, bound: Duration) -> usize {
    let deadline = Instant::now() + bound;
    loop {
        let held = all(log).await.len();
        if held >= count || Instant::now() >= deadline {
            return held;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn stakeholder() -> Event {
    Event::StakeholderRegistered(StakeholderRegistered {
        name: "District health bureau".into(),
        kind: StakeholderKind::Leader,
        level: Level::Municipal,
        influence: Influence::try_from(4).unwrap(),
        person: false,
    })
}

fn contact(stakeholder_id: Uuid, n: usize) -> Event {
    Event::ContactLogged(ContactLogged {
        stakeholder_id,
        channel: Channel::Conference,
        strategy: Strategy::ALL[n % Strategy::ALL.len()],
        summary: format!("contact {n}"),
        stance: Stance::try_from((n % 3) as i64 - 1).unwrap(),
        made_by: None,
        intermediary_id: None,
        made_by_id: None,
    })
}

fn jurisdiction() -> Event {
    Event::JurisdictionRegistered(JurisdictionRegistered {
        name: "Nanguo".into(),
        level: Level::Municipal,
        utc_offset: "+08:00".into(),
        calendar: None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_office_keeps_writing_while_cut_off_and_the_centre_holds_each_event_once() {
    let started = Instant::now();
    let hub = LeafHub::start("hub").unwrap();
    let link = Link::start(hub.leaf_addr()).await;
    let site = start_site(OFFICE, link.addr, &["pilot.>"]).unwrap();

    // Anything published at the hub on an event subject, as a plain message: the office's
    // publishes must stay on its site and reach the centre only through the source.
    let watcher = async_nats::connect(hub.server.url()).await.unwrap();
    let mut leaked = watcher.subscribe(EVENTS_SUBJECTS).await.unwrap();
    watcher.flush().await.unwrap();

    let office = node(&site.url(), &Layout::default()).await;
    let writer =
        Writer::new(Arc::new(office.log.clone()), office.projection.clone()).at_site(OFFICE);
    let centre = node(&hub.server.url(), &centre_layout(&[OFFICE])).await;

    // With the link up: a stakeholder, two pilots and their contacts.
    let bureau = Subject::Stakeholder(Uuid::now_v7());
    let pilots = [
        Subject::Pilot(Uuid::now_v7()),
        Subject::Pilot(Uuid::now_v7()),
    ];
    let mut written = 0;
    writer
        .append(vec![draft(bureau, stakeholder())], None)
        .await
        .unwrap();
    written += 1;
    for pilot in pilots {
        let mut drafts = vec![draft(pilot, proposed())];
        drafts.extend((0..3).map(|n| draft(pilot, contact(bureau.id(), n))));
        written += drafts.len();
        writer.append(drafts, None).await.unwrap();
    }
    let held = wait_for_count(&centre.log, written, CATCH_UP).await;
    assert_eq!(held, written, "the centre sources the office's events");

    // Cut off: the office keeps writing, the centre does not see it.
    link.cut();
    for pilot in pilots {
        for n in 3..6 {
            writer
                .append(vec![draft(pilot, contact(bureau.id(), n))], None)
                .await
                .unwrap();
            written += 1;
        }
    }
    let late = Subject::Pilot(Uuid::now_v7());
    writer
        .append(vec![draft(late, proposed()), draft(late, designed())], None)
        .await
        .unwrap();
    written += 2;
    assert_eq!(all(&office.log).await.len(), written);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        all(&centre.log).await.len(),
        held,
        "nothing crosses a cut link"
    );

    // The link returns: the centre catches up.
    link.restore();
    let caught_up = Instant::now();
    assert_eq!(
        wait_for_count(&centre.log, written, CATCH_UP).await,
        written
    );
    println!(
        "the centre caught up {:?} after the link returned",
        caught_up.elapsed()
    );

    // Each event once (by event id), no event twice under its Nats-Msg-Id either.
    let central = all(&centre.log).await;
    let mut ids: HashMap<Uuid, usize> = HashMap::new();
    for stored in &central {
        let envelope = pilot_events::decode(&stored.bytes).unwrap();
        *ids.entry(envelope.event_id).or_default() += 1;
    }
    assert_eq!(ids.len(), written);
    assert!(
        ids.values().all(|n| *n == 1),
        "an event stored twice: {ids:?}"
    );
    // The sources never published on an event subject at the hub.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        futures::FutureExt::now_or_never(futures::StreamExt::next(&mut leaked)).is_none(),
        "an office's event crossed the link as a plain message"
    );

    // Every chain as the office wrote it, in order, with valid hash links.
    let report =
        pilot_events::chain::verify_lines(central.iter().map(|s| s.bytes.as_ref())).unwrap();
    assert_eq!(report.events, written);
    for chain in [bureau, pilots[0], pilots[1], late] {
        let here = office.log.read_chain(chain, 0).await.unwrap();
        let there = centre.log.read_chain(chain, 0).await.unwrap();
        let bytes = |s: &[Stored]| s.iter().map(|s| s.bytes.clone()).collect::<Vec<_>>();
        assert_eq!(bytes(&there), bytes(&here), "chain {chain:?}");
    }

    // The centre folds the same pilots as the office.
    let last = centre.log.last_position().await.unwrap();
    assert!(
        centre
            .projection
            .wait_for(last, Duration::from_secs(10))
            .await
    );
    for pilot in [pilots[0], pilots[1], late] {
        let office_world = office.projection.read();
        let centre_world = centre.projection.read();
        let (here, there) = (
            office_world.pilot(&pilot.id()).unwrap(),
            centre_world.pilot(&pilot.id()).unwrap(),
        );
        assert_eq!(there.state, here.state);
        assert_eq!(there.support, here.support);
    }
    println!("leaf-node round trip took {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_centre_names_sources_it_was_not_told_of_and_a_site_leaves_jurisdictions_to_it() {
    let hub = LeafHub::start("hub").unwrap();
    let site = start_site(OFFICE, hub.leaf_addr(), &["pilot.>"]).unwrap();
    let office = node(&site.url(), &Layout::default()).await;
    node(&hub.server.url(), &centre_layout(&[OFFICE])).await;

    // The same centre, configured with another site: refused, naming both.
    let error = JetStreamLog::connect(&hub.server.url(), &centre_layout(&["office-b"]))
        .await
        .unwrap_err();
    let ConnectError::Layout(LayoutError::Mismatch { differences, .. }) = &error else {
        panic!("expected a mismatch, got {error}");
    };
    let report = differences.join("; ");
    assert!(
        report.contains("sources site office-a, which this layout does not name"),
        "{report}"
    );
    assert!(report.contains("does not source site office-b"), "{report}");
    // A single server (no sites) refuses the centre's stream too.
    let error = JetStreamLog::connect(&hub.server.url(), &Layout::default())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("expected no sources"), "{error}");

    // An office's pilot writes on its own site's server only.
    pilot_store::sites::check_site_server(office.log.jetstream(), OFFICE)
        .await
        .unwrap();
    let centre_js =
        async_nats::jetstream::new(async_nats::connect(hub.server.url()).await.unwrap());
    let wrong = pilot_store::sites::check_site_server(&centre_js, OFFICE)
        .await
        .unwrap_err()
        .to_string();
    assert!(wrong.contains("has JetStream domain hub"), "{wrong}");

    // An office writes its own chains, never a jurisdiction's.
    let writer =
        Writer::new(Arc::new(office.log.clone()), office.projection.clone()).at_site(OFFICE);
    let chain = Subject::Jurisdiction(Uuid::now_v7());
    let refused = writer
        .append(vec![draft(chain, jurisdiction())], None)
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, AppendError::WrittenAtCentre { site, .. } if site == OFFICE),
        "{refused}"
    );
    let message = refused.to_string();
    assert!(message.contains("written at the centre only"), "{message}");
    assert!(message.contains(&format!("j.{}", chain.id())), "{message}");
    assert!(all(&office.log).await.is_empty());
    // The centre's writer takes it.
    let centre = node(&hub.server.url(), &centre_layout(&[OFFICE])).await;
    Writer::new(Arc::new(centre.log.clone()), centre.projection.clone())
        .append(vec![draft(chain, jurisdiction())], None)
        .await
        .unwrap();
}
