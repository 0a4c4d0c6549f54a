//! `ldirector upgrade` and SIGUSR2, the daemon's side (the parts that are not the
//! daemon's are in `crate::upgrade`): check that the binary on disk can take over, freeze
//! VRRP, gather every subsystem's state, pass the sockets on and execute the new binary
//! in this process's place. Anything that fails before the exec leaves this process
//! running as it was, with the reason in the log, in status (`upgrade_error`) and in the
//! answer to `ldirector upgrade`.

use super::Daemon;
use crate::upgrade::{self, state};
use crate::vrrp::shell;
use std::os::fd::AsRawFd;
use std::time::Duration;
use tokio::sync::oneshot;
use tracing::{error, info, warn};

/// How long the VRRP and checks threads may take to hand over their state.
const GATHER_LIMIT: Duration = Duration::from_secs(5);

impl Daemon {
    /// Hand over to the binary on disk. Returns only if that did not happen (the reason
    /// went to the caller and the log).
    pub(super) async fn upgrade(&mut self, reply: Option<oneshot::Sender<String>>) {
        let mut reply = reply;
        let answer = |reply: &mut Option<oneshot::Sender<String>>, v: serde_json::Value| {
            if let Some(r) = reply.take() {
                let _ = r.send(v.to_string());
            }
        };
        match self.hand_over(&mut reply).await {
            Ok(never) => match never {},
            Err(why) => {
                error!("upgrade refused: {why}; this ldirector goes on");
                self.life.upgrade_error = Some(why.clone());
                self.life.upgrades_refused += 1;
                self.systemd.ready("running");
                answer(&mut reply, serde_json::json!({ "ok": false, "error": why }));
            }
        }
    }

    async fn hand_over(
        &mut self,
        reply: &mut Option<oneshot::Sender<String>>,
    ) -> Result<std::convert::Infallible, String> {
        if self.draining_until.is_some() {
            return Err("stopping (anycast drain_time running)".into());
        }
        let binary = upgrade::binary()?;
        let file = self.opts.run_dir.join(upgrade::FILE);
        info!("upgrade: asking {} to take over", binary.display());
        // the new binary checks the configuration and this binary's state format
        let mut probe = state::Handover::new();
        if super::fail_point("handover-format").is_err() {
            // (debug builds, for the tests: a state this binary's successor cannot read)
            probe.format = state::FORMAT + 1;
        }
        state::write(&file, &probe).map_err(|e| format!("{}: {e}", file.display()))?;
        let ready = upgrade::check(&binary, &file).await;
        let ready = match ready {
            Ok(r) => r,
            Err(e) => {
                let _ = std::fs::remove_file(&file);
                return Err(e);
            }
        };
        info!("upgrade: {} answers \"{ready}\"", binary.display());
        // the caller hears now: the answer may not leave before the exec otherwise
        if let Some(r) = reply.take() {
            let _ = r.send(
                serde_json::json!({ "ok": true, "binary": binary, "ready": ready }).to_string(),
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.systemd.reloading();
        // the checkers' state (the checks go on meanwhile)
        let (tx, rx) = oneshot::channel();
        let checks = if self
            .checks
            .input
            .send(crate::check::runner::Input::Save(tx))
            .is_ok()
        {
            tokio::time::timeout(GATHER_LIMIT, rx)
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        // VRRP freezes: nothing is sent from here until the new binary runs
        let (tx, rx) = oneshot::channel();
        let frozen = if self.vrrp_up && self.vrrp.commands.send(shell::Command::Freeze(tx)).is_ok()
        {
            match tokio::time::timeout(GATHER_LIMIT, rx).await {
                Ok(Ok(f)) => Some(f),
                _ => return Err("the VRRP thread did not hand over its state".into()),
            }
        } else {
            None
        };
        let thaw = |d: &Daemon| {
            let _ = d.vrrp.commands.send(shell::Command::Thaw);
        };
        let mut h = state::Handover::new();
        h.checks = checks;
        h.no_quorum = self.health.without_quorum(&self.cfg);
        h.scripts = self
            .script_values
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        h.sloppy = self.sloppy.saved();
        h.anycast_drained = self
            .anycast
            .views()
            .filter(|v| v.draining)
            .map(|v| v.name.to_string())
            .collect();
        if let Some(a) = &self.ipvs {
            h.drains = a.saved_drains(GATHER_LIMIT).await;
        }
        h.control_fd = self.control_fd;
        h.http = self.http.listener();
        h.upgrades = self.life.upgrades + 1;
        h.started_at_us = h
            .saved_at_us
            .saturating_sub(u64::try_from(self.life.started.elapsed().as_micros()).unwrap_or(0));
        let mut passed: Vec<std::os::fd::RawFd> = Vec::new();
        let mut keep = Vec::new();
        if let Some(f) = frozen {
            h.saved_at_us = state::monotonic_us()
                .saturating_sub(u64::try_from(f.at.elapsed().as_micros()).unwrap_or(0));
            h.vrrp = f.instances;
            h.promoted = f.promoted;
            for (name, rx, tx) in f.sockets {
                h.vrrp_sockets.push((name, rx.as_raw_fd(), tx.as_raw_fd()));
                passed.push(rx.as_raw_fd());
                passed.push(tx.as_raw_fd());
                keep.push((rx, tx));
            }
        }
        passed.extend(h.control_fd);
        passed.extend(h.http.map(|(_, fd)| fd));
        let undo = |d: &Daemon, passed: &[std::os::fd::RawFd], file: &std::path::Path| {
            for fd in passed {
                let _ = upgrade::pass_on_exec(*fd, false);
            }
            let _ = std::fs::remove_file(file);
            thaw(d);
        };
        if let Err(e) = state::write(&file, &h) {
            undo(self, &passed, &file);
            return Err(format!("{}: {e}", file.display()));
        }
        for fd in &passed {
            if let Err(e) = upgrade::pass_on_exec(*fd, true) {
                undo(self, &passed, &file);
                return Err(format!("cannot pass descriptor {fd} on: {e}"));
            }
        }
        info!(
            "upgrade: handing over to {} ({} VRRP instance(s), {} checker(s))",
            binary.display(),
            h.vrrp.len(),
            h.checks.len()
        );
        let e = upgrade::exec(&binary, &file);
        // still here: the exec failed
        undo(self, &passed, &file);
        drop(keep);
        warn!("upgrade: exec {}: {e}", binary.display());
        Err(format!("exec {}: {e}", binary.display()))
    }
}
