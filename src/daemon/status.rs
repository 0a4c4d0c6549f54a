//! What `ldirector status`, `/status`, `/metrics` and SIGUSR1 show, assembled from the
//! daemon's parts: the VRRP thread's snapshot, the health core, the sync daemon, and the
//! kernel's counters read on the IPVS thread (added when they come, so a busy IPVS
//! thread never holds up the daemon's loop).

use super::health::Health;
use crate::config::Config;
use crate::control::status as st;
use crate::ipvs::counters::Readings;
use crate::ipvs::syncd::SyncDaemon;
use crate::notify::mail::Counters;
use crate::vrrp::shell;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// The daemon's own history.
pub(crate) struct Life {
    /// The configuration file.
    pub(crate) path: PathBuf,
    pub(crate) started: Instant,
    pub(crate) reloads: u64,
    pub(crate) reloads_refused: u64,
    /// The last reload: when, applied, its errors or warnings.
    pub(crate) last_reload: Option<(Instant, bool, Vec<String>)>,
    /// Recent changes: (kind, subject, state).
    pub(crate) recent: st::Recent<(&'static str, String, String)>,
    /// Each sync group's last state and since when (from its notifications).
    pub(crate) groups: std::collections::HashMap<String, (&'static str, Instant)>,
    /// Hand-overs to a new binary in this process's life (`ldirector upgrade`).
    pub(crate) upgrades: u64,
    /// Why the last upgrade asked for did not happen (None: it did, or none was asked).
    pub(crate) upgrade_error: Option<String>,
    /// Upgrades refused in this binary's life.
    pub(crate) upgrades_refused: u64,
}

impl Life {
    pub(crate) fn new(path: PathBuf) -> Life {
        Life {
            path,
            started: Instant::now(),
            reloads: 0,
            reloads_refused: 0,
            last_reload: None,
            recent: Default::default(),
            groups: Default::default(),
            upgrades: 0,
            upgrade_error: None,
            upgrades_refused: 0,
        }
    }

    /// Remember a change for the status page.
    pub(crate) fn saw(&mut self, kind: &'static str, subject: String, state: impl Into<String>) {
        self.recent.push((kind, subject, state.into()));
    }

    /// A VRRP notification: a group's state, and a change to remember.
    pub(crate) fn vrrp(&mut self, n: &crate::vrrp::engine::Notification) {
        use crate::vrrp::notification::Subject;
        if !n.change.is_transition() {
            return;
        }
        let kind = match n.subject {
            Subject::Group => {
                self.groups
                    .insert(n.name.clone(), (n.change.word(), Instant::now()));
                "sync_group"
            }
            Subject::Instance => "vrrp",
        };
        self.saw(kind, n.name.clone(), n.change.word());
    }

    /// A reload's outcome.
    pub(crate) fn reloaded(&mut self, applied: bool, messages: Vec<String>) {
        if applied {
            self.reloads += 1;
        } else {
            self.reloads_refused += 1;
        }
        self.saw(
            "reload",
            self.path.display().to_string(),
            if applied { "applied" } else { "refused" },
        );
        self.last_reload = Some((Instant::now(), applied, messages));
    }
}

/// The daemon's parts status is made of.
pub(crate) struct Parts<'a> {
    pub(crate) cfg: &'a Config,
    pub(crate) life: &'a Life,
    pub(crate) health: &'a Health,
    pub(crate) vrrp: &'a shell::Snapshot,
    pub(crate) syncd: Option<&'a SyncDaemon>,
    /// Whether IPVS is programmed.
    pub(crate) ipvs: bool,
    pub(crate) mail: &'a Counters,
    pub(crate) anycast: &'a crate::anycast::Anycast,
}

/// Everything but the kernel's counters (see [`add_readings`]).
pub(crate) fn assemble(p: &Parts<'_>) -> st::Status {
    let Parts {
        cfg,
        life,
        health,
        vrrp,
        syncd,
        ipvs,
        mail,
        anycast,
    } = *p;
    let vrrp = vrrp
        .lock()
        .map(|v| v.iter().map(instance).collect())
        .unwrap_or_default();
    let virtual_servers = cfg
        .virtual_server
        .iter()
        .enumerate()
        .map(|(vi, vs)| {
            let want = health.table().get(vi);
            let port = |p: Option<u16>| p.or(vs.port).unwrap_or(0);
            let row = |address: SocketAddr, healthy: bool, weight| st::Real {
                address: address.to_string(),
                healthy,
                weight,
                ..Default::default()
            };
            st::Service {
                name: vs.describe(),
                quorum: health.has_quorum(vi),
                traffic: None,
                real_servers: vs
                    .real_server
                    .iter()
                    .enumerate()
                    .map(|(ri, r)| {
                        row(
                            SocketAddr::new(r.ip, port(r.port)),
                            health.healthy((vi, ri)),
                            want.and_then(|w| w.0.get(ri).copied().flatten()),
                        )
                    })
                    .collect(),
                sorry_server: vs.sorry_server.as_ref().map(|s| {
                    row(
                        SocketAddr::new(s.ip, port(s.port)),
                        true,
                        want.and_then(|w| w.1),
                    )
                }),
            }
        })
        .collect();
    st::Status {
        version: env!("CARGO_PKG_VERSION").to_string(),
        pid: std::process::id(),
        upgrades: life.upgrades,
        upgrade_error: life.upgrade_error.clone(),
        upgrades_refused: life.upgrades_refused,
        config: life.path.display().to_string(),
        uptime_s: life.started.elapsed().as_secs_f64(),
        vrrp,
        virtual_servers,
        ipvs,
        reloads: life.reloads,
        reloads_refused: life.reloads_refused,
        alerts_sent: mail.sent.load(Ordering::Relaxed),
        alerts_failed: mail.failed.load(Ordering::Relaxed),
        sync_daemon: match syncd {
            Some(d) => Some(d.describe()),
            None if cfg.global_defs.lvs_sync_daemon.is_some()
                || cfg
                    .anycast
                    .values()
                    .any(|a| a.active_active && a.sync_daemon.is_some()) =>
            {
                Some("not running (see the log)".into())
            }
            None => None,
        },
        anycast: anycast_blocks(cfg, anycast),
        sync_groups: cfg
            .vrrp_sync_group
            .iter()
            .map(|(name, g)| {
                let seen = life.groups.get(name);
                st::SyncGroup {
                    name: name.clone(),
                    state: seen.map_or("INIT", |s| s.0).to_string(),
                    members: g.group.clone(),
                    since_s: seen.map(|s| s.1.elapsed().as_secs_f64()),
                }
            })
            .collect(),
        last_reload: life
            .last_reload
            .as_ref()
            .map(|(t, applied, messages)| st::Reload {
                ago_s: t.elapsed().as_secs_f64(),
                applied: *applied,
                messages: messages.clone(),
            }),
        recent: recent(life, anycast),
    }
}

/// The daemon's and the anycast blocks' recent changes, newest first.
fn recent(life: &Life, anycast: &crate::anycast::Anycast) -> Vec<st::Change> {
    let change = |t: &Instant, kind: &str, subject: &str, state: &str| {
        (
            *t,
            st::Change {
                ago_s: t.elapsed().as_secs_f64(),
                kind: kind.to_string(),
                subject: subject.to_string(),
                state: state.to_string(),
            },
        )
    };
    let mut all: Vec<(Instant, st::Change)> = life
        .recent
        .iter()
        .map(|(t, (kind, subject, state))| change(t, kind, subject, state))
        .chain(
            anycast
                .recent()
                .map(|(t, (name, state))| change(t, "anycast", name, state)),
        )
        .collect();
    all.sort_by_key(|c| std::cmp::Reverse(c.0));
    all.truncate(st::RECENT);
    all.into_iter().map(|(_, c)| c).collect()
}

fn anycast_blocks(cfg: &Config, a: &crate::anycast::Anycast) -> Vec<st::AnycastBlock> {
    use crate::anycast::engine::Level;
    let now = Instant::now();
    a.views()
        .map(|v| st::AnycastBlock {
            name: v.name.to_string(),
            addresses: cfg
                .anycast
                .get(v.name)
                .map(|b| b.address.iter().map(|x| x.to_string()).collect())
                .unwrap_or_default(),
            state: match (v.level, v.metric, v.draining) {
                (_, _, true) => "draining",
                (Level::Off, _, _) if v.starting => "starting",
                (Level::Healthy, _, _) => "announced",
                (Level::Failed, Some(_), _) if v.peers => "takeover",
                (Level::Failed, Some(_), _) => "lowered",
                _ => "withdrawn",
            }
            .into(),
            healthy: v.healthy,
            active_active: cfg.anycast.get(v.name).is_some_and(|b| b.active_active),
            services: cfg
                .anycast
                .get(v.name)
                .map(|b| {
                    b.active_services(cfg)
                        .into_iter()
                        .filter_map(|i| cfg.virtual_server.get(i).map(|vs| vs.describe()))
                        .collect()
                })
                .unwrap_or_default(),
            metric: v.metric,
            since_s: v.since.map(|t| t.elapsed().as_secs_f64()),
            why: v.why.to_string(),
            changes: v.changes,
            back_in_s: v
                .back_at
                .map(|t| t.saturating_duration_since(now).as_secs_f64()),
        })
        .collect()
}

fn instance(i: &shell::InstanceStatus) -> st::Instance {
    st::Instance {
        name: i.name.clone(),
        state: i.state.name().to_string(),
        priority: i.priority,
        master: i.master.map(|a| a.to_string()),
        since_s: i.since.map(|t| t.elapsed().as_secs_f64()),
        adverts_sent: i.stats.adverts_sent,
        adverts_received: i.stats.adverts_received,
        dropped: i.stats.dropped.total(),
        transitions: i.stats.transitions,
        became_master: i.stats.became_master,
        dropped_by_reason: i
            .stats
            .dropped
            .iter()
            .map(|(r, n)| (r.name().to_string(), n))
            .collect(),
        other_vrid: i.stats.other_vrid,
        address_list_mismatch: i.stats.address_list_mismatch,
        priority_zero_sent: i.stats.priority_zero_sent,
        priority_zero_received: i.stats.priority_zero_received,
        announcements: i.stats.announcements,
    }
}

/// The kernel's counters into `s` (read by the configuration `s` was assembled from).
pub(crate) fn add_readings(s: &mut st::Status, r: &Readings) {
    let traffic = |t: &crate::ipvs::table::Stats| st::Traffic {
        connections: t.conns,
        in_packets: t.inpkts,
        out_packets: t.outpkts,
        in_bytes: t.inbytes,
        out_bytes: t.outbytes,
    };
    for (vi, svc) in s.virtual_servers.iter_mut().enumerate() {
        svc.traffic = r.services.get(&vi).map(traffic);
        let rows = svc
            .real_servers
            .iter_mut()
            .enumerate()
            .map(|(ri, row)| (Some(ri), row))
            .chain(svc.sorry_server.iter_mut().map(|row| (None, row)));
        for (which, row) in rows {
            if let Some(c) = r.dests.get(&(vi, which)) {
                row.active = Some(c.0.active);
                row.inactive = Some(c.0.inactive);
                row.traffic = Some(traffic(&c.1));
            }
        }
    }
}
