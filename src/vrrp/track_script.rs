//! Runs the tracked vrrp_scripts, each on its own interval, on the daemon's main runtime
//! (never on the VRRP thread), and reports verdict changes to the VRRP engine. A script
//! that outlives its timeout is killed with its process group and counts as a failure.

use super::shell::Command;
use super::track::RiseFall;
use crate::config::model::VrrpScript;
use crate::notify::exec::{self, RunAs};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{info, warn};

/// The verdict a script starts with (before its first run).
pub fn initial(s: &VrrpScript) -> bool {
    !s.init_fail
}

/// Start the loop of one script.
pub fn spawn(
    name: String,
    s: VrrpScript,
    run_as: Option<RunAs>,
    to_vrrp: mpsc::UnboundedSender<Command>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let interval = s.interval.as_duration().max(Duration::from_millis(10));
        let timeout = s.timeout.map_or(interval, |t| t.as_duration());
        let mut verdict = RiseFall::new(s.rise, s.fall, initial(&s));
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
                if to_vrrp.send(Command::Script(name.clone(), v)).is_err() {
                    return;
                }
            }
        }
    })
}
