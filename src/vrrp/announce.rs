//! When to send gratuitous ARP / unsolicited NA rounds, sans-IO. A new master sends
//! `garp_master_repeat` rounds at once and as many again after `garp_master_delay`; while it
//! stays master, `garp_master_refresh_repeat` rounds every `garp_master_refresh`. Rounds on
//! one interface are spaced by at least `vrrp_garp_interval` (`vrrp_gna_interval` for IPv6),
//! whatever instance they belong to. Rounds that fall due together after a long stall (a
//! SIGSTOP, a suspended VM) are sent once, not as a burst of the backlog.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Timing {
    pub delay: Duration,
    pub repeat: u32,
    pub refresh: Duration,
    pub refresh_repeat: u32,
    /// Minimum gap between two rounds on the instance's interface.
    pub interval: Duration,
}

/// The rounds of the instances named by `K` (the engine's stable instance ids).
#[derive(Clone, Debug)]
pub(crate) struct Schedule<K> {
    /// (when, instance), unordered; small.
    pending: Vec<(Instant, K)>,
    /// Next refresh per instance while master.
    refresh: HashMap<K, Instant>,
    /// When each interface may carry the next round.
    iface_free: HashMap<String, Instant>,
}

impl<K> Default for Schedule<K> {
    fn default() -> Self {
        Schedule {
            pending: Vec::new(),
            refresh: HashMap::new(),
            iface_free: HashMap::new(),
        }
    }
}

impl<K: Copy + Eq + Hash + Ord> Schedule<K> {
    /// A new master (or a master re-asserting itself): `repeat` rounds now, `repeat` more
    /// after `delay`, then refreshes.
    pub(crate) fn takeover(&mut self, inst: K, t: &Timing, now: Instant) {
        self.cancel(inst);
        for _ in 0..t.repeat.max(1) {
            self.pending.push((now, inst));
        }
        if !t.delay.is_zero() {
            for _ in 0..t.repeat {
                self.pending.push((now + t.delay, inst));
            }
        }
        if !t.refresh.is_zero() {
            self.refresh.insert(inst, now + t.refresh);
        }
    }

    /// `n` extra rounds now and `n` more after `delay` (a healed split brain: keepalived's
    /// garp_lower_prio_repeat / _delay).
    /// Rounds already pending for the instance are replaced, not added to: however often
    /// it is asked, an instance has at most `2 n` re-announcement rounds queued.
    pub(crate) fn reannounce(&mut self, inst: K, n: u32, delay: Duration, now: Instant) {
        self.pending.retain(|&(_, i)| i != inst);
        for _ in 0..n.max(1) {
            self.pending.push((now, inst));
        }
        if !delay.is_zero() {
            for _ in 0..n {
                self.pending.push((now + delay, inst));
            }
        }
    }

    /// Keep only the rounds of the instances for which `keep` says true.
    pub(crate) fn retain(&mut self, keep: impl Fn(K) -> bool) {
        self.pending.retain(|&(_, i)| keep(i));
        self.refresh.retain(|&i, _| keep(i));
    }

    /// The instance left Master: nothing more to announce.
    pub(crate) fn cancel(&mut self, inst: K) {
        self.pending.retain(|&(_, i)| i != inst);
        self.refresh.remove(&inst);
    }

