//! The HTTP listener of `pilot serve`: HTTP/1.1 with limits on what a client may hold open.
//!
//! `axum::serve` reads headers and bodies without a deadline and takes every connection
//! offered, so idle or half-open connections (a slow-loris client, a scanner) stay open for
//! good and each one holds a task and a file descriptor. Here:
//!
//! - **Headers** must arrive within [`HttpLimits::header_read_timeout`] of the moment the
//!   connection is ready for a request: after the connection opens, and after each response on
//!   a kept-alive connection. A connection that sends nothing, or half a request head, is
//!   closed then (hyper's `header_read_timeout`).
//! - **A request body** must be read in full within [`HttpLimits::body_read_timeout`] of the
//!   request head (tower-http's `RequestBodyDeadline`); a client that trickles its body fails
//!   the request instead of holding it open.
//! - **At most [`HttpLimits::max_connections`] connections** are served at once; further ones
//!   wait in the kernel's accept queue until one closes.
//!
//! Responses are not limited in time: `GET /api/v1/events/stream` is open-ended by design and
//! ends on shutdown. HTTP/2 is not served (no client of pilot speaks it in clear text).

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower_http::timeout::RequestBodyDeadline;

/// How long to wait before accepting again after `accept` failed (out of file descriptors).
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// What one client may hold open; the configuration's `header_read_timeout_ms`,
/// `body_read_timeout_ms` and `max_connections`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub max_connections: usize,
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting, lets open
/// requests finish (idle connections close at once) and returns once every connection is
/// closed. Wrap it in a timeout to bound that wait.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()>,
) {
    let service = TowerToHyperService::new(RequestBodyDeadline::new(app, limits.body_read_timeout));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot,
            () = &mut shutdown => break,
        };
        // The semaphore is never closed.
        let Ok(slot) = slot else { break };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                tracing::warn!(message = "Could not accept an HTTP connection.", %error);
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        // Without TCP_NODELAY a small response can wait for the client's delayed
        // acknowledgement of the previous one (Nagle's algorithm).
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(message = "Cannot set TCP_NODELAY on a connection.", %error);
        }
        let connection = http.serve_connection(TokioIo::new(stream), service.clone());
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(message = "An HTTP connection ended with an error.", %error);
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
