//! Fill in what the model inherits: global_defs -> VRRP instances, and
//! virtual_server -> real_server -> checker for timers and options, as keepalived does.
//! After this, engines read `effective` and never apply a default of their own.

use super::model::*;
use super::types::{RsWeight, Secs};
use std::net::IpAddr;

pub const DEFAULT_DELAY_LOOP: Secs = Secs::from_secs(60);
pub const DEFAULT_CONNECT_TIMEOUT: Secs = Secs::from_secs(5);

pub fn resolve(cfg: &mut Config) {
    let g = cfg.global_defs.clone();
    let groups: Vec<(String, SyncGroup)> = cfg
        .vrrp_sync_group
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (name, inst) in cfg.vrrp_instance.iter_mut() {
        let group = groups
            .iter()
            .find(|(_, sg)| sg.group.iter().any(|m| m == name));
        inst.effective = instance(inst, &g, group);
    }
    // every real server and checker: two halves on two threads (a large configuration)
    let (at, threads) = super::parallel::half_of_the_servers(&cfg.virtual_server);
    let (front, back) = cfg.virtual_server.split_at_mut(at);
    super::parallel::in_halves(threads, front, back, |part| {
        for vs in part {
            virtual_server(vs, &g);
        }
    });
    // an anycast block's checkers resolve as those of a real server with its timers
    for a in cfg.anycast.values_mut() {
        let (vs, mut rs) = a.as_service();
        rs.effective = real_server(&rs, &vs, &g);
        for ch in &mut a.checkers {
            ch.effective = checker(ch, &rs, &vs, &g);
        }
    }
}

fn virtual_server(vs: &mut VirtualServer, g: &GlobalDefs) {
    let mut servers = std::mem::take(&mut vs.real_server);
    for rs in &mut servers {
        rs.effective = real_server(rs, vs, g);
        let mut checkers = std::mem::take(&mut rs.checkers);
        for ch in &mut checkers {
            ch.effective = checker(ch, rs, vs, g);
        }
        rs.checkers = checkers;
    }
    vs.real_server = servers;
}

/// The address family an instance runs in: its first VIP's, else its unicast or source
/// address's, else IPv4.
pub fn instance_is_ipv6(inst: &VrrpInstance) -> bool {
    let first: Option<IpAddr> = inst
        .virtual_ipaddress
        .first()
        .map(|v| v.address.addr)
        .or(inst.unicast_src_ip)
        .or_else(|| inst.unicast_peer.first().map(|p| p.address))
        .or(inst.mcast_src_ip);
    first.is_some_and(|a| a.is_ipv6())
}

/// VRRPv2 sends whole seconds (1..=255), VRRPv3 centiseconds (1..=4095); keepalived
/// rounds to the nearest unit, at least one.
pub fn advert_as_sent(v: Secs, version: VrrpVersion) -> Secs {
    let unit = match version {
        VrrpVersion::V2 => 1_000_000,
        VrrpVersion::V3 => 10_000,
    };
    let max = match version {
        VrrpVersion::V2 => 255,
        VrrpVersion::V3 => 4095,
    };
    let units = ((v.as_micros() + unit / 2) / unit).clamp(1, max);
    Secs::from_micros(units * unit)
}

