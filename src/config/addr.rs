//! Addresses, routes and rules as operators write them: the words of `ip(8)` and
//! keepalived.conf. Each parses from those words and prints back in a canonical form, which
//! is also how they appear in TOML and in the JSON dump.

use super::types::serde_via_str;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An address with a prefix length (`192.0.2.1/24`, `2001:db8::1/64`, or a bare address).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefixed {
    pub addr: IpAddr,
    pub len: u8,
}

impl Prefixed {
    pub fn max_len(addr: &IpAddr) -> u8 {
        if addr.is_ipv4() {
            32
        } else {
            128
        }
    }
    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }
}

impl FromStr for Prefixed {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, l) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("expected an IP address, found '{s}'"))?;
        let max = Prefixed::max_len(&addr);
        let len = match l {
            None => max,
            Some(l) => l
                .parse::<u8>()
                .ok()
                .filter(|l| *l <= max)
                .ok_or_else(|| format!("prefix length in '{s}' must be 0..={max}"))?,
        };
        Ok(Prefixed { addr, len })
    }
}

impl fmt::Display for Prefixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}
serde_via_str!(Prefixed, "an address with an optional /prefix");

pub fn parse_ip(s: &str) -> Result<IpAddr, String> {
    s.parse()
        .map_err(|_| format!("expected an IPv4 or IPv6 address, found '{s}'"))
}

fn take_value<'a>(
    words: &mut std::slice::Iter<'a, &'a str>,
    option: &str,
) -> Result<&'a str, String> {
    words
        .next()
        .copied()
        .ok_or_else(|| format!("'{option}' needs a value"))
}

/// Address scope as `ip` names it.
fn parse_scope(s: &str) -> Result<String, String> {
    match s {
        "host" | "link" | "global" | "site" | "nowhere" | "universe" => Ok(s.to_string()),
        n if n.parse::<u8>().is_ok() => Ok(n.to_string()),
        _ => Err(format!(
            "unknown scope '{s}' (expected host, link, site, global, nowhere or 0..255)"
        )),
    }
}

/// A virtual (or static) IP address: `virtual_ipaddress` lines.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VirtualIp {
    pub address: Prefixed,
    pub dev: Option<String>,
    /// Broadcast address, or `+`/`-` as in `ip addr`.
    pub brd: Option<String>,
    pub scope: Option<String>,
    pub label: Option<String>,
    pub peer: Option<Prefixed>,
    pub home: bool,
    pub nodad: bool,
    pub noprefixroute: bool,
    pub autojoin: bool,
    pub no_track: bool,
    pub track_group: Option<String>,
    /// keepalived's per-address `use_vmac`: the address goes on a VMAC of its interface.
    pub use_vmac: bool,
}

impl VirtualIp {
    pub fn new(address: Prefixed) -> Self {
        VirtualIp {
            address,
            dev: None,
            brd: None,
            scope: None,
            label: None,
            peer: None,
            home: false,
            nodad: false,
            noprefixroute: false,
            autojoin: false,
            no_track: false,
            track_group: None,
            use_vmac: false,
        }
    }

