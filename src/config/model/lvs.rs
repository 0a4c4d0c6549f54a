//! IPVS: virtual server groups, virtual and real servers (keepalived's check_parser.c, its LVS half).

use super::is_false;
use super::*;
use crate::config::types::{serde_via_str, RsWeight, Script, Secs};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// A member of a virtual_server_group: `IP PORT`, `IP-LASTOCTET PORT` or `fwmark N`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum VsGroupEntry {
    Address {
        ip: IpAddr,
        port: u16,
    },
    /// Addresses `first` up to the one whose last octet (IPv4) or group (IPv6) is `last`.
    Range {
        first: IpAddr,
        last: u16,
        port: u16,
    },
    Fwmark(u32),
}

impl VsGroupEntry {
    pub fn parse_words(w: &[&str]) -> Result<VsGroupEntry, String> {
        match w {
            ["fwmark", n] => Ok(VsGroupEntry::Fwmark(crate::config::types::parse_int(
                n,
                1,
                u32::MAX,
            )?)),
            [addr, port] => {
                let port = crate::config::types::parse_int::<u16>(port, 0, 65535)?;
                if let Some((a, last)) = addr.rsplit_once('-') {
                    let first = crate::config::addr::parse_ip(a)?;
                    let last = if first.is_ipv4() {
                        crate::config::types::parse_int::<u16>(last, 0, 255)?
                    } else {
                        u16::from_str_radix(last, 16).map_err(|_| {
                            format!("expected a hexadecimal group after '-' in '{addr}'")
                        })?
                    };
                    let start = match first {
                        IpAddr::V4(a) => u16::from(a.octets()[3]),
                        IpAddr::V6(a) => a.segments()[7],
                    };
                    if last < start {
                        return Err(format!("range '{addr}' ends before it starts"));
                    }
                    Ok(VsGroupEntry::Range { first, last, port })
                } else {
                    Ok(VsGroupEntry::Address {
                        ip: crate::config::addr::parse_ip(addr)?,
                        port,
                    })
                }
            }
            _ => Err("expected 'IP PORT', 'IP-LAST PORT' or 'fwmark N'".into()),
        }
    }
}

impl FromStr for VsGroupEntry {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        VsGroupEntry::parse_words(&s.split_whitespace().collect::<Vec<_>>())
    }
}

impl fmt::Display for VsGroupEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VsGroupEntry::Address { ip, port } => write!(f, "{ip} {port}"),
            VsGroupEntry::Range { first, last, port } if first.is_ipv4() => {
                write!(f, "{first}-{last} {port}")
            }
            VsGroupEntry::Range { first, last, port } => write!(f, "{first}-{last:x} {port}"),
            VsGroupEntry::Fwmark(m) => write!(f, "fwmark {m}"),
        }
    }
}
serde_via_str!(
    VsGroupEntry,
    "\"IP PORT\", \"IP-LAST PORT\" or \"fwmark N\""
);

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheduler {
    Rr,
    Wrr,
    Lc,
    #[default]
    Wlc,
    Lblc,
    Lblcr,
    Dh,
    Sh,
    Sed,
    Nq,
    Mh,
    Fo,
    Ovf,
    Twos,
}

impl Scheduler {
    pub fn name(self) -> &'static str {
        match self {
            Scheduler::Rr => "rr",
            Scheduler::Wrr => "wrr",
            Scheduler::Lc => "lc",
            Scheduler::Wlc => "wlc",
            Scheduler::Lblc => "lblc",
            Scheduler::Lblcr => "lblcr",
            Scheduler::Dh => "dh",
            Scheduler::Sh => "sh",
            Scheduler::Sed => "sed",
            Scheduler::Nq => "nq",
            Scheduler::Mh => "mh",
            Scheduler::Fo => "fo",
            Scheduler::Ovf => "ovf",
            Scheduler::Twos => "twos",
        }
    }
}

