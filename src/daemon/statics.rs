//! The static addresses, routes and rules (static_ipaddress, static_routes, static_rules)
//! and the no_accept nftables table: added at the start, changed as a diff by a reload,
//! removed at the stop — and when the guard is dropped, so a start that fails after them
//! leaves nothing behind.

use crate::config::Config;
use crate::net::addr::{self, Kernel};
use crate::net::no_accept;
use crate::net::rtnl::Rtnl;
use std::net::IpAddr;
use tracing::{error, info, warn};

/// The kernel objects `cfg`'s static blocks describe (an error names the line's object).
pub(crate) fn wanted(cfg: &Config) -> Result<Vec<Kernel>, String> {
    let mut v = Vec::new();
    let dev = cfg
        .global_defs
        .default_interface
        .clone()
        .unwrap_or_else(|| "lo".into());
    for a in &cfg.static_ipaddress {
        v.push(addr::address(a, &dev).map_err(|e| format!("static_ipaddress {a}: {e}"))?);
    }
    for r in &cfg.static_routes {
        v.push(addr::route(r, &dev).map_err(|e| format!("static_routes {r}: {e}"))?);
    }
    for r in &cfg.static_rules {
        v.push(addr::rule(r).map_err(|e| format!("static_rules {r}: {e}"))?);
    }
    Ok(v)
}

/// The static addresses, routes and rules and the no_accept table this daemon added:
/// released at the stop, and when dropped (a start that fails leaves none behind).
pub(crate) struct Statics {
    nl: Rtnl,
    objs: Vec<Kernel>,
    refused: Vec<IpAddr>,
}

impl Statics {
    pub(crate) fn start(cfg: &Config, objs: Vec<Kernel>) -> Result<Statics, String> {
        let mut nl = Rtnl::open().map_err(|e| format!("rtnetlink: {e}"))?;
        for k in &objs {
            if let Err(e) = k.add(&mut nl) {
                error!("adding static {k}: {e}");
            }
        }
        let mut me = Statics {
            nl,
            objs,
            refused: Vec::new(),
        };
        me.refuse(no_accept::addresses(cfg), "");
        Ok(me)
    }

    /// The no_accept table for `now` (none when empty).
    fn refuse(&mut self, now: Vec<IpAddr>, label: &str) {
        if now == self.refused {
            return;
        }
        let r = if now.is_empty() {
            no_accept::remove()
        } else {
            no_accept::install(&now)
        };
        match r {
            Ok(()) => {
                if !now.is_empty() {
                    info!(
                        "{label}no_accept: packets to {} VIP(s) are dropped (nftables table inet {})",
                        now.len(),
                        no_accept::TABLE
                    );
                }
                self.refused = now;
            }
            Err(e) => error!("{label}no_accept / vrrp_strict not enforced, masters will accept packets to their VIPs: {e}"),
        }
    }

    /// A reload: the objects gone leave, new ones come; the table follows.
    pub(crate) fn reload(&mut self, cfg: &Config, objs: Vec<Kernel>) {
        let (remove, add) = addr::diff(&self.objs, &objs);
        addr::change(&mut self.nl, "reload: static", &remove, &add);
        self.objs = objs;
        self.refuse(no_accept::addresses(cfg), "reload: ");
    }

    /// Remove everything (again: nothing).
    pub(crate) fn release(&mut self) {
        for k in std::mem::take(&mut self.objs).iter().rev() {
            let _ = k.remove(&mut self.nl);
        }
        if !self.refused.is_empty() {
            if let Err(e) = no_accept::remove() {
                warn!("removing the no_accept table: {e}");
            }
            self.refused.clear();
        }
    }
}

impl Drop for Statics {
    fn drop(&mut self) {
        self.release();
    }
}
