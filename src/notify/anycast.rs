//! Anycast notifications: a block's notify_up / notify_down / notify script, an
//! `ANYCAST "NAME" STATE METRIC` line on notify_fifo, and an smtp_alert e-mail, at every
//! change of what the block announces. States: ANNOUNCED (healthy), LOWERED (announced
//! with the on_failure metric), WITHDRAWN.

use super::fifo::Fifo;
use super::mail::Mailer;
use super::queue::Queues;
use crate::config::model::Config;
use crate::exec::RunAs;
use std::time::Duration;
use tracing::error;

/// What a block announces after a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    Announced,
    Lowered,
    /// watch peers: a peer failed, the better metric pulls its traffic here.
    Takeover,
    Withdrawn,
}

impl State {
    pub(crate) fn word(self) -> &'static str {
        match self {
            State::Announced => "ANNOUNCED",
            State::Lowered => "LOWERED",
            State::Takeover => "TAKEOVER",
            State::Withdrawn => "WITHDRAWN",
        }
    }
}

pub(crate) struct AnycastNotifier {
    fifo: Option<Fifo>,
    run_as: Option<RunAs>,
    queues: Queues,
    mailer: Option<Mailer>,
    /// smtp_alert for blocks that do not say.
    alert: bool,
}

impl AnycastNotifier {
    /// Opens notify_fifo when some block is configured (one that cannot be opened is
    /// logged).
    pub(crate) fn new(
        cfg: &Config,
        run_as: Option<RunAs>,
        mailer: Option<Mailer>,
    ) -> AnycastNotifier {
        let fifo = match (&cfg.global_defs.notify_fifo, cfg.anycast.is_empty()) {
            (Some(f), false) => Fifo::open(f, run_as).map_err(|e| error!("{e}")).ok(),
            _ => None,
        };
        AnycastNotifier {
            fifo,
            run_as,
            queues: Queues::default(),
            mailer,
            alert: cfg.global_defs.smtp_alert.unwrap_or(false),
        }
    }

    /// A reload: the new settings from now on (the FIFO reopened only when it changed).
    pub(crate) fn reconfigure(&mut self, old: &Config, cfg: &Config, mailer: Option<Mailer>) {
        self.alert = cfg.global_defs.smtp_alert.unwrap_or(false);
        self.mailer = mailer;
        let key = |c: &Config| (c.anycast.is_empty(), c.global_defs.notify_fifo.clone());
        if key(old) != key(cfg) {
            self.fifo = AnycastNotifier::new(cfg, self.run_as, None).fifo;
        }
    }

    /// Block `name` of `cfg` announces `state` now (`metric`: the route's), because `why`.
    pub(crate) fn changed(
        &mut self,
        cfg: &Config,
        name: &str,
        state: State,
        metric: Option<u32>,
        why: &str,
    ) {
        let Some(a) = cfg.anycast.get(name) else {
            return;
        };
        let m = metric.unwrap_or(0).to_string();
        if let Some(f) = &mut self.fifo {
            f.write_line(&format!("ANYCAST \"{name}\" {} {m}\n", state.word()));
        }
        if let Some(mailer) = self
            .mailer
            .as_ref()
            .filter(|_| a.smtp_alert.unwrap_or(self.alert))
        {
            mailer.send(
                format!("Anycast {name} - {}", state.word()),
                format!("=> {why} <="),
            );
        }
        let up = state == State::Announced;
        let scripts = [
            if up {
                a.notify_up.clone()
            } else {
                a.notify_down.clone()
            },
            a.notify.clone(),
        ];
        for (k, s) in scripts.into_iter().enumerate() {
            let Some(s) = s else { continue };
            // the generic one is told what happened
            let args: Vec<String> = if k == 1 {
                vec![
                    "ANYCAST".into(),
                    name.into(),
                    state.word().into(),
                    m.clone(),
                ]
            } else {
                Vec::new()
            };
            self.queues.script(
                &format!("ANYCAST {name}"),
                "anycast notify",
                s,
                args,
                self.run_as,
            );
        }
    }

    /// Let the queued scripts and e-mails finish (at shutdown), at most `limit` each.
    pub(crate) async fn drain(&mut self, limit: Duration) {
        self.queues.drain(limit).await;
        if let Some(m) = &self.mailer {
            m.flush(limit).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_str, Format};
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;

    #[test]
    fn every_change_is_a_line_on_notify_fifo() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.fifo");
        let conf = format!(
            "global_defs {{\n notify_fifo {}\n}}\nanycast WEB {{\n address 192.0.2.80\n method route\n metric 10\n on_failure metric 150\n}}\n",
            path.display()
        );
        let l = load_str("t.conf", &conf, Format::Keepalived, None);
        assert!(l.is_valid(), "{}", l.diags.render());
        let mut n = AnycastNotifier::new(&l.config, None, None);
        let mut reader = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NONBLOCK)
            .open(&path)
            .unwrap();
        n.changed(
            &l.config,
            "WEB",
            State::Lowered,
            Some(150),
            "its checks failed",
        );
        n.changed(&l.config, "WEB", State::Announced, Some(10), "healthy");
        n.changed(&l.config, "WEB", State::Withdrawn, None, "stopping");
        // a block the configuration does not have says nothing
        n.changed(&l.config, "NOPE", State::Withdrawn, None, "?");
        let mut got = String::new();
        let _ = reader.read_to_string(&mut got);
        assert_eq!(
            got,
            "ANYCAST \"WEB\" LOWERED 150\nANYCAST \"WEB\" ANNOUNCED 10\nANYCAST \"WEB\" WITHDRAWN 0\n"
        );
    }
}
