//! keepalived's fallbacks: where keepalived logs a line it cannot use as written and runs
//! on with a replacement it documents, ldirector applies the same replacement and warns,
//! naming the line. Applied to keepalived.conf only (ldirector's own TOML is read as
//! written, and validation refuses what it cannot run), between reading and resolving.
//!
//! Each rule names the keepalived message it follows (vrrp.c `vrrp_complete_instance`,
//! vrrp_parser.c, vrrp_track.c). A line whose fallback would contradict what it says stays
//! an error in the reader or in validation.

use crate::config::diag::Diagnostics;
use crate::config::model::*;
use crate::config::resolve::instance_is_ipv6;
use crate::config::types::{Priority, Secs, TrackWeight};
use crate::config::Locations;

pub fn apply(cfg: &mut Config, locs: &Locations, d: &mut Diagnostics) {
    scripts_without_script(cfg, locs, d);
    let g = cfg.global_defs.clone();
    for (name, i) in cfg.vrrp_instance.iter_mut() {
        instance(name, i, &g, locs, d);
    }
    unweighted_tracking(cfg, locs, d);
    for (idx, vs) in cfg.virtual_server.iter_mut().enumerate() {
        virtual_server(idx, vs, locs, d);
    }
}

/// vrrp.c: a member of a sync group without `sync_group_tracking_weight`, and an address
/// owner (priority 255), ignore tracking weights: a weighted interface is tracked for
/// faults only (the owner stops tracking it), a weighted script is not tracked, a track
/// file with the default weight is tracked for faults only and one with a weight of its
/// own is not tracked. Each with keepalived's message.
fn unweighted_tracking(cfg: &mut Config, locs: &Locations, d: &mut Diagnostics) {
    let (groups, scripts, files) = (&cfg.vrrp_sync_group, &cfg.vrrp_script, &cfg.track_file);
    for (name, i) in cfg.vrrp_instance.iter_mut() {
        let sync = groups
            .values()
            .any(|g| !g.sync_group_tracking_weight && g.group.iter().any(|m| m == name));
        if !sync && i.priority.0 != 255 {
            continue;
        }
        let why = if sync {
            "its sync group does not count weights (sync_group_tracking_weight)"
        } else {
            "an address owner (priority 255) has no weights"
        };
        let p = format!("vrrp_instance.{name}");
        let mut warn = |what: &str, t: &str, fate: &str| {
            d.warning(
                &locs.at(&format!("{p}.{what}")),
                format!("{what} '{t}': {why}: {fate}, as keepalived ignores the weight"),
            );
        };
        i.track_interface.retain_mut(|t| {
            if t.weight.is_none_or(|w| w.0 == 0) {
                return true;
            }
            if sync {
                warn("track_interface", &t.name, "tracked for faults only");
                t.weight = Some(TrackWeight(0));
                true
            } else {
                warn("track_interface", &t.name, "not tracked");
                false
            }
        });
        i.track_script.retain(|t| {
            let w = t
                .weight
                .map_or_else(|| scripts.get(&t.name).map_or(0, |s| s.weight.0), |w| w.0);
            if w == 0 {
                return true;
            }
            warn("track_script", &t.name, "not tracked");
            false
        });
        i.track_file.retain_mut(|t| {
            let w = t
                .weight
                .map_or_else(|| files.get(&t.name).map_or(1, |f| f.weight.0), |w| w.0);
            match w {
                0 => true,
                1 => {
                    warn(
                        "track_file",
                        &t.name,
                        "tracked for faults only (write weight 0)",
                    );
                    t.weight = Some(TrackWeight(0));
                    true
                }
                _ => {
                    warn("track_file", &t.name, "not tracked");
                    false
                }
            }
        });
    }
}

