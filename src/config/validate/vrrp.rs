//! VRRP blocks: sync groups, instances, vrrp_scripts, tracked processes and files.

use super::{family, V};
use crate::config::model::*;
use crate::config::types::Secs;
use std::collections::HashMap;

pub(super) fn vrrp(cfg: &Config, v: &mut V) {
    sync_groups(cfg, v);
    // (interface, family, vrid) -> instance name
    let mut vrids: HashMap<(String, bool, u8), String> = HashMap::new();
    for (name, i) in &cfg.vrrp_instance {
        instance(cfg, v, name, i, &mut vrids);
    }
    scripts(cfg, v);
}

fn sync_groups(cfg: &Config, v: &mut V) {
    let mut member_of: HashMap<&str, &str> = HashMap::new();
    for (gname, g) in &cfg.vrrp_sync_group {
        let p = format!("vrrp_sync_group.{gname}");
        if g.group.is_empty() {
            v.error(
                &format!("{p}.group"),
                format!("vrrp_sync_group '{gname}' has no members"),
            );
        }
        if g.group.len() == 1 {
            v.warning(
                &format!("{p}.group"),
                format!("vrrp_sync_group '{gname}' has only one member: it has no effect"),
            );
        }
        for m in &g.group {
            if !cfg.vrrp_instance.contains_key(m) {
                v.error(
                    &format!("{p}.group"),
                    format!(
                        "vrrp_sync_group '{gname}' names vrrp_instance '{m}', which is not defined"
                    ),
                );
            }
            if let Some(other) = member_of.insert(m, gname) {
                v.error(
                    &format!("{p}.group"),
                    format!("vrrp_instance '{m}' is in two sync groups, '{other}' and '{gname}'"),
                );
            }
        }
        let members: Vec<(&String, &VrrpInstance)> = g
            .group
            .iter()
            .filter_map(|m| cfg.vrrp_instance.get_key_value(m))
            .collect();
        let np: Vec<&str> = members
            .iter()
            .filter(|(_, i)| i.nopreempt)
            .map(|(n, _)| n.as_str())
            .collect();
        if !np.is_empty() && np.len() < members.len() {
            v.warning(
                &format!("{p}.group"),
                format!(
                    "vrrp_sync_group '{gname}': only {} set nopreempt; a member that preempts takes the whole group along",
                    np.join(", ")
                ),
            );
        }
        tracks(cfg, v, &p, &g.track_script, &g.track_file);
        processes(cfg, v, &p, &g.track_process);
        if g.notify.deleted.is_some() {
            v.error(
                &format!("{p}.notify_deleted"),
                "notify_deleted applies to vrrp_instance only",
            );
        }
    }
}

