//! The one configuration model every subsystem reads.
//!
//! Both readers (keepalived.conf and TOML) produce a [`Config`]; [`super::resolve`] then
//! fills the `effective` parts (values inherited from `global_defs`, virtual servers and
//! real servers, and every default) so that engines never apply defaults of their own.
//! Field names are keepalived's keywords. The TOML format is these types through serde;
//! `effective` parts are computed, never read from a file.

use super::addr::{Route, Rule, VirtualIp};
use super::types::{
    serde_via_str, FileCheckWeight, Priority, RsWeight, Script, Secs, TrackWeight, Vrid,
};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

fn is_false(b: &bool) -> bool {
    !*b
}

/// The whole effective configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub global_defs: GlobalDefs,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub static_ipaddress: Vec<VirtualIp>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub static_routes: Vec<Route>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub static_rules: Vec<Rule>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub vrrp_script: IndexMap<String, VrrpScript>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub track_file: IndexMap<String, TrackFile>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub vrrp_track_process: IndexMap<String, TrackProcess>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub vrrp_sync_group: IndexMap<String, SyncGroup>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub vrrp_instance: IndexMap<String, VrrpInstance>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub ssl: IndexMap<String, SslConfig>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub virtual_server_group: IndexMap<String, Vec<VsGroupEntry>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub virtual_server: Vec<VirtualServer>,
}

// ---------------------------------------------------------------------------------------
// global_defs

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
            Some(p) => super::types::parse_int::<u16>(p, 1, 65535)?,
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

// ---------------------------------------------------------------------------------------
// VRRP

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VrrpScript {
    pub script: Script,
    pub interval: Secs,
    /// Unset: the interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Secs>,
    pub weight: TrackWeight,
    #[serde(skip_serializing_if = "is_false")]
    pub weight_reverse: bool,
    pub rise: u32,
    pub fall: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    #[serde(skip_serializing_if = "is_false")]
    pub init_fail: bool,
}

impl Default for VrrpScript {
    fn default() -> Self {
        VrrpScript {
            script: Script {
                argv: Vec::new(),
                user: None,
                group: None,
            },
            interval: Secs::from_secs(1),
            timeout: None,
            weight: TrackWeight(0),
            weight_reverse: false,
            rise: 1,
            fall: 1,
            user: None,
            init_fail: false,
        }
    }
}

/// keepalived's vrrp_track_process: whether enough processes of a kind run, followed
/// through the kernel's process events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrackProcess {
    /// The process name (/proc/PID/comm), or with `full_command` or parameters its
    /// command (the first word of /proc/PID/cmdline).
    pub process: String,
    /// Parameters the command line must have (see `param_match`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<String>,
    /// How the parameters match; unset: exactly when parameters are given, not at all
    /// when none are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub param_match: Option<ParamMatch>,
    #[serde(skip_serializing_if = "is_false")]
    pub full_command: bool,
    pub weight: TrackWeight,
    #[serde(skip_serializing_if = "is_false")]
    pub weight_reverse: bool,
    /// Fewest matching processes for success.
    pub quorum: u32,
    /// Most matching processes for success; unset: no limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quorum_max: Option<u32>,
    /// How long a change that a fork brings waits before it counts.
    pub fork_delay: Secs,
    /// How long a change that an exit brings waits before it counts.
    pub terminate_delay: Secs,
}

impl Default for TrackProcess {
    fn default() -> Self {
        TrackProcess {
            process: String::new(),
            params: Vec::new(),
            param_match: None,
            full_command: false,
            weight: TrackWeight(0),
            weight_reverse: false,
            quorum: 1,
            quorum_max: None,
            fork_delay: Secs::ZERO,
            terminate_delay: Secs::ZERO,
        }
    }
}

/// keepalived's param_match: `exact` (the parameters and no more), `partial` (the
/// first ones exactly), `initial` (as partial, and the last configured one may be the
/// start of a longer one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamMatch {
    Exact,
    Partial,
    Initial,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrackFile {
    pub file: String,
    pub weight: TrackWeight,
    #[serde(skip_serializing_if = "is_false")]
    pub weight_reverse: bool,
    /// Create the file with this value at start-up (`init_file [VALUE] [overwrite]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_file: Option<InitFile>,
}