    pub fn parse_words(words: &[&str]) -> Result<VirtualIp, String> {
        let mut it = words.iter();
        let first = it.next().ok_or("expected an address")?;
        let mut vip = VirtualIp::new(first.parse()?);
        while let Some(&w) = it.next() {
            match w {
                "dev" => vip.dev = Some(take_value(&mut it, w)?.to_string()),
                "brd" | "broadcast" => {
                    let v = take_value(&mut it, w)?;
                    if v != "+" && v != "-" {
                        let b = parse_ip(v)?;
                        if !b.is_ipv4() || !vip.address.is_ipv4() {
                            return Err("a broadcast address is IPv4 only".into());
                        }
                    }
                    vip.brd = Some(v.to_string());
                }
                "scope" => vip.scope = Some(parse_scope(take_value(&mut it, w)?)?),
                "label" => {
                    let l = take_value(&mut it, w)?;
                    if l.len() > 15 {
                        return Err(format!("label '{l}' is longer than 15 characters"));
                    }
                    vip.label = Some(l.to_string())
                }
                "peer" => {
                    let p: Prefixed = take_value(&mut it, w)?.parse()?;
                    if p.is_ipv4() != vip.address.is_ipv4() {
                        return Err("peer address family differs from the address".into());
                    }
                    vip.peer = Some(p)
                }
                "home" => vip.home = true,
                "-nodad" | "nodad" => vip.nodad = true,
                "noprefixroute" => vip.noprefixroute = true,
                "autojoin" => vip.autojoin = true,
                "no_track" => vip.no_track = true,
                "track_group" => vip.track_group = Some(take_value(&mut it, w)?.to_string()),
                "use_vmac" => vip.use_vmac = true,
                other => {
                    return Err(format!(
                        "unknown address option '{other}' (expected dev, brd, scope, label, peer, home, -nodad, noprefixroute, autojoin, no_track, track_group or use_vmac)"
                    ))
                }
            }
        }
        if (vip.home || vip.nodad) && vip.address.is_ipv4() {
            return Err("home and -nodad are IPv6 only".into());
        }
        Ok(vip)
    }
}

impl FromStr for VirtualIp {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        VirtualIp::parse_words(&s.split_whitespace().collect::<Vec<_>>())
    }
}

impl fmt::Display for VirtualIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.address)?;
        if let Some(v) = &self.dev {
            write!(f, " dev {v}")?;
        }
        if let Some(v) = &self.brd {
            write!(f, " brd {v}")?;
        }
        if let Some(v) = &self.scope {
            write!(f, " scope {v}")?;
        }
        if let Some(v) = &self.label {
            write!(f, " label {v}")?;
        }
        if let Some(v) = &self.peer {
            write!(f, " peer {v}")?;
        }
        for (on, w) in [
            (self.home, "home"),
            (self.nodad, "-nodad"),
            (self.noprefixroute, "noprefixroute"),
            (self.autojoin, "autojoin"),
            (self.no_track, "no_track"),
            (self.use_vmac, "use_vmac"),
        ] {
            if on {
                write!(f, " {w}")?;
            }
        }
        if let Some(v) = &self.track_group {
            write!(f, " track_group {v}")?;
        }
        Ok(())
    }
}
serde_via_str!(VirtualIp, "an address line like \"192.0.2.1/24 dev eth0\"");

/// A route: `virtual_routes` / `static_routes` lines.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Route {
    /// unicast (default), blackhole, unreachable, prohibit, throw, local, broadcast...
    pub kind: Option<String>,
    pub to: Prefixed,
    pub src: Option<IpAddr>,
    pub from: Option<Prefixed>,
    pub via: Option<IpAddr>,
    pub dev: Option<String>,
    pub scope: Option<String>,
    pub table: Option<String>,
    pub metric: Option<u32>,
    pub protocol: Option<String>,
    pub onlink: bool,
    pub mtu: Option<u32>,
    pub advmss: Option<u32>,
    pub realm: Option<String>,
    pub tos: Option<String>,
    pub no_track: bool,
    pub track_group: Option<String>,
    /// A multipath route's next hops (`nexthop via A dev D weight W ...`; keepalived 1.x's
    /// `via A or B` is read as two of them). Empty: a single-path route.
    pub nexthops: Vec<NextHop>,
}

/// One next hop of a multipath route.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct NextHop {
    pub via: Option<IpAddr>,
    pub dev: Option<String>,
    /// 1..=256 (`ip route`'s weight); unset: 1.
    pub weight: Option<u16>,
    pub onlink: bool,
}