    #[must_use]
    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        let a = self.pending.iter().map(|&(t, _)| t).min();
        let b = self.refresh.values().copied().min();
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Rounds to send now, into `out`: at most one per instance and interface gap.
    /// `iface` and `timing` describe each instance.
    pub(crate) fn poll<'a>(
        &mut self,
        now: Instant,
        iface: impl Fn(K) -> &'a str,
        timing: impl Fn(K) -> &'a Timing,
        out: &mut Vec<K>,
    ) {
        // refreshes fall due: queue their rounds
        let due: Vec<K> = self
            .refresh
            .iter()
            .filter(|(_, &t)| t <= now)
            .map(|(&i, _)| i)
            .collect();
        for i in due {
            let t = timing(i);
            for _ in 0..t.refresh_repeat.max(1) {
                self.pending.push((now, i));
            }
            self.refresh.insert(i, now + t.refresh);
        }
        self.pending.sort_by_key(|&(t, i)| (t, i));
        let mut k = 0;
        while k < self.pending.len() {
            let (t, i) = self.pending[k];
            if t > now {
                break;
            }
            let name = iface(i);
            let gap = timing(i).interval;
            let free = self.iface_free.get(name).copied();
            if free.is_some_and(|f| f > now) {
                // the interface is busy: this round waits (keeps its order)
                self.pending[k].0 = free.unwrap_or(now);
                k += 1;
                continue;
            }
            self.pending.remove(k);
            out.push(i);
            if !gap.is_zero() {
                self.iface_free.insert(name.to_string(), now + gap);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// The rounds due at `now` (one instance timing, one interface).
    fn due(s: &mut Schedule<usize>, now: Instant, t: &Timing) -> Vec<usize> {
        let mut out = Vec::new();
        s.poll(now, |_| "eth0", |_| t, &mut out);
        out
    }

    /// However often re-announcements are asked for, the queue holds one set.
    #[test]
    fn reannouncements_coalesce() {
        let t = Timing {
            interval: ms(100),
            ..Timing::default()
        };
        let mut s = Schedule::<usize>::default();
        let t0 = Instant::now();
        for k in 0..10_000 {
            s.reannounce(0, 5, ms(2000), t0 + Duration::from_micros(k));
        }
        assert_eq!(s.pending.len(), 10);
        let sent = due(&mut s, t0 + ms(10), &t);
        assert_eq!(sent, vec![0], "one round per interface gap");
    }

    #[test]
    fn takeover_then_delayed_then_refresh() {
        let t = Timing {
            delay: ms(5000),
            repeat: 5,
            refresh: ms(60_000),
            refresh_repeat: 2,
            interval: Duration::ZERO,
        };
        let mut s = Schedule::<usize>::default();
        let t0 = Instant::now();
        s.takeover(0, &t, t0);
        assert_eq!(due(&mut s, t0, &t), vec![0; 5]);
        assert_eq!(s.next_timeout(), Some(t0 + ms(5000)));
        assert!(due(&mut s, t0 + ms(4999), &t).is_empty());
        assert_eq!(due(&mut s, t0 + ms(5000), &t), vec![0; 5]);
        assert_eq!(s.next_timeout(), Some(t0 + ms(60_000)));
        assert_eq!(due(&mut s, t0 + ms(60_000), &t), vec![0; 2]);
        assert_eq!(s.next_timeout(), Some(t0 + ms(120_000)));
        s.cancel(0);
        assert_eq!(s.next_timeout(), None);
    }

    #[test]
    fn interface_gap_spaces_rounds_of_all_instances() {
        let t = Timing {
            repeat: 2,
            interval: ms(10),
            ..Timing::default()
        };
        let mut s = Schedule::<usize>::default();
        let t0 = Instant::now();
        s.takeover(0, &t, t0);
        s.takeover(1, &t, t0);
        assert_eq!(due(&mut s, t0, &t), vec![0]);
        assert_eq!(s.next_timeout(), Some(t0 + ms(10)));
        assert_eq!(due(&mut s, t0 + ms(10), &t), vec![0]);
        assert_eq!(due(&mut s, t0 + ms(20), &t), vec![1]);
        assert_eq!(due(&mut s, t0 + ms(30), &t), vec![1]);
        assert_eq!(s.next_timeout(), None);
    }

    #[test]
    fn a_stall_does_not_burst() {
        let t = Timing {
            delay: ms(5000),
            repeat: 5,
            refresh: ms(1000),
            refresh_repeat: 1,
            interval: Duration::ZERO,
        };
        let mut s = Schedule::<usize>::default();
        let t0 = Instant::now();
        s.takeover(0, &t, t0);
        due(&mut s, t0, &t);
        // an hour later: the delayed rounds and one refresh, not 3600 refreshes
        let n = due(&mut s, t0 + ms(3_600_000), &t).len();
        assert_eq!(n, 6);
    }
}
