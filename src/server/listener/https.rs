//! One connection over native TLS: the handshake under a deadline, then
//! HTTP/1.1 as on plain connections or HTTP/2 when ALPN chose it.

use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::{Slot, report_end, stopped};

/// What serves TLS connections: the acceptor (whose certificate a reload
/// swaps) and the HTTP/2 side.
pub struct Https {
    acceptor: TlsAcceptor,
    h2: http2::Builder<TokioExecutor>,
    /// For the handshake, and for an HTTP/2 connection with nothing in
    /// flight: what the header read timeout is to HTTP/1.1.
    timeout: Duration,
}

impl Https {
    pub fn new(acceptor: TlsAcceptor, header_read_timeout: Duration) -> Self {
        let mut h2 = http2::Builder::new(TokioExecutor::new());
        // Bounds what one connection can make the server hold: a client
        // that opens many streams and never reads their answers keeps at
        // most 32 of them, each with a small send buffer.
        h2.timer(TokioTimer::new())
            .max_concurrent_streams(32)
            .initial_stream_window_size(64 * 1024)
            .initial_connection_window_size(256 * 1024)
            .max_send_buf_size(64 * 1024)
            .max_header_list_size(16 * 1024);
        Self { acceptor, h2, timeout: header_read_timeout }
    }
}

/// The handshake holds a connection slot: a client that starts one and
/// never finishes gives the slot back at the deadline, as one that never
/// sends its headers does.
pub(super) async fn connection<S>(
    stream: S,
    peer: SocketAddr,
    app: Router,
    http1: Arc<http1::Builder>,
    https: Arc<Https>,
    mut stopping: watch::Receiver<bool>,
    slot: Slot,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let handshake = tokio::select! {
        () = stopped(&mut stopping) => return,
        done = tokio::time::timeout(https.timeout, https.acceptor.accept(stream)) => done,
    };
    let stream = match handshake {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!(%peer, "closed a connection that did not finish its TLS handshake in time");
            return;
        }
    };
    if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
        h2_connection(stream, peer, app, &https, stopping, slot).await;
    } else {
        super::connection(stream, peer, app, http1, stopping, slot).await;
    }
}

/// HTTP/2 has no header read timeout: an open connection with no stream is
/// legal for ever. So one idle for the timeout is told to go away (GOAWAY),
/// as an idle HTTP/1.1 keep-alive connection is closed.
async fn h2_connection<I>(
    io: I,
    peer: SocketAddr,
    app: Router,
    https: &Https,
    mut stopping: watch::Receiver<bool>,
    _slot: Slot,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::new());
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let in_flight = activity.begin();
            let mut req = req.map(Body::new);
            req.extensions_mut().insert(ConnectInfo(peer));
            let answer = app.clone().oneshot(req);
            async move {
                let answer = answer.await;
                drop(in_flight);
                answer
            }
        })
    };
    let mut conn = pin!(https.h2.serve_connection(TokioIo::new(io), service));
    let outcome = tokio::select! {
        outcome = conn.as_mut() => outcome,
        () = stopped(&mut stopping) => {
            if !activity.started.load(Ordering::Relaxed) {
                return;
            }
            // Streams in flight finish; the listener bounds the wait.
            conn.as_mut().graceful_shutdown();
            conn.await
        }
        () = activity.idle_for(https.timeout) => {
            conn.as_mut().graceful_shutdown();
            // A peer that never acknowledges the GOAWAY's ping would hold
            // the close open.
            match tokio::time::timeout(https.timeout, conn).await {
                Ok(outcome) => outcome,
                Err(_) => return,
            }
        }
    };
    if let Err(e) = outcome {
        report_end(peer, &e);
    }
}

/// Requests in flight on one HTTP/2 connection, and when one last began or
/// ended.
struct Activity {
    opened: Instant,
    started: AtomicBool,
    in_flight: AtomicUsize,
    /// Milliseconds from `opened`.
    last: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self { opened: Instant::now(), started: AtomicBool::new(false), in_flight: AtomicUsize::new(0), last: 0.into() }
    }

    fn touch(&self) {
        self.last.store(self.opened.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn begin(self: &Arc<Self>) -> InFlight {
        self.started.store(true, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.touch();
        InFlight(self.clone())
    }

    /// Completes once nothing has been in flight for `timeout`.
    async fn idle_for(&self, timeout: Duration) {
        loop {
            let last = self.opened + Duration::from_millis(self.last.load(Ordering::Relaxed));
            tokio::time::sleep_until(last + timeout).await;
            let quiet = self.opened.elapsed().saturating_sub(Duration::from_millis(self.last.load(Ordering::Relaxed)));
            if self.in_flight.load(Ordering::Relaxed) == 0 && quiet >= timeout {
                return;
            }
            if self.in_flight.load(Ordering::Relaxed) > 0 {
                // Ends are touched too: the next look is a timeout after it.
                tokio::time::sleep(timeout).await;
            }
        }
    }
}

/// One request in flight, until dropped (answered or abandoned).
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}