impl NextHop {
    /// `via A [dev D] [weight W] [onlink]` up to the next `nexthop`.
    fn parse_words(words: &[&str]) -> Result<NextHop, String> {
        let mut h = NextHop::default();
        let mut it = words.iter();
        while let Some(&w) = it.next() {
            match w {
                "via" | "gw" => {
                    let mut v = take_value(&mut it, w)?;
                    if v == "inet" || v == "inet6" {
                        v = take_value(&mut it, w)?;
                    }
                    h.via = Some(parse_ip(v)?)
                }
                "dev" | "oif" => h.dev = Some(take_value(&mut it, w)?.to_string()),
                "weight" => {
                    let v = take_value(&mut it, w)?;
                    h.weight = Some(
                        v.parse::<u16>()
                            .ok()
                            .filter(|x| (1..=256).contains(x))
                            .ok_or_else(|| {
                                format!("nexthop weight: expected 1..=256, found '{v}'")
                            })?,
                    )
                }
                "onlink" => h.onlink = true,
                other => {
                    return Err(format!(
                        "unknown nexthop option '{other}' (expected via, dev, weight, onlink)"
                    ))
                }
            }
        }
        if h.via.is_none() && h.dev.is_none() {
            return Err("a nexthop needs 'via ADDRESS' or 'dev INTERFACE'".into());
        }
        Ok(h)
    }
}

impl fmt::Display for NextHop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "nexthop")?;
        if let Some(v) = &self.via {
            write!(f, " via {v}")?;
        }
        if let Some(v) = &self.dev {
            write!(f, " dev {v}")?;
        }
        if let Some(v) = &self.weight {
            write!(f, " weight {v}")?;
        }
        if self.onlink {
            write!(f, " onlink")?;
        }
        Ok(())
    }
}

const ROUTE_KINDS: &[&str] = &[
    "unicast",
    "blackhole",
    "unreachable",
    "prohibit",
    "throw",
    "local",
    "broadcast",
    "multicast",
    "anycast",
    "nat",
];

