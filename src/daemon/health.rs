//! Real servers' health as the daemon acts on it, sans-IO: the checks' verdicts in; what
//! IPVS should hold for each virtual server, quorum transitions and the notifications to
//! send out (keepalived's check/ipwrapper.c). The pools (`check::pool`) decide quorum,
//! hysteresis, sorry server and inhibit; this core keeps who is down, the weights the
//! checks set (misc_dynamic, FILE_CHECK) and what each service was last asked to hold, and
//! carries them across reloads. The daemon does the I/O: logging, scripts and FIFO lines,
//! the IPVS thread.

use crate::check::pool::{Pools, QuorumEvent};
use crate::check::runner::{HealthChange, RsIndex, Start};
use crate::config::model::{Config, RealServer, VirtualServer};
use crate::ipvs::desired::PoolWeights;
use crate::notify::lvs::Why;
use std::collections::{HashMap, HashSet};

/// What the daemon does after a step of the core.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// A real server's notification (notify_up / notify_down, the FIFO line, e-mail).
    /// `Why::Removed`: `rs` indexes the configuration before the reload.
    RealServer { rs: RsIndex, up: bool, why: Why },
    /// quorum_up / quorum_down (`stopping`: omega at the stop).
    Quorum {
        vs: usize,
        gained: bool,
        stopping: bool,
    },
    /// What virtual server `vs` should hold changed (logged as keepalived logs it).
    Desired {
        vs: usize,
        before: PoolWeights,
        now: PoolWeights,
    },
}

pub(crate) struct Health {
    down: HashSet<RsIndex>,
    /// Weights set by the checks (misc_dynamic, FILE_CHECK), over the configured ones.
    weight: HashMap<RsIndex, u32>,
    pools: Pools,
    /// Per virtual server: what it was last asked to hold.
    desired: Vec<PoolWeights>,
}

impl Health {
    /// The health the checks start with (`alpha` servers down, weights read at once); the
    /// quorum events of the start (a pool starting without quorum) go to `out`.
    pub(crate) fn start(cfg: &Config, start: Start, out: &mut Vec<Event>) -> Health {
        let mut h = Health {
            down: HashSet::new(),
            weight: HashMap::new(),
            pools: Pools::from_config(cfg),
            desired: Vec::new(),
        };
        h.set(start);
        h.evaluate(cfg, out);
        h
    }

    /// Start as a predecessor binary left off (`ldirector upgrade`): the checks carry
    /// their state into `start`, and the virtual servers named in `no_quorum` (as
    /// `describe()` names them) were without their quorum.
    pub(crate) fn resumed(
        cfg: &Config,
        start: Start,
        no_quorum: &[String],
        out: &mut Vec<Event>,
    ) -> Health {
        let mut pools = Pools::from_config(cfg);
        for (vi, vs) in cfg.virtual_server.iter().enumerate() {
            if no_quorum.contains(&vs.describe()) {
                pools.set_quorum(vi, false);
            }
        }
        let mut h = Health {
            down: HashSet::new(),
            weight: HashMap::new(),
            pools,
            desired: Vec::new(),
        };
        h.set(start);
        h.evaluate(cfg, out);
        h
    }

    /// The virtual servers without their quorum now, as `describe()` names them.
    pub(crate) fn without_quorum(&self, cfg: &Config) -> Vec<String> {
        cfg.virtual_server
            .iter()
            .enumerate()
            .filter(|(vi, _)| !self.pools.has_quorum(*vi))
            .map(|(_, vs)| vs.describe())
            .collect()
    }

    /// A check's verdict: a server up or down, or a new weight.
    pub(crate) fn change(&mut self, cfg: &Config, c: &HealthChange, out: &mut Vec<Event>) {
        match c.weight {
            Some(w) => {
                self.weight.insert(c.rs, w);
            }
            None => {
                let changed = if c.up {
                    self.down.remove(&c.rs)
                } else {
                    self.down.insert(c.rs)
                };
                if changed && self.exists(cfg, c.rs) {
                    out.push(Event::RealServer {
                        rs: c.rs,
                        up: c.up,
                        why: Why::Check,
                    });
                }
            }
        }
        self.evaluate(cfg, out);
    }

