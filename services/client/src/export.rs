//! `pilot export --format jsonl|csv [--pilot ID] [--until DATE] [-o FILE] [--bom] [--nats URL]`:
//! the log as stored, from the server (`GET /api/v1/events`) or straight from NATS.
//!
//! `pilot export --what pilots|stakeholders|ledger|alerts --format csv [--filter NAME=VALUE]
//! [-o FILE] [--bom]`: a list as a spreadsheet, asked of the server as CSV
//! ([`pilot_api::tables`] decides the columns); `--filter` passes the list's own filters
//! (`as_of=2001-01-01`, `stage=implementing`, …), which the server checks.
//!
//! - `jsonl` writes each event's stored bytes unchanged, one per line: `pilot verify` and
//!   `pilot import` of the export see exactly the hashes the log holds. After an event with
//!   sealed personal fields comes the server's sidecar line with what they show (their text,
//!   or erased with when and why; `pilot_api::reveal`), which verify and import skip;
//!   `--redact` leaves sidecars out, so the file holds personal fields as ciphertext only and
//!   still verifies (an export to share).
//! - `csv` writes one row per event: position, event_id, type, pilot_id, stakeholder_id,
//!   occurred_at, recorded_at, office, user, hash, and `data` as its stored JSON text.
//! - `--until DATE` keeps each chain up to its first event dated after DATE. Stage moves stay
//!   in `occurred_at` order but facts may be learned late (docs/research-record.md), so a
//!   chain is not sorted by date: cutting at its first later event keeps a prefix of every
//!   chain, and the export still verifies. A fact dated before DATE but logged after a later
//!   event of its chain is left out with the rest of that chain's tail.
//!
//! With `-o FILE` the export is written to `FILE.partial` and renamed when complete, so a
//! failed export never leaves a file that looks whole.

use super::http::Http;
use super::log::{Entry, Source};
use super::output;
use super::status::parse_when;
use super::{Common, Failure};
use clap::{Args, ValueEnum};
use pilot_api::spreadsheet::{Table, BOM};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::{HashMap, HashSet};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// JSON Lines: each event exactly as stored.
    Jsonl,
    /// One row per event, `data` as a JSON string.
    Csv,
}

/// What to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum What {
    /// The log as stored.
    Events,
    /// Every pilot's view (`GET /api/v1/pilots`).
    Pilots,
    /// The stakeholder registry with points.
    Stakeholders,
    /// The political-highlight ledger (`GET /api/v1/highlights`).
    Ledger,
    /// Recorded alerts.
    Alerts,
}

