//! What `ldirector status` shows: VRRP instances, virtual services and their real servers
//! (health, weight, the kernel's connection counts). The JSON form is for scripts; the
//! table for people.

use serde::{Deserialize, Serialize};
use std::fmt::Write;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub version: String,
    /// The daemon's process (the same across `ldirector upgrade`).
    #[serde(default)]
    pub pid: u32,
    /// Hand-overs to a new binary in this process's life.
    #[serde(default)]
    pub upgrades: u64,
    /// Why the last `ldirector upgrade` did not happen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade_error: Option<String>,
    /// Upgrades refused since this binary started.
    #[serde(default)]
    pub upgrades_refused: u64,
    pub config: String,
    pub uptime_s: f64,
    pub vrrp: Vec<Instance>,
    pub virtual_servers: Vec<Service>,
    /// IPVS not available or not programmed (then weights are what would be programmed).
    pub ipvs: bool,
    /// Reloads applied and refused since the start.
    #[serde(default)]
    pub reloads: u64,
    #[serde(default)]
    pub reloads_refused: u64,
    /// smtp_alert e-mails sent and refused by the mail server (or not delivered in time).
    #[serde(default)]
    pub alerts_sent: u64,
    #[serde(default)]
    pub alerts_failed: u64,
    /// The connection-sync daemon, when configured: "master on eth1 (sync id 51)".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_daemon: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub anycast: Vec<AnycastBlock>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sync_groups: Vec<SyncGroup>,
    /// The last reload asked for, applied or refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reload: Option<Reload>,
    /// Recent changes, newest first (VRRP and sync group states, real servers up and
    /// down, quorum, anycast announcements, reloads): at most [`RECENT`].
    #[serde(default)]
    pub recent: Vec<Change>,
}

/// How many recent changes the status keeps.
pub const RECENT: usize = 50;

/// The last [`RECENT`] changes a part of the daemon saw, with when, oldest first.
#[derive(Debug)]
pub(crate) struct Recent<T>(std::collections::VecDeque<(std::time::Instant, T)>);

impl<T> Default for Recent<T> {
    fn default() -> Self {
        Recent(Default::default())
    }
}

impl<T> Recent<T> {
    /// Remember `what` (now), forgetting the oldest beyond [`RECENT`].
    pub(crate) fn push(&mut self, what: T) {
        if self.0.len() == RECENT {
            self.0.pop_front();
        }
        self.0.push_back((std::time::Instant::now(), what));
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &(std::time::Instant, T)> {
        self.0.iter()
    }
}

/// A sync group: its members move together.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncGroup {
    pub name: String,
    /// MASTER, BACKUP, FAULT, or INIT before its first transition.
    pub state: String,
    pub members: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_s: Option<f64>,
}

/// A reload: when, and applied or refused (with why).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Reload {
    pub ago_s: f64,
    pub applied: bool,
    /// The errors of a refused reload, the warnings of an applied one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<String>,
}

/// One change the daemon saw.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub ago_s: f64,
    /// vrrp, sync_group, real_server, quorum, anycast, reload.
    pub kind: String,
    /// What changed: an instance, a group, `RS of VS`, a block, the file.
    pub subject: String,
    /// Its new state (MASTER, up, DOWN, lost, withdrawn, applied, refused...).
    pub state: String,
}

/// An anycast block: what it announces and why.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AnycastBlock {
    pub name: String,
    pub addresses: Vec<String>,
    /// announced, lowered (the on_failure metric), takeover (watch peers: a peer failed,
    /// the on_failure metric pulls its traffic), withdrawn, draining, starting (waiting
    /// for the first checks).
    pub state: String,
    /// Whether its health inputs are all up.
    pub healthy: bool,
    /// Active-active directors: every healthy director announces; the virtual servers on
    /// its addresses choose real servers by Maglev hashing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub active_active: bool,
    /// Active-active: the virtual servers it carries (their names in `virtual_servers`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// The route's metric announced now (method route).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_s: Option<f64>,
    /// Why it announces what it announces.
    pub why: String,
    /// Changes since the start.
    pub changes: u64,
    /// A recovered block announces again in this many seconds (its hold-down).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub back_in_s: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    pub name: String,
    pub state: String,
    pub priority: u8,
    pub master: Option<String>,
    /// Seconds in this state.
    pub since_s: Option<f64>,
    pub adverts_sent: u64,
    pub adverts_received: u64,
    pub dropped: u64,
    /// Transitions since the start (into Backup, Master, Fault).
    #[serde(default)]
    pub transitions: u64,
    #[serde(default)]
    pub became_master: u64,
    /// Dropped packets by reason (keepalived's words where it has them).
    #[serde(default)]
    pub dropped_by_reason: std::collections::BTreeMap<String, u64>,
    /// Adverts of other virtual routers on the same link (not errors).
    #[serde(default)]
    pub other_vrid: u64,
    /// Adverts whose address list differs from ours (accepted unless strict).
    #[serde(default)]
    pub address_list_mismatch: u64,
    #[serde(default)]
    pub priority_zero_sent: u64,
    #[serde(default)]
    pub priority_zero_received: u64,
    /// Rounds of gratuitous ARP / unsolicited NA sent.
    #[serde(default)]
    pub announcements: u64,
}

