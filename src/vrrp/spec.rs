//! What the VRRP engine runs, built from the config model once per (re)start: per instance
//! its transport, its timers, its tracked objects and the kernel objects it owns. Every
//! value the operator wrote is turned into its run-time form here, so a word the kernel
//! cannot take (an unknown interface, a table name) is an error before anything runs.

use super::announce::Timing;
use super::machine::Params;
use super::packet::{Auth, Version};
use super::track::{Object, Tracked};
use crate::config::model::{AuthType, Config, Track, UnicastPeer, VrrpInstance, VrrpVersion};
use crate::net::addr::{self, Kernel};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// keepalived's limit of addresses carried in one advertisement; the rest are still added.
pub(crate) const MAX_ADVERT_ADDRS: usize = 20;

#[derive(Clone, Debug)]
pub(crate) struct InstanceSpec {
    pub name: String,
    /// Where the adverts go out (the VMAC with use_vmac, unless vmac_xmit_base).
    pub iface: String,
    pub vrid: u8,
    pub version: Version,
    pub ipv6: bool,
    /// Source of our adverts (and our primary address for ties).
    pub src: IpAddr,
    /// Multicast destination; None when unicast peers are configured.
    pub mcast: Option<IpAddr>,
    pub peers: Vec<UnicastPeer>,
    pub unicast_ttl: u8,
    pub auth: Auth,
    pub v3_checksum_as_v2: bool,
    /// Addresses carried in (and compared with) adverts.
    pub advert_addrs: Vec<IpAddr>,
    pub params: Params,
    pub track: Vec<Tracked>,
    pub group: Option<usize>,
    pub garp: Timing,
    /// Rounds sent when a master hears a lower-priority master (a healed split brain),
    /// and again after lower_prio_delay.
    pub lower_prio_repeat: u32,
    pub lower_prio_delay: Duration,
    pub skip_check_adv_addr: bool,
    pub strict: bool,
    /// Set the interface's promote_secondaries while running.
    pub promote_secondaries: bool,
    /// Addresses, routes and rules added on Master, in order (removed in reverse).
    pub kernel: Vec<Kernel>,
    /// What to announce on takeover: (interface, address).
    pub announce: Vec<(String, IpAddr)>,
    /// Why the configuration keeps this instance in Fault whatever its tracking says
    /// (keepalived's config faults), if it does.
    pub config_fault: Option<&'static str>,
    /// Notify (FIFO lines) when the effective priority changes.
    pub notify_priority_changes: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct GroupSpec {
    pub name: String,
    pub members: Vec<usize>,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Specs {
    pub instances: Vec<InstanceSpec>,
    pub groups: Vec<GroupSpec>,
    /// Interfaces, scripts and files some instance tracks.
    pub tracked: Vec<Object>,
    /// How long the instances wait after the start (vrrp_startup_delay).
    pub startup_delay: Duration,
}

/// What the host tells the builder: an interface's addresses (first is primary).
pub(crate) trait Host {
    fn addresses(&self, iface: &str) -> Vec<IpAddr>;
}

fn tracked_from(t: &Track, kind: &str, config: &Config, fault_only: bool) -> Tracked {
    let (object, default_weight, default_reverse) = match kind {
        "interface" => (Object::Interface(t.name.clone()), 0, false),
        "script" => {
            let s = config.vrrp_script.get(&t.name);
            (
                Object::Script(t.name.clone()),
                s.map_or(0, |s| s.weight.0),
                s.is_some_and(|s| s.weight_reverse),
            )
        }
        "process" => {
            let p = config.vrrp_track_process.get(&t.name);
            (
                Object::Process(t.name.clone()),
                p.map_or(0, |p| p.weight.0),
                p.is_some_and(|p| p.weight_reverse),
            )
        }
        _ => {
            let f = config.track_file.get(&t.name);
            (
                Object::File(t.name.clone()),
                f.map_or(1, |f| f.weight.0),
                f.is_some_and(|f| f.weight_reverse),
            )
        }
    };
    let weight = if fault_only {
        0
    } else {
        t.weight.map_or(default_weight, |w| w.0)
    };
    Tracked {
        object,
        weight,
        reverse: t.reverse || (t.weight.is_none() && default_reverse),
    }
}

/// The VMACs of one instance: its own (use_vmac; `None` below) and one per other
/// interface its addresses name with `use_vmac` (or every other one with use_vmac_addr).
type InstanceVmacs = Vec<(Option<String>, crate::net::vmac::Vmac)>;

/// Every instance's VMACs, named as keepalived names them: the name given, else
/// `vrrp.VRID`, then `vrrp1.VRID`, `vrrp2.VRID`... for the next one of the same VRID.
fn all_vmacs(config: &Config) -> Vec<(String, InstanceVmacs)> {
    let mut used: Vec<String> = config
        .vrrp_instance
        .values()
        .flat_map(|vi| {
            [
                vi.use_vmac.clone(),
                vi.use_ipvlan.as_ref().map(|l| l.name.clone()),
            ]
        })
        .flatten()
        .filter(|n| !n.is_empty())
        .collect();
    let mut fresh = |vrid: u8| {
        let mut name = format!("vrrp.{vrid}");
        let mut n = 0;
        while used.contains(&name) {
            n += 1;
            name = format!("vrrp{n}.{vrid}");
        }
        used.push(name.clone());
        name
    };
    let mut out = Vec::new();
    for (iname, vi) in &config.vrrp_instance {
        let vrid = vi.virtual_router_id.0;
        let own = &vi.effective.interface;
        let mut list: InstanceVmacs = Vec::new();
        if let Some(n) = &vi.use_vmac {
            let name = if n.is_empty() { fresh(vrid) } else { n.clone() };
            let mut v = crate::net::vmac::of(
                &name,
                own,
                vrid,
                vi.effective.ipv6,
                vi.vmac_address.as_deref(),
            );
            v.group = vi.vmac_group.clone();
            list.push((None, v));
        }
        // keepalived makes the ipvlan when both are given (refused by check)
        if let Some(l) = &vi.use_ipvlan {
            let name = if l.name.is_empty() {
                fresh(vrid)
            } else {
                l.name.clone()
            };
            list.retain(|(d, _)| d.is_some());
            list.push((
                None,
                crate::net::vmac::ipvlan(&name, own, l, vi.effective.ipv6),
            ));
        }
        for a in vi
            .virtual_ipaddress
            .iter()
            .chain(&vi.virtual_ipaddress_excluded)
        {
            let Some(dev) = &a.dev else { continue };
            let wanted = a.use_vmac || (vi.use_vmac_addr && dev != own);
            if !wanted || list.iter().any(|(d, _)| d.as_ref() == Some(dev)) {
                continue;
            }
            let name = fresh(vrid);
            let v = crate::net::vmac::of(&name, dev, vrid, a.address.addr.is_ipv6(), None);
            list.push((Some(dev.clone()), v));
        }
        out.push((iname.clone(), list));
    }
    out
}

/// Every VMAC the configuration asks for, made before the instances are built (their
/// addresses name it).
pub(crate) fn vmacs(config: &Config) -> Vec<crate::net::vmac::Vmac> {
    all_vmacs(config)
        .into_iter()
        .flat_map(|(_, l)| l.into_iter().map(|(_, v)| v))
        .collect()
}

fn secs(s: crate::config::types::Secs) -> Duration {
    s.as_duration()
}

fn instance(
    name: &str,
    vi: &VrrpInstance,
    config: &Config,
    host: &dyn Host,
    vmacs: &[(Option<String>, crate::net::vmac::Vmac)],
) -> Result<InstanceSpec, String> {
    let e = &vi.effective;
    let ipv6 = e.ipv6;
    // use_vmac: the VIPs go on the VMAC, the adverts too unless vmac_xmit_base; the base
    // interface is the one tracked and the one whose address the adverts carry
    let base = e.interface.clone();
    let vmac = vmacs
        .iter()
        .find(|(d, _)| d.is_none())
        .map(|(_, v)| v.clone());
    // keepalived puts the VIPs on a VMAC, but leaves them on the base with an ipvlan (it
    // carries the adverts only, from its own address)
    let vip_dev = match &vmac {
        Some(v) if matches!(v.kind, crate::net::vmac::Kind::Macvlan(_)) => v.name.clone(),
        _ => base.clone(),
    };
    // an address on another interface with a VMAC of its own goes on that VMAC
    let on_vmac = |v: &crate::config::addr::VirtualIp| -> crate::config::addr::VirtualIp {
        let mut v = v.clone();
        if let Some(d) = &v.dev {
            if let Some((_, m)) = vmacs.iter().find(|(x, _)| x.as_ref() == Some(d)) {
                v.dev = Some(m.name.clone());
            }
        }
        v
    };
    // an IPv6 VMAC has no link-local address (a backup's would answer for it with the
    // shared MAC): its adverts go from the base, as with vmac_xmit_base; an ipvlan sends
    // and hears them itself, from its own address
    let ipvlan = vmac.as_ref().and_then(|v| match v.kind {
        crate::net::vmac::Kind::Ipvlan { address, .. } => Some((v.name.clone(), address)),
        crate::net::vmac::Kind::Macvlan(_) => None,
    });
    let iface = match &ipvlan {
        Some((name, _)) => name.clone(),
        None if vi.vmac_xmit_base || ipv6 => base.clone(),
        None => vip_dev.clone(),
    };
    let ipvlan_dev = ipvlan.as_ref().map(|(n, _)| n.clone());
    let ipvlan = ipvlan.map(|(_, a)| a);
    // keepalived's config fault: an ipvlan needs an address of the instance's family
    // (IPv6: its link-local address will do)
    let ipvlan_fault = match ipvlan {
        Some(Some(a)) => a.addr.is_ipv6() != ipv6,
        Some(None) => !ipv6,
        None => false,
    };
    let ipvlan_src = match ipvlan {
        Some(Some(a)) if !ipvlan_fault => Some(a.addr),
        Some(None) if ipv6 => host
            .addresses(&iface)
            .into_iter()
            .find(|a| matches!(a, IpAddr::V6(v) if v.is_unicast_link_local())),
        _ => None,
    };
    let version = match e.version {
        VrrpVersion::V2 => Version::V2,
        VrrpVersion::V3 => Version::V3,
    };
    let want_family = |a: &IpAddr| a.is_ipv6() == ipv6;
    let src = match vi.unicast_src_ip.or(vi.mcast_src_ip).or(ipvlan_src) {
        Some(a) => a,
        None => {
            let addrs = host.addresses(&base);
            let pick = if ipv6 {
                addrs
                    .iter()
                    .find(|a| matches!(a, IpAddr::V6(v) if v.is_unicast_link_local()))
            } else {
                addrs.iter().find(|a| a.is_ipv4())
            };
            *pick.ok_or_else(|| {
                format!(
                    "vrrp_instance {name}: interface {base} has no {} address to send adverts from",
                    if ipv6 { "IPv6 link-local" } else { "IPv4" }
                )
            })?
        }
    };
    let auth = match &vi.authentication {
        None => Auth::None,
        Some(a) => match a.auth_type {
            AuthType::Pass => Auth::pass(&a.auth_pass),
            AuthType::Ah => Auth::ah(&a.auth_pass),
        },
    };
    let mut advert_addrs: Vec<IpAddr> = vi
        .virtual_ipaddress
        .iter()
        .map(|v| v.address.addr)
        .filter(want_family)
        .collect();
    advert_addrs.truncate(MAX_ADVERT_ADDRS);
    let mut kernel = Vec::new();
    let mut announce = Vec::new();
    for v in vi
        .virtual_ipaddress
        .iter()
        .chain(&vi.virtual_ipaddress_excluded)
        .map(on_vmac)
    {
        let v = &v;
        kernel.push(
            addr::address(v, &vip_dev).map_err(|m| format!("vrrp_instance {name}: {v}: {m}"))?,
        );
        let dev = v.dev.clone().unwrap_or_else(|| vip_dev.clone());
        if v.peer.is_none() {
            announce.push((dev, v.address.addr));
        }
    }
    for r in &vi.virtual_routes {
        kernel
            .push(addr::route(r, &vip_dev).map_err(|m| format!("vrrp_instance {name}: {r}: {m}"))?);
    }
    for r in &vi.virtual_rules {
        kernel.push(addr::rule(r).map_err(|m| format!("vrrp_instance {name}: {r}: {m}"))?);
    }

    let mut track = Vec::new();
    if !vi.dont_track_primary {
        track.push(Tracked {
            object: Object::Interface(base.clone()),
            weight: 0,
            reverse: false,
        });
        // the ipvlan the adverts use (deleted by hand: a fault, as keepalived)
        if let Some(dev) = &ipvlan_dev {
            track.push(Tracked {
                object: Object::Interface(dev.clone()),
                weight: 0,
                reverse: false,
            });
        }
    }
    // track_src_ip: the configured source address must be on the interface
    if let (true, Some(a)) = (vi.track_src_ip, vi.unicast_src_ip.or(vi.mcast_src_ip)) {
        track.push(Tracked {
            object: Object::Address(base.clone(), a),
            weight: 0,
            reverse: false,
        });
    }
    for v in &vi.virtual_ipaddress {
        if let Some(d) = &v.dev {
            let o = Object::Interface(d.clone());
            if !v.no_track && !track.iter().any(|t| t.object == o) {
                track.push(Tracked {
                    object: o,
                    weight: 0,
                    reverse: false,
                });
            }
        }
    }
    for t in &vi.track_interface {
        track.push(tracked_from(t, "interface", config, false));
    }
    for t in &vi.track_script {
        track.push(tracked_from(t, "script", config, false));
    }
    for t in &vi.track_file {
        track.push(tracked_from(t, "file", config, false));
    }
    for t in &vi.track_process {
        track.push(tracked_from(t, "process", config, false));
    }
    let group = e
        .sync_group
        .as_ref()
        .and_then(|g| config.vrrp_sync_group.get(g));
    // the instance's own setting, else its sync group's, else the global one (keepalived)
    let notify_priority_changes = vi
        .notify_priority_changes
        .or(group.and_then(|g| g.notify_priority_changes))
        .unwrap_or(config.global_defs.vrrp_notify_priority_changes);
    if let Some(g) = group {
        // a sync group's own tracking applies to every member; its weights count only
        // with sync_group_tracking_weight (keepalived), otherwise any failure is a fault
        let fault_only = !g.sync_group_tracking_weight;
        for t in &g.track_interface {
            track.push(tracked_from(t, "interface", config, fault_only));
        }
        for t in &g.track_script {
            track.push(tracked_from(t, "script", config, fault_only));
        }
        for t in &g.track_file {
            track.push(tracked_from(t, "file", config, fault_only));
        }
        for t in &g.track_process {
            track.push(tracked_from(t, "process", config, fault_only));
        }
    }

    let garp = Timing {
        delay: secs(e.garp_master_delay),
        repeat: e.garp_master_repeat,
        refresh: secs(e.garp_master_refresh),
        refresh_repeat: e.garp_master_refresh_repeat,
        interval: secs(if ipv6 {
            config.global_defs.vrrp_gna_interval
        } else {
            config.global_defs.vrrp_garp_interval
        }),
    };
    let mcast = if vi.unicast_peer.is_empty() {
        e.mcast_group.or(Some(if ipv6 {
            IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12))
        } else {
            IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18))
        }))
    } else {
        None
    };
    Ok(InstanceSpec {
        name: name.to_string(),
        iface,
        vrid: vi.virtual_router_id.0,
        version,
        ipv6,
        src,
        mcast,
        notify_priority_changes,
        config_fault: if ipvlan_fault {
            Some("use_ipvlan without an address of the instance's family")
        } else {
            (vi.unicast_fault_no_peer && vi.unicast_peer.is_empty())
                .then_some("unicast_fault_no_peer and no unicast_peer")
        },
        peers: vi.unicast_peer.clone(),
        unicast_ttl: vi.unicast_ttl.unwrap_or(255),
        auth,
        v3_checksum_as_v2: e.v3_checksum_as_v2,
        advert_addrs,
        params: Params {
            version,
            priority: vi.priority.0,
            advert_int: secs(e.advert_int),
            preempt: !vi.nopreempt,
            preempt_delay: secs(vi.preempt_delay),
            primary: src,
            // a master that hears a lower-priority master (a healed split brain) answers
            // with an advert and re-announces its addresses: ldirector's default, turned
            // off by lower_prio_no_advert (or vrrp_strict) or higher_prio_send_advert false
            higher_prio_send_advert: vi
                .higher_prio_send_advert
                .unwrap_or(!e.lower_prio_no_advert),
        },
        track,
        group: None,
        garp,
        lower_prio_repeat: e.garp_lower_prio_repeat.max(1),
        lower_prio_delay: secs(e.garp_lower_prio_delay),
        skip_check_adv_addr: e.skip_check_adv_addr,
        strict: e.strict,
        promote_secondaries: vi.promote_secondaries,
        kernel,
        announce,
    })
}

