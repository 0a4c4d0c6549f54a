//! The HTTP endpoint (/metrics, /status, /healthz) as configured: (re)bound when its
//! address changes, off when unset.

use crate::check::stats::CheckStats;
use crate::control::server;
use std::net::SocketAddr;
use tokio::sync::mpsc;
use tracing::error;

#[derive(Default)]
pub(crate) struct Http {
    on: Option<(SocketAddr, tokio::task::JoinHandle<()>, std::os::fd::RawFd)>,
    /// The listener a previous binary passed on (`ldirector upgrade`), served by the
    /// first `follow` that wants its address (closed otherwise).
    inherited: Option<(SocketAddr, std::os::fd::OwnedFd)>,
}

impl Http {
    pub(crate) fn inherit(&mut self, addr: SocketAddr, fd: std::os::fd::OwnedFd) {
        self.inherited = Some((addr, fd));
    }

    /// The address served and the listener's descriptor (for a hand-over).
    pub(crate) fn listener(&self) -> Option<(SocketAddr, std::os::fd::RawFd)> {
        self.on.as_ref().map(|(a, _, fd)| (*a, *fd))
    }

    pub(crate) async fn follow(
        &mut self,
        want: Option<SocketAddr>,
        tx: &mpsc::Sender<server::Request>,
        stats: &CheckStats,
    ) {
        let inherited = self.inherited.take();
        if self.on.as_ref().map(|o| o.0) == want {
            return;
        }
        self.stop();
        if let Some(addr) = want {
            let fd = inherited.filter(|(a, _)| *a == addr).map(|(_, fd)| fd);
            match crate::control::http::serve(addr, fd, tx.clone(), stats.clone()).await {
                Ok((t, fd)) => self.on = Some((addr, t, fd)),
                Err(e) => error!("HTTP endpoint on {addr}: {e}; /metrics is not served"),
            }
        }
    }

    pub(crate) fn stop(&mut self) {
        if let Some((_, t, _)) = self.on.take() {
            t.abort();
        }
    }
}