impl What {
    /// The server's table, for all but the log.
    fn table(self) -> Option<Table> {
        match self {
            What::Events => None,
            What::Pilots => Some(Table::Pilots),
            What::Stakeholders => Some(Table::Stakeholders),
            What::Ledger => Some(Table::Ledger),
            What::Alerts => Some(Table::Alerts),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    #[arg(long, value_enum, default_value_t = What::Events)]
    pub what: What,

    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,

    /// Start a CSV with a UTF-8 byte-order mark, so Excel reads Chinese text right.
    #[arg(long)]
    pub bom: bool,

    /// A filter of the list exported (`--what` other than events), as its endpoint takes it:
    /// `as_of=2001-01-01`, `stage=implementing`, `level=provincial`; repeatable.
    #[arg(long, value_name = "NAME=VALUE", value_parser = parse_filter)]
    pub filter: Vec<(String, String)>,

    /// Only this pilot's chain.
    #[arg(long, value_name = "ID")]
    pub pilot: Option<Uuid>,

    /// Only events that occurred at or before DATE (the end of that day in UTC), or an RFC
    /// 3339 timestamp.
    #[arg(long, value_name = "DATE", value_parser = parse_when)]
    pub until: Option<String>,

    /// Write to FILE instead of stdout.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Read the log directly from this NATS server instead of the pilot service.
    #[arg(long, value_name = "URL")]
    pub nats: Option<String>,

    /// No sidecar lines with personal fields revealed: they stay ciphertext only, and the
    /// export still verifies (for sharing, e.g. with researchers).
    #[arg(long)]
    pub redact: bool,

    #[command(flatten)]
    pub common: Common,
}

/// The CSV header.
pub const CSV_COLUMNS: [&str; 11] = [
    "position",
    "event_id",
    "type",
    "pilot_id",
    "stakeholder_id",
    "occurred_at",
    "recorded_at",
    "office",
    "user",
    "hash",
    "data",
];

pub async fn run(args: ExportArgs) -> Result<(), Failure> {
    if let Some(table) = args.what.table() {
        if args.redact {
            return Err(Failure::Input(
                "--redact applies to the log (--what events): a table shows what its reader may know".into(),
            ));
        }
        return export_table(&args, table).await;
    }
    if !args.filter.is_empty() {
        return Err(Failure::Input(
            "--filter applies to --what pilots, stakeholders, ledger or alerts; the log takes --pilot and --until".into(),
        ));
    }
    if args.bom && args.format != Format::Csv {
        return Err(Failure::Input(
            "--bom marks a CSV file: add --format csv".into(),
        ));
    }
    let mut until = args
        .until
        .as_deref()
        .map(instant)
        .transpose()?
        .map(Until::new);
    let source = Source::open(&args.common, args.nats.as_deref()).await?;
    // A filtered page from the server does not say each event's position; the pilot's own
    // chain endpoint does.
    let positions = match (&source, args.format, args.pilot) {
        (Source::Server(http), Format::Csv, Some(pilot)) => chain_positions(http, pilot).await?,
        _ => HashMap::new(),
    };
    let (mut target, partial) = open_target(args.output.as_deref())?;
    if args.bom {
        target
            .write_all(BOM)
            .map_err(|e| Failure::io("writing the export", e))?;
    }
    let mut sink = Sink::new(args.format, target, positions)?;
    let count = source
        .for_each_redacted(args.pilot, args.redact, |entry| {
            let keeps = match until.as_mut() {
                Some(until) => until.keeps(&entry)?,
                None => true,
            };
            if keeps {
                sink.write(entry)
            } else {
                Ok(())
            }
        })
        .await;
    let written = match count.and_then(|_| sink.finish()) {
        Ok(written) => written,
        Err(failure) => {
            if let Some(partial) = &partial {
                let _ = std::fs::remove_file(partial);
            }
            return Err(failure);
        }
    };
    if let (Some(partial), Some(path)) = (&partial, &args.output) {
        std::fs::rename(partial, path).map_err(|e| {
            Failure::io(
                format!("cannot rename {} to {}", partial.display(), path.display()),
                e,
            )
        })?;
        if args.common.json {
            output::json(&serde_json::json!({"events": written, "file": path}))?;
        } else {
            output::line(&format!("exported {written} events to {}", path.display()))?;
        }
    }
    Ok(())
}

/// `--what TABLE`: the server's CSV of the list, written as it came.
async fn export_table(args: &ExportArgs, table: Table) -> Result<(), Failure> {
    if args.format != Format::Csv {
        return Err(Failure::Input(format!(
            "--what {} exports CSV: add --format csv (the JSON list is `GET {}`)",
            table.name(),
            table.path()
        )));
    }
    if args.nats.is_some() || args.pilot.is_some() || args.until.is_some() {
        return Err(Failure::Input(format!(
            "--nats, --pilot and --until apply to the log (--what events); filter {} with --filter NAME=VALUE",
            table.name()
        )));
    }
    let http = Http::new(&args.common)?;
    let mut query: Vec<(&str, Option<String>)> = vec![("format", Some("csv".into()))];
    if args.bom {
        query.push(("bom", Some("true".into())));
    }
    query.extend(
        args.filter
            .iter()
            .map(|(name, value)| (name.as_str(), Some(value.clone()))),
    );
    let answer = http.get(http.url(table.path(), &query)?).await?;
    let rows = csv::Reader::from_reader(answer.body.as_ref())
        .records()
        .count();
    let (mut target, partial) = open_target(args.output.as_deref())?;
    let written = target.write_all(&answer.body).and_then(|()| target.flush());
    drop(target);
    if let Err(error) = written {
        if let Some(partial) = &partial {
            let _ = std::fs::remove_file(partial);
        }
        return Err(Failure::io("writing the export", error));
    }
    if let (Some(partial), Some(path)) = (&partial, &args.output) {
        std::fs::rename(partial, path).map_err(|e| {
            Failure::io(
                format!("cannot rename {} to {}", partial.display(), path.display()),
                e,
            )
        })?;
        if args.common.json {
            output::json(&serde_json::json!({"rows": rows, "file": path}))?;
        } else {
            output::line(&format!(
                "exported {rows} rows of {} to {}",
                table.name(),
                path.display()
            ))?;
        }
    }
    Ok(())
}

/// `--filter NAME=VALUE`.
fn parse_filter(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(format!(
            "a filter is NAME=VALUE (as_of=2001-01-01, stage=implementing); got {text:?}"
        )),
    }
}

fn instant(text: &str) -> Result<OffsetDateTime, Failure> {
    pilot_api::query::parse_instant("until", text).map_err(|e| Failure::Input(e.message))
}

/// Stdout, or `FILE.partial` (returned) to be renamed to FILE when complete.
fn open_target(path: Option<&Path>) -> Result<(Box<dyn Write>, Option<PathBuf>), Failure> {
    match path {
        None => Ok((Box::new(BufWriter::new(std::io::stdout())), None)),
        Some(path) => {
            let mut partial = path.as_os_str().to_owned();
            partial.push(".partial");
            let partial = PathBuf::from(partial);
            let file = std::fs::File::create(&partial)
                .map_err(|e| Failure::io(format!("cannot create {}", partial.display()), e))?;
            Ok((Box::new(BufWriter::new(file)), Some(partial)))
        }
    }
}

async fn chain_positions(http: &Http, pilot: Uuid) -> Result<HashMap<String, u64>, Failure> {
    let events = http
        .get_json(&format!("/api/v1/pilots/{pilot}/events"), &[])
        .await?;
    Ok(events
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|e| {
            Some((
                e.get("event_id")?.as_str()?.to_string(),
                e.get("position")?.as_u64()?,
            ))
        })
        .collect())
}

