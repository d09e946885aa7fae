//! The HTTP listener: our own accept loop over hyper's HTTP/1.1 server, so
//! that slow clients are cut, connections are capped and a stop is bounded
//! (docs/security.md), none of which `axum::serve` offers. With native TLS each
//! connection is handed to `https` instead, which speaks HTTP/2 too.

mod https;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio_io_timeout::TimeoutStream;
use tower::ServiceExt;

pub use self::https::Https;
use crate::metrics::Metrics;

/// What bounds the clients of one listener.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// From a connection's start, or the end of its previous answer, to the
    /// end of the next request's headers; also how long a client may leave
    /// its answer unread (a write making no progress) before it is cut off.
    pub header_read_timeout: Duration,
    pub max_connections: usize,
    /// How long a stop waits for requests in flight.
    pub shutdown_timeout: Duration,
}

/// hyper's default (about 400 KiB) is sized for proxies. keyward's requests
/// carry a key or a cookie and a small JSON body, so this bounds what each
/// stalled connection can pin in memory. hyper stops reading a head once its
/// buffer reaches this (one read may overshoot) and answers 431.
const MAX_BUFFER: usize = 64 * 1024;
/// A full cap is worth one line, not one per connection turned away.
const CAP_WARNING_EVERY: Duration = Duration::from_secs(60);
/// Out of descriptors (EMFILE) or memory, `accept` fails at once until
/// something is released: retry soon, but never spin.
const ACCEPT_BACKOFF_FIRST: Duration = Duration::from_millis(5);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Serves `app` on `listener` (over TLS when `https` is given) until
/// `shutdown` completes, then stops accepting and lets requests in flight
/// finish, for at most `limits.shutdown_timeout`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: &ConnectionLimits,
    https: Option<Https>,
    metrics: Metrics,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout).max_buf_size(MAX_BUFFER);
    let http = Arc::new(http);
    let https = https.map(Arc::new);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut last_cap_warning = None;
    let mut shutdown = pin!(shutdown);
    loop {
        // The slot is taken before `accept`: at the cap the loop stops
        // accepting and the kernel's backlog holds the next clients.
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = take_slot(&slots, limits.max_connections, &mut last_cap_warning) => permit,
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = accept(&listener) => accepted,
        };
        let slot = Slot::new(permit, &metrics);
        let stream = cut_stalled_writes(stream, limits.header_read_timeout);
        match &https {
            None => connections.spawn(connection(stream, peer, app.clone(), http.clone(), stopping.clone(), slot)),
            Some(https) => connections.spawn(https::connection(
                stream,
                peer,
                app.clone(),
                http.clone(),
                https.clone(),
                stopping.clone(),
                slot,
            )),
        };
        while let Some(done) = connections.try_join_next() {
            report_panic(done);
        }
    }
    drop(listener);
    let _ = stop.send(true);
    while let Some(done) = connections.try_join_next() {
        report_panic(done);
    }
    if connections.is_empty() {
        return;
    }
    tracing::info!(open = connections.len(), "waiting for open connections to finish their requests");
    let drained = tokio::time::timeout(limits.shutdown_timeout, async {
        while let Some(done) = connections.join_next().await {
            report_panic(done);
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            timeout_secs = limits.shutdown_timeout.as_secs(),
            "requests still in flight at the shutdown timeout: closing their connections"
        );
        connections.shutdown().await;
    }
}

/// A client that stops reading its answer would hold its slot until the
/// kernel gave up on it (many minutes): a write that makes no progress for
/// `timeout` fails instead, and the connection closes.
fn cut_stalled_writes(stream: TcpStream, timeout: Duration) -> Pin<Box<TimeoutStream<TcpStream>>> {
    let mut stream = TimeoutStream::new(stream);
    stream.set_write_timeout(Some(timeout));
    Box::pin(stream)
}

/// One of the `max_connections` slots, held by an open connection and
/// counted in the open-connections gauge until it closes.
struct Slot {
    _permit: OwnedSemaphorePermit,
    metrics: Metrics,
}

impl Slot {
    fn new(permit: OwnedSemaphorePermit, metrics: &Metrics) -> Self {
        metrics.connection_opened();
        Self { _permit: permit, metrics: metrics.clone() }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.metrics.connection_closed();
    }
}

async fn take_slot(slots: &Arc<Semaphore>, max: usize, last_warning: &mut Option<Instant>) -> OwnedSemaphorePermit {
    if let Ok(permit) = slots.clone().try_acquire_owned() {
        return permit;
    }
    if last_warning.is_none_or(|at| at.elapsed() >= CAP_WARNING_EVERY) {
        tracing::warn!(
            max_connections = max,
            "connection cap reached: new clients wait in the OS backlog until a connection closes"
        );
        *last_warning = Some(Instant::now());
    }
    slots.clone().acquire_owned().await.expect("the connection semaphore is never closed")
}

async fn accept(listener: &TcpListener) -> (TcpStream, SocketAddr) {
    let mut backoff = ACCEPT_BACKOFF_FIRST;
    loop {
        match listener.accept().await {
            Ok(accepted) => return accepted,
            // The client gave up between its handshake and our accept.
            Err(e) if is_client_gone(&e) => {}
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "could not accept a connection");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
            }
        }
    }
}

fn is_client_gone(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(e.kind(), ConnectionAborted | ConnectionReset | ConnectionRefused)
}

/// Serves one connection until it closes or a stop ends it. Generic over
/// the stream so that a TLS stream, once its handshake is done under its own
/// deadline, is served the same way.
async fn connection<I>(
    io: I,
    peer: SocketAddr,
    app: Router,
    http: Arc<http1::Builder>,
    mut stopping: watch::Receiver<bool>,
    _slot: Slot,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let started_a_request = Arc::new(AtomicBool::new(false));
    let service = {
        let started_a_request = started_a_request.clone();
        hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            started_a_request.store(true, Ordering::Relaxed);
            let mut req = req.map(Body::new);
            // What `into_make_service_with_connect_info` gave handlers:
            // throttling and the audit trail read the peer from here.
            req.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(req)
        })
    };
    let mut conn = pin!(http.serve_connection(TokioIo::new(io), service));
    let outcome = tokio::select! {
        outcome = conn.as_mut() => outcome,
        () = stopped(&mut stopping) => {
            if !started_a_request.load(Ordering::Relaxed) {
                // Nothing is in flight. hyper closes a connection that has
                // sent nothing, but one holding part of a request head would
                // hold the stop until the header read timeout.
                return;
            }
            // Finishes the request in flight, if any, then closes; an idle
            // keep-alive connection closes at once.
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = outcome {
        report_end(peer, &e);
    }
}

fn report_end(peer: SocketAddr, e: &hyper::Error) {
    if e.is_timeout() {
        tracing::debug!(%peer, "closed a connection that sent no complete request headers in time");
    } else {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}

/// Also when the sender is gone: nothing is left to serve for.
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stop| *stop).await;
}

fn report_panic(done: Result<(), tokio::task::JoinError>) {
    if let Err(e) = done {
        if e.is_panic() {
            tracing::error!(error = %e, "a connection task panicked");
        }
    }
}
