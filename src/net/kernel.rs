//! The kernel objects ldirector adds and removes — addresses, routes, rules — as netlink
//! messages built once (by `addr`), with what the sans-IO cores need of them: their
//! description, the diff between two lists, following a re-created interface, matching an
//! address event. No I/O here: `addr` sends them.

use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage};
use netlink_packet_route::rule::RuleMessage;
use netlink_packet_route::RouteNetlinkMessage;
use std::net::IpAddr;

/// One object ldirector adds and removes: an address, a route or a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kernel {
    Address(AddressMessage),
    Route(RouteMessage),
    Rule(RuleMessage),
}

impl Kernel {
    pub(crate) fn new_msg(&self) -> RouteNetlinkMessage {
        match self {
            Kernel::Address(m) => RouteNetlinkMessage::NewAddress(m.clone()),
            Kernel::Route(m) => RouteNetlinkMessage::NewRoute(m.clone()),
            Kernel::Rule(m) => RouteNetlinkMessage::NewRule(m.clone()),
        }
    }
    pub(crate) fn del_msg(&self) -> RouteNetlinkMessage {
        match self {
            Kernel::Address(m) => RouteNetlinkMessage::DelAddress(m.clone()),
            Kernel::Route(m) => RouteNetlinkMessage::DelRoute(m.clone()),
            Kernel::Rule(m) => RouteNetlinkMessage::DelRule(m.clone()),
        }
    }
}

/// Short words for logs: `address 192.0.2.1/24 (if 3)`, `route 198.51.100.0/24`, `rule`.
impl std::fmt::Display for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Kernel::Address(m) => {
                let a = m.attributes.iter().find_map(|a| match a {
                    AddressAttribute::Local(x) => Some(*x),
                    _ => None,
                });
                let a = a.or_else(|| {
                    m.attributes.iter().find_map(|a| match a {
                        AddressAttribute::Address(x) => Some(*x),
                        _ => None,
                    })
                });
                match a {
                    Some(a) => write!(f, "address {a}/{}", m.header.prefix_len)?,
                    None => write!(f, "address")?,
                }
                write!(f, " (if {})", m.header.index)
            }
            Kernel::Route(m) => {
                let d = m.attributes.iter().find_map(|a| match a {
                    RouteAttribute::Destination(RouteAddress::Inet(x)) => Some(IpAddr::V4(*x)),
                    RouteAttribute::Destination(RouteAddress::Inet6(x)) => Some(IpAddr::V6(*x)),
                    _ => None,
                });
                match d {
                    Some(d) => write!(f, "route {d}/{}", m.header.destination_prefix_length),
                    None => write!(f, "route default"),
                }
            }
            Kernel::Rule(m) => write!(f, "rule (table {})", m.header.table),
        }
    }
}

/// Whether `seen` (a message of a dump) is the object `wanted` describes: the same
/// address on the same interface, or the same route (destination, table, type, protocol,
/// metric). For adopting what a run that died left in the kernel.
pub(crate) fn is_same(wanted: &Kernel, seen: &RouteNetlinkMessage) -> bool {
    match (wanted, seen) {
        (Kernel::Address(w), RouteNetlinkMessage::NewAddress(s)) => {
            w.header.index == s.header.index
                && w.header.prefix_len == s.header.prefix_len
                && address_of(w) == address_of(s)
        }
        (Kernel::Route(w), RouteNetlinkMessage::NewRoute(s)) => route_key(w) == route_key(s),
        _ => false,
    }
}

/// What names a route in the kernel (a missing metric is 0, a missing table attribute
/// the header's).
fn route_key(m: &RouteMessage) -> impl PartialEq + '_ {
    let h = &m.header;
    let table = m
        .attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Table(t) => Some(*t),
            _ => None,
        })
        .unwrap_or(u32::from(h.table));
    let dst = m.attributes.iter().find_map(|a| match a {
        RouteAttribute::Destination(d) => Some(d),
        _ => None,
    });
    let metric = m
        .attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Priority(p) => Some(*p),
            _ => None,
        })
        .unwrap_or(0);
    (
        h.address_family,
        h.destination_prefix_length,
        h.kind,
        h.protocol,
        table,
        metric,
        dst,
    )
}

/// What turns the objects `before` into `now`: those to remove (in reverse order, as
/// objects are removed) and those to add (in order).
pub(crate) fn diff(before: &[Kernel], now: &[Kernel]) -> (Vec<Kernel>, Vec<Kernel>) {
    let remove = before
        .iter()
        .rev()
        .filter(|k| !now.contains(k))
        .cloned()
        .collect();
    let add = now
        .iter()
        .filter(|k| !before.contains(k))
        .cloned()
        .collect();
    (remove, add)
}

impl Kernel {
    /// The interface with index `old` was re-created as `new`: point at the new one.
    pub(crate) fn reindex(&mut self, old: u32, new: u32) {
        match self {
            Kernel::Address(a) => {
                if a.header.index == old {
                    a.header.index = new;
                }
            }
            Kernel::Route(r) => {
                for attr in &mut r.attributes {
                    match attr {
                        RouteAttribute::Oif(i) if *i == old => *i = new,
                        RouteAttribute::MultiPath(hops) => {
                            for h in hops.iter_mut().filter(|h| h.interface_index == old) {
                                h.interface_index = new;
                            }
                        }
                        _ => {}
                    }
                }
            }
            // rules name their interfaces
            Kernel::Rule(_) => {}
        }
    }

    /// Whether this is the address that `m` (an address event) describes: the same
    /// address on the same interface.
    pub(crate) fn is_address(&self, m: &AddressMessage) -> bool {
        match self {
            Kernel::Address(a) => {
                a.header.index == m.header.index
                    && address_of(a).is_some()
                    && address_of(a) == address_of(m)
            }
            _ => false,
        }
    }
}

/// The address an address message carries (local, else address).
pub(crate) fn address_of(m: &AddressMessage) -> Option<IpAddr> {
    let local = m.attributes.iter().find_map(|a| match a {
        AddressAttribute::Local(x) => Some(*x),
        _ => None,
    });
    local.or_else(|| {
        m.attributes.iter().find_map(|a| match a {
            AddressAttribute::Address(x) => Some(*x),
            _ => None,
        })
    })
}