/// Build what the engine runs from a validated config.
pub(crate) fn build(config: &Config, host: &dyn Host) -> Result<Specs, Vec<String>> {
    let mut specs = Specs {
        startup_delay: config.global_defs.vrrp_startup_delay.as_duration(),
        ..Specs::default()
    };
    let mut errors = Vec::new();
    // named across the whole configuration, so computed once
    let all = all_vmacs(config);
    for ((name, vi), (_, vmacs)) in config.vrrp_instance.iter().zip(&all) {
        match instance(name, vi, config, host, vmacs) {
            Ok(s) => specs.instances.push(s),
            Err(e) => errors.push(e),
        }
    }
    for (gname, g) in &config.vrrp_sync_group {
        let members: Vec<usize> = g
            .group
            .iter()
            .filter_map(|m| specs.instances.iter().position(|s| &s.name == m))
            .collect();
        let gi = specs.groups.len();
        for &m in &members {
            specs.instances[m].group = Some(gi);
        }
        specs.groups.push(GroupSpec {
            name: gname.clone(),
            members,
        });
    }
    for s in &specs.instances {
        for t in &s.track {
            if !specs.tracked.contains(&t.object) {
                specs.tracked.push(t.object.clone());
            }
        }
    }
    if errors.is_empty() {
        Ok(specs)
    } else {
        Err(errors)
    }
}
