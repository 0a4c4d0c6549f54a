//! `global_defs`: the daemon's settings (keepalived's global_parser.c).

use super::is_false;
use crate::config::types::{serde_via_str, Script, Secs};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GlobalDefs {
    /// Defaults to the host name at run time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub router_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notification_email: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_email_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_server: Option<SmtpServer>,
    pub smtp_connect_timeout: Secs,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_helo_name: Option<String>,
    /// Default for every smtp_alert: send e-mail on transitions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_alert: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_alert_vrrp: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_alert_checker: Option<bool>,
    pub checker_log_all_failures: bool,
    pub vrrp_version: VrrpVersion,
    pub vrrp_mcast_group4: Ipv4Addr,
    pub vrrp_mcast_group6: Ipv6Addr,
    pub vrrp_garp_master_delay: Secs,
    pub vrrp_garp_master_repeat: u32,
    /// Zero: no periodic refresh.
    pub vrrp_garp_master_refresh: Secs,
    pub vrrp_garp_master_refresh_repeat: u32,
    /// Unset: same as vrrp_garp_master_delay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vrrp_garp_lower_prio_delay: Option<Secs>,
    /// Unset: same as vrrp_garp_master_repeat.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vrrp_garp_lower_prio_repeat: Option<u32>,
    /// Delay between gratuitous ARPs on one interface.
    pub vrrp_garp_interval: Secs,
    /// Delay between unsolicited neighbour advertisements on one interface.
    pub vrrp_gna_interval: Secs,
    pub vrrp_min_garp: bool,
    pub vrrp_lower_prio_no_advert: bool,
    /// Unlike keepalived, on by default: a master that sees a lower-priority master (a
    /// healed split brain) re-announces itself and its VIPs.
    pub vrrp_higher_prio_send_advert: bool,
    pub vrrp_strict: bool,
    pub vrrp_check_unicast_src: bool,
    pub vrrp_skip_check_adv_addr: bool,
    pub v3_checksum_as_v2: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lvs_sync_daemon: Option<LvsSyncDaemon>,
    #[serde(skip_serializing_if = "LvsTimeouts::is_empty")]
    pub lvs_timeouts: LvsTimeouts,
    pub lvs_flush: bool,
    pub lvs_flush_on_stop: FlushOnStop,
    /// ldirector: how long a real server that a reload removes keeps its established
    /// connections (at weight 0) before it is deleted; 0 deletes at once, as keepalived.
    pub lvs_drain_timeout: Secs,
    /// ldirector: where the read-only HTTP endpoint (/metrics, /status, /healthz) listens;
    /// off when unset (`--http-listen` sets it too).
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "listen_address"
    )]
    pub http_listen: Option<std::net::SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script_user: Option<User>,
    pub enable_script_security: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_fifo: Option<NotifyFifo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vrrp_notify_fifo: Option<NotifyFifo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lvs_notify_fifo: Option<NotifyFifo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_interface: Option<String>,
    /// Check a new configuration before reloading; the report goes to this file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reload_check_config: Option<String>,
    pub dynamic_interfaces: DynamicInterfaces,
    /// Scheduling of the VRRP thread (keepalived's VRRP process): nice value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vrrp_priority: Option<i8>,
    /// Memory locked (process-wide: set by either).
    #[serde(skip_serializing_if = "is_false")]
    pub vrrp_no_swap: bool,
    /// SCHED_RR priority 1..=99; unset: ldirector's default (see `sched`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vrrp_rt_priority: Option<u8>,
    /// RLIMIT_RTTIME in microseconds (process-wide: the larger of the two is set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vrrp_rlimit_rttime: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vrrp_cpu_affinity: Vec<u16>,
    /// The same for the health-check thread (keepalived's checker process).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checker_priority: Option<i8>,
    #[serde(skip_serializing_if = "is_false")]
    pub checker_no_swap: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checker_rt_priority: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checker_rlimit_rttime: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checker_cpu_affinity: Vec<u16>,
    /// keepalived's cap on its automatic real-time priority: here it caps the VRRP
    /// thread's default real-time priority; 0 or less: no default real time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_auto_priority: Option<i8>,
    /// Seconds the VRRP instances wait after the start before they run.
    pub vrrp_startup_delay: Secs,
    /// The network namespace the daemon works in (keepalived's top-level net_namespace):
    /// entered at the start, before anything else; a reload cannot change it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub net_namespace: Option<String>,
    /// Default of every instance's notify_priority_changes.
    #[serde(skip_serializing_if = "is_false")]
    pub vrrp_notify_priority_changes: bool,
    /// Run once at the start, before anything is added to the kernel (keepalived runs it
    /// before its children); a failure is logged and the start goes on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub startup_script: Option<Script>,
    /// Killed (its process group) after this long; 1 to 1000 s.
    pub startup_script_timeout: Secs,
    /// Run once at the stop, after everything was released.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shutdown_script: Option<Script>,
    pub shutdown_script_timeout: Secs,
}

/// `http_listen`: "ADDR:PORT", with an error that says so.
fn listen_address<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<std::net::SocketAddr>, D::Error> {
    let s = String::deserialize(d)?;
    s.parse().map(Some).map_err(|_| {
        serde::de::Error::custom(format!(
            "'{s}' is not an address and port: expected ADDR:PORT (127.0.0.1:9650, [::1]:9650)"
        ))
    })
}

