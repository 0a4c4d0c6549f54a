//! The read-only HTTP endpoint (hyper), off unless `--http-listen ADDR:PORT` or the TOML
//! config's `global_defs.http_listen` asks for it: `GET /` (the status page: one
//! self-contained HTML file, `page.html`, that reads /status), `GET /metrics` (Prometheus
//! text format), `GET /status` (the JSON of `ldirector status --json`; `?compact` without
//! the indentation), `GET /healthz` (200 while the daemon's main loop answers). Each request asks the main loop for a fresh snapshot, as
//! the control socket does; nothing here can change the daemon. A slow or hostile client
//! costs one task and is cut off after a few seconds; at most 64 connections are served at
//! once, at most 8 from one address, one request each: clients that open connections and
//! send nothing cannot keep a monitoring system's or a liveness probe's request out.

use super::metrics;
use super::server::{Command, Request};
use super::status::Status;
use crate::check::stats::CheckStats;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Response, StatusCode};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

/// How long a connection may live (headers and answer).
const CONNECTION_LIMIT: Duration = Duration::from_secs(10);
/// How long the main loop may take to answer before /healthz says 503.
const ANSWER_LIMIT: Duration = Duration::from_secs(3);
/// Connections served at once; more are closed at once (a flood costs no memory).
const MAX_CONNECTIONS: usize = 64;
/// Connections from one address at once (a slow client cannot hold every slot).
const MAX_PER_CLIENT: usize = 8;
/// How long a client may take to send its request's headers.
const HEADER_LIMIT: Duration = Duration::from_secs(2);

/// Connections open per client address.
#[derive(Clone, Default)]
struct PerClient(
    std::sync::Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>>,
);

/// A connection's place in [`PerClient`], given back when dropped.
struct ClientSlot(PerClient, std::net::IpAddr);

impl PerClient {
    fn take(&self, a: std::net::IpAddr) -> Option<ClientSlot> {
        let mut m = self.0.lock().ok()?;
        let n = m.entry(a).or_insert(0);
        if *n >= MAX_PER_CLIENT {
            return None;
        }
        *n += 1;
        Some(ClientSlot(self.clone(), a))
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        if let Ok(mut m) = (self.0).0.lock() {
            if let Some(n) = m.get_mut(&self.1) {
                *n -= 1;
                if *n == 0 {
                    m.remove(&self.1);
                }
            }
        }
    }
}

