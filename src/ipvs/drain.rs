//! Draining, sans-IO: a destination that a reload removes from a service that stays is not
//! deleted at once (which would cut its users off, keepalived's issue #1228) but kept at
//! weight 0 — no new connections, the established ones go on — until it has no active
//! connection left (TCP, SCTP; for UDP, whose flows the kernel counts as inactive, no
//! connection at all) or `lvs_drain_timeout` has passed. Then the next sync deletes it.
//! A destination that comes back in a later reload simply stops draining.

use super::table::{Dest, DestConns, DestKey, ServiceKey, Table, IPPROTO_UDP};
use indexmap::IndexMap;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    dest: Dest,
    deadline: Instant,
}

/// A draining destination as a successor binary takes it over.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct SavedDrain {
    pub service: ServiceKey,
    pub dest: DestKey,
    /// How long it may still drain (`lvs_drain_timeout` left).
    pub left_ms: u64,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Draining {
    entries: IndexMap<(ServiceKey, DestKey), Entry>,
}

/// Why a destination stopped draining.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Done {
    /// Its connections ended.
    Idle,
    /// `lvs_drain_timeout` passed with connections left (they are cut).
    Timeout { active: u32, inactive: u32 },
}

impl Draining {
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// A reload: `before` is what the previous config asked for, `after` the new one,
    /// `kernel` what the kernel holds. Destinations dropped from a service that stays (and
    /// still in the kernel with a weight) start draining; those back in `after` stop.
    /// Returns the destinations that started.
    pub(crate) fn reload(
        &mut self,
        before: &Table,
        after: &Table,
        kernel: &Table,
        now: Instant,
        timeout: Duration,
    ) -> Vec<(ServiceKey, DestKey)> {
        self.entries.retain(|(s, d), _| {
            !after
                .services
                .get(s)
                .is_some_and(|e| e.dests.contains_key(d))
        });
        let mut started = Vec::new();
        if timeout.is_zero() {
            return started;
        }
        for (sk, old) in &before.services {
            let Some(new) = after.services.get(sk) else {
                continue; // the whole service goes: nothing to drain into
            };
            for dk in old.dests.keys() {
                if new.dests.contains_key(dk) || self.entries.contains_key(&(*sk, *dk)) {
                    continue;
                }
                let Some(live) = kernel.services.get(sk).and_then(|e| e.dests.get(dk)) else {
                    continue;
                };
                let mut dest = *live;
                dest.weight = 0;
                self.entries.insert(
                    (*sk, *dk),
                    Entry {
                        dest,
                        deadline: now + timeout,
                    },
                );
                started.push((*sk, *dk));
            }
        }
        started
    }

    /// The destinations draining and how long each may still drain, for a successor
    /// binary (`ldirector upgrade`).
    pub(crate) fn save(&self, now: Instant) -> Vec<SavedDrain> {
        self.entries
            .iter()
            .map(|((sk, dk), e)| SavedDrain {
                service: *sk,
                dest: *dk,
                left_ms: u64::try_from(e.deadline.saturating_duration_since(now).as_millis())
                    .unwrap_or(u64::MAX),
            })
            .collect()
    }

    /// Go on draining what a predecessor binary was draining (`elapsed` ago), for the
    /// destinations still in the kernel (`kernel`); how many.
    pub(crate) fn resume(
        &mut self,
        saved: &[SavedDrain],
        kernel: &Table,
        now: Instant,
        elapsed: Duration,
    ) -> usize {
        let mut n = 0;
        for d in saved {
            let Some(live) = kernel
                .services
                .get(&d.service)
                .and_then(|e| e.dests.get(&d.dest))
            else {
                continue;
            };
            let mut dest = *live;
            dest.weight = 0;
            let left = Duration::from_millis(d.left_ms).saturating_sub(elapsed);
            self.entries.insert(
                (d.service, d.dest),
                Entry {
                    dest,
                    deadline: now + left,
                },
            );
            n += 1;
        }
        n
    }

    /// Add the draining destinations (weight 0) to a desired table.
    pub(crate) fn keep(&self, want: &mut Table) {
        for ((sk, dk), e) in &self.entries {
            if let Some(s) = want.services.get_mut(sk) {
                s.dests.entry(*dk).or_insert(e.dest);
            }
        }
    }

