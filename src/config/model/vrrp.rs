//! VRRP: scripts, track files and processes, sync groups, instances (keepalived's vrrp_parser.c).

use super::is_false;
use super::*;
use crate::config::addr::{Route, Rule, VirtualIp};
use crate::config::types::{Priority, Script, Secs, TrackWeight, Vrid};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

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

/// `use_ipvlan [[name] NAME] [ADDRESS] [bridge|private|vepa] [group G]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Ipvlan {
    /// The interface's name; empty: `vrrp.VRID`, as keepalived names it.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Its own address (kept while the daemon runs, master or backup), the adverts'
    /// source unless unicast_src_ip / mcast_src_ip says otherwise. An IPv4 instance needs
    /// one; an IPv6 one without uses the ipvlan's link-local address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<crate::config::addr::Prefixed>,
    pub mode: IpvlanMode,
    /// Its link group (a number, or a name in /etc/iproute2/group); unset: the base's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// The ipvlan's L2-mode flag (`ip link add ... type ipvlan mode l2 MODE`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IpvlanMode {
    /// Slaves of one base talk to each other directly.
    #[default]
    Bridge,
    /// They do not.
    Private,
    /// Their traffic to each other goes out to the switch.
    Vepa,
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
    /// use_vmac's `group G`: the VMAC's link group (a number, or a name in
    /// /etc/iproute2/group); unset: the base interface's group, as keepalived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vmac_group: Option<String>,
    /// Adverts go out of (and are heard on) the base interface, not the VMAC.
    #[serde(skip_serializing_if = "is_false")]
    pub vmac_xmit_base: bool,
    /// Every address on another interface than the instance's gets a VMAC there (as
    /// `use_vmac` on each address).
    #[serde(skip_serializing_if = "is_false")]
    pub use_vmac_addr: bool,
    /// keepalived's use_ipvlan: an L2-mode ipvlan on the instance's interface (the base's
    /// MAC, an address of its own) that sends and hears the adverts; the VIPs stay on the
    /// instance's interface, as keepalived leaves them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_ipvlan: Option<Ipvlan>,
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
            vmac_group: None,
            vmac_address: None,
            vmac_xmit_base: false,
            use_vmac_addr: false,
            use_ipvlan: None,
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