/// Scheduler flags (IP_VS_SVC_F_SCHED1..3 under their scheduler-specific names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SchedFlag {
    #[serde(rename = "sh-fallback")]
    ShFallback,
    #[serde(rename = "sh-port")]
    ShPort,
    #[serde(rename = "mh-fallback")]
    MhFallback,
    #[serde(rename = "mh-port")]
    MhPort,
    #[serde(rename = "flag-1")]
    Flag1,
    #[serde(rename = "flag-2")]
    Flag2,
    #[serde(rename = "flag-3")]
    Flag3,
}

impl SchedFlag {
    /// The kernel bit: 1, 2 or 3 for IP_VS_SVC_F_SCHED1..3.
    pub fn bit(self) -> u8 {
        match self {
            SchedFlag::ShFallback | SchedFlag::MhFallback | SchedFlag::Flag1 => 1,
            SchedFlag::ShPort | SchedFlag::MhPort | SchedFlag::Flag2 => 2,
            SchedFlag::Flag3 => 3,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Protocol {
    #[default]
    #[serde(rename = "TCP")]
    Tcp,
    #[serde(rename = "UDP")]
    Udp,
    #[serde(rename = "SCTP")]
    Sctp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelType {
    Ipip,
    Gue,
    Gre,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelCsum {
    Nocsum,
    Csum,
    Remcsum,
}

/// How IPVS forwards to a real server: `NAT`, `DR`, `TUN [type ipip|gue port N|gre] [csum]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LvsMethod {
    #[default]
    Nat,
    Dr,
    Tun {
        kind: TunnelType,
        port: Option<u16>,
        csum: TunnelCsum,
    },
}

impl LvsMethod {
    pub fn parse_words(w: &[&str]) -> Result<LvsMethod, String> {
        let (first, rest) = w.split_first().ok_or("expected NAT, DR or TUN")?;
        match *first {
            "NAT" | "DR" if !rest.is_empty() => Err(format!(
                "{first} takes no options, found '{}'",
                rest.join(" ")
            )),
            "NAT" => Ok(LvsMethod::Nat),
            "DR" => Ok(LvsMethod::Dr),
            "TUN" => {
                let mut kind = TunnelType::Ipip;
                let mut port = None;
                let mut csum = TunnelCsum::Nocsum;
                let mut it = rest.iter();
                while let Some(&o) = it.next() {
                    match o {
                        "type" => {
                            let t = it.next().ok_or("'type' needs ipip, gue or gre")?;
                            kind = crate::config::types::parse_enum(t)?;
                        }
                        "port" => {
                            let p = it.next().ok_or("'port' needs a number")?;
                            port = Some(crate::config::types::parse_int::<u16>(p, 1, 65535)?);
                        }
                        "nocsum" | "csum" | "remcsum" => csum = crate::config::types::parse_enum(o)?,
                        other => {
                            return Err(format!(
                                "unknown tunnel option '{other}' (expected type, port, nocsum, csum or remcsum)"
                            ))
                        }
                    }
                }
                if (kind == TunnelType::Gue) != port.is_some() {
                    return Err("a gue tunnel needs a port, and only a gue tunnel takes one".into());
                }
                if kind == TunnelType::Ipip && csum != TunnelCsum::Nocsum {
                    return Err("ipip tunnels do not support checksum options".into());
                }
                if kind == TunnelType::Gre && csum == TunnelCsum::Remcsum {
                    return Err("gre tunnels do not support remcsum".into());
                }
                Ok(LvsMethod::Tun { kind, port, csum })
            }
            other => Err(format!(
                "unknown forwarding method '{other}' (expected NAT, DR or TUN)"
            )),
        }
    }
}

impl FromStr for LvsMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        LvsMethod::parse_words(&s.split_whitespace().collect::<Vec<_>>())
    }
}

impl fmt::Display for LvsMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LvsMethod::Nat => f.write_str("NAT"),
            LvsMethod::Dr => f.write_str("DR"),
            LvsMethod::Tun { kind, port, csum } => {
                f.write_str("TUN")?;
                match kind {
                    TunnelType::Ipip => {}
                    TunnelType::Gue => write!(f, " type gue port {}", port.unwrap_or(0))?,
                    TunnelType::Gre => f.write_str(" type gre")?,
                }
                match csum {
                    TunnelCsum::Nocsum => Ok(()),
                    TunnelCsum::Csum => f.write_str(" csum"),
                    TunnelCsum::Remcsum => f.write_str(" remcsum"),
                }
            }
        }
    }
}
serde_via_str!(
    LvsMethod,
    "NAT, DR or TUN [type ipip|gue port N|gre] [csum|remcsum]"
);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IpFamily {
    Inet,
    Inet6,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VirtualServer {
    /// `ip` + `port`, or `fwmark`, or `group` names the service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fwmark: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_family: Option<IpFamily>,
    pub lvs_sched: Scheduler,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sched_flags: Vec<SchedFlag>,
    pub hashed: bool,
    pub ops: bool,
    pub lvs_method: LvsMethod,
    /// Default weight of this service's real servers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<RsWeight>,
    pub protocol: Protocol,
    /// Seconds; set alone by `persistence_timeout` with no value (360).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistence_timeout: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistence_granularity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistence_engine: Option<String>,
    pub quorum: u32,
    pub hysteresis: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quorum_up: Option<Script>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quorum_down: Option<Script>,
    pub alpha: bool,
    pub omega: bool,
    pub ha_suspend: bool,
    pub inhibit_on_failure: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sorry_server: Option<SorryServer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtualhost: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_alert: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_loop: Option<Secs>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<Secs>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_before_retry: Option<Secs>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warmup: Option<Secs>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub real_server: Vec<RealServer>,
}

impl VirtualServer {
    /// How the operator names this service in messages: `192.0.2.1:80/TCP`, `fwmark 1`, `group web`.
    pub fn describe(&self) -> String {
        if let Some(g) = &self.group {
            format!("group {g}")
        } else if let Some(m) = self.fwmark {
            format!("fwmark {m}")
        } else {
            let proto = match self.protocol {
                Protocol::Tcp => "TCP",
                Protocol::Udp => "UDP",
                Protocol::Sctp => "SCTP",
            };
            match (self.ip, self.port) {
                (Some(IpAddr::V6(a)), Some(p)) => format!("[{a}]:{p}/{proto}"),
                (Some(a), Some(p)) => format!("{a}:{p}/{proto}"),
                _ => "virtual_server".to_string(),
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SorryServer {
    pub ip: IpAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lvs_method: Option<LvsMethod>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub inhibit: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RealServer {
    /// Required: the unspecified address means not set.
    pub ip: IpAddr,
    /// Unset for fwmark services without a port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Unset: the virtual server's `weight`, else 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<RsWeight>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lvs_method: Option<LvsMethod>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uthreshold: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lthreshold: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inhibit_on_failure: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpha: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_up: Option<Script>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_down: Option<Script>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_alert: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtualhost: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_loop: Option<Secs>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<Secs>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_before_retry: Option<Secs>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warmup: Option<Secs>,
    #[serde(rename = "check", skip_serializing_if = "Vec::is_empty")]
    pub checkers: Vec<Checker>,
    #[serde(skip_deserializing)]
    pub effective: RealServerEffective,
}

impl Default for RealServer {
    fn default() -> Self {
        RealServer {
            ip: IpAddr::from([0, 0, 0, 0]),
            port: None,
            weight: None,
            lvs_method: None,
            uthreshold: None,
            lthreshold: None,
            inhibit_on_failure: None,
            alpha: None,
            notify_up: None,
            notify_down: None,
            smtp_alert: None,
            virtualhost: None,
            delay_loop: None,
            connect_timeout: None,
            retry: None,
            delay_before_retry: None,
            warmup: None,
            checkers: Vec::new(),
            effective: RealServerEffective::default(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RealServerEffective {
    pub weight: RsWeight,
    pub lvs_method: LvsMethod,
    pub inhibit_on_failure: bool,
    pub alpha: bool,
    pub smtp_alert: bool,
}

impl Default for RsWeight {
    fn default() -> Self {
        RsWeight(1)
    }
}
