//! The HTTP endpoint (/metrics, /status, /healthz) as configured: (re)bound when its
//! address changes, off when unset.

use crate::check::stats::CheckStats;
use crate::control::server;
use std::net::SocketAddr;
use tokio::sync::mpsc;
use tracing::error;

#[derive(Default)]
pub(crate) struct Http {
    on: Option<(SocketAddr, tokio::task::JoinHandle<()>)>,
}

impl Http {
    pub(crate) async fn follow(
        &mut self,
        want: Option<SocketAddr>,
        tx: &mpsc::Sender<server::Request>,
        stats: &CheckStats,
    ) {
        if self.on.as_ref().map(|o| o.0) == want {
            return;
        }
        self.stop();
        if let Some(addr) = want {
            match crate::control::http::serve(addr, tx.clone(), stats.clone()).await {
                Ok(t) => self.on = Some((addr, t)),
                Err(e) => error!("HTTP endpoint on {addr}: {e}; /metrics is not served"),
            }
        }
    }

    pub(crate) fn stop(&mut self) {
        if let Some((_, t)) = self.on.take() {
            t.abort();
        }
    }
}
