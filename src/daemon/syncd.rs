//! The connection-sync daemon as the daemon runs it: started with the configuration,
//! following the state of the VRRP instance lvs_sync_daemon names — or, for an
//! active-active anycast block's `sync_daemon`, in both roles at once — reconfigured or
//! stopped by a reload.

use crate::config::model::LvsSyncDaemon;
use crate::config::Config;
use crate::ipvs::syncd::SyncDaemon;
use crate::vrrp::notification::{Change, Notification, Subject};
use tracing::error;

/// The sync daemon's settings and its instance's VRID, when `cfg` asks for one that
/// follows a VRRP instance.
fn wanted(cfg: &Config) -> Option<(&LvsSyncDaemon, u8)> {
    let s = cfg.global_defs.lvs_sync_daemon.as_ref()?;
    let vrid = cfg.vrrp_instance.get(&s.vrrp_instance)?.virtual_router_id.0;
    Some((s, vrid))
}

/// The settings of an active-active block's sync daemon (both roles), if one asks.
fn shared(cfg: &Config) -> Option<LvsSyncDaemon> {
    cfg.anycast
        .values()
        .filter(|a| a.active_active)
        .find_map(|a| a.sync_daemon.as_ref())
        .map(|s| s.settings())
}

/// The sync daemon as `cfg` asks (None: not configured, or IPVS unavailable, said in one
/// line): backup from the start, or master when its instance continues a predecessor
/// binary's Master (`master_now`: the instances resumed as MASTER, by name).
pub(crate) fn start(cfg: &Config, master_now: &[String]) -> Option<SyncDaemon> {
    let started = match (wanted(cfg), shared(cfg)) {
        (Some((s, vrid)), _) => SyncDaemon::start(s, vrid, master_now.contains(&s.vrrp_instance)),
        (None, Some(s)) => SyncDaemon::start_both(&s),
        (None, None) => return None,
    };
    match started {
        Ok(d) => Some(d),
        Err(e) => {
            error!("sync daemon: {e}; connections are not synchronised to the other directors");
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
    let both = shared(cfg);
    match (syncd.as_mut(), wanted(cfg)) {
        (Some(d), Some((s, vrid))) if !d.is_both() => d.reconfigure(s, vrid),
        (Some(d), None) if d.is_both() && both.is_some() => {
            if let Some(s) = &both {
                d.reconfigure(s, 0);
            }
        }
        (Some(d), _) => {
            // stopped, or from one kind to the other
            d.stop();
            *syncd = start(cfg, &[]);
        }
        (None, _) => *syncd = start(cfg, &[]),
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
