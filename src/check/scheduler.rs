//! The checker scheduler, sans-IO: when to start each probe, and what its results mean, with
//! keepalived's semantics. Time comes in as an argument; probes to start and health changes
//! go out. The probes themselves run elsewhere (tokio tasks) and report back with
//! [`Scheduler::result`].
//!
//! Per checker:
//! - the first probe starts after a random delay in `[0, warmup]`, spreading thousands of
//!   checks over the interval instead of firing them together;
//! - a checker starts up, or down with `alpha`;
//! - after a success the next probe is `delay_loop` later; a success while down brings the
//!   checker up at once;
//! - after a failure while up, the probe is retried `retry` times, `delay_before_retry` apart;
//!   the checker goes down when the last retry fails too (a success in between resets it);
//!   while down, probes run every `delay_loop`.
//!
//! A real server is up when all its checkers are up. Timers live in one binary heap: popping
//! the due ones costs O(log n) each, whatever the number of checkers.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

/// How one checker is timed (the effective values from the config model).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Timing {
    pub delay_loop: Duration,
    pub retry: u32,
    pub delay_before_retry: Duration,
    pub warmup: Duration,
    /// Start down until the first success.
    pub alpha: bool,
    /// The probe's deadline, kept here (one timer heap for every probe in flight) when the
    /// probe does not bound itself: past it the probe is abandoned and counts as failed.
    pub timeout: Option<Duration>,
}

/// A checker, by index in registration order.
pub(crate) type CheckerId = usize;
/// A real server, as the caller numbers it.
pub(crate) type ServerId = usize;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Output {
    /// Start a probe for this checker (report it with `result`).
    Probe(CheckerId),
    /// The probe passed its deadline: stop it (its failure is already counted).
    Abandon(CheckerId),
    /// The checker changed state (for logs and metrics).
    Checker { id: CheckerId, up: bool },
    /// The real server's health changed (all its checkers up, or not).
    Server { id: ServerId, up: bool },
}

#[derive(Clone, Debug)]
struct Checker {
    server: ServerId,
    timing: Timing,
    up: bool,
    /// Failures in a row while up (retries used).
    failures: u32,
    /// A probe is running: no other is started for this checker.
    running: bool,
    /// Bumped whenever the checker's timer is replaced, so stale heap entries are skipped.
    generation: u64,
    /// Probes started and failed (counters for metrics).
    probes: u64,
    failed: u64,
    /// When the next probe is due.
    due: Instant,
}

/// A checker's state, carried over a reload to its unchanged successor so that a reload
/// neither re-checks everything at once nor forgets a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Carried {
    pub up: bool,
    pub failures: u32,
    /// The next probe (a probe in flight is started again at once).
    pub due: Option<Instant>,
    pub probes: u64,
    pub failed: u64,
}

pub(crate) struct Scheduler {
    checkers: Vec<Checker>,
    /// Checkers per server and how many of them are down.
    servers: Vec<(Vec<CheckerId>, usize)>,
    heap: BinaryHeap<Reverse<(Instant, CheckerId, u64)>>,
    rng: u64,
}

impl Scheduler {
    /// `seed`: the warmup jitter's seed (tests pass a fixed one).
    pub(crate) fn new(seed: u64) -> Scheduler {
        Scheduler {
            checkers: Vec::new(),
            servers: Vec::new(),
            heap: BinaryHeap::new(),
            rng: seed | 1,
        }
    }