impl Route {
    pub fn parse_words(words: &[&str]) -> Result<Route, String> {
        let mut it = words.iter().peekable();
        let mut kind = None;
        if let Some(&&w) = it.peek() {
            if ROUTE_KINDS.contains(&w) {
                kind = Some(w.to_string());
                it.next();
            }
        }
        let mut to = None;
        let mut route = Route {
            kind,
            to: Prefixed {
                addr: IpAddr::from([0, 0, 0, 0]),
                len: 0,
            },
            src: None,
            from: None,
            via: None,
            dev: None,
            scope: None,
            table: None,
            metric: None,
            protocol: None,
            onlink: false,
            mtu: None,
            advmss: None,
            realm: None,
            tos: None,
            no_track: false,
            track_group: None,
            nexthops: Vec::new(),
        };
        let mut rest: Vec<&str> = it.copied().collect();
        // `nexthop ...` groups close the line
        if let Some(at) = rest.iter().position(|w| *w == "nexthop") {
            for hop in rest[at..].split(|w| *w == "nexthop").skip(1) {
                route.nexthops.push(NextHop::parse_words(hop)?);
            }
            rest.truncate(at);
        }
        let mut it = rest.iter();
        let num = |v: &str, w: &str| -> Result<u32, String> {
            v.parse::<u32>()
                .map_err(|_| format!("'{w}' needs a number, found '{v}'"))
        };
        while let Some(&w) = it.next() {
            match w {
                "to" => to = Some(take_value(&mut it, w)?.parse::<Prefixed>()?),
                "src" => route.src = Some(parse_ip(take_value(&mut it, w)?)?),
                "from" => route.from = Some(take_value(&mut it, w)?.parse()?),
                "via" | "gw" => {
                    let mut v = take_value(&mut it, w)?;
                    if v == "inet" || v == "inet6" {
                        v = take_value(&mut it, w)?;
                    }
                    route.via = Some(parse_ip(v)?)
                }
                "dev" | "oif" => route.dev = Some(take_value(&mut it, w)?.to_string()),
                "scope" => route.scope = Some(parse_scope(take_value(&mut it, w)?)?),
                "table" => route.table = Some(take_value(&mut it, w)?.to_string()),
                "metric" | "priority" | "preference" => {
                    route.metric = Some(num(take_value(&mut it, w)?, w)?)
                }
                "protocol" | "proto" => route.protocol = Some(take_value(&mut it, w)?.to_string()),
                "onlink" => route.onlink = true,
                "mtu" => route.mtu = Some(num(take_value(&mut it, w)?, w)?),
                "advmss" => route.advmss = Some(num(take_value(&mut it, w)?, w)?),
                "realm" | "realms" => route.realm = Some(take_value(&mut it, w)?.to_string()),
                "tos" | "dsfield" => route.tos = Some(take_value(&mut it, w)?.to_string()),
                "no_track" => route.no_track = true,
                "track_group" => route.track_group = Some(take_value(&mut it, w)?.to_string()),
                // keepalived 1.x: `via A or B` is two next hops (read with a warning by
                // the keepalived.conf reader, see `Route::has_or`)
                "or" => {
                    let b = parse_ip(take_value(&mut it, w)?)?;
                    let Some(a) = route.via.take() else {
                        return Err("'or' needs a 'via' address before it".into());
                    };
                    if !route.nexthops.is_empty() {
                        return Err("only one 'or' per route (use nexthop for more)".into());
                    }
                    for g in [a, b] {
                        route.nexthops.push(NextHop {
                            via: Some(g),
                            ..NextHop::default()
                        });
                    }
                }
                "default" if to.is_none() => {
                    to = Some(Prefixed {
                        addr: IpAddr::from([0, 0, 0, 0]),
                        len: 0,
                    })
                }
                d if to.is_none() && d.contains(['.', ':']) => {
                    to = Some(d.parse()?)
                }
                other => {
                    return Err(format!(
                        "unknown route option '{other}' (expected a destination, src, from, via, dev, scope, table, metric, protocol, onlink, mtu, advmss, realm, tos, no_track, nexthop)"
                    ))
                }
            }
        }
        route.to = to.ok_or("a route needs a destination prefix")?;
        if route.via.is_some() && !route.nexthops.is_empty() {
            return Err("a route has either 'via' or nexthops, not both".into());
        }
        let gateways = route
            .via
            .iter()
            .chain(route.nexthops.iter().filter_map(|h| h.via.as_ref()));
        for v in gateways {
            if v.is_ipv4() != route.to.is_ipv4() {
                return Err("the gateway's address family differs from the destination's".into());
            }
        }
        Ok(route)
    }

    /// keepalived 1.x's `via A or B` spelling (deprecated: `nexthop via A nexthop via B`).
    pub fn has_or(words: &[&str]) -> bool {
        words.contains(&"or")
    }
}

impl FromStr for Route {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Route::parse_words(&s.split_whitespace().collect::<Vec<_>>())
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(k) = &self.kind {
            write!(f, "{k} ")?;
        }
        write!(f, "{}", self.to)?;
        if let Some(v) = &self.src {
            write!(f, " src {v}")?;
        }
        if let Some(v) = &self.from {
            write!(f, " from {v}")?;
        }
        if let Some(v) = &self.via {
            write!(f, " via {v}")?;
        }
        if let Some(v) = &self.dev {
            write!(f, " dev {v}")?;
        }
        if let Some(v) = &self.scope {
            write!(f, " scope {v}")?;
        }
        if let Some(v) = &self.table {
            write!(f, " table {v}")?;
        }
        if let Some(v) = &self.metric {
            write!(f, " metric {v}")?;
        }
        if let Some(v) = &self.protocol {
            write!(f, " protocol {v}")?;
        }
        if self.onlink {
            write!(f, " onlink")?;
        }
        if let Some(v) = &self.mtu {
            write!(f, " mtu {v}")?;
        }
        if let Some(v) = &self.advmss {
            write!(f, " advmss {v}")?;
        }
        if let Some(v) = &self.realm {
            write!(f, " realm {v}")?;
        }
        if let Some(v) = &self.tos {
            write!(f, " tos {v}")?;
        }
        if self.no_track {
            write!(f, " no_track")?;
        }
        if let Some(v) = &self.track_group {
            write!(f, " track_group {v}")?;
        }
        for h in &self.nexthops {
            write!(f, " {h}")?;
        }
        Ok(())
    }
}
serde_via_str!(
    Route,
    "a route like \"198.51.100.0/24 via 192.0.2.1 dev eth0\""
);