/// The envelope fields a CSV row shows, read without decoding `data`.
#[derive(Debug, Deserialize)]
struct Row<'a> {
    event_id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    pilot_id: Option<String>,
    #[serde(default)]
    stakeholder_id: Option<String>,
    occurred_at: String,
    recorded_at: String,
    actor: ActorRow,
    hash: String,
    #[serde(borrow)]
    data: &'a RawValue,
}

#[derive(Debug, Deserialize)]
struct ActorRow {
    office: String,
    user: String,
}

/// What `--until` reads of an event: when it happened and which chain it is in.
#[derive(Debug, Deserialize)]
struct Head {
    occurred_at: String,
    pilot_id: Option<uuid::Uuid>,
    stakeholder_id: Option<uuid::Uuid>,
    jurisdiction_id: Option<uuid::Uuid>,
}

/// `--until`: each chain up to its first event dated after the day (see the module's
/// documentation).
struct Until {
    at: OffsetDateTime,
    /// Chains already cut: nothing after their first later event is kept.
    cut: HashSet<pilot_events::Subject>,
}

impl Until {
    fn new(at: OffsetDateTime) -> Until {
        Until {
            at,
            cut: HashSet::new(),
        }
    }

    fn keeps(&mut self, entry: &Entry) -> Result<bool, Failure> {
        let head: Head = serde_json::from_slice(&entry.bytes)
            .map_err(|e| not_an_event(entry, &e.to_string()))?;
        use pilot_events::Subject;
        let chain = match (head.pilot_id, head.stakeholder_id, head.jurisdiction_id) {
            (Some(id), _, _) => Subject::Pilot(id),
            (None, Some(id), _) => Subject::Stakeholder(id),
            (None, None, Some(id)) => Subject::Jurisdiction(id),
            (None, None, None) => {
                return Err(not_an_event(
                    entry,
                    "it names no chain (pilot_id, stakeholder_id or jurisdiction_id)",
                ))
            }
        };
        if self.cut.contains(&chain) {
            return Ok(false);
        }
        let at = OffsetDateTime::parse(&head.occurred_at, &Rfc3339).map_err(|e| {
            not_an_event(entry, &format!("occurred_at {:?}: {e}", head.occurred_at))
        })?;
        if at > self.at {
            self.cut.insert(chain);
            return Ok(false);
        }
        Ok(true)
    }
}

