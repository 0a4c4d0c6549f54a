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
            + a.track_virtual_server.len();
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
