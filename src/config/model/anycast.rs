//! Anycast: service addresses that this replica announces into the routing through the
//! routing daemon of the host (BIRD, FRR) while it is healthy, and withdraws — or announces
//! with a worse metric — when it is not. ldirector speaks no routing protocol: it changes
//! kernel state (an address on a device, or a route of its own) that the routing daemon
//! already follows. keepalived has no such block; its words are reused where they fit
//! (checkers, track_script, track_file, notify_up/notify_down, smtp_alert).

use super::*;
use crate::config::types::{Script, Secs};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// How the announcement reaches the routing daemon.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnycastMethod {
    /// The address itself on the device while announced (`redistribute connected`,
    /// BIRD's `direct` protocol): any routing daemon; a failure can only withdraw.
    #[default]
    Address,
    /// A kernel route of ldirector's own protocol number whose metric carries the state
    /// (BIRD's `kernel` protocol with `learn`, FRR's `redistribute kernel`).
    Route,
}

/// What a failure does to the announcement.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// The announcement goes (the default).
    #[default]
    Withdraw,
    /// The route stays with this metric (method route): the replica becomes the last
    /// resort instead of disappearing.
    Metric(u32),
}

/// Whose health the inputs watch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Watch {
    /// The local service (the default): a failure lowers or withdraws our announcement.
    #[default]
    #[serde(rename = "self")]
    Itself,
    /// The other replicas: while one of them fails, our route takes the `on_failure`
    /// metric (a better one than `metric`) and pulls their traffic to us.
    Peers,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Anycast {
    /// The service addresses: host addresses (/32, /128).
    pub address: Vec<IpAddr>,
    /// Active-active directors: every director announces the addresses (the network
    /// spreads flows over them by ECMP) and the virtual servers on them choose real
    /// servers by Maglev hashing (`lb_algo mh`, DR or TUN), with IPVS accepting flows it
    /// did not see start (sloppy_tcp / sloppy_sctp): a flow that moves to another director
    /// reaches the same real server. Each such virtual server's quorum is an input.
    #[serde(skip_serializing_if = "is_false")]
    pub active_active: bool,
    /// Active-active state sharing: the IPVS connection-sync daemon in both roles on this
    /// interface (every director sends its connections and learns the others').
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_daemon: Option<SharedSync>,
    /// The device that holds them.
    pub device: String,
    pub method: AnycastMethod,
    /// The route's metric while healthy (method route).
    pub metric: u32,
    pub on_failure: OnFailure,
    pub watch: Watch,
    /// How long the inputs must stay healthy before a withdrawn (or lowered) announcement
    /// comes back: a replica that recovers flapping does not pull traffic back and forth.
    pub hold_down: Secs,
    /// At a stop (and `ldirector anycast drain`): how long the service is still served
    /// after the withdrawal, while the routing converges.
    pub drain_time: Secs,
    /// The routes' protocol number or name (method route, and the local route that keeps
    /// the addresses accepted): ldirector's own by default.
    pub route_protocol: String,
    /// The routing table of the announced route (method route).
    pub route_table: String,
    /// The service's port: where the checkers connect unless they say otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    // the checkers' timers, as a real_server gives them
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
    /// The checkers start down (keepalived's alpha, on by default here): nothing is
    /// announced before the first check passed.
    pub alpha: bool,
    #[serde(rename = "check", skip_serializing_if = "Vec::is_empty")]
    pub checkers: Vec<Checker>,
    /// vrrp_scripts: each must succeed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub track_script: Vec<String>,
    /// track_files: each must read 0.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub track_file: Vec<String>,
    /// Virtual servers (as `ldirector status` names them: `192.0.2.1:80/TCP`, `fwmark 1`,
    /// `group NAME`; `192.0.2.1:80` for any protocol): each must have quorum (a replica
    /// that is itself a director).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub track_virtual_server: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_up: Option<Script>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_down: Option<Script>,
    /// keepalived's generic `notify`: run at every change with the new state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify: Option<Script>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_alert: Option<bool>,
}

/// `sync_daemon INTERFACE [id N] [maxlen N] [port N] [ttl N] [group ADDR]`: the sync
/// daemon's settings (lvs_sync_daemon's words), run as master and backup at once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SharedSync {
    pub interface: String,
    /// The sync id (0-255; default 0); every director of the service uses the same.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maxlen: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<IpAddr>,
}

impl SharedSync {
    /// As lvs_sync_daemon's settings (no VRRP instance: both roles run).
    pub fn settings(&self) -> LvsSyncDaemon {
        LvsSyncDaemon {
            interface: self.interface.clone(),
            vrrp_instance: String::new(),
            id: self.id,
            maxlen: self.maxlen,
            port: self.port,
            ttl: self.ttl,
            group: self.group,
        }
    }
}

/// ldirector's route protocol number (`/etc/iproute2/rt_protos.d/ldirector.conf`).
pub const ROUTE_PROTOCOL: u8 = 201;

impl Default for Anycast {
    fn default() -> Self {
        Anycast {
            address: Vec::new(),
            active_active: false,
            sync_daemon: None,
            device: "lo".into(),
            method: AnycastMethod::Address,
            metric: 1,
            on_failure: OnFailure::Withdraw,
            watch: Watch::Itself,
            hold_down: Secs::from_secs(5),
            drain_time: Secs::from_secs(2),
            route_protocol: "ldirector".into(),
            route_table: "main".into(),
            port: None,
            delay_loop: None,
            connect_timeout: None,
            retry: None,
            delay_before_retry: None,
            warmup: None,
            alpha: true,
            checkers: Vec::new(),
            track_script: Vec::new(),
            track_file: Vec::new(),
            track_virtual_server: Vec::new(),
            notify_up: None,
            notify_down: None,
            notify: None,
            smtp_alert: None,
        }
    }
}

/// Whether `track` (a `track_virtual_server` entry) names virtual server `vs`.
pub fn names_service(track: &str, vs: &VirtualServer) -> bool {
    let d = vs.describe();
    d == track || d.rsplit_once('/').is_some_and(|(a, _)| a == track)
}

impl Anycast {
    /// The virtual servers an active-active block runs: those on its addresses and those
    /// its track_virtual_server names (indexes into `cfg.virtual_server`). Empty for a
    /// block that is not active-active.
    pub fn active_services(&self, cfg: &Config) -> Vec<usize> {
        if !self.active_active {
            return Vec::new();
        }
        cfg.virtual_server
            .iter()
            .enumerate()
            .filter(|(_, vs)| {
                vs.ip.is_some_and(|ip| self.address.contains(&ip))
                    || self
                        .track_virtual_server
                        .iter()
                        .any(|t| names_service(t, vs))
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// The block's checkers see it as a real server of a virtual server: its first
    /// address and its port (the checkers' timers and targets resolve as keepalived's).
    pub fn as_service(&self) -> (VirtualServer, RealServer) {
        let ip = self
            .address
            .first()
            .copied()
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let vs = VirtualServer {
            ip: Some(ip),
            port: self.port,
            delay_loop: self.delay_loop,
            connect_timeout: self.connect_timeout,
            retry: self.retry,
            delay_before_retry: self.delay_before_retry,
            warmup: self.warmup,
            alpha: self.alpha,
            ..VirtualServer::default()
        };
        let rs = RealServer {
            ip,
            port: self.port,
            ..RealServer::default()
        };
        (vs, rs)
    }
}