/// check_data.c's `validate_check_config`, for each virtual server.
fn virtual_server(idx: usize, vs: &mut VirtualServer, locs: &Locations, d: &mut Diagnostics) {
    let p = format!("virtual_server[{idx}]");
    // "cannot use ha_suspend with fwmarks - clearing ha_suspend"
    if vs.ha_suspend && vs.fwmark.is_some() {
        d.warning(
            &locs.at(&format!("{p}.ha_suspend")),
            "ha_suspend needs a service address, which a fwmark service has not: it is off, as keepalived turns it off",
        );
        vs.ha_suspend = false;
    }
    // "quorum %u for %s exceeds total weight of real servers %u, reducing quorum to %u"
    let weight_sum: u64 = vs
        .real_server
        .iter()
        .map(|r| u64::from(r.weight.or(vs.weight).map_or(1, |w| w.get())))
        .sum();
    if !vs.real_server.is_empty() && u64::from(vs.quorum) > weight_sum {
        d.warning(
            &locs.at(&format!("{p}.quorum")),
            format!("quorum {} exceeds the real servers' total weight {weight_sum}: it could never be met; {weight_sum} is used, as keepalived uses it", vs.quorum),
        );
        vs.quorum = u32::try_from(weight_sum).unwrap_or(u32::MAX);
    }
    // "hysteresis %u >= quorum %u; setting hysteresis to %u"
    if vs.hysteresis >= vs.quorum && vs.hysteresis > 0 {
        let h = vs.quorum.saturating_sub(1);
        d.warning(
            &locs.at(&format!("{p}.hysteresis")),
            format!(
                "hysteresis {} is not below quorum {}: {h} is used, as keepalived uses it",
                vs.hysteresis, vs.quorum
            ),
        );
        vs.hysteresis = h;
    }
    // DR and TUN keep the destination port: a real (or sorry) server port that differs is
    // reset to the service's ("ports don't match - resetting"), and cleared for a fwmark
    // service ("has port specified - clearing")
    if vs.group.is_none() {
        let want = if vs.fwmark.is_some() { None } else { vs.port };
        let method = vs.lvs_method;
        // one server's port: kept (NAT, none, or already the service's) or replaced
        let mut fix = |what: String, at: String, m: Option<LvsMethod>, port: &mut Option<u16>| {
            if m.unwrap_or(method) == LvsMethod::Nat || port.is_none() || *port == want {
                return;
            }
            let fate = match want {
                Some(_) => "replaced by the service's",
                None => "ignored (a fwmark service)",
            };
            d.warning(
                &locs.at(&at),
                format!(
                    "{what}: DR and TUN forward to the service's port: port {} is {fate}, as keepalived does",
                    port.unwrap_or(0)
                ),
            );
            *port = want;
        };
        for (r, rs) in vs.real_server.iter_mut().enumerate() {
            let (what, at) = (
                format!("real_server {}", rs.ip),
                format!("{p}.real_server[{r}]"),
            );
            fix(what, at, rs.lvs_method, &mut rs.port);
        }
        if let Some(ss) = vs.sorry_server.as_mut() {
            let (what, at) = (
                format!("sorry_server {}", ss.ip),
                format!("{p}.sorry_server"),
            );
            fix(what, at, ss.lvs_method, &mut ss.port);
        }
    }
    if vs.fwmark.is_some() {
        // "protocol specified for fwmark - protocol will be ignored"
        if let Some(loc) = locs.get_exact(&format!("{p}.protocol")) {
            d.warning(
                &loc,
                "a fwmark service has no protocol (the mark selects the packets): 'protocol' is ignored, as keepalived ignores it",
            );
        }
        return;
    }
    // "one packet scheduling requires UDP - resetting"
    if vs.ops && vs.protocol != Protocol::Udp {
        d.warning(
            &locs.at(&format!("{p}.ops")),
            "ops (one-packet scheduling) applies to UDP only: it is off for this service, as keepalived turns it off",
        );
        vs.ops = false;
    }
    // "zero port only valid for persistent services - setting"
    if vs.group.is_none() && vs.port == Some(0) && vs.persistence_timeout.is_none() {
        d.warning(
            &locs.at(&p),
            "port 0 (every port) is only valid for a persistent service: persistence_timeout 360 is set, as keepalived sets it",
        );
        vs.persistence_timeout = Some(360);
    }
}

/// "No script set for vrrp_script X - removing", then "(VI) track script X not found,
/// ignoring...": the script and every track_script line naming it go.
fn scripts_without_script(cfg: &mut Config, locs: &Locations, d: &mut Diagnostics) {
    let empty: Vec<String> = cfg
        .vrrp_script
        .iter()
        .filter(|(_, s)| s.script.argv.is_empty())
        .map(|(n, _)| n.clone())
        .collect();
    for name in &empty {
        cfg.vrrp_script.shift_remove(name);
        d.warning(
            &locs.at(&format!("vrrp_script.{name}")),
            format!("vrrp_script '{name}' has no script: it is removed, as keepalived removes it"),
        );
    }
    if empty.is_empty() {
        return;
    }
    let mut drop_tracks = |owner: &str, tracks: &mut Vec<Track>| {
        tracks.retain(|t| {
            let gone = empty.contains(&t.name);
            if gone {
                d.warning(
                    &locs.at(&format!("{owner}.track_script")),
                    format!(
                        "track_script '{}' names a vrrp_script removed for having no script: not tracked, as keepalived does",
                        t.name
                    ),
                );
            }
            !gone
        });
    };
    for (n, i) in cfg.vrrp_instance.iter_mut() {
        drop_tracks(&format!("vrrp_instance.{n}"), &mut i.track_script);
    }
    for (n, g) in cfg.vrrp_sync_group.iter_mut() {
        drop_tracks(&format!("vrrp_sync_group.{n}"), &mut g.track_script);
    }
}

