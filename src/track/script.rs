//! Runs the tracked vrrp_scripts, each on its own interval, on the daemon's main runtime
//! (never on the VRRP thread), and reports verdict changes as tracking events. A script
//! that outlives its timeout is killed with its process group and counts as a failure.

use super::Event;
use crate::config::model::VrrpScript;
use crate::exec::{self, RunAs};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{info, warn};

/// The verdict a script starts with (before its first run).
pub(crate) fn initial(s: &VrrpScript) -> bool {
    !s.init_fail
}

/// Start the loop of one script, from verdict `start` (its `initial`, or what a
/// predecessor binary had: `ldirector upgrade`).
pub(crate) fn spawn(
    name: String,
    s: VrrpScript,
    start: bool,
    run_as: Option<RunAs>,
    events: mpsc::UnboundedSender<Event>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let interval = s.interval.as_duration().max(Duration::from_millis(10));
        let timeout = s.timeout.map_or(interval, |t| t.as_duration());
        let mut verdict = RiseFall::new(s.rise, s.fall, start);
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let user = match &s.user {
            Some(u) => match exec::resolve_user(u) {
                Ok(r) => Some(r),
                Err(e) => {
                    warn!("vrrp_script {name}: {e}; running as the default script user");
                    run_as
                }
            },
            None => run_as,
        };
        loop {
            tick.tick().await;
            let o = exec::run(&s.script, &[], user, timeout).await;
            let ok = o.success();
            if !ok && !matches!(o, exec::Outcome::Exited(_)) {
                warn!("vrrp_script {name}: {o}");
            }
            if let Some(v) = verdict.result(ok) {
                info!(
                    "vrrp_script {name} is now {}",
                    if v { "succeeding" } else { "failing" }
                );
                if events.send(Event::Script(name.clone(), v)).is_err() {
                    return;
                }
            }
        }
    })
}

/// A vrrp_script's verdict from its results: `fall` failures in a row make it fail,
/// `rise` successes in a row make it succeed again.
#[derive(Clone, Debug)]
pub(crate) struct RiseFall {
    rise: u32,
    fall: u32,
    ok: bool,
    streak: u32,
}

impl RiseFall {
    pub(crate) fn new(rise: u32, fall: u32, init_ok: bool) -> RiseFall {
        RiseFall {
            rise: rise.max(1),
            fall: fall.max(1),
            ok: init_ok,
            streak: 0,
        }
    }

    /// Record one run; Some(new verdict) when it changes.
    pub(crate) fn result(&mut self, success: bool) -> Option<bool> {
        if success == self.ok {
            self.streak = 0;
            return None;
        }
        self.streak += 1;
        let need = if success { self.rise } else { self.fall };
        if self.streak >= need {
            self.ok = success;
            self.streak = 0;
            return Some(success);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rise_and_fall() {
        let mut r = RiseFall::new(2, 3, true);
        assert_eq!(r.result(false), None);
        assert_eq!(r.result(false), None);
        assert_eq!(r.result(true), None); // streak broken
        assert_eq!(r.result(false), None);
        assert_eq!(r.result(false), None);
        assert_eq!(r.result(false), Some(false));
        assert_eq!(r.result(true), None);
        assert_eq!(r.result(true), Some(true));
        let mut r = RiseFall::new(1, 1, false);
        assert_eq!(r.result(true), Some(true));
    }
}
