//! The control socket (`<run-dir>/ldirector.sock`, root only) behind `ldirector reload` and
//! `ldirector status`: one request line (`reload`, `status`), one JSON answer, then close;
//! the read-only HTTP endpoint (/metrics, /status, /healthz); and systemd's readiness
//! notifications.

pub mod client;
pub(crate) mod http;
pub(crate) mod metrics;
pub(crate) mod server;
pub mod status;
pub(crate) mod systemd;

/// The socket's name in the run directory.
pub const SOCKET: &str = "ldirector.sock";
