//! The table the configuration asks for: every virtual_server (groups expanded: addresses,
//! ranges, fwmarks) as kernel services, every real server as a destination with its
//! effective weight, forwarding method and thresholds. Health (from the checkers) decides
//! which real servers are present: a failed one is left out, or kept at weight 0 with
//! inhibit_on_failure.

use super::table::*;
use crate::config::model::{
    Config, IpFamily, LvsMethod, Protocol, RealServer, SchedFlag, TunnelCsum, TunnelType,
    VirtualServer, VsGroupEntry,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

fn protocol(p: Protocol) -> u16 {
    match p {
        Protocol::Tcp => IPPROTO_TCP,
        Protocol::Udp => IPPROTO_UDP,
        Protocol::Sctp => IPPROTO_SCTP,
    }
}

/// The address family of a virtual server that has no address of its own (fwmark).
fn family(vs: &VirtualServer) -> u16 {
    match vs.ip_family {
        Some(IpFamily::Inet6) => AF_INET6,
        Some(IpFamily::Inet) => AF_INET,
        None => vs
            .ip
            .map(|a| family_of(&a))
            .or_else(|| vs.real_server.first().map(|r| family_of(&r.ip)))
            .unwrap_or(AF_INET),
    }
}

/// The kernel services a virtual_server stands for.
pub fn service_keys(cfg: &Config, vs: &VirtualServer) -> Vec<ServiceKey> {
    let proto = protocol(vs.protocol);
    if let Some(m) = vs.fwmark {
        return vec![ServiceKey::Fwmark {
            af: family(vs),
            mark: m,
        }];
    }
    if let (Some(addr), Some(port)) = (vs.ip, vs.port) {
        return vec![ServiceKey::Addr {
            protocol: proto,
            addr,
            port,
        }];
    }
    let Some(entries) = vs
        .group
        .as_ref()
        .and_then(|g| cfg.virtual_server_group.get(g))
    else {
        return Vec::new();
    };
    let mut keys = Vec::new();
    for e in entries {
        match *e {
            VsGroupEntry::Address { ip, port } => keys.push(ServiceKey::Addr {
                protocol: proto,
                addr: ip,
                port,
            }),
            VsGroupEntry::Range { first, last, port } => match first {
                IpAddr::V4(a) => {
                    let o = a.octets();
                    for x in u16::from(o[3])..=last.min(255) {
                        keys.push(ServiceKey::Addr {
                            protocol: proto,
                            addr: IpAddr::V4(Ipv4Addr::new(o[0], o[1], o[2], x as u8)),
                            port,
                        });
                    }
                }
                IpAddr::V6(a) => {
                    let mut s = a.segments();
                    for x in s[7]..=last {
                        s[7] = x;
                        keys.push(ServiceKey::Addr {
                            protocol: proto,
                            addr: IpAddr::V6(Ipv6Addr::from(s)),
                            port,
                        });
                    }
                }
            },
            VsGroupEntry::Fwmark(m) => keys.push(ServiceKey::Fwmark {
                af: family(vs),
                mark: m,
            }),
        }
    }
    keys
}

fn netmask(af: u16, granularity: Option<&str>) -> u32 {
    match (af, granularity) {
        (AF_INET6, Some(g)) => g.parse().unwrap_or(128),
        (AF_INET6, None) => 128,
        (_, Some(g)) => g.parse::<Ipv4Addr>().map(u32::from).unwrap_or(u32::MAX),
        (_, None) => u32::MAX,
    }
}

/// The kernel settings of a virtual_server's services.
pub fn service(vs: &VirtualServer, af: u16) -> Service {
    let mut f = 0;
    for fl in &vs.sched_flags {
        f |= match fl {
            SchedFlag::ShFallback | SchedFlag::MhFallback | SchedFlag::Flag1 => flags::SCHED1,
            SchedFlag::ShPort | SchedFlag::MhPort | SchedFlag::Flag2 => flags::SCHED2,
            SchedFlag::Flag3 => flags::SCHED3,
        };
    }
    if vs.ops {
        f |= flags::ONEPACKET;
    }
    let timeout = vs.persistence_timeout.unwrap_or(0);
    if timeout > 0 {
        f |= flags::PERSISTENT;
    }
    Service {
        sched: vs.lvs_sched.name().to_string(),
        flags: f,
        timeout,
        netmask: netmask(af, vs.persistence_granularity.as_deref()),
        pe_name: vs.persistence_engine.clone(),
    }
}

/// The destination of a real server (its weight as configured).
pub fn dest(vs: &VirtualServer, rs: &RealServer) -> (DestKey, Dest) {
    let port = rs.port.or(vs.port).unwrap_or(0);
    let mut d = Dest::new(Fwd::Nat, rs.effective.weight.0 as i32);
    match rs.effective.lvs_method {
        LvsMethod::Nat => {}
        LvsMethod::Dr => d.fwd = Fwd::Direct,
        LvsMethod::Tun { kind, port, csum } => {
            d.fwd = Fwd::Tunnel;
            d.tun_type = match kind {
                TunnelType::Ipip => TunType::Ipip,
                TunnelType::Gue => TunType::Gue,
                TunnelType::Gre => TunType::Gre,
            };
            d.tun_port = port.unwrap_or(0);
            d.tun_flags = match csum {
                TunnelCsum::Nocsum => 0,
                TunnelCsum::Csum => 1,
                TunnelCsum::Remcsum => 2,
            };
        }
    }
    d.u_thresh = rs.uthreshold.unwrap_or(0);
    d.l_thresh = rs.lthreshold.unwrap_or(0);
    (DestKey { addr: rs.ip, port }, d)
}

/// What the pools want of one virtual server: a weight per real server (None: not in
/// IPVS) and the sorry server's (None: not in IPVS).
pub type PoolWeights = (Vec<Option<u32>>, Option<u32>);

/// The table for `cfg`; `up(vs, rs)` says whether a real server is healthy (a failed one is
/// left out, or at weight 0 with inhibit_on_failure; no quorum or sorry server logic).
pub fn table(cfg: &Config, up: &dyn Fn(usize, usize) -> bool) -> Table {
    table_weighted(cfg, &|vi| {
        let vs = &cfg.virtual_server[vi];
        let w = vs
            .real_server
            .iter()
            .enumerate()
            .map(|(ri, rs)| {
                if up(vi, ri) {
                    Some(rs.effective.weight.0)
                } else {
                    rs.effective.inhibit_on_failure.then_some(0)
                }
            })
            .collect();
        (w, None)
    })
}

/// The table for `cfg` with the weights the pools decided (quorum, sorry server).
pub fn table_weighted(cfg: &Config, weights: &dyn Fn(usize) -> PoolWeights) -> Table {
    let mut t = Table::default();
    for (vi, vs) in cfg.virtual_server.iter().enumerate() {
        // keepalived ignores a virtual server without real servers (a warning says so)
        if vs.real_server.is_empty() {
            continue;
        }
        let keys = service_keys(cfg, vs);
        let (rs_weights, sorry) = weights(vi);
        let mut dests = indexmap::IndexMap::new();
        for (ri, rs) in vs.real_server.iter().enumerate() {
            let Some(w) = rs_weights.get(ri).copied().flatten() else {
                continue;
            };
            let (dk, mut d) = dest(vs, rs);
            d.weight = w as i32;
            dests.insert(dk, d);
        }
        if let (Some(w), Some(s)) = (sorry, &vs.sorry_server) {
            let mut d = Dest::new(Fwd::Nat, w as i32);
            if let Some(m) = s.lvs_method {
                let fake = RealServer {
                    ip: s.ip,
                    port: s.port,
                    ..Default::default()
                };
                let mut r = fake;
                r.effective.lvs_method = m;
                r.effective.weight = crate::config::types::RsWeight(w);
                let (_, x) = dest(vs, &r);
                d = x;
            } else if let Some(first) = vs.real_server.first() {
                // the service's method, as its real servers use it
                d.fwd = dest(vs, first).1.fwd;
            }
            d.weight = w as i32;
            dests.insert(
                DestKey {
                    addr: s.ip,
                    port: s.port.or(vs.port).unwrap_or(0),
                },
                d,
            );
        }
        for k in keys {
            t.services.insert(
                k,
                ServiceEntry {
                    service: service(vs, k.af()),
                    dests: dests.clone(),
                },
            );
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_str, Format};

    #[test]
    fn groups_ranges_fwmarks_persistence_and_methods() {
        let conf = "
virtual_server_group WEB {
  192.0.2.1 80
  192.0.2.10-12 80
  fwmark 7
}
virtual_server group WEB {
  protocol TCP
  lb_algo sh
  sh-port
  persistence_timeout 600
  persistence_granularity 255.255.255.0
  real_server 198.51.100.10 8080 { weight 3 }
  real_server 198.51.100.11 8080 { lb_kind TUN type gue port 6080 csum\n inhibit_on_failure }
}
virtual_server 2001:db8::1 443 {
  protocol TCP
  lb_algo wrr
  lb_kind DR
  real_server 2001:db8::10 443 { }
}";
        let l = load_str("t.conf", conf, Format::Keepalived, None);
        assert!(l.is_valid(), "{}", l.diags.render());
        let t = table(&l.config, &|_, ri| ri == 0);
        let keys: Vec<String> = t.services.keys().map(|k| k.to_string()).collect();
        assert_eq!(
            keys,
            vec![
                "TCP 192.0.2.1:80",
                "TCP 192.0.2.10:80",
                "TCP 192.0.2.11:80",
                "TCP 192.0.2.12:80",
                "FWM 7",
                "TCP [2001:db8::1]:443"
            ]
        );
        let web = &t.services[0];
        assert_eq!(web.service.sched, "sh");
        assert_eq!(web.service.flags, flags::SCHED2 | flags::PERSISTENT);
        assert_eq!(
            (web.service.timeout, web.service.netmask),
            (600, 0xffff_ff00)
        );
        let d: Vec<(String, i32, Fwd)> = web
            .dests
            .iter()
            .map(|(k, d)| (k.to_string(), d.weight, d.fwd))
            .collect();
        // the second real server is down but inhibited: weight 0
        assert_eq!(
            d,
            vec![
                ("198.51.100.10:8080".into(), 3, Fwd::Nat),
                ("198.51.100.11:8080".into(), 0, Fwd::Tunnel)
            ]
        );
        let tun = web.dests[1];
        assert_eq!(
            (tun.tun_type, tun.tun_port, tun.tun_flags),
            (TunType::Gue, 6080, 1)
        );
        let v6 = &t.services[5];
        assert_eq!(v6.service.netmask, 128);
        assert_eq!(v6.dests[0].fwd, Fwd::Direct);
    }

    #[test]
    fn pools_decide_weights_and_the_sorry_server() {
        let conf = "virtual_server 192.0.2.1 80 {
  lb_kind DR
  sorry_server 203.0.113.9 8080
  real_server 198.51.100.10 80 { weight 3 }
  real_server 198.51.100.11 80 { }
}";
        let l = load_str("t.conf", conf, Format::Keepalived, None);
        assert!(l.is_valid(), "{}", l.diags.render());
        // quorum lost: the sorry server alone, with the service's method (DR: on the
        // service's port, as keepalived resets it)
        let t = table_weighted(&l.config, &|_| (vec![None, None], Some(1)));
        let d: Vec<(String, i32, Fwd)> = t.services[0]
            .dests
            .iter()
            .map(|(k, d)| (k.to_string(), d.weight, d.fwd))
            .collect();
        assert_eq!(d, vec![("203.0.113.9:80".into(), 1, Fwd::Direct)]);
        // quorum: the pool's weights, no sorry server
        let t = table_weighted(&l.config, &|_| (vec![Some(3), Some(0)], None));
        let w: Vec<i32> = t.services[0].dests.values().map(|d| d.weight).collect();
        assert_eq!(w, vec![3, 0]);
    }
}