/// Where exported events go.
enum Sink {
    Jsonl {
        out: Box<dyn Write>,
        written: u64,
    },
    Csv {
        out: csv::Writer<Box<dyn Write>>,
        positions: HashMap<String, u64>,
        written: u64,
    },
}

impl Sink {
    fn new(
        format: Format,
        out: Box<dyn Write>,
        positions: HashMap<String, u64>,
    ) -> Result<Sink, Failure> {
        Ok(match format {
            Format::Jsonl => Sink::Jsonl { out, written: 0 },
            Format::Csv => {
                let mut out = csv::Writer::from_writer(out);
                out.write_record(CSV_COLUMNS).map_err(csv_failure)?;
                Sink::Csv {
                    out,
                    positions,
                    written: 0,
                }
            }
        })
    }

    fn write(&mut self, entry: Entry) -> Result<(), Failure> {
        match self {
            Sink::Jsonl { out, written } => {
                out.write_all(&entry.bytes)
                    .and_then(|()| out.write_all(b"\n"))
                    .map_err(|e| Failure::io("writing the export", e))?;
                if let Some(sidecar) = &entry.revealed {
                    out.write_all(sidecar)
                        .and_then(|()| out.write_all(b"\n"))
                        .map_err(|e| Failure::io("writing the export", e))?;
                }
                *written += 1;
            }
            Sink::Csv {
                out,
                positions,
                written,
            } => {
                let row: Row = serde_json::from_slice(&entry.bytes)
                    .map_err(|e| not_an_event(&entry, &e.to_string()))?;
                let position = entry
                    .position
                    .or_else(|| positions.get(&row.event_id).copied())
                    .map(|p| p.to_string())
                    .unwrap_or_default();
                out.write_record([
                    position.as_str(),
                    &row.event_id,
                    &row.kind,
                    row.pilot_id.as_deref().unwrap_or(""),
                    row.stakeholder_id.as_deref().unwrap_or(""),
                    &row.occurred_at,
                    &row.recorded_at,
                    &row.actor.office,
                    &row.actor.user,
                    &row.hash,
                    row.data.get(),
                ])
                .map_err(csv_failure)?;
                *written += 1;
            }
        }
        Ok(())
    }

    /// Flushes; how many events were written.
    fn finish(self) -> Result<u64, Failure> {
        match self {
            Sink::Jsonl { mut out, written } => {
                out.flush()
                    .map_err(|e| Failure::io("writing the export", e))?;
                Ok(written)
            }
            Sink::Csv {
                mut out, written, ..
            } => {
                out.flush()
                    .map_err(|e| Failure::io("writing the export", e))?;
                Ok(written)
            }
        }
    }
}

fn not_an_event(entry: &Entry, why: &str) -> Failure {
    let at = entry
        .position
        .map(|p| format!(" at position {p}"))
        .unwrap_or_default();
    Failure::BadAnswer(format!(
        "the log holds something that is not an event{at}: {why}"
    ))
}