fn instance(
    inst: &VrrpInstance,
    g: &GlobalDefs,
    group: Option<&(String, SyncGroup)>,
) -> InstanceEffective {
    let ipv6 = instance_is_ipv6(inst);
    let strict = inst.strict_mode.unwrap_or(g.vrrp_strict);
    let mcast_group = if inst.unicast_peer.is_empty() {
        Some(inst.mcast_dst_ip.unwrap_or(if ipv6 {
            IpAddr::V6(g.vrrp_mcast_group6)
        } else {
            IpAddr::V4(g.vrrp_mcast_group4)
        }))
    } else {
        None
    };
    let master_delay = inst.garp_master_delay.unwrap_or(g.vrrp_garp_master_delay);
    let master_repeat = inst.garp_master_repeat.unwrap_or(g.vrrp_garp_master_repeat);
    InstanceEffective {
        interface: inst
            .interface
            .clone()
            .or_else(|| g.default_interface.clone())
            .unwrap_or_default(),
        version: inst.version.unwrap_or(g.vrrp_version),
        advert_int: advert_as_sent(inst.advert_int, inst.version.unwrap_or(g.vrrp_version)),
        ipv6,
        mcast_group,
        accept: inst.accept.unwrap_or(!strict),
        strict,
        smtp_alert: inst
            .smtp_alert
            .or_else(|| group.and_then(|(_, sg)| sg.smtp_alert))
            .or(g.smtp_alert_vrrp)
            .or(g.smtp_alert)
            .unwrap_or(false),
        garp_master_delay: master_delay,
        garp_master_repeat: master_repeat,
        garp_master_refresh: inst
            .garp_master_refresh
            .unwrap_or(g.vrrp_garp_master_refresh),
        garp_master_refresh_repeat: inst
            .garp_master_refresh_repeat
            .unwrap_or(g.vrrp_garp_master_refresh_repeat),
        garp_lower_prio_delay: inst
            .garp_lower_prio_delay
            .or(g.vrrp_garp_lower_prio_delay)
            .unwrap_or(master_delay),
        garp_lower_prio_repeat: inst
            .garp_lower_prio_repeat
            .or(g.vrrp_garp_lower_prio_repeat)
            .unwrap_or(master_repeat),
        lower_prio_no_advert: inst
            .lower_prio_no_advert
            .unwrap_or(g.vrrp_lower_prio_no_advert),
        higher_prio_send_advert: inst
            .higher_prio_send_advert
            .unwrap_or(g.vrrp_higher_prio_send_advert),
        check_unicast_src: inst.check_unicast_src.unwrap_or(g.vrrp_check_unicast_src),
        skip_check_adv_addr: inst
            .skip_check_adv_addr
            .unwrap_or(g.vrrp_skip_check_adv_addr),
        v3_checksum_as_v2: inst.v3_checksum_as_v2.unwrap_or(g.v3_checksum_as_v2),
        sync_group: group.map(|(n, _)| n.clone()),
    }
}

fn real_server(rs: &RealServer, vs: &VirtualServer, g: &GlobalDefs) -> RealServerEffective {
    RealServerEffective {
        weight: rs.weight.or(vs.weight).unwrap_or(RsWeight(1)),
        lvs_method: rs.lvs_method.unwrap_or(vs.lvs_method),
        inhibit_on_failure: rs.inhibit_on_failure.unwrap_or(vs.inhibit_on_failure),
        alpha: rs.alpha.unwrap_or(vs.alpha),
        smtp_alert: rs
            .smtp_alert
            .or(vs.smtp_alert)
            .or(g.smtp_alert_checker)
            .or(g.smtp_alert)
            .unwrap_or(false),
    }
}

/// keepalived's per-checker defaults for retry and delay_before_retry (None: delay_loop).
fn kind_defaults(kind: CheckKind) -> (u32, Option<Secs>) {
    match kind {
        CheckKind::Dns => (3, None),
        CheckKind::Misc => (0, Some(Secs::from_secs(1))),
        // a tracked file's value applies at once
        CheckKind::File => (0, None),
        CheckKind::HttpGet | CheckKind::SslGet => (1, Some(Secs::from_secs(3))),
        _ => (1, Some(Secs::from_secs(1))),
    }
}

