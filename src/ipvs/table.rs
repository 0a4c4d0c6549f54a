//! The kernel's IPVS table as ldirector sees it: virtual services and their destinations,
//! keyed the way the kernel keys them. The desired table (from the config and health) and
//! the kernel's table (read back by a dump) are both a [`Table`]; the reconciler diffs two.

use indexmap::IndexMap;
use std::fmt;
use std::net::IpAddr;

pub const AF_INET: u16 = 2;
pub const AF_INET6: u16 = 10;
pub const IPPROTO_TCP: u16 = 6;
pub const IPPROTO_UDP: u16 = 17;
pub const IPPROTO_SCTP: u16 = 132;

/// Service flags (include/uapi/linux/ip_vs.h).
pub mod flags {
    pub const PERSISTENT: u32 = 0x0001;
    pub const HASHED: u32 = 0x0002;
    pub const ONEPACKET: u32 = 0x0004;
    pub const SCHED1: u32 = 0x0008;
    pub const SCHED2: u32 = 0x0010;
    pub const SCHED3: u32 = 0x0020;
    /// What a user sets; HASHED is the kernel's own.
    pub const USER_MASK: u32 = PERSISTENT | ONEPACKET | SCHED1 | SCHED2 | SCHED3;
}

/// How a virtual service is named in the kernel.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum ServiceKey {
    Addr {
        protocol: u16,
        addr: IpAddr,
        port: u16,
    },
    /// A firewall-mark service, per address family.
    Fwmark { af: u16, mark: u32 },
}

impl ServiceKey {
    pub fn af(&self) -> u16 {
        match self {
            ServiceKey::Addr { addr, .. } => family_of(addr),
            ServiceKey::Fwmark { af, .. } => *af,
        }
    }
}

pub fn family_of(a: &IpAddr) -> u16 {
    if a.is_ipv4() {
        AF_INET
    } else {
        AF_INET6
    }
}

fn proto_name(p: u16) -> String {
    match p {
        IPPROTO_TCP => "TCP".into(),
        IPPROTO_UDP => "UDP".into(),
        IPPROTO_SCTP => "SCTP".into(),
        n => format!("proto {n}"),
    }
}

impl fmt::Display for ServiceKey {
    /// As ipvsadm prints it: `TCP 192.0.2.1:80`, `FWM 7 IPv6`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Addr {
                protocol,
                addr: IpAddr::V6(a),
                port,
            } => write!(f, "{} [{a}]:{port}", proto_name(*protocol)),
            ServiceKey::Addr {
                protocol,
                addr,
                port,
            } => write!(f, "{} {addr}:{port}", proto_name(*protocol)),
            ServiceKey::Fwmark { af, mark } => {
                write!(
                    f,
                    "FWM {mark}{}",
                    if *af == AF_INET6 { " IPv6" } else { "" }
                )
            }
        }
    }
}

/// A virtual service's settings (what SET_SERVICE can change in place).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    pub sched: String,
    /// User flags only (see [`flags::USER_MASK`]).
    pub flags: u32,
    /// Persistence timeout in seconds (with flags::PERSISTENT).
    pub timeout: u32,
    /// Persistence netmask: an IPv4 mask as a big-endian u32, or an IPv6 prefix length.
    pub netmask: u32,
    /// Persistence engine ("sip").
    pub pe_name: Option<String>,
}

/// Forwarding method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fwd {
    Nat,
    Tunnel,
    Direct,
    Local,
    Bypass,
}

impl Fwd {
    pub fn to_kernel(self) -> u32 {
        match self {
            Fwd::Nat => 0,
            Fwd::Local => 1,
            Fwd::Tunnel => 2,
            Fwd::Direct => 3,
            Fwd::Bypass => 4,
        }
    }

    pub fn from_kernel(v: u32) -> Fwd {
        match v & 0x7 {
            1 => Fwd::Local,
            2 => Fwd::Tunnel,
            3 => Fwd::Direct,
            4 => Fwd::Bypass,
            _ => Fwd::Nat,
        }
    }
}

/// Tunnel encapsulation of a TUN destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum TunType {
    #[default]
    Ipip,
    Gue,
    Gre,
}

impl TunType {
    pub fn to_kernel(self) -> u8 {
        match self {
            TunType::Ipip => 0,
            TunType::Gue => 1,
            TunType::Gre => 2,
        }
    }
    pub fn from_kernel(v: u8) -> TunType {
        match v {
            1 => TunType::Gue,
            2 => TunType::Gre,
            _ => TunType::Ipip,
        }
    }
}

/// A destination's key within its service.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct DestKey {
    pub addr: IpAddr,
    pub port: u16,
}

impl fmt::Display for DestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.port),
            a => write!(f, "{a}:{}", self.port),
        }
    }
}

/// A destination's settings (what SET_DEST can change in place).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dest {
    pub fwd: Fwd,
    pub weight: i32,
    pub u_thresh: u32,
    pub l_thresh: u32,
    pub tun_type: TunType,
    pub tun_port: u16,
    pub tun_flags: u16,
}

impl Dest {
    pub fn new(fwd: Fwd, weight: i32) -> Dest {
        Dest {
            fwd,
            weight,
            u_thresh: 0,
            l_thresh: 0,
            tun_type: TunType::Ipip,
            tun_port: 0,
            tun_flags: 0,
        }
    }
}

/// Traffic counters of a service or destination (the kernel's 64-bit stats).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub conns: u64,
    pub inpkts: u64,
    pub outpkts: u64,
    pub inbytes: u64,
    pub outbytes: u64,
    pub cps: u64,
    pub inpps: u64,
    pub outpps: u64,
    pub inbps: u64,
    pub outbps: u64,
}

/// A destination's connection counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DestConns {
    pub active: u32,
    pub inactive: u32,
    pub persistent: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceEntry {
    pub service: Service,
    pub dests: IndexMap<DestKey, Dest>,
}

/// A whole IPVS table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    pub services: IndexMap<ServiceKey, ServiceEntry>,
}

impl Table {
    pub fn dest_count(&self) -> usize {
        self.services.values().map(|s| s.dests.len()).sum()
    }
}
