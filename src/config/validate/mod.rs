//! Checks across the model that no single value can make: names that must exist, VRIDs
//! that must not collide, families that must agree, options that must go together.
//! Host-independent; [`host`] adds the checks against this machine (`check --host`).

use super::diag::Diagnostics;
use super::model::*;
use super::Locations;
use std::net::IpAddr;

mod anycast;
mod host;
mod lvs;
mod vrrp;

use anycast::anycast;
pub use host::{host, script_problem};
use lvs::lvs;
use vrrp::{track_processes, vrrp};

struct V<'a> {
    locs: &'a Locations,
    d: &'a mut Diagnostics,
}

impl V<'_> {
    fn error(&mut self, path: &str, msg: impl Into<String>) {
        let loc = self.locs.at(path);
        self.d.error(&loc, msg);
    }
    fn warning(&mut self, path: &str, msg: impl Into<String>) {
        let loc = self.locs.at(path);
        self.d.warning(&loc, msg);
    }
}

pub fn validate(cfg: &Config, locs: &Locations, d: &mut Diagnostics) {
    let mut v = V { locs, d };
    global(cfg, &mut v);
    vrrp(cfg, &mut v);
    track_processes(cfg, &mut v);
    lvs(cfg, &mut v);
    anycast(cfg, &mut v);
}

pub(super) fn family(a: &IpAddr) -> &'static str {
    if a.is_ipv4() {
        "IPv4"
    } else {
        "IPv6"
    }
}

fn global(cfg: &Config, v: &mut V) {
    let g = &cfg.global_defs;
    // keepalived reads use_vmac in virtual_ipaddress only
    for a in cfg.static_ipaddress.iter().filter(|a| a.use_vmac) {
        v.error(
            "static_ipaddress",
            format!("{}: 'use_vmac' is for a vrrp_instance's addresses (a static address has no VRRP MAC)", a.address),
        );
    }
    if cfg.runs_nothing() {
        v.warning(
            "",
            "the configuration defines no vrrp_instance, virtual_server or anycast: there is nothing to run",
        );
    }
    if let Some(s) = &g.lvs_sync_daemon {
        if !cfg.vrrp_instance.contains_key(&s.vrrp_instance) {
            v.error(
                "global_defs.lvs_sync_daemon",
                format!(
                    "lvs_sync_daemon follows vrrp_instance '{}', which is not defined",
                    s.vrrp_instance
                ),
            );
        }
    }
    let alerts = g.smtp_alert == Some(true)
        || g.smtp_alert_vrrp == Some(true)
        || g.smtp_alert_checker == Some(true)
        || cfg
            .vrrp_instance
            .values()
            .any(|i| i.smtp_alert == Some(true))
        || cfg
            .virtual_server
            .iter()
            .any(|s| s.smtp_alert == Some(true))
        || cfg.anycast.values().any(|a| a.smtp_alert == Some(true));
    if alerts && (g.smtp_server.is_none() || g.notification_email.is_empty()) {
        v.warning(
            "global_defs",
            "smtp_alert is on but global_defs lacks smtp_server or notification_email: no e-mail can be sent",
        );
    }
}