    /// A reload from `old` to `new`, with the health the checks carry into it: the real
    /// servers gone from the configuration that were up are reported down
    /// (`Why::Removed`, by `old`'s indexes); the services that stay keep their quorum state
    /// (no quorum event because of the reload itself).
    pub(crate) fn reload(
        &mut self,
        old: &Config,
        new: &Config,
        start: Start,
        out: &mut Vec<Event>,
    ) {
        let key = |vs: &VirtualServer, r: &RealServer| (vs.describe(), r.ip, r.port.or(vs.port));
        let kept: HashSet<_> = new
            .virtual_server
            .iter()
            .flat_map(|vs| vs.real_server.iter().map(move |r| key(vs, r)))
            .collect();
        for (vi, vs) in old.virtual_server.iter().enumerate() {
            for (ri, r) in vs.real_server.iter().enumerate() {
                if !kept.contains(&key(vs, r)) && !self.down.contains(&(vi, ri)) {
                    out.push(Event::RealServer {
                        rs: (vi, ri),
                        up: false,
                        why: Why::Removed,
                    });
                }
            }
        }
        let old_names: Vec<String> = old.virtual_server.iter().map(|v| v.describe()).collect();
        let old_pools = std::mem::replace(&mut self.pools, Pools::from_config(new));
        self.pools.carry_from(&old_pools, &old_names, new);
        self.set(start);
        self.evaluate(new, out);
    }

    /// The stop, for the virtual servers with `omega`: the live real servers are reported
    /// down and a quorum held is reported lost (keepalived does the same).
    pub(crate) fn stop(&self, cfg: &Config, out: &mut Vec<Event>) {
        for (vi, vs) in cfg.virtual_server.iter().enumerate().filter(|v| v.1.omega) {
            for ri in 0..vs.real_server.len() {
                if !self.down.contains(&(vi, ri)) {
                    out.push(Event::RealServer {
                        rs: (vi, ri),
                        up: false,
                        why: Why::Shutdown,
                    });
                }
            }
            if self.pools.has_quorum(vi) {
                out.push(Event::Quorum {
                    vs: vi,
                    gained: false,
                    stopping: true,
                });
            }
        }
    }

    /// What IPVS should hold, by virtual server.
    pub(crate) fn table(&self) -> &[PoolWeights] {
        &self.desired
    }

    pub(crate) fn healthy(&self, rs: RsIndex) -> bool {
        !self.down.contains(&rs)
    }

    pub(crate) fn has_quorum(&self, vs: usize) -> bool {
        self.pools.has_quorum(vs)
    }

    fn exists(&self, cfg: &Config, rs: RsIndex) -> bool {
        cfg.virtual_server
            .get(rs.0)
            .is_some_and(|v| rs.1 < v.real_server.len())
    }

    fn set(&mut self, start: Start) {
        self.down = start.down.into_iter().collect();
        self.weight = start.weights.into_iter().collect();
        // services may have moved (a reload): what they hold is compared afresh
        self.desired.clear();
    }

    /// The pools re-evaluated: quorum events, then what each service should hold.
    fn evaluate(&mut self, cfg: &Config, out: &mut Vec<Event>) {
        let (down, weight) = (&self.down, &self.weight);
        let up = |vi: usize, ri: usize| -> Option<u32> {
            if down.contains(&(vi, ri)) {
                return None;
            }
            let configured = cfg.virtual_server.get(vi)?.real_server.get(ri)?;
            Some(
                weight
                    .get(&(vi, ri))
                    .copied()
                    .unwrap_or(configured.effective.weight.0),
            )
        };
        for (vi, ev) in self.pools.update(cfg, &up) {
            out.push(Event::Quorum {
                vs: vi,
                gained: ev == QuorumEvent::Gained,
                stopping: false,
            });
        }
        let fresh = self.desired.is_empty();
        let now: Vec<PoolWeights> = (0..cfg.virtual_server.len())
            .map(|vi| self.pools.weights(cfg, vi, &up))
            .collect();
        if !fresh {
            for (vi, (before, now)) in self.desired.iter().zip(&now).enumerate() {
                if before != now {
                    out.push(Event::Desired {
                        vs: vi,
                        before: before.clone(),
                        now: now.clone(),
                    });
                }
            }
        }
        self.desired = now;
    }
}

#[cfg(test)]
mod tests;