fn csv_failure(error: csv::Error) -> Failure {
    match error.into_kind() {
        csv::ErrorKind::Io(e) => Failure::io("writing the export", e),
        other => Failure::Io(format!("writing the CSV: {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    const LINE: &[u8] = br#"{"event_id":"e1","type":"pilot.proposed","schema":1,"pilot_id":"0194a000-0001-7000-8000-000000000001","occurred_at":"2000-03-01T09:00:00+08:00","recorded_at":"2000-03-02T09:00:00+08:00","actor":{"office":"SSDNC","user":"a, \"b\""},"prev_hash":"00","hash":"h1","data":{"title":"A, \"quoted\" title","n":880000.0}}"#;

    struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn export(format: Format, until: Option<&str>) -> String {
        let buffer = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let mut sink = Sink::new(format, Box::new(Shared(buffer.clone())), HashMap::new()).unwrap();
        let entry = Entry {
            position: Some(7),
            bytes: Bytes::from_static(LINE),
            revealed: None,
        };
        let keeps = until.is_none_or(|u| Until::new(instant(u).unwrap()).keeps(&entry).unwrap());
        if keeps {
            sink.write(entry).unwrap();
        }
        sink.finish().unwrap();
        let text = String::from_utf8(buffer.borrow().clone()).unwrap();
        text
    }

    /// A fact learned late (dated before the day, logged after a later event of its chain) is
    /// cut with the rest of its chain's tail, so the export stays a prefix of every chain.
    #[test]
    fn until_keeps_each_chain_up_to_its_first_later_event() {
        let event = |chain: char, at: &str| Entry {
            position: None,
            bytes: Bytes::from(format!(
                r#"{{"pilot_id":"0194a000-0000-7000-8000-00000000000{chain}","occurred_at":"{at}","type":"x"}}"#
            )),
            revealed: None,
        };
        let mut until = Until::new(instant("2001-01-01").unwrap());
        let kept: Vec<bool> = [
            event('a', "2000-06-01T00:00:00+08:00"),
            event('b', "2000-07-01T00:00:00+08:00"),
            event('a', "2002-01-01T00:00:00+08:00"),
            event('a', "2000-08-01T00:00:00+08:00"),
            event('b', "2000-09-01T00:00:00+08:00"),
        ]
        .iter()
        .map(|e| until.keeps(e).unwrap())
        .collect();
        assert_eq!(kept, [true, true, false, false, true]);
    }

    #[test]
    fn jsonl_keeps_the_stored_bytes() {
        assert_eq!(
            export(Format::Jsonl, None).as_bytes(),
            [LINE, b"\n"].concat()
        );
    }

    #[test]
    fn jsonl_writes_the_servers_sidecar_after_its_event() {
        let buffer = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let mut sink = Sink::new(
            Format::Jsonl,
            Box::new(Shared(buffer.clone())),
            HashMap::new(),
        )
        .unwrap();
        let sidecar = br#"{"revealed_for":"e1","fields":{"summary":"text"}}"#;
        sink.write(Entry {
            position: Some(7),
            bytes: Bytes::from_static(LINE),
            revealed: Some(Bytes::from_static(sidecar)),
        })
        .unwrap();
        assert_eq!(sink.finish().unwrap(), 1, "one event");
        assert_eq!(
            buffer.borrow().as_slice(),
            [LINE, b"\n", sidecar, b"\n"].concat()
        );
    }

    #[test]
    fn csv_quotes_and_keeps_data_as_stored() {
        let text = export(Format::Csv, None);
        let mut rows = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(
            rows.headers().unwrap().iter().collect::<Vec<_>>(),
            CSV_COLUMNS
        );
        let records: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), 1);
        assert_eq!(&records[0][0], "7");
        assert_eq!(&records[0][8], "a, \"b\"");
        assert_eq!(
            &records[0][10],
            r#"{"title":"A, \"quoted\" title","n":880000.0}"#
        );
    }

    #[test]
    fn until_keeps_what_had_occurred() {
        assert_eq!(export(Format::Jsonl, Some("2000-02-29")), "");
        assert!(!export(Format::Jsonl, Some("2000-03-01")).is_empty());
    }
}