impl Default for TrackFile {
    fn default() -> Self {
        TrackFile {
            file: String::new(),
            weight: TrackWeight(1),
            weight_reverse: false,
            init_file: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitFile {
    pub value: i64,
    #[serde(default)]
    pub overwrite: bool,
}

/// A reference to a tracked object, with an optional weight overriding its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Track {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<TrackWeight>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub reverse: bool,
}

/// Notification scripts of an instance or sync group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Notify {
    /// keepalived's generic `notify`: run on every transition with the new state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub all: Option<Script>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master: Option<Script>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<Script>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<Script>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<Script>,
    /// Instances only: run when a reload removes the instance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<Script>,
}

impl Notify {
    pub fn is_empty(&self) -> bool {
        self == &Notify::default()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyncGroup {
    pub group: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub track_interface: Vec<Track>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub track_script: Vec<Track>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub track_file: Vec<Track>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub track_process: Vec<Track>,
    #[serde(skip_serializing_if = "Notify::is_empty")]
    pub notify: Notify,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_alert: Option<bool>,
    /// Default of its members' notify_priority_changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_priority_changes: Option<bool>,
    #[serde(skip_serializing_if = "is_false")]
    pub global_tracking: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub sync_group_tracking_weight: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum InitialState {
    #[serde(rename = "MASTER")]
    Master,
    #[default]
    #[serde(rename = "BACKUP")]
    Backup,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthType {
    #[serde(rename = "PASS")]
    Pass,
    #[serde(rename = "AH")]
    Ah,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authentication {
    pub auth_type: AuthType,
    /// At most 8 characters (VRRPv2 simple password).
    pub auth_pass: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnicastPeer {
    pub address: IpAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ttl: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ttl: Option<u8>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VrrpInstance {
    pub state: InitialState,
    /// Unset: global_defs' default_interface.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// Required (validation reports a missing one).
    pub virtual_router_id: Vrid,
    pub priority: Priority,
    pub advert_int: Secs,
    /// Unset: global_defs' vrrp_version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<VrrpVersion>,
    pub nopreempt: bool,
    pub preempt_delay: Secs,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mcast_src_ip: Option<IpAddr>,
    /// Multicast group to send to; unset: global_defs' group for the family.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mcast_dst_ip: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unicast_src_ip: Option<IpAddr>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unicast_peer: Vec<UnicastPeer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unicast_ttl: Option<u8>,
    /// Without any unicast_peer the instance stays in FAULT instead of falling back to
    /// multicast (keepalived's unicast_fault_no_peer).
    #[serde(skip_serializing_if = "is_false")]
    pub unicast_fault_no_peer: bool,
    /// While the configured source address (unicast_src_ip / mcast_src_ip) is not on the
    /// interface, the instance is in FAULT (keepalived's track_src_ip).
    #[serde(skip_serializing_if = "is_false")]
    pub track_src_ip: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication: Option<Authentication>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub virtual_ipaddress: Vec<VirtualIp>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub virtual_ipaddress_excluded: Vec<VirtualIp>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub virtual_routes: Vec<Route>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub virtual_rules: Vec<Rule>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub track_interface: Vec<Track>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub track_script: Vec<Track>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub track_file: Vec<Track>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub track_process: Vec<Track>,
    pub dont_track_primary: bool,
    #[serde(skip_serializing_if = "Notify::is_empty")]
    pub notify: Notify,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_alert: Option<bool>,
    /// FIFO lines MASTER_PRIORITY / BACKUP_PRIORITY when the effective priority changes;
    /// unset: the sync group's, then global_defs' vrrp_notify_priority_changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_priority_changes: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub garp_master_delay: Option<Secs>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub garp_master_repeat: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub garp_master_refresh: Option<Secs>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub garp_master_refresh_repeat: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub garp_lower_prio_delay: Option<Secs>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub garp_lower_prio_repeat: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lower_prio_no_advert: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub higher_prio_send_advert: Option<bool>,
    /// accept / no_accept; unset: accept, unless strict mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accept: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strict_mode: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_unicast_src: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_check_adv_addr: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub v3_checksum_as_v2: Option<bool>,
    /// Set the interface's promote_secondaries while running (restored at stop): the
    /// VIPs survive the removal of the interface's primary address in their subnet.
    #[serde(skip_serializing_if = "is_false")]
    pub promote_secondaries: bool,
    /// keepalived's use_vmac: a macvlan with the VRRP virtual MAC on the instance's
    /// interface, named this (empty: `vrrp.VRID`); the VIPs go on it and the adverts leave
    /// from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_vmac: Option<String>,
    /// The VMAC's MAC address instead of 00:00:5e:00:01:VRID (five octets: the VRID is
    /// the sixth).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vmac_address: Option<String>,
    /// Adverts go out of (and are heard on) the base interface, not the VMAC.
    #[serde(skip_serializing_if = "is_false")]
    pub vmac_xmit_base: bool,
    /// Every address on another interface than the instance's gets a VMAC there (as
    /// `use_vmac` on each address).
    #[serde(skip_serializing_if = "is_false")]
    pub use_vmac_addr: bool,
    /// Computed: every inherited value and default resolved.
    #[serde(skip_deserializing)]
    pub effective: InstanceEffective,
}

impl Default for VrrpInstance {
    fn default() -> Self {
        VrrpInstance {
            state: InitialState::Backup,
            interface: None,
            // 0 is outside 1..=255: "not set", reported by validation
            virtual_router_id: Vrid(0),
            priority: Priority(100),
            advert_int: Secs::from_secs(1),
            version: None,
            nopreempt: false,
            preempt_delay: Secs::ZERO,
            mcast_src_ip: None,
            mcast_dst_ip: None,
            unicast_src_ip: None,
            unicast_peer: Vec::new(),
            unicast_fault_no_peer: false,
            track_src_ip: false,
            unicast_ttl: None,
            authentication: None,
            virtual_ipaddress: Vec::new(),
            virtual_ipaddress_excluded: Vec::new(),
            virtual_routes: Vec::new(),
            virtual_rules: Vec::new(),
            track_interface: Vec::new(),
            track_script: Vec::new(),
            track_file: Vec::new(),
            track_process: Vec::new(),
            dont_track_primary: false,
            notify: Notify::default(),
            smtp_alert: None,
            notify_priority_changes: None,
            garp_master_delay: None,
            garp_master_repeat: None,
            garp_master_refresh: None,
            garp_master_refresh_repeat: None,
            garp_lower_prio_delay: None,
            garp_lower_prio_repeat: None,
            promote_secondaries: false,
            lower_prio_no_advert: None,
            higher_prio_send_advert: None,
            accept: None,
            strict_mode: None,
            check_unicast_src: None,
            skip_check_adv_addr: None,
            v3_checksum_as_v2: None,
            use_vmac: None,
            vmac_address: None,
            vmac_xmit_base: false,
            use_vmac_addr: false,
            effective: InstanceEffective::default(),
        }
    }
}

/// What an instance runs with, after inheritance from global_defs and defaults.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct InstanceEffective {
    pub interface: String,
    pub version: VrrpVersion,
    /// advert_int as sent: whole seconds for VRRPv2, centiseconds for VRRPv3.
    pub advert_int: Secs,
    pub ipv6: bool,
    /// Where adverts go: the multicast group, or empty when unicast peers are configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mcast_group: Option<IpAddr>,
    pub accept: bool,
    pub strict: bool,
    pub smtp_alert: bool,
    pub garp_master_delay: Secs,
    pub garp_master_repeat: u32,
    pub garp_master_refresh: Secs,
    pub garp_master_refresh_repeat: u32,
    pub garp_lower_prio_delay: Secs,
    pub garp_lower_prio_repeat: u32,
    pub lower_prio_no_advert: bool,
    pub higher_prio_send_advert: bool,
    pub check_unicast_src: bool,
    pub skip_check_adv_addr: bool,
    pub v3_checksum_as_v2: bool,
    /// The sync group this instance belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_group: Option<String>,
}

// ---------------------------------------------------------------------------------------
// IPVS virtual servers

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
            ["fwmark", n] => Ok(VsGroupEntry::Fwmark(super::types::parse_int(
                n,
                1,
                u32::MAX,
            )?)),
            [addr, port] => {
                let port = super::types::parse_int::<u16>(port, 0, 65535)?;
                if let Some((a, last)) = addr.rsplit_once('-') {
                    let first = super::addr::parse_ip(a)?;
                    let last = if first.is_ipv4() {
                        super::types::parse_int::<u16>(last, 0, 255)?
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
                        ip: super::addr::parse_ip(addr)?,
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
                            kind = super::types::parse_enum(t)?;
                        }
                        "port" => {
                            let p = it.next().ok_or("'port' needs a number")?;
                            port = Some(super::types::parse_int::<u16>(p, 1, 65535)?);
                        }
                        "nocsum" | "csum" | "remcsum" => csum = super::types::parse_enum(o)?,
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

// ---------------------------------------------------------------------------------------
// Health checkers

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CheckKind {
    #[serde(rename = "TCP_CHECK")]
    Tcp,
    #[serde(rename = "HTTP_GET")]
    HttpGet,
    #[serde(rename = "SSL_GET")]
    SslGet,
    #[serde(rename = "SMTP_CHECK")]
    Smtp,
    #[serde(rename = "MISC_CHECK")]
    Misc,
    #[serde(rename = "DNS_CHECK")]
    Dns,
    #[serde(rename = "UDP_CHECK")]
    Udp,
    #[serde(rename = "PING_CHECK")]
    Ping,
    #[serde(rename = "FILE_CHECK")]
    File,
}

impl CheckKind {
    pub fn keyword(self) -> &'static str {
        match self {
            CheckKind::Tcp => "TCP_CHECK",
            CheckKind::HttpGet => "HTTP_GET",
            CheckKind::SslGet => "SSL_GET",
            CheckKind::Smtp => "SMTP_CHECK",
            CheckKind::Misc => "MISC_CHECK",
            CheckKind::Dns => "DNS_CHECK",
            CheckKind::Udp => "UDP_CHECK",
            CheckKind::Ping => "PING_CHECK",
            CheckKind::File => "FILE_CHECK",
        }
    }
    /// The checker keyword keepalived.conf uses (`TCP_CHECK`...).
    pub fn from_keyword(kw: &str) -> Option<CheckKind> {
        Some(match kw {
            "TCP_CHECK" => CheckKind::Tcp,
            "HTTP_GET" => CheckKind::HttpGet,
            "SSL_GET" => CheckKind::SslGet,
            "SMTP_CHECK" => CheckKind::Smtp,
            "MISC_CHECK" => CheckKind::Misc,
            "DNS_CHECK" => CheckKind::Dns,
            "UDP_CHECK" => CheckKind::Udp,
            "PING_CHECK" => CheckKind::Ping,
            "FILE_CHECK" => CheckKind::File,
            _ => return None,
        })
    }

    pub fn is_http(self) -> bool {
        matches!(self, CheckKind::HttpGet | CheckKind::SslGet)
    }
    /// Checkers that open a connection (and so take connect_* / bind* options).
    pub fn connects(self) -> bool {
        !matches!(self, CheckKind::Misc | CheckKind::File)
    }
}

/// Options of an HTTP_GET / SSL_GET `url { }` block.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Url {
    pub path: String,
    /// MD5 of the body, lower-case hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Accepted status codes; empty: 200-299.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub status_code: Vec<StatusRange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtualhost: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub regex_no_match: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub regex_options: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regex_min_offset: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regex_max_offset: Option<u32>,
}

/// An HTTP status code or a range of them (`200`, `300-399`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StatusRange {
    pub first: u16,
    pub last: u16,
}

impl FromStr for StatusRange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let one = |v: &str| super::types::parse_int::<u16>(v, 100, 599);
        let (first, last) = match s.split_once('-') {
            Some((a, b)) => (one(a)?, one(b)?),
            None => (one(s)?, one(s)?),
        };
        if last < first {
            return Err(format!("status code range '{s}' ends before it starts"));
        }
        Ok(StatusRange { first, last })
    }
}

impl fmt::Display for StatusRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

impl Serialize for StatusRange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.first == self.last {
            s.serialize_u16(self.first)
        } else {
            s.collect_str(self)
        }
    }
}

impl<'de> Deserialize<'de> for StatusRange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum F {
            N(i64),
            S(String),
        }
        match F::deserialize(d)
            .map_err(|_| serde::de::Error::custom("expected a status code or \"200-299\""))?
        {
            F::N(n) => n.to_string().parse(),
            F::S(s) => s.parse(),
        }
        .map_err(serde::de::Error::custom)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HttpProtocol {
    #[serde(rename = "1.0")]
    Http10,
    /// HTTP/1.0 with `Connection: close`.
    #[serde(rename = "1.0C")]
    Http10C,
    #[serde(rename = "1.1")]
    Http11,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DnsType {
    A,
    NS,
    CNAME,
    SOA,
    MX,
    TXT,
    AAAA,
}

/// An SMTP_CHECK `host { }` block: another address to check with the same dialogue.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectOptions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_ip: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bindto: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind_if: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fwmark: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<Secs>,
}

/// One health checker of a real server. `type` says which; options that do not apply to
/// the type are refused by validation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checker {
    #[serde(rename = "type")]
    pub kind: CheckKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_ip: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bindto: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_if: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fwmark: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<Secs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_loop: Option<Secs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_before_retry: Option<Secs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup: Option<Secs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_all_failures: Option<bool>,
    // HTTP_GET / SSL_GET
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub url: Vec<Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtualhost: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_protocol: Option<HttpProtocol>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_sni: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sni_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fast_recovery: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_compliant: Option<bool>,
    /// Name of the `SSL` block (keepalived has one, unnamed: "default").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl: Option<String>,
    // SMTP_CHECK
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helo_name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub host: Vec<ConnectOptions>,
    // MISC_CHECK
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub misc_path: Option<Script>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub misc_timeout: Option<Secs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub misc_dynamic: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    // DNS_CHECK
    #[serde(default, rename = "dns_type", skip_serializing_if = "Option::is_none")]
    pub dns_type: Option<DnsType>,
    #[serde(default, rename = "dns_name", skip_serializing_if = "Option::is_none")]
    pub dns_name: Option<String>,
    // UDP_CHECK
    /// Hex bytes sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// Hex bytes (with `?` wildcards) the reply must start with; `true`-like when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_reply: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_reply_length: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_reply_length: Option<u32>,
    // FILE_CHECK
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<FileCheckWeight>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub weight_reverse: bool,
    /// Computed: timers after inheritance and defaults.
    #[serde(skip_deserializing)]
    pub effective: CheckEffective,
}

impl Checker {
    pub fn new(kind: CheckKind) -> Self {
        Checker {
            kind,
            connect_ip: None,
            connect_port: None,
            bindto: None,
            bind_port: None,
            bind_if: None,
            fwmark: None,
            connect_timeout: None,
            delay_loop: None,
            retry: None,
            delay_before_retry: None,
            warmup: None,
            alpha: None,
            log_all_failures: None,
            url: Vec::new(),
            virtualhost: None,
            http_protocol: None,
            enable_sni: None,
            sni_name: None,
            fast_recovery: None,
            tls_compliant: None,
            ssl: None,
            helo_name: None,
            host: Vec::new(),
            misc_path: None,
            misc_timeout: None,
            misc_dynamic: None,
            user: None,
            dns_type: None,
            dns_name: None,
            payload: None,
            require_reply: None,
            min_reply_length: None,
            max_reply_length: None,
            track_file: None,
            weight: None,
            weight_reverse: false,
            effective: CheckEffective::default(),
        }
    }
}

/// What a checker runs with.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CheckEffective {
    pub delay_loop: Secs,
    pub connect_timeout: Secs,
    pub retry: u32,
    pub delay_before_retry: Secs,
    /// Upper bound of the random delay before the first check.
    pub warmup: Secs,
    pub alpha: bool,
    pub log_all_failures: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_ip: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_port: Option<u16>,
}

/// The `SSL { }` block: client certificate and CA for SSL_GET.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SslConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// ldirector: verify the real server's certificate against `ca` (keepalived never does).
    #[serde(skip_serializing_if = "is_false")]
    pub verify: bool,
}
