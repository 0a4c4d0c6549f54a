//! Virtual addresses, routes and rules into the kernel over rtnetlink. The config keeps
//! them in `ip(8)` words (`config::addr`); this module turns those words into netlink
//! messages ([`Kernel`] objects) once, at start-up, so that every word is checked before
//! the first transition and a takeover only sends prepared messages.

use super::kernel::address_of;
pub(crate) use super::kernel::{diff, Kernel};
use super::rtnl::Rtnl;
use crate::config::addr::{Prefixed, Route, Rule, VirtualIp};
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage, AddressScope};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteMetric, RouteNextHop, RouteNextHopFlags,
    RouteProtocol, RouteRealm, RouteScope, RouteType,
};
use netlink_packet_route::rule::{RuleAction, RuleAttribute, RuleFlags, RuleMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use std::io;
use std::net::IpAddr;

impl Kernel {
    /// Add; one that is already there is adopted (a crashed earlier run, or a reload).
    pub(crate) fn add(&self, nl: &mut Rtnl) -> io::Result<()> {
        match nl.request(self.new_msg(), NLM_F_CREATE | NLM_F_EXCL) {
            Err(e) if e.raw_os_error() == Some(libc_eexist()) => Ok(()),
            r => r,
        }
    }

    /// Remove; one that is already gone is not an error.
    pub(crate) fn remove(&self, nl: &mut Rtnl) -> io::Result<()> {
        match nl.request(self.del_msg(), 0) {
            Err(e) if is_gone(&e) => Ok(()),
            r => r,
        }
    }
}

/// Carry out a change (a reload's): remove, then add, each logged as `{what}: ...`.
pub(crate) fn change(nl: &mut Rtnl, what: &str, remove: &[Kernel], add: &[Kernel]) {
    for k in remove {
        match k.remove(nl) {
            Ok(()) => tracing::info!("{what}: removed {k}"),
            Err(e) => tracing::error!("{what}: removing {k}: {e}"),
        }
    }
    for k in add {
        match k.add(nl) {
            Ok(()) => tracing::info!("{what}: added {k}"),
            Err(e) => tracing::error!("{what}: adding {k}: {e}"),
        }
    }
}

fn libc_eexist() -> i32 {
    nix::errno::Errno::EEXIST as i32
}

fn is_gone(e: &io::Error) -> bool {
    use nix::errno::Errno;
    let c = e.raw_os_error();
    [
        Errno::EADDRNOTAVAIL,
        Errno::ESRCH,
        Errno::ENOENT,
        Errno::ENODEV,
    ]
    .iter()
    .any(|x| c == Some(*x as i32))
}

/// Interface name -> index, for building messages.
pub(crate) fn ifindex(name: &str) -> Result<u32, String> {
    nix::net::if_::if_nametoindex(name).map_err(|_| format!("no interface named '{name}'"))
}

fn family(a: &IpAddr) -> AddressFamily {
    if a.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    }
}

fn scope_num(s: &str) -> Result<u8, String> {
    Ok(match s {
        "global" | "universe" => 0,
        "site" => 200,
        "link" => 253,
        "host" => 254,
        "nowhere" => 255,
        n => n.parse().map_err(|_| {
            format!("unknown scope '{n}' (expected host, link, site, global, nowhere or 0..255)")
        })?,
    })
}

/// The number iproute2's file `file` gives `name` (/etc/iproute2/FILE, its FILE.d folder,
/// then the same under /usr/share/iproute2: where Debian and the upstream defaults put
/// them).
pub(crate) fn iproute2_name(file: &str, name: &str) -> Option<u32> {
    let mut files = vec![std::path::PathBuf::from(format!("/etc/iproute2/{file}"))];
    for dir in [
        format!("/etc/iproute2/{file}.d"),
        format!("/usr/share/iproute2/{file}.d"),
    ] {
        if let Ok(rd) = std::fs::read_dir(dir) {
            files.extend(rd.flatten().map(|e| e.path()));
        }
    }
    files.push(format!("/usr/share/iproute2/{file}").into());
    files.iter().find_map(|f| {
        let text = std::fs::read_to_string(f).ok()?;
        text.lines().find_map(|line| {
            let mut w = line.split_whitespace();
            match (w.next(), w.next()) {
                (Some(n), Some(x)) if x == name && !n.starts_with('#') => n.parse().ok(),
                _ => None,
            }
        })
    })
}

