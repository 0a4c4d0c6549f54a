//! Real-server and virtual-server notifications, as keepalived's checker sends them: a
//! real server's notify_up / notify_down script and `RS ...` line, a virtual server's
//! quorum_up / quorum_down script and `VS ...` line, on notify_fifo and lvs_notify_fifo.
//! Lines are written at once; scripts run in order per real server (per virtual server for
//! quorum), a hung one killed after the notify timeout.

use super::exec::{self, RunAs};
use super::fifo::{self, Fifo};
use super::queue::Queues;
use super::vrrp::NOTIFY_TIMEOUT;
use crate::config::model::{Config, RealServer, VirtualServer};
use crate::config::types::Script;
use std::time::Duration;
use tracing::{error, warn};

pub struct LvsNotifier {
    fifos: Vec<Fifo>,
    run_as: Option<RunAs>,
    queues: Queues,
}

impl LvsNotifier {
    /// Opens notify_fifo and lvs_notify_fifo (a FIFO that cannot be opened is logged).
    pub fn new(cfg: &Config, run_as: Option<RunAs>) -> LvsNotifier {
        let mut fifos = Vec::new();
        if !cfg.virtual_server.is_empty() {
            for f in [
                &cfg.global_defs.notify_fifo,
                &cfg.global_defs.lvs_notify_fifo,
            ]
            .into_iter()
            .flatten()
            {
                match Fifo::open(f, run_as) {
                    Ok(x) => fifos.push(x),
                    Err(e) => error!("{e}"),
                }
            }
        }
        LvsNotifier {
            fifos,
            run_as,
            queues: Queues::default(),
        }
    }

    fn line(&mut self, line: &str) {
        for f in self.fifos.iter_mut() {
            f.write_line(line);
        }
    }

    fn script(&mut self, key: String, what: &'static str, s: Option<Script>) {
        let Some(s) = s else { return };
        let run_as = self.run_as;
        self.queues.push(
            &key,
            Box::pin(async move {
                let o = exec::run(&s, &[], run_as, NOTIFY_TIMEOUT).await;
                if !o.success() {
                    warn!("{what} script {}: {o}", s.command_line());
                }
            }),
        );
    }

    /// A real server came up or went down.
    pub fn rs(&mut self, vs: &VirtualServer, rs: &RealServer, up: bool) {
        let line = fifo::rs_line(vs, rs, up);
        self.line(&line);
        let key = format!("RS {} {} {:?}", vs.describe(), rs.ip, rs.port);
        let s = if up {
            rs.notify_up.clone()
        } else {
            rs.notify_down.clone()
        };
        self.script(key, "real-server notify", s);
    }

    /// A virtual server gained or lost its quorum.
    pub fn quorum(&mut self, vs: &VirtualServer, gained: bool) {
        let line = fifo::vs_line(vs, gained);
        self.line(&line);
        let s = if gained {
            vs.quorum_up.clone()
        } else {
            vs.quorum_down.clone()
        };
        self.script(format!("VS {}", vs.describe()), "quorum", s);
    }

    /// Let the queued scripts finish (at shutdown), at most `limit`.
    pub async fn drain(&mut self, limit: Duration) {
        self.queues.drain(limit).await;
    }
}
