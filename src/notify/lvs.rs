//! Real-server and virtual-server notifications, as keepalived's checker sends them: a
//! real server's notify_up / notify_down script and `RS ...` line, a virtual server's
//! quorum_up / quorum_down script and `VS ...` line, on notify_fifo and lvs_notify_fifo.
//! Lines are written at once; scripts run in order per real server (per virtual server for
//! quorum), a hung one killed after the notify timeout.

use super::fifo::{self, Fifo};
use super::mail::Mailer;
use super::queue::Queues;
use crate::config::model::{Config, RealServer, VirtualServer};
use crate::config::types::Script;
use crate::exec::RunAs;
use std::time::Duration;
use tracing::error;

pub(crate) struct LvsNotifier {
    fifos: Vec<Fifo>,
    run_as: Option<RunAs>,
    queues: Queues,
    mailer: Option<Mailer>,
    /// smtp_alert for virtual servers that do not say (smtp_alert_checker, smtp_alert).
    vs_alert: bool,
}

/// Why a real server is reported down or up (the e-mail's body, keepalived's words).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Why {
    Check,
    /// The reload removed it.
    Removed,
    /// omega at shutdown.
    Shutdown,
}

impl LvsNotifier {
    /// Opens notify_fifo and lvs_notify_fifo (a FIFO that cannot be opened is logged).
    pub(crate) fn new(cfg: &Config, run_as: Option<RunAs>, mailer: Option<Mailer>) -> LvsNotifier {
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
        let g = &cfg.global_defs;
        LvsNotifier {
            fifos,
            run_as,
            queues: Queues::default(),
            mailer,
            vs_alert: g.smtp_alert_checker.or(g.smtp_alert).unwrap_or(false),
        }
    }

    /// A reload: new e-mail settings and FIFOs apply from now on (FIFOs are reopened
    /// only when they changed).
    pub(crate) fn reconfigure(&mut self, old: &Config, cfg: &Config, mailer: Option<Mailer>) {
        let g = &cfg.global_defs;
        self.vs_alert = g.smtp_alert_checker.or(g.smtp_alert).unwrap_or(false);
        self.mailer = mailer;
        let fifos = |c: &Config| {
            (
                c.virtual_server.is_empty(),
                c.global_defs.notify_fifo.clone(),
                c.global_defs.lvs_notify_fifo.clone(),
            )
        };
        if fifos(old) != fifos(cfg) {
            let fresh = LvsNotifier::new(cfg, self.run_as, None);
            self.fifos = fresh.fifos;
        }
    }

    fn line(&mut self, line: &str) {
        for f in self.fifos.iter_mut() {
            f.write_line(line);
        }
    }

    fn script(&mut self, key: String, what: &'static str, s: Option<Script>) {
        if let Some(s) = s {
            self.queues.script(&key, what, s, Vec::new(), self.run_as);
        }
    }

    /// A real server came up or went down.
    pub(crate) fn rs(&mut self, vs: &VirtualServer, rs: &RealServer, up: bool, why: Why) {
        if let Some(m) = self.mailer.as_ref().filter(|_| rs.effective.smtp_alert) {
            let body = match (why, up) {
                (Why::Check, true) => "=> CHECK succeed on service <=",
                (Why::Check, false) => "=> CHECK failed on service <=",
                (Why::Removed, _) => "=> Removing <=",
                (Why::Shutdown, _) => "=> Shutting down <=",
            };
            m.send(
                format!(
                    "Realserver {} of virtual server {} - {}",
                    fifo::rs_name(vs, rs),
                    fifo::vs_name(vs),
                    if up { "UP" } else { "DOWN" }
                ),
                body.into(),
            );
        }
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

    /// A virtual server gained or lost its quorum (`stopping`: omega at shutdown).
    pub(crate) fn quorum(&mut self, vs: &VirtualServer, gained: bool, stopping: bool) {
        let alert = vs.smtp_alert.unwrap_or(self.vs_alert);
        if let Some(m) = self.mailer.as_ref().filter(|_| alert) {
            let body = match (stopping, gained) {
                (true, _) => "=> Shutting down <=",
                (false, true) => "=> Gained quorum <=",
                (false, false) => "=> Lost quorum <=",
            };
            m.send(
                format!(
                    "Virtualserver {} - {}",
                    fifo::vs_name(vs),
                    if gained { "UP" } else { "DOWN" }
                ),
                body.into(),
            );
        }
        let line = fifo::vs_line(vs, gained);
        self.line(&line);
        let s = if gained {
            vs.quorum_up.clone()
        } else {
            vs.quorum_down.clone()
        };
        self.script(format!("VS {}", vs.describe()), "quorum", s);
    }

    /// Let the queued scripts and e-mails finish (at shutdown), at most `limit` each.
    pub(crate) async fn drain(&mut self, limit: Duration) {
        self.queues.drain(limit).await;
        if let Some(m) = &self.mailer {
            m.flush(limit).await;
        }
    }
}