fn checker(ch: &Checker, rs: &RealServer, vs: &VirtualServer, g: &GlobalDefs) -> CheckEffective {
    let delay_loop = ch
        .delay_loop
        .or(rs.delay_loop)
        .or(vs.delay_loop)
        .unwrap_or(DEFAULT_DELAY_LOOP);
    let (def_retry, def_dbr) = kind_defaults(ch.kind);
    let connects = ch.kind.connects();
    CheckEffective {
        delay_loop,
        connect_timeout: ch
            .connect_timeout
            .or(rs.connect_timeout)
            .or(vs.connect_timeout)
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT),
        retry: ch.retry.or(rs.retry).or(vs.retry).unwrap_or(def_retry),
        delay_before_retry: ch
            .delay_before_retry
            .or(rs.delay_before_retry)
            .or(vs.delay_before_retry)
            .or(def_dbr)
            .unwrap_or(delay_loop),
        warmup: ch.warmup.or(rs.warmup).or(vs.warmup).unwrap_or(delay_loop),
        alpha: ch.alpha.unwrap_or(rs.effective.alpha),
        log_all_failures: ch.log_all_failures.unwrap_or(g.checker_log_all_failures),
        connect_ip: if connects {
            Some(ch.connect_ip.unwrap_or(rs.ip))
        } else {
            None
        },
        connect_port: if connects && ch.kind != CheckKind::Ping {
            ch.connect_port.or(rs.port).or(vs.port)
        } else {
            None
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_str, Format};

    #[test]
    fn timers_inherit_vs_rs_checker() {
        let text = r#"
virtual_server 192.0.2.1 80 {
    delay_loop 10
    retry 4
    real_server 198.51.100.1 80 {
        connect_timeout 2
        TCP_CHECK {
            delay_before_retry 7
        }
        HTTP_GET {
            url { path / }
            delay_loop 3
        }
        MISC_CHECK {
            misc_path /bin/true
        }
    }
    real_server 198.51.100.2 80 {
        DNS_CHECK {
            name example.com
        }
    }
}
"#;
        let l = load_str("t.conf", text, Format::Keepalived, None);
        assert!(l.is_valid(), "{}", l.diags.render());
        let rs = &l.config.virtual_server[0].real_server[0];
        let tcp = &rs.checkers[0].effective;
        assert_eq!(tcp.delay_loop, Secs::from_secs(10));
        assert_eq!(tcp.connect_timeout, Secs::from_secs(2));
        assert_eq!(tcp.retry, 4);
        assert_eq!(tcp.delay_before_retry, Secs::from_secs(7));
        assert_eq!(tcp.warmup, Secs::from_secs(10));
        assert_eq!(tcp.connect_port, Some(80));
        let http = &rs.checkers[1].effective;
        assert_eq!(http.delay_loop, Secs::from_secs(3));
        assert_eq!(http.delay_before_retry, Secs::from_secs(3));
        assert_eq!(http.warmup, Secs::from_secs(3));
        let misc = &rs.checkers[2].effective;
        assert_eq!(misc.retry, 4, "vs retry beats MISC's default 0");
        assert_eq!(misc.connect_ip, None);
        let dns = &l.config.virtual_server[0].real_server[1].checkers[0].effective;
        assert_eq!(dns.retry, 4);
        assert_eq!(
            dns.delay_before_retry,
            Secs::from_secs(10),
            "DNS: delay_loop"
        );
        assert_eq!(dns.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
    }

    #[test]
    fn kind_defaults_apply_without_inheritance() {
        let text = "virtual_server 192.0.2.1 53 {\n protocol UDP\n real_server 198.51.100.1 53 {\n DNS_CHECK {\n name a.example\n }\n MISC_CHECK {\n misc_path /bin/true\n }\n }\n}\n";
        let l = load_str("t.conf", text, Format::Keepalived, None);
        assert!(l.is_valid(), "{}", l.diags.render());
        let c = &l.config.virtual_server[0].real_server[0].checkers;
        assert_eq!(c[0].effective.retry, 3);
        assert_eq!(c[0].effective.delay_before_retry, DEFAULT_DELAY_LOOP);
        assert_eq!(c[1].effective.retry, 0);
    }

    #[test]
    fn instance_inherits_global_defs() {
        let text = r#"
global_defs {
    vrrp_version 3
    vrrp_garp_master_delay 2
    vrrp_strict
    default_interface eth9
    smtp_alert
}
vrrp_instance A {
    virtual_router_id 1
    garp_master_repeat 2
    virtual_ipaddress { 2001:db8::1/64 }
}
vrrp_instance B {
    interface eth1
    virtual_router_id 2
    version 2
    accept
    unicast_peer { 192.0.2.2 }
    virtual_ipaddress { 192.0.2.1/24 }
}
"#;
        let l = load_str("t.conf", text, Format::Keepalived, None);
        let a = &l.config.vrrp_instance["A"].effective;
        assert_eq!(a.version, VrrpVersion::V3);
        assert_eq!(a.interface, "eth9");
        assert!(a.ipv6);
        assert_eq!(a.mcast_group, Some("ff02::12".parse().unwrap()));
        assert!(a.strict && !a.accept);
        assert!(a.smtp_alert);
        assert_eq!(a.garp_master_delay, Secs::from_secs(2));
        assert_eq!(a.garp_master_repeat, 2);
        assert_eq!(a.garp_lower_prio_repeat, 2);
        let b = &l.config.vrrp_instance["B"].effective;
        assert_eq!(b.version, VrrpVersion::V2);
        assert_eq!(b.interface, "eth1");
        assert_eq!(b.mcast_group, None);
        assert!(b.accept);
    }
}