impl Default for GlobalDefs {
    fn default() -> Self {
        GlobalDefs {
            router_id: None,
            notification_email: Vec::new(),
            notification_email_from: None,
            smtp_server: None,
            smtp_connect_timeout: Secs::from_secs(30),
            smtp_helo_name: None,
            smtp_alert: None,
            smtp_alert_vrrp: None,
            smtp_alert_checker: None,
            checker_log_all_failures: false,
            vrrp_version: VrrpVersion::V2,
            vrrp_mcast_group4: Ipv4Addr::new(224, 0, 0, 18),
            vrrp_mcast_group6: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12),
            vrrp_garp_master_delay: Secs::from_secs(5),
            vrrp_garp_master_repeat: 5,
            vrrp_garp_master_refresh: Secs::ZERO,
            vrrp_garp_master_refresh_repeat: 1,
            vrrp_garp_lower_prio_delay: None,
            vrrp_garp_lower_prio_repeat: None,
            vrrp_garp_interval: Secs::ZERO,
            vrrp_gna_interval: Secs::ZERO,
            vrrp_min_garp: false,
            vrrp_lower_prio_no_advert: false,
            vrrp_higher_prio_send_advert: true,
            vrrp_strict: false,
            vrrp_check_unicast_src: false,
            vrrp_skip_check_adv_addr: false,
            v3_checksum_as_v2: false,
            lvs_sync_daemon: None,
            lvs_timeouts: LvsTimeouts::default(),
            lvs_flush: false,
            lvs_flush_on_stop: FlushOnStop::No,
            lvs_drain_timeout: Secs::from_secs(300),
            http_listen: None,
            script_user: None,
            enable_script_security: false,
            notify_fifo: None,
            vrrp_notify_fifo: None,
            lvs_notify_fifo: None,
            default_interface: None,
            reload_check_config: None,
            dynamic_interfaces: DynamicInterfaces::No,
            vrrp_priority: None,
            vrrp_no_swap: false,
            vrrp_rt_priority: None,
            vrrp_rlimit_rttime: None,
            vrrp_cpu_affinity: Vec::new(),
            checker_priority: None,
            checker_no_swap: false,
            checker_rt_priority: None,
            checker_rlimit_rttime: None,
            checker_cpu_affinity: Vec::new(),
            max_auto_priority: None,
            vrrp_startup_delay: Secs::ZERO,
            vrrp_notify_priority_changes: false,
            net_namespace: None,
            startup_script: None,
            startup_script_timeout: Secs::from_secs(10),
            shutdown_script: None,
            shutdown_script_timeout: Secs::from_secs(10),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum VrrpVersion {
    #[default]
    V2,
    V3,
}

impl Serialize for VrrpVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.number())
    }
}

impl<'de> Deserialize<'de> for VrrpVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(d)?;
        VrrpVersion::parse(&v.to_string()).map_err(serde::de::Error::custom)
    }
}

impl VrrpVersion {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "2" => Ok(VrrpVersion::V2),
            "3" => Ok(VrrpVersion::V3),
            _ => Err(format!("expected VRRP version 2 or 3, found '{s}'")),
        }
    }
    pub fn number(self) -> u8 {
        match self {
            VrrpVersion::V2 => 2,
            VrrpVersion::V3 => 3,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DynamicInterfaces {
    #[default]
    No,
    Yes,
    AllowIfChanges,
}

/// What to remove from IPVS when ldirector stops.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlushOnStop {
    /// Leave IPVS as it is when stopping (the default).
    #[default]
    #[serde(rename = "no")]
    No,
    /// Remove only the virtual servers ldirector configured.
    #[serde(rename = "VS")]
    Vs,
    /// Flush the whole IPVS table.
    #[serde(rename = "ALL")]
    All,
}

/// An SMTP relay: host name or address, and port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpServer {
    pub host: String,
    pub port: u16,
}

impl FromStr for SmtpServer {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            match rest.split_once(']') {
                Some((h, p)) => (h.to_string(), p.strip_prefix(':')),
                None => return Err(format!("missing ']' in '{s}'")),
            }
        } else if s.matches(':').count() == 1 {
            let (h, p) = s.split_once(':').unwrap_or((s, ""));
            (h.to_string(), Some(p))
        } else {
            (s.to_string(), None)
        };
        let port = match port {
            None => 25,
            Some(p) => crate::config::types::parse_int::<u16>(p, 1, 65535)?,
        };
        if host.is_empty() {
            return Err("expected an SMTP server host name or address".into());
        }
        Ok(SmtpServer { host, port })
    }
}

impl fmt::Display for SmtpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}
serde_via_str!(
    SmtpServer,
    "an SMTP server like \"192.0.2.25\" or \"mail.example.com:587\""
);

/// The user (and group) a script runs as.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// A FIFO that receives one line per event, optionally with a script reading it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyFifo {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<Script>,
}

/// The IPVS connection-sync daemon, which follows a VRRP instance's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LvsSyncDaemon {
    pub interface: String,
    pub vrrp_instance: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxlen: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<IpAddr>,
}

/// IPVS protocol timeouts (seconds); unset ones are left as the kernel has them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LvsTimeouts {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp: Option<Secs>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcpfin: Option<Secs>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub udp: Option<Secs>,
}

impl LvsTimeouts {
    pub fn is_empty(&self) -> bool {
        self.tcp.is_none() && self.tcpfin.is_none() && self.udp.is_none()
    }
}