/// A routing table by name (/etc/iproute2/rt_tables and its .d folder) or number.
pub(crate) fn table_num(s: &str) -> Result<u32, String> {
    match s {
        "default" => return Ok(253),
        "main" => return Ok(254),
        "local" => return Ok(255),
        _ => {}
    }
    if let Ok(n) = s.parse() {
        return Ok(n);
    }
    if let Some(n) = iproute2_name("rt_tables", s) {
        return Ok(n);
    }
    Err(format!(
        "unknown routing table '{s}' (expected a number, main, local, default or a name from /etc/iproute2/rt_tables)"
    ))
}

pub(crate) fn protocol_num(s: &str) -> Result<u8, String> {
    Ok(match s {
        "redirect" => 1,
        "kernel" => 2,
        "boot" => 3,
        "static" => 4,
        "keepalived" => 18,
        "ldirector" => crate::config::model::ROUTE_PROTOCOL,
        "ra" => 9,
        "dhcp" => 16,
        "bird" => 12,
        "zebra" => 11,
        "bgp" => 186,
        "ospf" => 188,
        n => n
            .parse()
            .map_err(|_| format!("unknown route protocol '{n}' (expected a number or kernel, boot, static, keepalived...)"))?,
    })
}

fn num_maybe_hex(s: &str) -> Result<u32, String> {
    let r = match s.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|_| format!("expected a number, found '{s}'"))
}

fn realm(s: &str) -> Result<RouteRealm, String> {
    let (src, dst) = match s.split_once('/') {
        Some((a, b)) => (num_maybe_hex(a)?, num_maybe_hex(b)?),
        None => (0, num_maybe_hex(s)?),
    };
    Ok(RouteRealm {
        source: src as u16,
        destination: dst as u16,
    })
}

fn route_addr(a: IpAddr) -> RouteAddress {
    match a {
        IpAddr::V4(a) => RouteAddress::Inet(a),
        IpAddr::V6(a) => RouteAddress::Inet6(a),
    }
}

/// The netlink form of a virtual_ipaddress line; `default_dev` is the instance's interface.
pub(crate) fn address(v: &VirtualIp, default_dev: &str) -> Result<Kernel, String> {
    let dev = v.dev.as_deref().unwrap_or(default_dev);
    let mut m = AddressMessage::default();
    m.header.family = family(&v.address.addr);
    m.header.prefix_len = v.address.len;
    m.header.index = ifindex(dev)?;
    m.header.scope = AddressScope::from(match &v.scope {
        Some(s) => scope_num(s)?,
        None => 0,
    });
    let a = &mut m.attributes;
    match &v.peer {
        Some(p) => {
            a.push(AddressAttribute::Local(v.address.addr));
            a.push(AddressAttribute::Address(p.addr));
            m.header.prefix_len = p.len;
        }
        None => {
            a.push(AddressAttribute::Local(v.address.addr));
            a.push(AddressAttribute::Address(v.address.addr));
        }
    }
    if let (Some(b), IpAddr::V4(addr)) = (&v.brd, v.address.addr) {
        let bits = u32::from(addr);
        let host = if v.address.len >= 32 {
            0
        } else {
            u32::MAX >> v.address.len
        };
        let brd = match b.as_str() {
            "+" => Some((bits | host).into()),
            "-" => Some((bits & !host).into()),
            s => match s.parse() {
                Ok(ip) => Some(ip),
                Err(_) => return Err(format!("bad broadcast address '{s}'")),
            },
        };
        if let Some(b) = brd {
            a.push(AddressAttribute::Broadcast(b));
        }
    }
    if let Some(l) = &v.label {
        // the kernel wants the interface name as the label's prefix
        let label = if l.starts_with(dev) {
            l.clone()
        } else {
            format!("{dev}:{l}")
        };
        if label.len() > 15 {
            return Err(format!("label '{label}' is longer than 15 characters"));
        }
        a.push(AddressAttribute::Label(label));
    }
    let mut flags = AddressFlags::empty();
    if v.home {
        flags |= AddressFlags::Homeaddress;
    }
    if v.nodad {
        flags |= AddressFlags::Nodad;
    }
    if v.noprefixroute {
        flags |= AddressFlags::Noprefixroute;
    }
    if v.autojoin {
        flags |= AddressFlags::Mcautojoin;
    }
    if !flags.is_empty() {
        a.push(AddressAttribute::Flags(flags));
    }
    Ok(Kernel::Address(m))
}