/// One instance: identity, addresses and families, version-dependent ranges, strict mode,
/// VRID collisions (`vrids`: the instances seen so far), tracking.
fn instance(
    cfg: &Config,
    v: &mut V,
    name: &String,
    i: &VrrpInstance,
    vrids: &mut HashMap<(String, bool, u8), String>,
) {
    let p = format!("vrrp_instance.{name}");
    let e = &i.effective;
    // unset (0); a value that was written but refused is already reported
    if i.virtual_router_id.get() == 0
        && v.locs
            .get_exact(&format!("{p}.virtual_router_id"))
            .is_none()
    {
        v.error(
            &p,
            format!("vrrp_instance '{name}' has no virtual_router_id (expected 1..=255)"),
        );
    }
    if e.interface.is_empty() {
        v.error(
            &p,
            format!("vrrp_instance '{name}' has no 'interface' (and global_defs has no default_interface)"),
        );
    }
    // address families: the advertised addresses are one family (an advert carries
    // one); the excluded ones are not advertised and may mix, as in keepalived
    {
        let (key, list) = ("virtual_ipaddress", &i.virtual_ipaddress);
        if let Some(first) = list.first() {
            if let Some(bad) = list
                .iter()
                .find(|x| x.address.is_ipv4() != first.address.is_ipv4())
            {
                v.error(
                    &format!("{p}.{key}"),
                    format!(
                        "{key} mixes IPv4 and IPv6 ({} and {}): use one family per block",
                        first.address, bad.address
                    ),
                );
            }
        }
    }
    // use_ipvlan: the address is the adverts' source, of the instance's family (keepalived
    // takes the family from whichever comes first and drops the addresses of the other);
    // an IPv4 instance without one stays in FAULT (keepalived's config fault)
    if let Some(l) = &i.use_ipvlan {
        // keepalived sets both and makes only the ipvlan: the VMAC line would be dropped
        if i.use_vmac.is_some() {
            v.error(
                &format!("{p}.use_vmac"),
                "use_vmac and use_ipvlan: an instance's addresses go on one of them (keepalived makes the ipvlan and drops use_vmac); keep the one you mean",
            );
        }
        match l.address {
            Some(a) if a.addr.is_ipv6() != e.ipv6 => v.error(
                &format!("{p}.use_ipvlan"),
                format!(
                    "use_ipvlan: {a} is {} but the instance is {} (keepalived would drop the addresses of the other family): give the ipvlan an address of the instance's family",
                    if a.addr.is_ipv6() { "IPv6" } else { "IPv4" },
                    if e.ipv6 { "IPv6" } else { "IPv4" },
                ),
            ),
            None if !e.ipv6 => v.warning(
                &format!("{p}.use_ipvlan"),
                "use_ipvlan on an IPv4 instance needs an address for the ipvlan: the instance stays in FAULT, as keepalived keeps it; add one (`use_ipvlan NAME 192.0.2.10/24`)",
            ),
            _ => {}
        }
    }
    for (key, a) in [
        ("unicast_src_ip", i.unicast_src_ip),
        ("mcast_src_ip", i.mcast_src_ip),
        ("mcast_dst_ip", i.mcast_dst_ip),
    ] {
        if let Some(a) = a {
            if a.is_ipv6() != e.ipv6 {
                v.error(
                    &format!("{p}.{key}"),
                    format!(
                        "{key} {a} is {} but the instance is {} (from its first address)",
                        family(&a),
                        if e.ipv6 { "IPv6" } else { "IPv4" }
                    ),
                );
            }
        }
    }
    if let Some(m) = i.mcast_dst_ip {
        if !m.is_multicast() {
            v.error(
                &format!("{p}.mcast_dst_ip"),
                format!("mcast_dst_ip {m} is not a multicast address"),
            );
        }
    }
    for peer in &i.unicast_peer {
        if peer.address.is_ipv6() != e.ipv6 {
            v.error(
                &format!("{p}.unicast_peer"),
                format!(
                    "unicast_peer {} is {} but the instance is {}",
                    peer.address,
                    family(&peer.address),
                    if e.ipv6 { "IPv6" } else { "IPv4" }
                ),
            );
        }
        if let (Some(lo), Some(hi)) = (peer.min_ttl, peer.max_ttl) {
            if lo > hi {
                v.error(
                    &format!("{p}.unicast_peer"),
                    format!(
                        "unicast_peer {}: min_ttl {lo} is above max_ttl {hi}",
                        peer.address
                    ),
                );
            }
        }
    }
    if i.unicast_ttl.is_some() && i.unicast_peer.is_empty() {
        v.warning(
            &format!("{p}.unicast_ttl"),
            "unicast_ttl has no effect without unicast_peer",
        );
    }
    // version-dependent ranges
    let adv = i.advert_int;
    match e.version {
        VrrpVersion::V2 => {
            if e.ipv6 {
                v.error(&p, format!("vrrp_instance '{name}' is IPv6, which VRRPv2 does not carry: set 'version 3'"));
            }
            if adv < Secs::from_secs(1) || adv > Secs::from_secs(255) {
                v.error(&format!("{p}.advert_int"), format!("advert_int {adv} is outside VRRPv2's 1..=255 seconds (VRRPv3 allows 0.01 s)"));
            } else if adv != e.advert_int {
                v.warning(
                    &format!("{p}.advert_int"),
                    format!(
                        "VRRPv2 advertises whole seconds: advert_int {adv} is sent as {}",
                        e.advert_int
                    ),
                );
            }
        }
        VrrpVersion::V3 => {
            if adv < Secs::from_millis(10) || adv > Secs::from_millis(40_950) {
                v.error(
                    &format!("{p}.advert_int"),
                    format!("advert_int {adv} is outside VRRPv3's 0.01..=40.95 seconds"),
                );
            } else if adv != e.advert_int {
                v.warning(
                    &format!("{p}.advert_int"),
                    format!(
                        "VRRPv3 advertises centiseconds: advert_int {adv} is sent as {}",
                        e.advert_int
                    ),
                );
            }
            if i.authentication.is_some() {
                v.error(
                    &format!("{p}.authentication"),
                    "VRRPv3 has no authentication (RFC 5798): remove it or use version 2",
                );
            }
        }
    }
    if let Some(a) = &i.authentication {
        if a.auth_pass.len() > 8 {
            v.warning(
                &format!("{p}.authentication"),
                format!(
                    "auth_pass is longer than 8 bytes: only '{}' is sent, as keepalived does",
                    String::from_utf8_lossy(&a.auth_pass.as_bytes()[..8])
                ),
            );
        }
    }
    if i.preempt_delay > Secs::from_secs(1000) {
        v.error(
            &format!("{p}.preempt_delay"),
            "preempt_delay must be at most 1000 seconds",
        );
    }
    if i.nopreempt && i.state == InitialState::Master {
        v.warning(
            &format!("{p}.nopreempt"),
            "nopreempt needs 'state BACKUP': this instance starts as BACKUP, as keepalived does",
        );
    }
    if i.priority.get() == 255 && i.nopreempt {
        v.warning(
            &format!("{p}.nopreempt"),
            "priority 255 (address owner) always preempts: nopreempt has no effect",
        );
    }
    if e.strict {
        if !i.unicast_peer.is_empty() {
            v.error(
                &format!("{p}.unicast_peer"),
                "strict mode (vrrp_strict / strict_mode) does not allow unicast_peer",
            );
        }
        if i.authentication.is_some() {
            v.error(
                &format!("{p}.authentication"),
                "strict mode (vrrp_strict / strict_mode) does not allow authentication",
            );
        }
        if i.accept == Some(true) {
            v.warning(
                &format!("{p}.accept"),
                "'accept' overrides strict mode's no_accept for this instance",
            );
        }
    }
    if i.virtual_ipaddress.is_empty() {
        v.warning(
            &p,
            format!("vrrp_instance '{name}' has no virtual_ipaddress"),
        );
    }
    // VRID collisions on one interface and family
    let key = (e.interface.clone(), e.ipv6, i.virtual_router_id.get());
    if let Some(other) = vrids.get(&key) {
        v.error(
            &format!("{p}.virtual_router_id"),
            format!(
                "virtual_router_id {} is already used by vrrp_instance '{other}' on interface {} ({})",
                key.2,
                if key.0.is_empty() { "(none)" } else { &key.0 },
                if key.1 { "IPv6" } else { "IPv4" }
            ),
        );
    } else {
        vrids.insert(key, name.clone());
    }
    tracks(cfg, v, &p, &i.track_script, &i.track_file);
    processes(cfg, v, &p, &i.track_process);
}