/// keepalived's `vrrp_complete_instance`, in its order.
fn instance(
    name: &str,
    i: &mut VrrpInstance,
    g: &GlobalDefs,
    locs: &Locations,
    d: &mut Diagnostics,
) {
    let p = format!("vrrp_instance.{name}");
    let strict = i.strict_mode.unwrap_or(g.vrrp_strict);
    let ipv6 = instance_is_ipv6(i);
    // IPv6 is VRRPv3 (keepalived.conf(5)): unset or global 2 silently, an explicit 2 with
    // "vrrp_version 2 conflicts with configured or deduced version 3; ignoring"
    if ipv6 && i.version.unwrap_or(g.vrrp_version) == VrrpVersion::V2 {
        if i.version == Some(VrrpVersion::V2) {
            d.warning(
                &locs.at(&format!("{p}.version")),
                format!("vrrp_instance '{name}' is IPv6, which VRRPv2 does not carry: it runs as VRRPv3, as keepalived runs it"),
            );
        }
        i.version = Some(VrrpVersion::V3);
    }
    // "unicast with use_vmac requires vmac_xmit_base - setting"
    if i.use_vmac.is_some() && !i.unicast_peer.is_empty() && !i.vmac_xmit_base && !strict {
        d.warning(
            &locs.at(&format!("{p}.use_vmac")),
            "use_vmac with unicast_peer: the adverts go from the base interface (vmac_xmit_base is set), as keepalived sets it",
        );
        i.vmac_xmit_base = true;
    }
    // "vmac_xmit_base is only valid with a vmac"; "xmit_base is incompatible with strict
    // mode - resetting"
    if i.vmac_xmit_base && (i.use_vmac.is_none() || strict) {
        let why = if i.use_vmac.is_none() {
            "vmac_xmit_base without use_vmac has nothing to act on"
        } else {
            "vmac_xmit_base is incompatible with strict mode"
        };
        d.warning(
            &locs.at(&format!("{p}.vmac_xmit_base")),
            format!("{why}: it is ignored, as keepalived ignores it"),
        );
        i.vmac_xmit_base = false;
    }
    // "multicast destination specified with unicast - ignoring"
    if i.mcast_dst_ip.is_some() && !i.unicast_peer.is_empty() {
        d.warning(
            &locs.at(&format!("{p}.mcast_dst_ip")),
            "mcast_dst_ip with unicast_peer: the adverts go to the peers, the multicast destination is ignored, as keepalived ignores it",
        );
        i.mcast_dst_ip = None;
    }
    // "Ignoring track_interface %s since own interface"
    if let Some(own) = i.interface.clone().or_else(|| g.default_interface.clone()) {
        let before = i.track_interface.len();
        i.track_interface.retain(|t| t.name != own);
        if i.track_interface.len() != before {
            d.warning(
                &locs.at(&format!("{p}.track_interface")),
                format!("track_interface {own}: the instance's own interface is always tracked (a fault when it is down); this line (and its weight) is ignored, as keepalived ignores it"),
            );
        }
    }
    // "use_vmac for a address requires an interface"; "use_vmac_addr specified and
    // use_vmac specified for VIP/eVIP"
    for (key, list) in [
        ("virtual_ipaddress", &mut i.virtual_ipaddress),
        (
            "virtual_ipaddress_excluded",
            &mut i.virtual_ipaddress_excluded,
        ),
    ] {
        for a in list.iter_mut().filter(|a| a.use_vmac) {
            let why = if a.dev.is_none() {
                Some("without 'dev' the address has no interface of its own: 'use_vmac' is ignored")
            } else if i.use_vmac_addr {
                Some("use_vmac_addr already gives it a VMAC: 'use_vmac' adds nothing")
            } else {
                None
            };
            if let Some(why) = why {
                d.warning(
                    &locs.at(&format!("{p}.{key}")),
                    format!("{}: {why}, as keepalived says", a.address),
                );
                a.use_vmac = a.dev.is_some();
            }
        }
    }
    // "cannot specify MAC address with strict mode - clearing"
    if strict && i.vmac_address.is_some() {
        d.warning(
            &locs.at(&format!("{p}.use_vmac")),
            "use_vmac: strict mode takes the RFC 5798 virtual MAC: the address given is ignored, as keepalived ignores it",
        );
        i.vmac_address = None;
    }
    if ipv6 && i.use_vmac.is_some() && !i.vmac_xmit_base {
        d.warning(
            &locs.at(&format!("{p}.use_vmac")),
            "use_vmac on an IPv6 instance: the VIPs go on the VMAC, the adverts leave from the base interface's link-local address (as with vmac_xmit_base; keepalived copies that address onto the VMAC, where a backup would answer for it with the shared MAC)",
        );
    }
    // "promote_secondaries is automatically set for vmacs - ignoring"
    if i.promote_secondaries && (i.use_vmac.is_some() || i.use_ipvlan.is_some()) {
        d.warning(
            &locs.at(&format!("{p}.promote_secondaries")),
            "promote_secondaries with use_vmac / use_ipvlan: the VIPs are the only addresses there, nothing to promote; ignored, as keepalived ignores it",
        );
        i.promote_secondaries = false;
    }
    // "If no priority has been set, derive it from the initial state": MASTER without a
    // priority is the address owner
    if i.state == InitialState::Master && locs.get_exact(&format!("{p}.priority")).is_none() {
        d.warning(
            &locs.at(&format!("{p}.state")),
            "state MASTER without a priority: priority 255 (the address owner), as keepalived derives it; write a priority to choose another",
        );
        i.priority = Priority(255);
    }
    let owner = i.priority.get() == 255;
    // "State MASTER must match being address owner"
    if strict && i.state == InitialState::Master && !owner {
        d.warning(
            &locs.at(&format!("{p}.state")),
            "strict mode: only the address owner (priority 255) starts as MASTER: this instance starts as BACKUP, as keepalived does",
        );
        i.state = InitialState::Backup;
    }
    let version = i.version.unwrap_or(g.vrrp_version);
    if let Some(a) = &i.authentication {
        let auth = format!("{p}.authentication");
        let dropped = if strict {
            // "Strict mode does not support authentication. Ignoring."
            Some("strict mode (vrrp_strict / strict_mode) does not support authentication")
        } else if version == VrrpVersion::V3 {
            // "VRRP version 3 does not support authentication. Ignoring."
            Some("VRRPv3 has no authentication (RFC 5798)")
        } else if ipv6 && a.auth_type == AuthType::Ah {
            // "Cannot use AH authentication with IPv6. ignoring"
            Some("AH authentication cannot be used with IPv6")
        } else {
            None
        };
        if let Some(why) = dropped {
            d.warning(
                &locs.at(&auth),
                format!("{why}: the authentication block is ignored, as keepalived ignores it"),
            );
            i.authentication = None;
        } else if a.auth_type == AuthType::Ah && i.state == InitialState::Master && !owner {
            // "Initial state master is incompatible with AH authentication - clearing":
            // a backup learns the AH sequence number from the master's adverts first
            d.warning(
                &locs.at(&format!("{p}.state")),
                "state MASTER is incompatible with AH authentication (the sequence number is learnt from the master's adverts): this instance starts as BACKUP, as keepalived does",
            );
            i.state = InitialState::Backup;
        }
    }
    // "A unicast keyword has been specified without any unicast peers. Defaulting to
    // multicast."
    if i.unicast_fault_no_peer && i.unicast_peer.is_empty() {
        // "Cannot use unicast without any peers - going to fault state"
        d.warning(
            &locs.at(&format!("{p}.unicast_fault_no_peer")),
            "unicast_fault_no_peer without any unicast_peer: the instance stays in FAULT, as keepalived keeps it",
        );
    } else if i.unicast_src_ip.is_some() && i.unicast_peer.is_empty() {
        d.warning(
            &locs.at(&format!("{p}.unicast_src_ip")),
            "unicast_src_ip without any unicast_peer: the instance uses multicast (from that address), as keepalived does; keepalived deprecates this",
        );
    }
    // "preempt_delay is incompatible with strict mode - resetting"
    if strict && !i.preempt_delay.is_zero() {
        d.warning(
            &locs.at(&format!("{p}.preempt_delay")),
            "preempt_delay is incompatible with strict mode: it is reset to 0, as keepalived resets it",
        );
        i.preempt_delay = Secs::ZERO;
    }
}
