//! The connection-sync daemon (lvs_sync_daemon) as the daemon runs it: started with the
//! configuration, following the state of the VRRP instance it names, reconfigured or
//! stopped by a reload.

use crate::config::model::LvsSyncDaemon;
use crate::config::Config;
use crate::ipvs::syncd::SyncDaemon;
use crate::vrrp::notification::{Change, Notification, Subject};
use tracing::error;

/// The sync daemon's settings and its instance's VRID, when `cfg` asks for one.
fn wanted(cfg: &Config) -> Option<(&LvsSyncDaemon, u8)> {
    let s = cfg.global_defs.lvs_sync_daemon.as_ref()?;
    let vrid = cfg.vrrp_instance.get(&s.vrrp_instance)?.virtual_router_id.0;
    Some((s, vrid))
}

/// The sync daemon as `cfg` asks (None: not configured, or IPVS unavailable, said in one
/// line).
pub(crate) fn start(cfg: &Config) -> Option<SyncDaemon> {
    let (s, vrid) = wanted(cfg)?;
    match SyncDaemon::start(s, vrid) {
        Ok(d) => Some(d),
        Err(e) => {
            error!("lvs_sync_daemon: {e}; connections are not synchronised to the other director");
            None
        }
    }
}

/// A transition of a VRRP instance: the sync daemon's role follows its instance's.
pub(crate) fn follow(syncd: &mut Option<SyncDaemon>, cfg: &Config, n: &Notification) {
    let Some(d) = syncd.as_mut() else { return };
    let followed = cfg
        .global_defs
        .lvs_sync_daemon
        .as_ref()
        .is_some_and(|s| n.subject == Subject::Instance && s.vrrp_instance == n.name);
    if let Some(master) = role(n.change).filter(|_| followed) {
        d.follow(master);
    }
}

/// The sync daemon's role for a change of its instance, as keepalived: master while the
/// instance is, backup in Backup and Fault; None: no change (stop, priority...).
fn role(c: Change) -> Option<bool> {
    match c {
        Change::Master => Some(true),
        Change::Backup | Change::Fault => Some(false),
        _ => None,
    }
}

/// A reload: the sync daemon as the new configuration asks.
pub(crate) fn reload(syncd: &mut Option<SyncDaemon>, cfg: &Config) {
    match (syncd.as_mut(), wanted(cfg)) {
        (Some(d), Some((s, vrid))) => d.reconfigure(s, vrid),
        (Some(d), None) => {
            d.stop();
            *syncd = None;
        }
        (None, Some(_)) => *syncd = start(cfg),
        (None, None) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_follows_the_instance_as_keepalived() {
        assert_eq!(role(Change::Master), Some(true));
        assert_eq!(role(Change::Backup), Some(false));
        assert_eq!(role(Change::Fault), Some(false));
        assert_eq!(role(Change::Stop), None);
        assert_eq!(role(Change::MasterPriority), None);
    }
}