/// The address an RTM_NEWADDR / RTM_DELADDR message is about: its local address (IPv4
/// peer addresses) or its address.
/// The interface index and address an address event is about.
pub(crate) fn address_event(m: &AddressMessage) -> Option<(u32, IpAddr)> {
    address_of(m).map(|ip| (m.header.index, ip))
}

/// Whether `ip` is an address of interface `iface` now (`""`: of any interface).
pub(crate) fn has_address(iface: &str, ip: IpAddr) -> bool {
    nix::ifaddrs::getifaddrs().is_ok_and(|mut all| {
        all.any(|a| {
            (iface.is_empty() || a.interface_name == iface)
                && a.address.as_ref().is_some_and(|s| {
                    s.as_sockaddr_in()
                        .map(|v| IpAddr::V4(v.ip()))
                        .or_else(|| s.as_sockaddr_in6().map(|v| IpAddr::V6(v.ip())))
                        == Some(ip)
                })
        })
    })
}

/// The netlink form of a virtual_routes line.
pub(crate) fn route(r: &Route, default_dev: &str) -> Result<Kernel, String> {
    let mut m = RouteMessage::default();
    let h = &mut m.header;
    h.address_family = family(&r.to.addr);
    h.destination_prefix_length = r.to.len;
    h.protocol = RouteProtocol::from(match &r.protocol {
        Some(p) => protocol_num(p)?,
        None => 18, // keepalived's own protocol number, as keepalived installs them
    });
    h.kind = match r.kind.as_deref() {
        None | Some("unicast") => RouteType::Unicast,
        Some("local") => RouteType::Local,
        Some("broadcast") => RouteType::Broadcast,
        Some("anycast") => RouteType::Anycast,
        Some("multicast") => RouteType::Multicast,
        Some("blackhole") => RouteType::BlackHole,
        Some("unreachable") => RouteType::Unreachable,
        Some("prohibit") => RouteType::Prohibit,
        Some("throw") => RouteType::Throw,
        Some("nat") => RouteType::Nat,
        Some(k) => return Err(format!("unknown route type '{k}'")),
    };
    let table = match &r.table {
        Some(t) => table_num(t)?,
        None => 254,
    };
    h.table = if table < 256 { table as u8 } else { 252 };
    let unicast = h.kind == RouteType::Unicast;
    h.scope = match &r.scope {
        Some(s) => RouteScope::from(scope_num(s)?),
        None if unicast && r.via.is_none() && r.nexthops.iter().all(|h| h.via.is_none()) => {
            RouteScope::Link
        }
        None if h.kind == RouteType::Local => RouteScope::Host,
        None => RouteScope::Universe,
    };
    if r.onlink {
        h.flags |= netlink_packet_route::route::RouteFlags::Onlink;
    }
    if let Some(t) = &r.tos {
        h.tos = num_maybe_hex(t)? as u8;
    }
    let a = &mut m.attributes;
    a.push(RouteAttribute::Table(table));
    if r.to.len > 0 {
        a.push(RouteAttribute::Destination(route_addr(r.to.addr)));
    }
    if let Some(f) = &r.from {
        m.header.source_prefix_length = f.len;
        a.push(RouteAttribute::Source(route_addr(f.addr)));
    }
    if let Some(s) = r.src {
        a.push(RouteAttribute::PrefSource(route_addr(s)));
    }
    if let Some(g) = r.via {
        a.push(RouteAttribute::Gateway(route_addr(g)));
    }
    if !r.nexthops.is_empty() {
        // each hop on its own device, else the route's, else the instance's
        let dev = r.dev.as_deref().unwrap_or(default_dev);
        let mut hops = Vec::with_capacity(r.nexthops.len());
        for n in &r.nexthops {
            let mut hop = RouteNextHop::default();
            hop.interface_index = ifindex(n.dev.as_deref().unwrap_or(dev))?;
            // the kernel's weight is hops + 1
            hop.hops = (n.weight.unwrap_or(1) - 1) as u8;
            if n.onlink {
                hop.flags |= RouteNextHopFlags::Onlink;
            }
            if let Some(g) = n.via {
                hop.attributes.push(RouteAttribute::Gateway(route_addr(g)));
            }
            hops.push(hop);
        }
        a.push(RouteAttribute::MultiPath(hops));
    } else if unicast || r.dev.is_some() {
        a.push(RouteAttribute::Oif(ifindex(
            r.dev.as_deref().unwrap_or(default_dev),
        )?));
    }
    if let Some(p) = r.metric {
        a.push(RouteAttribute::Priority(p));
    }
    if let Some(rl) = &r.realm {
        a.push(RouteAttribute::Realm(realm(rl)?));
    }
    let mut metrics = Vec::new();
    if let Some(v) = r.mtu {
        metrics.push(RouteMetric::Mtu(v));
    }
    if let Some(v) = r.advmss {
        metrics.push(RouteMetric::Advmss(v));
    }
    if !metrics.is_empty() {
        a.push(RouteAttribute::Metrics(metrics));
    }
    Ok(Kernel::Route(m))
}

