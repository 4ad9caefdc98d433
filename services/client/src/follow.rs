//! `pilot follow [--after POSITION] [--pilot P] [--type T]`: the live stream of what the
//! projections apply (`GET /api/v1/events/stream`, Server-Sent Events), a line per event as
//! `pilot events` shows it, or with `--json` each event as stored, one per line. Ctrl-C (or
//! SIGTERM), or the server closing the stream (it stops), ends it with exit 0.

use super::events::{self, Names};
use super::http::{self, Http};
use super::output;
use super::resolve::{self, Kind};
use super::{Common, Failure};
use clap::Args;
use serde_json::Value;
use std::time::Duration;

/// How long the stream may stay silent: the server sends a comment every 15 s, so four missed
/// in a row mean it is gone.
const SILENCE: Duration = Duration::from_secs(60);
/// The longest line a stream may send: an event is far smaller; more is not a pilot server.
const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, Args)]
pub struct FollowArgs {
    /// Start after this stream position (an event's `position`) instead of now: what came
    /// after it is sent first.
    #[arg(long, value_name = "POSITION")]
    pub after: Option<u64>,

    /// Only this pilot's events: its id, the start of its title, or a short id.
    #[arg(long, value_name = "PILOT")]
    pub pilot: Option<String>,

    /// Only events of this type (`approval.requested`) or family (`approval`).
    #[arg(long = "type", value_name = "TYPE", value_parser = events::parse_type)]
    pub kind: Option<String>,

    #[command(flatten)]
    pub common: Common,
}

pub async fn run(args: FollowArgs) -> Result<(), Failure> {
    let http = Http::new(&args.common)?;
    let pilot = resolve::optional(&http, Kind::Pilot, args.pilot.as_deref())
        .await?
        .map(|id| id.to_string());
    let mut names = Names::load(&http).await;
    let query = [("after", args.after.map(|a| a.to_string()))];
    let path = "/api/v1/events/stream";
    let mut response = http.open_stream(path, &query, SILENCE).await?;
    eprintln!(
        "pilot: following {}{path} (Ctrl-C to stop)",
        output::visible(&args.common.server)
    );
    let mut parser = Parser::default();
    let stop = stopped();
    tokio::pin!(stop);
    let mut last: Option<Value> = None;
    loop {
        let chunk = tokio::select! {
            () = &mut stop => return Ok(()),
            chunk = response.chunk() => chunk,
        };
        let chunk = match chunk {
            Ok(Some(chunk)) => chunk,
            // The server closed the stream: it is stopping.
            Ok(None) => return Ok(()),
            Err(error) => return Err(http::unreachable(path, &error)),
        };
        for message in parser.push(&chunk)? {
            let Ok(event) = serde_json::from_str::<Value>(&message.data) else {
                continue;
            };
            // What a reader may know of the last event's sealed fields (a person's name): it
            // names that person from now on; it is no event to show.
            if pilot_api::reveal::is_sidecar(message.data.as_bytes()) {
                if let Some(last) = &last {
                    names.learn_revealed(last, &event);
                }
                continue;
            }
            names.learn(&event);
            last = Some(event.clone());
            let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
            if pilot
                .as_deref()
                .is_some_and(|p| events::subject_id(&event) != p)
                || args
                    .kind
                    .as_deref()
                    .is_some_and(|k| !events::of_type(kind, k))
            {
                continue;
            }
            if args.common.json {
                output::line(&message.data)?;
            } else {
                let cells = events::cells(message.id.unwrap_or_else(|| "-".into()), &event, &names);
                let cells: Vec<String> = cells.iter().map(|c| output::visible(c)).collect();
                output::line(&cells.join("  "))?;
            }
        }
    }
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM: a person or a supervisor ending the follow, which
/// is how it is meant to end, so neither is a failure. A signal that cannot be listened for
/// never resolves (the follow then ends as the server or the stream does).
async fn stopped() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                terminate.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

/// One Server-Sent Event: its `id:` (the stream position) and its `data:` lines joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: Option<String>,
    pub data: String,
}

/// Reads Server-Sent Events from chunks split anywhere: lines end in LF or CRLF (the server
/// sends no bare CR), a blank line ends an event, `:` lines are keep-alive comments.
#[derive(Debug, Default)]
pub struct Parser {
    line: Vec<u8>,
    id: Option<String>,
    data: Vec<String>,
}

impl Parser {
    /// The events `chunk` completes.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<Message>, Failure> {
        let mut done = Vec::new();
        for byte in chunk {
            if *byte != b'\n' {
                self.line.push(*byte);
                if self.line.len() > MAX_LINE_BYTES {
                    return Err(Failure::BadAnswer(format!(
                        "the event stream sent a line longer than {MAX_LINE_BYTES} bytes"
                    )));
                }
                continue;
            }
            let line = std::mem::take(&mut self.line);
            let line = String::from_utf8_lossy(line.strip_suffix(b"\r").unwrap_or(&line));
            if line.is_empty() {
                if !self.data.is_empty() {
                    done.push(Message {
                        id: self.id.take(),
                        data: std::mem::take(&mut self.data).join("\n"),
                    });
                }
                self.id = None;
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((&line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "id" => self.id = Some(value.to_string()),
                "data" => self.data.push(value.to_string()),
                // `event:` (the type, which the data holds too), comments, anything else.
                _ => {}
            }
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_chunks_are_put_together() {
        let mut parser = Parser::default();
        let stream = b": keep-alive\n\nid: 7\nevent: pilot.proposed\ndata: {\"a\":\ndata: 1}\n\nid: 8\r\ndata: {}\r\n\r\n";
        let mut messages = Vec::new();
        for piece in stream.chunks(5) {
            messages.extend(parser.push(piece).unwrap());
        }
        assert_eq!(
            messages,
            [
                Message {
                    id: Some("7".into()),
                    data: "{\"a\":\n1}".into()
                },
                Message {
                    id: Some("8".into()),
                    data: "{}".into()
                }
            ]
        );
    }

    #[test]
    fn an_endless_line_is_refused() {
        let mut parser = Parser::default();
        let long = vec![b'x'; MAX_LINE_BYTES + 1];
        assert_eq!(parser.push(&long).unwrap_err().exit_code(), 1);
    }
}
