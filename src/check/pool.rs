//! A virtual server's pool, sans-IO: real-server health in, quorum events and the weights
//! IPVS should carry out, with keepalived's semantics (check/ipwrapper.c):
//!
//! - the live weight is the sum of the weights of the healthy real servers;
//! - the pool has quorum; it loses it when the live weight is 0 or below
//!   `quorum - hysteresis`, and gains it back at `quorum + hysteresis` or more;
//! - without quorum the sorry server (if configured) takes the traffic and the remaining
//!   healthy real servers are taken out; with quorum the sorry server is removed (kept at
//!   weight 0 with its `inhibit`) and the healthy ones are back;
//! - a failed real server is removed, or kept at weight 0 with `inhibit_on_failure`;
//! - at start, a pool without quorum brings its sorry server in at once.

/// One real server as the pool sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Member {
    pub weight: u32,
    pub healthy: bool,
    pub inhibit_on_failure: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sorry {
    /// Weight 0 instead of removal while not in use.
    pub inhibit: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum QuorumEvent {
    /// quorum_up: run its script, notify.
    Gained,
    /// quorum_down.
    Lost,
}

/// What IPVS should hold for a member: absent, or present with a weight.
pub(crate) type Desired = Option<u32>;

#[derive(Clone, Debug)]
pub(crate) struct Pool {
    quorum: u64,
    hysteresis: u64,
    sorry: Option<Sorry>,
    up: bool,
}

impl Pool {
    pub(crate) fn new(quorum: u32, hysteresis: u32, sorry: Option<Sorry>) -> Pool {
        Pool {
            quorum: u64::from(quorum.max(1)),
            hysteresis: u64::from(hysteresis),
            sorry,
            up: true,
        }
    }

    /// Re-evaluate after a health change (or at start).
    #[must_use]
    pub(crate) fn update(&mut self, members: &[Member]) -> Option<QuorumEvent> {
        let live: u64 = members
            .iter()
            .filter(|m| m.healthy)
            .map(|m| u64::from(m.weight))
            .sum();
        if self.up {
            let threshold = self.quorum.saturating_sub(self.hysteresis);
            if live == 0 || live < threshold {
                self.up = false;
                return Some(QuorumEvent::Lost);
            }
        } else if live >= self.quorum + self.hysteresis {
            self.up = true;
            return Some(QuorumEvent::Gained);
        }
        None
    }

    /// The weights IPVS should hold: one per member, and the sorry server's.
    pub(crate) fn desired(&self, members: &[Member]) -> (Vec<Desired>, Desired) {
        let real = members
            .iter()
            .map(|m| {
                if !m.healthy {
                    m.inhibit_on_failure.then_some(0)
                } else if self.up || self.sorry.is_none() {
                    Some(m.weight)
                } else {
                    // the sorry server has the traffic: healthy servers are taken out
                    // (kept at 0 if they would be inhibited anyway)
                    m.inhibit_on_failure.then_some(0)
                }
            })
            .collect();
        let sorry = match self.sorry {
            None => None,
            Some(_) if !self.up => Some(1),
            Some(s) => s.inhibit.then_some(0),
        };
        (real, sorry)
    }
}

/// The pools of every virtual server of a configuration.
#[derive(Clone, Debug, Default)]
pub(crate) struct Pools {
    pools: Vec<Pool>,
}

impl Pools {
    pub(crate) fn from_config(cfg: &crate::config::model::Config) -> Pools {
        Pools {
            pools: cfg
                .virtual_server
                .iter()
                .map(|vs| {
                    Pool::new(
                        vs.quorum,
                        vs.hysteresis,
                        vs.sorry_server
                            .as_ref()
                            .map(|s| Sorry { inhibit: s.inhibit }),
                    )
                })
                .collect(),
        }
    }

    /// A predecessor binary's quorum state for virtual server `vi` (`ldirector upgrade`):
    /// what hysteresis decided stays decided.
    pub(crate) fn set_quorum(&mut self, vi: usize, up: bool) {
        if let Some(p) = self.pools.get_mut(vi) {
            p.up = up;
        }
    }

    /// Whether virtual server `vi` holds its quorum.
    pub(crate) fn has_quorum(&self, vi: usize) -> bool {
        self.pools.get(vi).is_some_and(|p| p.up)
    }

    /// After a reload: the pools of services that were already there keep their quorum
    /// state (no quorum_up / quorum_down because of the reload itself). `old_names` are
    /// the previous configuration's services, as `describe()` names them.
    pub(crate) fn carry_from(
        &mut self,
        old: &Pools,
        old_names: &[String],
        cfg: &crate::config::model::Config,
    ) {
        let by_name: std::collections::HashMap<&str, usize> = old_names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i))
            .collect();
        for (vi, vs) in cfg.virtual_server.iter().enumerate() {
            let before = by_name
                .get(vs.describe().as_str())
                .and_then(|&i| old.pools.get(i));
            if let (Some(o), Some(p)) = (before, self.pools.get_mut(vi)) {
                p.up = o.up;
            }
        }
    }

    fn members(
        cfg: &crate::config::model::Config,
        vi: usize,
        up: &dyn Fn(usize, usize) -> Option<u32>,
    ) -> Vec<Member> {
        cfg.virtual_server[vi]
            .real_server
            .iter()
            .enumerate()
            .map(|(ri, rs)| Member {
                weight: up(vi, ri).unwrap_or(rs.effective.weight.0),
                healthy: up(vi, ri).is_some(),
                inhibit_on_failure: rs.effective.inhibit_on_failure,
            })
            .collect()
    }

    /// Re-evaluate every pool; the quorum events, by virtual server. `up(vs, rs)`: None
    /// when the real server failed, else its weight (configured, or set by misc_dynamic).
    #[must_use]
    pub(crate) fn update(
        &mut self,
        cfg: &crate::config::model::Config,
        up: &dyn Fn(usize, usize) -> Option<u32>,
    ) -> Vec<(usize, QuorumEvent)> {
        let mut ev = Vec::new();
        for (vi, p) in self.pools.iter_mut().enumerate() {
            if vi >= cfg.virtual_server.len() {
                break;
            }
            if let Some(e) = p.update(&Self::members(cfg, vi, up)) {
                ev.push((vi, e));
            }
        }
        ev
    }

    /// What IPVS should hold for virtual server `vi`: per real server, and the sorry server.
    pub(crate) fn weights(
        &self,
        cfg: &crate::config::model::Config,
        vi: usize,
        up: &dyn Fn(usize, usize) -> Option<u32>,
    ) -> (Vec<Desired>, Desired) {
        match self.pools.get(vi) {
            Some(p) => p.desired(&Self::members(cfg, vi, up)),
            None => (Vec::new(), None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(weight: u32, healthy: bool) -> Member {
        Member {
            weight,
            healthy,
            inhibit_on_failure: false,
        }
    }

    #[test]
    fn default_quorum_is_one_live_server() {
        let mut p = Pool::new(1, 0, Some(Sorry { inhibit: false }));
        let mut rs = vec![m(1, true), m(2, true)];
        assert_eq!(p.update(&rs), None);
        assert_eq!(p.desired(&rs), (vec![Some(1), Some(2)], None));
        rs[0].healthy = false;
        assert_eq!(p.update(&rs), None);
        assert_eq!(p.desired(&rs), (vec![None, Some(2)], None));
        rs[1].healthy = false;
        assert_eq!(p.update(&rs), Some(QuorumEvent::Lost));
        assert_eq!(p.desired(&rs), (vec![None, None], Some(1)));
        rs[0].healthy = true;
        assert_eq!(p.update(&rs), Some(QuorumEvent::Gained));
        assert_eq!(p.desired(&rs), (vec![Some(1), None], None));
    }

    #[test]
    fn hysteresis_and_sorry_takeover() {
        // quorum 5 +- 2: lost below 3, gained back at 7
        let mut p = Pool::new(5, 2, Some(Sorry { inhibit: true }));
        let mut rs = vec![m(4, true), m(4, true)];
        assert_eq!(p.update(&rs), None);
        assert_eq!(
            p.desired(&rs).1,
            Some(0),
            "inhibited sorry server kept at 0"
        );
        rs[0].healthy = false; // live 4: still above 3
        assert_eq!(p.update(&rs), None);
        rs[1].weight = 2; // live 2 < 3
        assert_eq!(p.update(&rs), Some(QuorumEvent::Lost));
        // the sorry server takes over; the healthy one is taken out
        assert_eq!(p.desired(&rs), (vec![None, None], Some(1)));
        rs[0].healthy = true; // live 6 < 7: not yet
        assert_eq!(p.update(&rs), None);
        rs[1].weight = 4; // live 8
        assert_eq!(p.update(&rs), Some(QuorumEvent::Gained));
        assert_eq!(p.desired(&rs), (vec![Some(4), Some(4)], Some(0)));
    }

    #[test]
    fn inhibit_on_failure_keeps_weight_zero() {
        let mut p = Pool::new(1, 0, None);
        let rs = vec![
            Member {
                weight: 3,
                healthy: false,
                inhibit_on_failure: true,
            },
            m(1, true),
        ];
        assert_eq!(p.update(&rs), None);
        assert_eq!(p.desired(&rs), (vec![Some(0), Some(1)], None));
    }

    #[test]
    fn starting_without_quorum_brings_the_sorry_server() {
        let mut p = Pool::new(1, 0, Some(Sorry { inhibit: false }));
        let rs = vec![m(1, false)];
        assert_eq!(p.update(&rs), Some(QuorumEvent::Lost));
        assert_eq!(p.desired(&rs), (vec![None], Some(1)));
    }
}