/// A policy routing rule: `virtual_rules` / `static_rules` lines.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Rule {
    pub not: bool,
    pub from: Option<Prefixed>,
    pub to: Option<Prefixed>,
    pub tos: Option<String>,
    pub fwmark: Option<String>,
    pub iif: Option<String>,
    pub oif: Option<String>,
    pub priority: Option<u32>,
    pub table: Option<String>,
    pub goto: Option<u32>,
    pub suppress_prefixlength: Option<u32>,
    pub protocol: Option<String>,
    /// blackhole, unreachable, prohibit: a rule with an action instead of a table.
    pub action: Option<String>,
    pub no_track: bool,
    pub track_group: Option<String>,
}

impl Rule {
    pub fn parse_words(words: &[&str]) -> Result<Rule, String> {
        let mut r = Rule {
            not: false,
            from: None,
            to: None,
            tos: None,
            fwmark: None,
            iif: None,
            oif: None,
            priority: None,
            table: None,
            goto: None,
            suppress_prefixlength: None,
            protocol: None,
            action: None,
            no_track: false,
            track_group: None,
        };
        let mut it = words.iter();
        let num = |v: &str, w: &str| -> Result<u32, String> {
            v.parse::<u32>()
                .map_err(|_| format!("'{w}' needs a number, found '{v}'"))
        };
        let prefix = |v: &str| -> Result<Option<Prefixed>, String> {
            if v == "all" {
                Ok(None)
            } else {
                v.parse().map(Some)
            }
        };
        while let Some(&w) = it.next() {
            match w {
                "not" => r.not = true,
                "from" => r.from = prefix(take_value(&mut it, w)?)?,
                "to" => r.to = prefix(take_value(&mut it, w)?)?,
                "tos" | "dsfield" => r.tos = Some(take_value(&mut it, w)?.to_string()),
                "fwmark" => r.fwmark = Some(take_value(&mut it, w)?.to_string()),
                "iif" | "iifname" | "dev" => r.iif = Some(take_value(&mut it, w)?.to_string()),
                "oif" | "oifname" => r.oif = Some(take_value(&mut it, w)?.to_string()),
                "priority" | "preference" | "pref" => {
                    r.priority = Some(num(take_value(&mut it, w)?, w)?)
                }
                "table" | "lookup" => r.table = Some(take_value(&mut it, w)?.to_string()),
                "goto" => r.goto = Some(num(take_value(&mut it, w)?, w)?),
                "suppress_prefixlength" | "sup_pl" => {
                    r.suppress_prefixlength = Some(num(take_value(&mut it, w)?, w)?)
                }
                "protocol" | "proto" => r.protocol = Some(take_value(&mut it, w)?.to_string()),
                "blackhole" | "unreachable" | "prohibit" => r.action = Some(w.to_string()),
                "no_track" => r.no_track = true,
                "track_group" => r.track_group = Some(take_value(&mut it, w)?.to_string()),
                other => {
                    return Err(format!(
                        "unknown rule option '{other}' (expected not, from, to, tos, fwmark, iif, oif, priority, table, goto, suppress_prefixlength, protocol, blackhole, unreachable, prohibit, no_track)"
                    ))
                }
            }
        }
        if let (Some(a), Some(b)) = (&r.from, &r.to) {
            if a.is_ipv4() != b.is_ipv4() {
                return Err("'from' and 'to' are of different address families".into());
            }
        }
        if r.from.is_none() && r.to.is_none() {
            return Err(
                "a rule needs 'from' or 'to' (an address or prefix) to know its family".into(),
            );
        }
        Ok(r)
    }

    pub fn is_ipv4(&self) -> bool {
        self.from.or(self.to).is_none_or(|p| p.is_ipv4())
    }
}