    /// The services whose destinations' connections must be read.
    pub(crate) fn services(&self) -> Vec<ServiceKey> {
        let mut v: Vec<ServiceKey> = self.entries.keys().map(|(s, _)| *s).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// With the connection counts read from the kernel (None: the destination is gone),
    /// the destinations that are done draining; they are forgotten, so the next sync
    /// deletes them.
    #[must_use]
    pub(crate) fn tick(
        &mut self,
        now: Instant,
        conns: &dyn Fn(&ServiceKey, &DestKey) -> Option<DestConns>,
    ) -> Vec<(ServiceKey, DestKey, Done)> {
        let mut done = Vec::new();
        self.entries.retain(|(sk, dk), e| {
            let c = conns(sk, dk).unwrap_or_default();
            let udp = matches!(sk, ServiceKey::Addr { protocol, .. } if *protocol == IPPROTO_UDP);
            let idle = c.active == 0 && (!udp || c.inactive == 0);
            let verdict = if idle {
                Some(Done::Idle)
            } else if now >= e.deadline {
                Some(Done::Timeout {
                    active: c.active,
                    inactive: c.inactive,
                })
            } else {
                None
            };
            match verdict {
                Some(v) => {
                    done.push((*sk, *dk, v));
                    false
                }
                None => true,
            }
        });
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::table::{Fwd, Service, ServiceEntry, IPPROTO_TCP};

    fn key(proto: u16) -> ServiceKey {
        ServiceKey::Addr {
            protocol: proto,
            addr: "192.0.2.100".parse().unwrap(),
            port: 80,
        }
    }

    fn dk(last: u8) -> DestKey {
        DestKey {
            addr: format!("198.51.100.{last}").parse().unwrap(),
            port: 80,
        }
    }

    fn table(proto: u16, dests: &[u8]) -> Table {
        let mut t = Table::default();
        t.services.insert(
            key(proto),
            ServiceEntry {
                service: Service {
                    sched: "rr".into(),
                    flags: 0,
                    timeout: 0,
                    netmask: 0xffff_ffff,
                    pe_name: None,
                },
                dests: dests
                    .iter()
                    .map(|&d| (dk(d), Dest::new(Fwd::Nat, 3)))
                    .collect(),
            },
        );
        t
    }

    fn conns(active: u32, inactive: u32) -> DestConns {
        DestConns {
            active,
            inactive,
            persistent: 0,
        }
    }

    #[test]
    fn a_removed_destination_drains_at_weight_zero_until_idle() {
        let t0 = Instant::now();
        let mut d = Draining::default();
        let before = table(IPPROTO_TCP, &[10, 11]);
        let after = table(IPPROTO_TCP, &[10]);
        let started = d.reload(&before, &after, &before, t0, Duration::from_secs(60));
        assert_eq!(started, vec![(key(IPPROTO_TCP), dk(11))]);
        let mut want = after.clone();
        d.keep(&mut want);
        assert_eq!(want.services[0].dests[&dk(11)].weight, 0);
        assert_eq!(want.services[0].dests[&dk(10)].weight, 3);
        // still busy: kept
        assert!(d.tick(t0, &|_, _| Some(conns(2, 5))).is_empty());
        // only TIME_WAIT-like inactive entries left on TCP: done
        let done = d.tick(t0, &|_, _| Some(conns(0, 5)));
        assert_eq!(done, vec![(key(IPPROTO_TCP), dk(11), Done::Idle)]);
        assert!(d.is_empty());
    }

    #[test]
    fn timeout_udp_and_comebacks() {
        let t0 = Instant::now();
        let mut d = Draining::default();
        let before = table(IPPROTO_UDP, &[10, 11]);
        let after = table(IPPROTO_UDP, &[10]);
        d.reload(&before, &after, &before, t0, Duration::from_secs(60));
        // UDP flows count as inactive: still draining
        assert!(d.tick(t0, &|_, _| Some(conns(0, 1))).is_empty());
        let done = d.tick(t0 + Duration::from_secs(60), &|_, _| Some(conns(0, 1)));
        assert_eq!(
            done,
            vec![(
                key(IPPROTO_UDP),
                dk(11),
                Done::Timeout {
                    active: 0,
                    inactive: 1
                }
            )]
        );
        // back in a later reload: no longer draining
        d.reload(&before, &after, &before, t0, Duration::from_secs(60));
        assert_eq!(d.len(), 1);
        d.reload(&after, &before, &before, t0, Duration::from_secs(60));
        assert!(d.is_empty());
        // not in the kernel (health had removed it), a service that goes, or timeout 0:
        // nothing to drain
        assert!(d
            .reload(&before, &after, &after, t0, Duration::from_secs(60))
            .is_empty());
        assert!(d
            .reload(
                &before,
                &Table::default(),
                &before,
                t0,
                Duration::from_secs(60)
            )
            .is_empty());
        assert!(d
            .reload(&before, &after, &before, t0, Duration::ZERO)
            .is_empty());
    }

    #[test]
    fn a_successor_goes_on_draining_with_the_time_left() {
        let t0 = Instant::now();
        let mut d = Draining::default();
        let before = table(IPPROTO_TCP, &[10, 11, 12]);
        let after = table(IPPROTO_TCP, &[10]);
        let _ = d.reload(&before, &after, &before, t0, Duration::from_secs(60));
        let saved = d.save(t0 + Duration::from_secs(20));
        assert_eq!(saved.len(), 2);
        assert!(saved.iter().all(|s| s.left_ms == 40_000));
        // the new binary, 1 s after the save; rs12 went meanwhile
        let t1 = t0 + Duration::from_secs(100);
        let mut n = Draining::default();
        let kernel = table(IPPROTO_TCP, &[10, 11]);
        assert_eq!(n.resume(&saved, &kernel, t1, Duration::from_secs(1)), 1);
        let mut want = after.clone();
        n.keep(&mut want);
        assert_eq!(
            want.services[0].dests[&dk(11)].weight,
            0,
            "kept at weight 0"
        );
        // busy until its time runs out: 39 s from the resume
        let busy = |_: &ServiceKey, _: &DestKey| Some(conns(1, 0));
        assert!(n.tick(t1 + Duration::from_secs(38), &busy).is_empty());
        let done = n.tick(t1 + Duration::from_secs(39), &busy);
        assert_eq!(done.len(), 1);
        // the file's form
        let text = serde_json::to_string(&saved).unwrap();
        let back: Vec<SavedDrain> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, saved);
    }
}
