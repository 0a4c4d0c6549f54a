//! The IPVS connection-sync daemon following a VRRP instance (`lvs_sync_daemon`), as
//! keepalived runs it: the kernel's backup daemon from the start, the master daemon while
//! the instance is Master (the other one stopped), back to backup when it leaves Master,
//! both stopped at shutdown. The master multicasts its connection table; the backup
//! director receives it, so established connections survive a failover. Active-active
//! directors (an anycast block's `sync_daemon`) run both roles at once: each sends its
//! connections and learns the others'.

use super::codec::Daemon;
use super::netlink::Ipvs;
use crate::config::model::LvsSyncDaemon;
use std::io;
use tracing::{info, warn};

const MASTER: u32 = 1;
const BACKUP: u32 = 2;

/// The kernel's daemon settings for `cfg` in `role`; `vrid` is the instance's (the
/// sync id when none is configured, as keepalived).
pub(crate) fn settings(cfg: &LvsSyncDaemon, vrid: u8, role: u32) -> Daemon {
    Daemon {
        state: role,
        ifname: cfg.interface.clone(),
        sync_id: u32::from(cfg.id.unwrap_or(vrid)),
        maxlen: cfg.maxlen,
        group: cfg.group,
        port: cfg.port,
        ttl: cfg.ttl,
    }
}

pub(crate) struct SyncDaemon {
    ipvs: Ipvs,
    cfg: LvsSyncDaemon,
    vrid: u8,
    role: Option<u32>,
    /// Both roles at once (active-active), not following an instance.
    both: bool,
}

fn name(role: u32) -> &'static str {
    if role == MASTER {
        "master"
    } else {
        "backup"
    }
}

impl SyncDaemon {
    /// Connect to IPVS and start the backup daemon.
    pub(crate) fn start(cfg: &LvsSyncDaemon, vrid: u8, master: bool) -> io::Result<SyncDaemon> {
        let mut s = SyncDaemon {
            ipvs: Ipvs::open_loading()?,
            cfg: cfg.clone(),
            vrid,
            role: None,
            both: false,
        };
        s.take(if master { MASTER } else { BACKUP })?;
        Ok(s)
    }

    /// Connect to IPVS and start both daemons (active-active state sharing); the sync id
    /// is `cfg`'s or 0.
    pub(crate) fn start_both(cfg: &LvsSyncDaemon) -> io::Result<SyncDaemon> {
        let mut s = SyncDaemon {
            ipvs: Ipvs::open_loading()?,
            cfg: cfg.clone(),
            vrid: 0,
            role: None,
            both: true,
        };
        s.take_both()?;
        Ok(s)
    }

    /// Start the kernel's daemon in `role`; one already running (a restart after a crash)
    /// is started again with these settings.
    fn start_role(&mut self, role: u32) -> io::Result<()> {
        let d = settings(&self.cfg, self.vrid, role);
        match self.ipvs.start_daemon(&d) {
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                let _ = self.ipvs.stop_daemon(role);
                self.ipvs.start_daemon(&d)
            }
            r => r,
        }
    }

    fn take_both(&mut self) -> io::Result<()> {
        for role in [BACKUP, MASTER] {
            if let Err(e) = self.start_role(role) {
                let _ = self.ipvs.stop_daemon(BACKUP);
                return Err(e);
            }
        }
        self.role = Some(MASTER);
        info!("sync daemon: {}", self.describe());
        Ok(())
    }

    /// Whether it runs both roles (active-active).
    pub(crate) fn is_both(&self) -> bool {
        self.both
    }

    /// The followed instance is now master (`true`) or not.
    pub(crate) fn follow(&mut self, master: bool) {
        let r = if master { MASTER } else { BACKUP };
        if let Err(e) = self.take(r) {
            warn!("lvs_sync_daemon: cannot become {}: {e}", name(r));
        }
    }

    fn take(&mut self, role: u32) -> io::Result<()> {
        if self.role == Some(role) {
            return Ok(());
        }
        let other = if role == MASTER { BACKUP } else { MASTER };
        // not running is fine (ESRCH)
        let _ = self.ipvs.stop_daemon(other);
        self.start_role(role)?;
        self.role = Some(role);
        info!("lvs_sync_daemon: {}", self.describe());
        Ok(())
    }

    /// What it is doing, for status: "master on eth1 (sync id 51)", or "stopped".
    pub(crate) fn describe(&self) -> String {
        match self.role {
            Some(r) => {
                let d = settings(&self.cfg, self.vrid, r);
                let role = if self.both {
                    "master and backup"
                } else {
                    name(r)
                };
                format!("{role} on {} (sync id {})", d.ifname, d.sync_id)
            }
            None => "stopped (see the log)".into(),
        }
    }

    /// A reload: new settings restart the daemon in its current role.
    pub(crate) fn reconfigure(&mut self, cfg: &LvsSyncDaemon, vrid: u8) {
        if *cfg == self.cfg && vrid == self.vrid {
            return;
        }
        self.stop();
        self.cfg = cfg.clone();
        self.vrid = vrid;
        if self.both {
            if let Err(e) = self.take_both() {
                warn!("sync daemon: restarting: {e}");
            }
            return;
        }
        let role = self.role.take().unwrap_or(BACKUP);
        if let Err(e) = self.take(role) {
            warn!("lvs_sync_daemon: restarting as {}: {e}", name(role));
        }
    }

    /// Stop both daemons.
    pub(crate) fn stop(&mut self) {
        let _ = self.ipvs.stop_daemon(MASTER);
        let _ = self.ipvs.stop_daemon(BACKUP);
        if self.role.take().is_some() {
            info!("lvs_sync_daemon: stopped");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_settings_as_keepalived() {
        let cfg = LvsSyncDaemon {
            interface: "eth1".into(),
            vrrp_instance: "VI_BACK".into(),
            id: None,
            maxlen: None,
            port: None,
            ttl: None,
            group: None,
        };
        // no id: the instance's VRID
        assert_eq!(settings(&cfg, 52, MASTER).sync_id, 52);
        let cfg = LvsSyncDaemon { id: Some(7), ..cfg };
        let d = settings(&cfg, 52, BACKUP);
        assert_eq!((d.sync_id, d.state, d.ifname.as_str()), (7, BACKUP, "eth1"));
    }
}