impl FromStr for Rule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Rule::parse_words(&s.split_whitespace().collect::<Vec<_>>())
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if self.not {
            parts.push("not".into());
        }
        if let Some(v) = &self.from {
            parts.push(format!("from {v}"));
        }
        if let Some(v) = &self.to {
            parts.push(format!("to {v}"));
        }
        if let Some(v) = &self.tos {
            parts.push(format!("tos {v}"));
        }
        if let Some(v) = &self.fwmark {
            parts.push(format!("fwmark {v}"));
        }
        if let Some(v) = &self.iif {
            parts.push(format!("iif {v}"));
        }
        if let Some(v) = &self.oif {
            parts.push(format!("oif {v}"));
        }
        if let Some(v) = &self.priority {
            parts.push(format!("priority {v}"));
        }
        if let Some(v) = &self.table {
            parts.push(format!("table {v}"));
        }
        if let Some(v) = &self.goto {
            parts.push(format!("goto {v}"));
        }
        if let Some(v) = &self.suppress_prefixlength {
            parts.push(format!("suppress_prefixlength {v}"));
        }
        if let Some(v) = &self.protocol {
            parts.push(format!("protocol {v}"));
        }
        if let Some(v) = &self.action {
            parts.push(v.clone());
        }
        if self.no_track {
            parts.push("no_track".into());
        }
        if let Some(v) = &self.track_group {
            parts.push(format!("track_group {v}"));
        }
        f.write_str(&parts.join(" "))
    }
}
serde_via_str!(Rule, "a rule like \"from 192.0.2.0/24 table 100\"");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vip_round_trip() {
        for s in [
            "192.0.2.100/32",
            "192.0.2.100/24 dev eth0 brd + scope link label eth0:1",
            "2001:db8::1/64 dev eth1 home -nodad no_track",
            "192.0.2.1/32 peer 192.0.2.2/32",
        ] {
            let v: VirtualIp = s.parse().unwrap();
            assert_eq!(v.to_string(), s);
        }
        let v: VirtualIp = "192.0.2.100".parse().unwrap();
        assert_eq!(v.address.len, 32);
        assert!("192.0.2.300".parse::<VirtualIp>().is_err());
        assert!("192.0.2.1/33".parse::<VirtualIp>().is_err());
        assert!("192.0.2.1 colour blue"
            .parse::<VirtualIp>()
            .unwrap_err()
            .contains("colour"));
        assert!("192.0.2.1 dev".parse::<VirtualIp>().is_err());
        assert!("192.0.2.1 peer 2001:db8::1".parse::<VirtualIp>().is_err());
    }

    #[test]
    fn route_round_trip() {
        for s in [
            "198.51.100.0/24 via 192.0.2.1 dev eth0",
            "blackhole 203.0.113.0/24",
            "0.0.0.0/0 src 192.0.2.10 via 192.0.2.1 table 100 metric 5",
        ] {
            let r: Route = s.parse().unwrap();
            assert_eq!(r.to_string(), s);
        }
        let r: Route = "src 192.0.2.1 to 198.51.100.0/24 gw 192.0.2.254"
            .parse()
            .unwrap();
        assert_eq!(r.via, Some("192.0.2.254".parse().unwrap()));
        assert_eq!(r.src, Some("192.0.2.1".parse().unwrap()));
        assert_eq!(r.to.len, 24);
        assert!("via 192.0.2.1".parse::<Route>().is_err());
        assert!("2001:db8::/32 via 192.0.2.1".parse::<Route>().is_err());
    }

    #[test]
    fn rule_round_trip() {
        let r: Rule = "from 192.0.2.0/24 table 100 priority 10".parse().unwrap();
        assert_eq!(r.to_string(), "from 192.0.2.0/24 priority 10 table 100");
        assert!("table 100".parse::<Rule>().is_err());
        assert!("from 192.0.2.0/24 to 2001:db8::/32"
            .parse::<Rule>()
            .is_err());
    }
}