/// The netlink form of a virtual_rules line.
pub(crate) fn rule(r: &Rule) -> Result<Kernel, String> {
    let mut m = RuleMessage::default();
    let fam = r
        .from
        .as_ref()
        .or(r.to.as_ref())
        .map(|p: &Prefixed| family(&p.addr))
        .unwrap_or(if r.is_ipv4() {
            AddressFamily::Inet
        } else {
            AddressFamily::Inet6
        });
    m.header.family = fam;
    if r.not {
        m.header.flags |= RuleFlags::Invert;
    }
    if let Some(t) = &r.tos {
        m.header.tos = num_maybe_hex(t)? as u8;
    }
    let a = &mut m.attributes;
    if let Some(f) = &r.from {
        m.header.src_len = f.len;
        if f.len > 0 {
            a.push(RuleAttribute::Source(f.addr));
        }
    }
    if let Some(t) = &r.to {
        m.header.dst_len = t.len;
        if t.len > 0 {
            a.push(RuleAttribute::Destination(t.addr));
        }
    }
    if let Some(fw) = &r.fwmark {
        let (mark, mask) = match fw.split_once('/') {
            Some((a, b)) => (num_maybe_hex(a)?, Some(num_maybe_hex(b)?)),
            None => (num_maybe_hex(fw)?, None),
        };
        a.push(RuleAttribute::FwMark(mark));
        if let Some(mask) = mask {
            a.push(RuleAttribute::FwMask(mask));
        }
    }
    if let Some(i) = &r.iif {
        a.push(RuleAttribute::Iifname(i.clone()));
    }
    if let Some(o) = &r.oif {
        a.push(RuleAttribute::Oifname(o.clone()));
    }
    if let Some(p) = r.priority {
        a.push(RuleAttribute::Priority(p));
    }
    if let Some(p) = &r.protocol {
        a.push(RuleAttribute::Protocol(RouteProtocol::from(protocol_num(
            p,
        )?)));
    }
    if let Some(s) = r.suppress_prefixlength {
        a.push(RuleAttribute::SuppressPrefixLen(s));
    }
    m.header.action = match (r.action.as_deref(), r.goto, &r.table) {
        (Some("blackhole"), _, _) => RuleAction::Blackhole,
        (Some("unreachable"), _, _) => RuleAction::Unreachable,
        (Some("prohibit"), _, _) => RuleAction::Prohibit,
        (Some(x), _, _) => return Err(format!("unknown rule action '{x}'")),
        (None, Some(g), _) => {
            a.push(RuleAttribute::Goto(g));
            RuleAction::Goto
        }
        (None, None, t) => {
            let t = match t {
                Some(t) => table_num(t)?,
                None => 254,
            };
            m.header.table = if t < 256 { t as u8 } else { 252 };
            a.push(RuleAttribute::Table(t));
            RuleAction::ToTable
        }
    };
    Ok(Kernel::Rule(m))
}