/// The kernel's traffic counters of a service or real server.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Traffic {
    pub connections: u64,
    pub in_packets: u64,
    pub out_packets: u64,
    pub in_bytes: u64,
    pub out_bytes: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Service {
    pub name: String,
    pub quorum: bool,
    /// The kernel's counters (None: not in IPVS).
    #[serde(default)]
    pub traffic: Option<Traffic>,
    pub real_servers: Vec<Real>,
    pub sorry_server: Option<Real>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Real {
    pub address: String,
    pub healthy: bool,
    /// The weight IPVS holds for it (None: not in IPVS).
    pub weight: Option<u32>,
    pub active: Option<u32>,
    pub inactive: Option<u32>,
    #[serde(default)]
    pub traffic: Option<Traffic>,
}

fn ago(s: Option<f64>) -> String {
    match s {
        None => "-".into(),
        Some(s) if s < 120.0 => format!("{s:.0}s"),
        Some(s) if s < 7200.0 => format!("{:.0}m", s / 60.0),
        Some(s) if s < 172_800.0 => format!("{:.0}h", s / 3600.0),
        Some(s) => format!("{:.0}d", s / 86400.0),
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".into(), |x| x.to_string())
}

impl Status {
    /// The table `ldirector status` prints.
    pub fn table(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "ldirector {} with {} (pid {}, up {}{})",
            self.version,
            self.config,
            self.pid,
            ago(Some(self.uptime_s)),
            match self.upgrades {
                0 => String::new(),
                1 => ", upgraded once".to_string(),
                n => format!(", upgraded {n} times"),
            }
        );
        if let Some(e) = &self.upgrade_error {
            let _ = writeln!(o, "last upgrade refused: {e}");
        }
        if !self.vrrp.is_empty() {
            let _ = writeln!(
                o,
                "\n{:<20} {:<7} {:>4}  {:<26} {:>6} {:>10} {:>10} {:>8}",
                "VRRP INSTANCE", "STATE", "PRIO", "MASTER", "SINCE", "SENT", "RECEIVED", "DROPPED"
            );
            for i in &self.vrrp {
                let _ = writeln!(
                    o,
                    "{:<20} {:<7} {:>4}  {:<26} {:>6} {:>10} {:>10} {:>8}",
                    i.name,
                    i.state,
                    i.priority,
                    opt(i.master.as_deref()),
                    ago(i.since_s),
                    i.adverts_sent,
                    i.adverts_received,
                    i.dropped
                );
            }
        }
        if !self.anycast.is_empty() {
            let _ = writeln!(
                o,
                "\n{:<20} {:<10} {:<8} {:>7} {:>6}  WHY",
                "ANYCAST", "STATE", "HEALTH", "METRIC", "SINCE"
            );
            for a in &self.anycast {
                let back = a
                    .back_in_s
                    .map(|s| format!(" (back in {s:.1}s)"))
                    .unwrap_or_default();
                let _ = writeln!(
                    o,
                    "{:<20} {:<10} {:<8} {:>7} {:>6}  {}{back}",
                    a.name,
                    a.state,
                    if a.healthy { "up" } else { "DOWN" },
                    opt(a.metric),
                    ago(a.since_s),
                    a.why
                );
                let mode = if a.active_active {
                    " (active-active)"
                } else {
                    ""
                };
                let _ = writeln!(o, "  {}{mode}", a.addresses.join(" "));
            }
        }
        if let Some(d) = &self.sync_daemon {
            let _ = writeln!(o, "\nlvs_sync_daemon: {d}");
        }
        if !self.virtual_servers.is_empty() {
            let _ = writeln!(
                o,
                "\n{:<44} {:<8} {:>7} {:>8} {:>9}{}",
                "VIRTUAL SERVER / REAL SERVER",
                "HEALTH",
                "WEIGHT",
                "ACTIVE",
                "INACTIVE",
                if self.ipvs {
                    ""
                } else {
                    "   (IPVS not programmed)"
                }
            );
            for s in &self.virtual_servers {
                let _ = writeln!(
                    o,
                    "{:<44} {:<8}",
                    s.name,
                    if s.quorum { "quorum" } else { "NO QUORUM" }
                );
                let rows = s
                    .real_servers
                    .iter()
                    .map(|r| (r, ""))
                    .chain(s.sorry_server.iter().map(|r| (r, " (sorry)")));
                for (r, tag) in rows {
                    let _ = writeln!(
                        o,
                        "  {:<42} {:<8} {:>7} {:>8} {:>9}",
                        format!("{}{tag}", r.address),
                        if r.healthy { "up" } else { "DOWN" },
                        opt(r.weight),
                        opt(r.active),
                        opt(r.inactive)
                    );
                }
            }
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_and_json() {
        let s = Status {
            version: "0.1.0".into(),
            config: "/etc/keepalived/keepalived.conf".into(),
            uptime_s: 95.0,
            vrrp: vec![Instance {
                name: "VI_1".into(),
                state: "MASTER".into(),
                priority: 150,
                master: Some("192.0.2.11".into()),
                since_s: Some(30.0),
                adverts_sent: 30,
                ..Default::default()
            }],
            virtual_servers: vec![Service {
                name: "192.0.2.100:80/TCP".into(),
                quorum: true,
                real_servers: vec![
                    Real {
                        address: "198.51.100.10:80".into(),
                        healthy: true,
                        weight: Some(1),
                        active: Some(3),
                        inactive: Some(10),
                        traffic: None,
                    },
                    Real {
                        address: "198.51.100.11:80".into(),
                        healthy: false,
                        ..Default::default()
                    },
                ],
                sorry_server: None,
                traffic: None,
            }],
            ipvs: true,
            ..Default::default()
        };
        let mut s = s;
        s.sync_daemon = Some("master on eth1 (sync id 51)".into());
        let t = s.table();
        assert!(
            t.contains("lvs_sync_daemon: master on eth1 (sync id 51)"),
            "{t}"
        );
        assert!(t.contains("VI_1"), "{t}");
        assert!(t.contains("MASTER"), "{t}");
        assert!(t.contains("198.51.100.11:80"), "{t}");
        assert!(t.contains("DOWN"), "{t}");
        let j = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Status>(&j).unwrap(), s);
    }
}