    fn random(&mut self) -> u64 {
        // xorshift64: jitter only, not security
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    /// Register a checker of `server`; its first probe is scheduled from `now`.
    pub(crate) fn add(&mut self, server: ServerId, timing: Timing, now: Instant) -> CheckerId {
        let w = timing.warmup.as_nanos() as u64;
        let delay = if w == 0 { 0 } else { self.random() % (w + 1) };
        let state = Carried {
            up: !timing.alpha,
            failures: 0,
            due: Some(now + Duration::from_nanos(delay)),
            probes: 0,
            failed: 0,
        };
        self.add_carried(server, timing, state, now)
    }

    /// Register a checker that goes on from a predecessor's state.
    pub(crate) fn add_carried(
        &mut self,
        server: ServerId,
        timing: Timing,
        state: Carried,
        now: Instant,
    ) -> CheckerId {
        let id = self.checkers.len();
        if self.servers.len() <= server {
            self.servers.resize(server + 1, (Vec::new(), 0));
        }
        self.servers[server].0.push(id);
        if !state.up {
            self.servers[server].1 += 1;
        }
        self.checkers.push(Checker {
            server,
            timing,
            up: state.up,
            failures: state.failures.min(timing.retry),
            running: false,
            generation: 0,
            probes: state.probes,
            failed: state.failed,
            due: now,
        });
        self.schedule(id, state.due.unwrap_or(now));
        id
    }

    /// A checker's state, to carry over a reload.
    pub(crate) fn carry(&self, id: CheckerId) -> Carried {
        let c = &self.checkers[id];
        Carried {
            up: c.up,
            failures: c.failures,
            due: (!c.running).then_some(c.due),
            probes: c.probes,
            failed: c.failed,
        }
    }

    /// Whether a real server is up (all its checkers up; no checker: up).
    pub(crate) fn server_up(&self, server: ServerId) -> bool {
        self.servers.get(server).is_none_or(|s| s.1 == 0)
    }

    #[cfg(test)]
    /// (probes started, probes failed) of a checker.
    pub(crate) fn counters(&self, id: CheckerId) -> (u64, u64) {
        (self.checkers[id].probes, self.checkers[id].failed)
    }

    fn schedule(&mut self, id: CheckerId, at: Instant) {
        let c = &mut self.checkers[id];
        c.generation += 1;
        c.due = at;
        self.heap.push(Reverse((at, id, c.generation)));
    }

    /// When `poll` has something to do next (timers replaced since are dropped here, so
    /// an answered probe's deadline wakes nobody).
    #[must_use]
    pub(crate) fn next_timeout(&mut self) -> Option<Instant> {
        while let Some(&Reverse((t, id, generation))) = self.heap.peek() {
            if self.checkers[id].generation == generation {
                return Some(t);
            }
            self.heap.pop();
        }
        None
    }

    /// Apply a verdict known without a probe (FILE_CHECK's file value).
    pub(crate) fn verdict(&mut self, id: CheckerId, ok: bool, now: Instant, out: &mut Vec<Output>) {
        self.checkers[id].running = true;
        self.result(id, ok, now, out);
    }

    /// Probes due by `now`.
    pub(crate) fn poll(&mut self, now: Instant, out: &mut Vec<Output>) {
        while let Some(&Reverse((t, id, generation))) = self.heap.peek() {
            if t > now {
                break;
            }
            self.heap.pop();
            let c = &mut self.checkers[id];
            if generation != c.generation {
                continue; // replaced
            }
            if c.running {
                // the deadline of the probe in flight
                out.push(Output::Abandon(id));
                self.result(id, false, now, out);
                continue;
            }
            c.running = true;
            c.probes += 1;
            out.push(Output::Probe(id));
            if let Some(d) = c.timing.timeout {
                self.schedule(id, now + d);
            }
        }
    }

    /// A probe finished. A result for a checker with no probe in flight (one abandoned at
    /// its deadline) is ignored.
    pub(crate) fn result(&mut self, id: CheckerId, ok: bool, now: Instant, out: &mut Vec<Output>) {
        let t = self.checkers[id].timing;
        let c = &mut self.checkers[id];
        if !c.running {
            return;
        }
        c.running = false;
        // (next probe after, state change)
        let (next, change) = if ok {
            c.failures = 0;
            let came_up = !c.up;
            c.up = true;
            (t.delay_loop, came_up.then_some(true))
        } else {
            c.failed += 1;
            if !c.up {
                (t.delay_loop, None)
            } else {
                c.failures += 1;
                if c.failures > t.retry {
                    c.failures = 0;
                    c.up = false;
                    (t.delay_loop, Some(false))
                } else {
                    (t.delay_before_retry, None)
                }
            }
        };
        // as keepalived: the next probe counts from this answer (counting from the probe's
        // start kept intervals tighter but cost a quarter more CPU per check, measured in
        // docs/benchmarks.md)
        let at = now + next;
        self.schedule(id, at);
        if let Some(up) = change {
            self.changed(id, up, out);
        }
    }

    fn changed(&mut self, id: CheckerId, up: bool, out: &mut Vec<Output>) {
        out.push(Output::Checker { id, up });
        let server = self.checkers[id].server;
        let before = self.server_up(server);
        let down = &mut self.servers[server].1;
        if up {
            *down -= 1;
        } else {
            *down += 1;
        }
        let after = self.server_up(server);
        if before != after {
            out.push(Output::Server {
                id: server,
                up: after,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn timing() -> Timing {
        Timing {
            delay_loop: s(6),
            retry: 2,
            delay_before_retry: s(1),
            warmup: Duration::ZERO,
            alpha: false,
            timeout: None,
        }
    }

    /// Drive the scheduler to `until`, answering every probe with `verdict(time)`.
    fn run(
        sch: &mut Scheduler,
        from: Instant,
        until: Instant,
        verdict: impl Fn(Duration) -> bool,
        t0: Instant,
    ) -> Vec<(Duration, Output)> {
        let mut log = Vec::new();
        let mut now = from;
        while let Some(t) = sch.next_timeout() {
            if t > until {
                break;
            }
            now = now.max(t);
            let mut out = Vec::new();
            sch.poll(now, &mut out);
            for o in out {
                if let Output::Probe(id) = o {
                    log.push((now - t0, o.clone()));
                    let mut res = Vec::new();
                    sch.result(id, verdict(now - t0), now, &mut res);
                    log.extend(res.into_iter().map(|r| (now - t0, r)));
                }
            }
        }
        log
    }

    #[test]
    fn retries_then_down_then_up_on_one_success() {
        let t0 = Instant::now();
        let mut sch = Scheduler::new(1);
        let c = sch.add(0, timing(), t0);
        // healthy until 10 s, failing from 10 s to 30 s
        let log = run(
            &mut sch,
            t0,
            t0 + s(40),
            |t| !(s(10)..s(30)).contains(&t),
            t0,
        );
        let probes: Vec<u64> = log
            .iter()
            .filter(|(_, o)| matches!(o, Output::Probe(_)))
            .map(|(t, _)| t.as_secs())
            .collect();
        // every 6 s; at 12 the first failure, retries at 13 and 14 (delay_before_retry),
        // down at 14; then every 6 s while down: 20, 26, 32 (success: up)
        assert_eq!(probes, vec![0, 6, 12, 13, 14, 20, 26, 32, 38]);
        let changes: Vec<(u64, Output)> = log
            .iter()
            .filter(|(_, o)| !matches!(o, Output::Probe(_)))
            .map(|(t, o)| (t.as_secs(), o.clone()))
            .collect();
        assert_eq!(
            changes,
            vec![
                (14, Output::Checker { id: c, up: false }),
                (14, Output::Server { id: 0, up: false }),
                (32, Output::Checker { id: c, up: true }),
                (32, Output::Server { id: 0, up: true }),
            ]
        );
        assert_eq!(sch.counters(c), (9, 5));
    }

    #[test]
    fn a_success_between_retries_resets_them() {
        let t0 = Instant::now();
        let mut sch = Scheduler::new(1);
        sch.add(0, timing(), t0);
        // fails at 6 and 7, succeeds at 8 (the last retry): never down
        let log = run(&mut sch, t0, t0 + s(20), |t| !(s(6)..s(8)).contains(&t), t0);
        assert!(
            log.iter().all(|(_, o)| matches!(o, Output::Probe(_))),
            "{log:?}"
        );
    }

    #[test]
    fn alpha_starts_down_and_all_checkers_must_pass() {
        let t0 = Instant::now();
        let mut sch = Scheduler::new(1);
        let a = sch.add(
            0,
            Timing {
                alpha: true,
                ..timing()
            },
            t0,
        );
        let b = sch.add(
            0,
            Timing {
                retry: 0,
                ..timing()
            },
            t0,
        );
        assert!(!sch.server_up(0));
        let mut out = Vec::new();
        sch.poll(t0, &mut out);
        assert_eq!(out, vec![Output::Probe(a), Output::Probe(b)]);
        let mut out = Vec::new();
        sch.result(a, true, t0, &mut out);
        assert_eq!(
            out,
            vec![
                Output::Checker { id: a, up: true },
                Output::Server { id: 0, up: true }
            ]
        );
        let mut out = Vec::new();
        sch.result(b, false, t0, &mut out);
        assert_eq!(
            out,
            vec![
                Output::Checker { id: b, up: false },
                Output::Server { id: 0, up: false }
            ]
        );
    }

    #[test]
    fn warmup_spreads_first_probes_and_a_running_probe_is_not_doubled() {
        let t0 = Instant::now();
        let mut sch = Scheduler::new(42);
        for i in 0..1000 {
            sch.add(
                i,
                Timing {
                    warmup: s(10),
                    ..timing()
                },
                t0,
            );
        }
        let mut out = Vec::new();
        sch.poll(t0 + s(5), &mut out);
        // about half start in the first half of the warmup
        assert!((400..600).contains(&out.len()), "{}", out.len());
        // nothing answered yet: polling much later starts only the rest, never twice
        let mut more = Vec::new();
        sch.poll(t0 + s(100), &mut more);
        assert_eq!(out.len() + more.len(), 1000);
        let mut again = Vec::new();
        sch.poll(t0 + s(200), &mut again);
        assert!(again.is_empty());
    }

    #[test]
    fn ten_thousand_checkers_a_second_are_cheap() {
        // 10k checkers at delay_loop 1 s for 10 simulated seconds: 100k probes scheduled
        // and answered; the heap keeps it O(log n) per probe (a smoke test, not a timing)
        let t0 = Instant::now();
        let mut sch = Scheduler::new(7);
        for i in 0..10_000 {
            sch.add(
                i,
                Timing {
                    delay_loop: s(1),
                    warmup: s(1),
                    ..timing()
                },
                t0,
            );
        }
        let log = run(&mut sch, t0, t0 + s(10), |_| true, t0);
        let probes = log
            .iter()
            .filter(|(_, o)| matches!(o, Output::Probe(_)))
            .count();
        assert!((95_000..=110_000).contains(&probes), "{probes}");
    }

    #[test]
    fn carried_state_keeps_failures_and_the_next_probe() {
        let t0 = Instant::now();
        let mut a = Scheduler::new(1);
        let id = a.add(0, timing(), t0);
        let mut out = Vec::new();
        a.poll(t0, &mut out);
        a.result(id, false, t0, &mut out); // first failure of 3 allowed: retry in 1 s
        let c = a.carry(id);
        assert_eq!((c.up, c.failures, c.due), (true, 1, Some(t0 + s(1))));
        let mut b = Scheduler::new(1);
        let id2 = b.add_carried(0, timing(), c, t0 + Duration::from_millis(10));
        assert_eq!(b.next_timeout(), Some(t0 + s(1)), "no immediate re-check");
        // two more failures take it down, as without the reload
        let mut out = Vec::new();
        for k in 1..=2 {
            b.poll(t0 + s(k), &mut out);
            b.result(id2, false, t0 + s(k), &mut out);
        }
        assert!(
            out.contains(&Output::Server { id: 0, up: false }),
            "{out:?}"
        );
        // a down checker carried is down at once; a probe in flight is started again
        let mut out = Vec::new();
        b.poll(t0 + s(10), &mut out);
        let c = b.carry(id2);
        assert_eq!((c.up, c.due), (false, None));
        let mut d = Scheduler::new(1);
        d.add_carried(0, timing(), c, t0 + s(11));
        assert!(!d.server_up(0));
        assert_eq!(d.next_timeout(), Some(t0 + s(11)));
    }

    #[test]
    fn a_probe_past_its_deadline_is_abandoned_and_fails() {
        let t0 = Instant::now();
        let mut sch = Scheduler::new(1);
        let id = sch.add(
            0,
            Timing {
                retry: 0,
                timeout: Some(s(2)),
                ..timing()
            },
            t0,
        );
        let mut out = Vec::new();
        sch.poll(t0, &mut out);
        assert_eq!(out, vec![Output::Probe(id)]);
        assert_eq!(sch.next_timeout(), Some(t0 + s(2)), "the deadline");
        let mut out = Vec::new();
        sch.poll(t0 + s(2), &mut out);
        assert_eq!(
            out,
            vec![
                Output::Abandon(id),
                Output::Checker { id, up: false },
                Output::Server { id: 0, up: false }
            ]
        );
        // the abandoned probe's late answer changes nothing
        let mut out = Vec::new();
        sch.result(id, true, t0 + s(3), &mut out);
        assert!(out.is_empty());
        assert_eq!(
            sch.next_timeout(),
            Some(t0 + s(8)),
            "next probe a delay_loop after the failure"
        );
        // an answer in time cancels the deadline
        let mut out = Vec::new();
        sch.poll(t0 + s(8), &mut out);
        sch.result(id, true, t0 + s(9), &mut out);
        assert_eq!(sch.next_timeout(), Some(t0 + s(15)));
    }
}