fn scripts(cfg: &Config, v: &mut V) {
    for (name, s) in &cfg.vrrp_script {
        let p = format!("vrrp_script.{name}");
        if s.script.argv.is_empty() {
            v.error(&p, format!("vrrp_script '{name}' has no script"));
        }
        if s.interval.is_zero() {
            v.error(&format!("{p}.interval"), "interval must be more than 0");
        }
        if let Some(t) = s.timeout {
            if t.is_zero() {
                v.error(&format!("{p}.timeout"), "timeout must be more than 0");
            }
        }
        if s.weight_reverse && s.weight.get() == 0 {
            v.warning(
                &format!("{p}.weight"),
                "'reverse' with weight 0 has no effect",
            );
        }
    }
}

fn processes(cfg: &Config, v: &mut V, p: &str, names: &[Track]) {
    for t in names {
        if !cfg.vrrp_track_process.contains_key(&t.name) {
            v.error(
                &format!("{p}.track_process"),
                format!(
                    "track_process '{}' is not defined (expected a vrrp_track_process of that name)",
                    t.name
                ),
            );
        }
    }
}

/// The vrrp_track_process blocks: something to match, quorum within quorum_max, and a
/// process name that /proc/PID/comm can hold.
pub(super) fn track_processes(cfg: &Config, v: &mut V) {
    for (name, t) in &cfg.vrrp_track_process {
        let p = format!("vrrp_track_process.{name}");
        if t.process.is_empty() {
            v.error(&p, "no 'process' to track (keepalived drops the block)");
            continue;
        }
        if let Some(max) = t.quorum_max {
            if max < t.quorum {
                v.error(
                    &format!("{p}.quorum_max"),
                    format!("quorum_max {max} is less than quorum {}: no count of processes could succeed", t.quorum),
                );
            }
        }
        let by_name = !t.full_command && t.params.is_empty() && t.param_match.is_none();
        // the kernel keeps 15 bytes of a process name
        if by_name && t.process.len() > 15 {
            v.error(
                &format!("{p}.process"),
                format!(
                    "'{}' is longer than a process name can be (15 bytes in /proc/PID/comm): it would never match (did you mean 'full_command', to match the command line?)",
                    t.process
                ),
            );
        }
    }
}

fn tracks(cfg: &Config, v: &mut V, p: &str, scripts: &[Track], files: &[Track]) {
    for t in scripts {
        if !cfg.vrrp_script.contains_key(&t.name) {
            v.error(
                &format!("{p}.track_script"),
                format!(
                    "track_script '{}' is not defined (expected a vrrp_script of that name)",
                    t.name
                ),
            );
        }
    }
    for t in files {
        if !cfg.track_file.contains_key(&t.name) {
            v.error(
                &format!("{p}.track_file"),
                format!(
                    "track_file '{}' is not defined (expected a track_file block of that name)",
                    t.name
                ),
            );
        }
    }
}
