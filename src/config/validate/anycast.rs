//! Anycast blocks: addresses, how a failure shows, what the health inputs name.

use super::lvs::checker;
use super::V;
use crate::config::model::*;
use std::collections::HashMap;
use std::net::IpAddr;

pub(super) fn anycast(cfg: &Config, v: &mut V) {
    let mut owner: HashMap<IpAddr, &str> = HashMap::new();
    for (name, a) in &cfg.anycast {
        let p = format!("anycast.{name}");
        if a.address.is_empty() {
            v.error(&p, format!("anycast '{name}' needs at least one address"));
        }
        for ip in &a.address {
            if let Some(first) = owner.insert(*ip, name) {
                v.error(
                    &format!("{p}.address"),
                    format!("{ip} is announced by anycast '{first}' already"),
                );
            }
            for (vi, inst) in &cfg.vrrp_instance {
                if inst.virtual_ipaddress.iter().any(|x| x.address.addr == *ip) {
                    v.error(
                        &format!("{p}.address"),
                        format!("{ip} is a virtual_ipaddress of vrrp_instance '{vi}': one address is either moved by VRRP or announced by anycast"),
                    );
                }
            }
        }
        failure(a, &p, v);
        if a.device.is_empty() {
            v.error(
                &format!("{p}.device"),
                "device: an interface name is needed",
            );
        }
        let inputs = a.checkers.len()
            + a.track_script.len()
            + a.track_file.len()
            + a.track_virtual_server.len()
            + a.active_services(cfg).len();
        if inputs == 0 {
            v.warning(
                &p,
                format!("anycast '{name}' has no health input (no checker, track_script, track_file or track_virtual_server): it is announced for as long as ldirector runs"),
            );
        }
        for s in &a.track_script {
            if !cfg.vrrp_script.contains_key(s) {
                v.error(
                    &format!("{p}.track_script"),
                    format!("track_script '{s}' is not defined (expected a vrrp_script block of that name)"),
                );
            }
        }
        for f in &a.track_file {
            if !cfg.track_file.contains_key(f) {
                v.error(
                    &format!("{p}.track_file"),
                    format!("track_file '{f}' is not defined (expected a track_file block of that name)"),
                );
            }
        }
        for s in &a.track_virtual_server {
            let n = cfg
                .virtual_server
                .iter()
                .filter(|vs| names_service(s, vs))
                .count();
            if n == 0 {
                v.error(
                    &format!("{p}.track_virtual_server"),
                    format!("track_virtual_server: no virtual_server {s} is configured"),
                );
            } else if n > 1 {
                v.error(
                    &format!("{p}.track_virtual_server"),
                    format!("track_virtual_server: {s} names {n} virtual servers (one per protocol): add TCP, UDP or SCTP"),
                );
            }
        }
        active_active(cfg, v, name, a, &p);
        for (ci, ch) in a.checkers.iter().enumerate() {
            let cp = || format!("{p}.check[{ci}]");
            checker(cfg, v, &cp, ch);
            let needs_port = ch.kind.connects() && ch.kind != CheckKind::Ping;
            if needs_port && ch.effective.connect_port.is_none() && ch.kind != CheckKind::Dns {
                v.error(
                    &cp(),
                    format!(
                        "{} needs a port: 'port' in anycast '{name}' or 'connect_port' in the checker",
                        ch.kind.keyword()
                    ),
                );
            }
        }
    }
}

/// An active-active block: every director must choose the same real server for a flow
/// (Maglev hashing) and answer it without coming back through a director (DR or TUN).
fn active_active(cfg: &Config, v: &mut V, name: &str, a: &Anycast, p: &str) {
    if !a.active_active {
        if a.sync_daemon.is_some() {
            v.error(
                &format!("{p}.sync_daemon"),
                "sync_daemon shares connections between active-active directors: add 'active_active' (an active/standby pair uses global_defs' lvs_sync_daemon)",
            );
        }
        return;
    }
    if a.watch == Watch::Peers {
        v.error(
            &format!("{p}.watch"),
            "active_active with watch peers: every director announces its own health (watch self)",
        );
    }
    if a.sync_daemon.is_some() {
        if cfg.global_defs.lvs_sync_daemon.is_some() {
            v.error(
                &format!("{p}.sync_daemon"),
                "sync_daemon: global_defs' lvs_sync_daemon runs already (one sync daemon per network namespace)",
            );
        }
        if let Some(other) = cfg
            .anycast
            .iter()
            .find(|(n, o)| n.as_str() < name && o.active_active && o.sync_daemon.is_some())
        {
            v.error(
                &format!("{p}.sync_daemon"),
                format!(
                    "sync_daemon: anycast '{}' runs one already (one per network namespace)",
                    other.0
                ),
            );
        }
    }
    let services = a.active_services(cfg);
    if services.is_empty() {
        v.error(
            &format!("{p}.active_active"),
            format!("active_active: no virtual_server on the addresses of anycast '{name}' (nor named by track_virtual_server)"),
        );
    }
    for i in services {
        let vs = &cfg.virtual_server[i];
        let vp = format!("virtual_server[{i}]");
        let d = vs.describe();
        if vs.lvs_sched != Scheduler::Mh {
            v.error(
                &format!("{vp}.lb_algo"),
                format!("virtual_server {d} is active-active (anycast '{name}'): every director must choose the same real server for a flow, which lb_algo {} does not: lb_algo mh", vs.lvs_sched.name()),
            );
        }
        let nat = |m: &LvsMethod| *m == LvsMethod::Nat;
        if nat(&vs.lvs_method)
            || vs
                .real_server
                .iter()
                .any(|r| r.lvs_method.as_ref().is_some_and(nat))
        {
            v.error(
                &format!("{vp}.lb_kind"),
                format!("virtual_server {d} is active-active (anycast '{name}'): NAT sends the answers back through one director, which need not be the one the flow came in by: lb_kind DR or TUN"),
            );
        }
        if vs.persistence_timeout.is_some() {
            v.warning(
                &format!("{vp}.persistence_timeout"),
                format!("virtual_server {d} is active-active: persistence is each director's own (a client's flows that land on another director may go to another real server); Maglev hashing on the client address already keeps a client on one real server while the set does not change"),
            );
        }
    }
}

/// `on_failure` against `method` and `watch`.
fn failure(a: &Anycast, p: &str, v: &mut V) {
    match (a.method, a.on_failure, a.watch) {
        (AnycastMethod::Address, OnFailure::Metric(m), _) => v.error(
            &format!("{p}.on_failure"),
            format!("on_failure metric {m} needs 'method route' (an address on a device can only be withdrawn)"),
        ),
        (_, OnFailure::Withdraw, Watch::Peers) => v.error(
            &format!("{p}.watch"),
            "watch peers needs 'on_failure metric N' (the better metric this replica announces while a peer fails)",
        ),
        (_, OnFailure::Metric(m), Watch::Peers) if m >= a.metric => v.warning(
            &format!("{p}.on_failure"),
            format!("watch peers: on_failure metric {m} is not better (lower) than metric {}: a peer's failure pulls no traffic here", a.metric),
        ),
        (_, OnFailure::Metric(m), Watch::Itself) if m <= a.metric => v.warning(
            &format!("{p}.on_failure"),
            format!("on_failure metric {m} is not worse (higher) than metric {}: a failed replica keeps its traffic", a.metric),
        ),
        _ => {}
    }
    if a.method == AnycastMethod::Address && a.metric != Anycast::default().metric {
        v.warning(
            &format!("{p}.metric"),
            "metric applies to method route (with method address the routing daemon's own metric is announced)",
        );
    }
}