/// State of one interface, as tracking needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LinkState {
    pub index: u32,
    pub name: String,
    /// Administratively up and with carrier (IFF_UP and IFF_RUNNING).
    pub up: bool,
    pub mac: Option<[u8; 6]>,
}

/// Read a link message (dump or notification).
pub(crate) fn link_state(m: &LinkMessage) -> Option<LinkState> {
    let mut name = None;
    let mut mac = None;
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => name = Some(n.clone()),
            LinkAttribute::Address(b) if b.len() == 6 => {
                let mut x = [0u8; 6];
                x.copy_from_slice(b);
                mac = Some(x);
            }
            _ => {}
        }
    }
    let f = m.header.flags;
    Some(LinkState {
        index: m.header.index,
        name: name?,
        up: f.contains(LinkFlags::Up) && f.contains(LinkFlags::Running),
        mac,
    })
}

/// Which of `objs` are in the kernel now (one dump of the addresses and routes).
pub(crate) fn present(nl: &mut Rtnl, objs: &[Kernel]) -> io::Result<Vec<bool>> {
    if objs.is_empty() {
        return Ok(Vec::new());
    }
    let mut seen = nl.dump(RouteNetlinkMessage::GetAddress(AddressMessage::default()))?;
    for family in [AddressFamily::Inet, AddressFamily::Inet6] {
        let mut m = RouteMessage::default();
        m.header.address_family = family;
        seen.extend(nl.dump(RouteNetlinkMessage::GetRoute(m))?);
    }
    Ok(objs
        .iter()
        .map(|k| seen.iter().any(|s| super::kernel::is_same(k, s)))
        .collect())
}

/// Every interface and its state.
pub(crate) fn links(nl: &mut Rtnl) -> io::Result<Vec<LinkState>> {
    let msgs = nl.dump(RouteNetlinkMessage::GetLink(LinkMessage::default()))?;
    Ok(msgs
        .iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewLink(l) => link_state(l),
            _ => None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(table_num("main"), Ok(254));
        assert_eq!(table_num("100"), Ok(100));
        assert!(table_num("no-such-table-name").is_err());
        assert_eq!(scope_num("link"), Ok(253));
        assert_eq!(protocol_num("keepalived"), Ok(18));
        assert_eq!(
            realm("3/4"),
            Ok(RouteRealm {
                source: 3,
                destination: 4
            })
        );
    }

    #[test]
    fn rule_action_and_table() {
        let r: Rule = "from 192.0.2.0/24 table 100 priority 10".parse().unwrap();
        let Kernel::Rule(m) = rule(&r).unwrap() else {
            panic!()
        };
        assert_eq!(m.header.action, RuleAction::ToTable);
        assert_eq!(m.header.src_len, 24);
        assert!(m.attributes.contains(&RuleAttribute::Table(100)));
        assert!(m.attributes.contains(&RuleAttribute::Priority(10)));
    }
}