/// Bind `addr` (errors come back at once), or take over `inherited` (the listener a
/// previous binary passed on: `ldirector upgrade`), and serve it in the background.
/// Returns the task and the listener's descriptor (for the next hand-over).
pub(crate) async fn serve(
    addr: SocketAddr,
    inherited: Option<std::os::fd::OwnedFd>,
    to_daemon: mpsc::Sender<Request>,
    checks: CheckStats,
) -> std::io::Result<(tokio::task::JoinHandle<()>, std::os::fd::RawFd)> {
    use std::os::fd::AsRawFd;
    let listener = match inherited {
        Some(fd) => {
            let l = std::net::TcpListener::from(fd);
            l.set_nonblocking(true)?;
            TcpListener::from_std(l)?
        }
        None => TcpListener::bind(addr).await?,
    };
    let fd = listener.as_raw_fd();
    info!("HTTP endpoint on http://{addr}/ (/metrics, /status, /healthz)");
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let per_client = PerClient::default();
    let task = tokio::spawn(async move {
        let mut refused = 0u64;
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(x) => x,
                Err(e) => {
                    warn!("HTTP endpoint: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            let Some(mine) = per_client.take(peer.ip()) else {
                refused += 1;
                if refused.is_power_of_two() {
                    warn!("HTTP endpoint: {} has {MAX_PER_CLIENT} connections open, {refused} refused so far", peer.ip());
                }
                continue;
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                refused += 1;
                if refused.is_power_of_two() {
                    warn!("HTTP endpoint: {MAX_CONNECTIONS} connections open, {refused} refused so far");
                }
                continue;
            };
            let (tx, checks) = (to_daemon.clone(), checks.clone());
            tokio::spawn(async move {
                let _slots = (slot, mine);
                let svc = hyper::service::service_fn(move |req| {
                    let (tx, checks) = (tx.clone(), checks.clone());
                    async move { Ok::<_, std::convert::Infallible>(answer(req, tx, checks).await) }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let conn = hyper::server::conn::http1::Builder::new()
                    .header_read_timeout(Some(HEADER_LIMIT))
                    .keep_alive(false)
                    .timer(hyper_util::rt::TokioTimer::new())
                    .serve_connection(io, svc);
                let _ = tokio::time::timeout(CONNECTION_LIMIT, conn).await;
            });
        }
    });
    Ok((task, fd))
}

async fn status(tx: &mpsc::Sender<Request>) -> Option<Status> {
    let (reply, answer) = oneshot::channel();
    let req = Request {
        command: Command::Status,
        reply,
    };
    let text = tokio::time::timeout(ANSWER_LIMIT, async {
        tx.send(req).await.ok()?;
        answer.await.ok()
    })
    .await
    .ok()??;
    serde_json::from_str(&text).ok()
}

fn reply(code: StatusCode, kind: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = code;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(kind));
    r
}

const TEXT: &str = "text/plain; charset=utf-8";

/// The status page (no external assets: it works on an isolated management network).
const PAGE: &str = include_str!("page.html");

/// Whether the client's Accept header asks for OpenMetrics.
fn wants_openmetrics(req: &hyper::Request<Incoming>) -> bool {
    req.headers()
        .get_all(hyper::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"))
}

async fn answer(
    req: hyper::Request<Incoming>,
    tx: mpsc::Sender<Request>,
    checks: CheckStats,
) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return reply(
            StatusCode::METHOD_NOT_ALLOWED,
            TEXT,
            "read-only: GET /, /metrics, /status or /healthz\n".into(),
        );
    }
    match req.uri().path() {
        "/" => {
            let mut r = reply(StatusCode::OK, "text/html; charset=utf-8", PAGE.into());
            // the page draws nothing from elsewhere, and nothing may frame it
            r.headers_mut().insert(
                hyper::header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
                ),
            );
            r
        }
        "/metrics" => match status(&tx).await {
            // OpenMetrics to whoever asks for it (Prometheus does), else the classic format
            Some(st) if wants_openmetrics(&req) => reply(
                StatusCode::OK,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                metrics::render(&st, &checks),
            ),
            Some(st) => reply(
                StatusCode::OK,
                "text/plain; version=0.0.4; charset=utf-8",
                metrics::classic(&metrics::render(&st, &checks)),
            ),
            None => reply(
                StatusCode::SERVICE_UNAVAILABLE,
                TEXT,
                "the daemon did not answer\n".into(),
            ),
        },
        "/status" => match status(&tx).await {
            Some(st) => reply(
                StatusCode::OK,
                "application/json",
                if req
                    .uri()
                    .query()
                    .is_some_and(|q| q.split('&').any(|p| p == "compact"))
                {
                    serde_json::to_string(&st).unwrap_or_default()
                } else {
                    serde_json::to_string_pretty(&st).unwrap_or_default()
                },
            ),
            None => reply(
                StatusCode::SERVICE_UNAVAILABLE,
                TEXT,
                "the daemon did not answer\n".into(),
            ),
        },
        "/healthz" => match status(&tx).await {
            Some(_) => reply(StatusCode::OK, TEXT, "ok\n".into()),
            None => reply(
                StatusCode::SERVICE_UNAVAILABLE,
                TEXT,
                "the daemon's main loop did not answer\n".into(),
            ),
        },
        _ => reply(
            StatusCode::NOT_FOUND,
            TEXT,
            "not found: GET /, /metrics, /status or /healthz\n".into(),
        ),
    }
}
