//! keepalived's vrrp_track_process, sans-IO: which processes match each tracker, how many
//! there are, and whether that count is within the tracker's quorum, with keepalived's
//! delays (a change a fork brings counts after `fork_delay`, one an exit brings after
//! `terminate_delay`; a change back within the delay cancels it). The I/O side
//! ([`super::proc_events`]) reads /proc and the kernel's process events and feeds this.

use crate::config::model::{ParamMatch, TrackProcess};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// What is known of one process.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Proc {
    /// /proc/PID/comm (at most 15 bytes).
    pub comm: String,
    /// /proc/PID/cmdline split at its NULs (empty for a kernel thread or a zombie).
    pub cmdline: Vec<String>,
}

/// A process event, as the kernel's process connector reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// `child` was forked from `parent` (a process, not a thread).
    Fork {
        parent: u32,
        child: u32,
    },
    /// `pid` executed a new program: what it is now.
    Exec {
        pid: u32,
        now: Proc,
    },
    /// `pid` changed its name (prctl PR_SET_NAME).
    Comm {
        pid: u32,
        comm: String,
    },
    Exit {
        pid: u32,
    },
}

/// Whether `p` is a process `t` counts.
pub(crate) fn matches(t: &TrackProcess, p: &Proc) -> bool {
    let by_command = t.full_command || !t.params.is_empty() || t.param_match.is_some();
    if !by_command {
        return p.comm == t.process;
    }
    let Some((cmd, args)) = p.cmdline.split_first() else {
        return false;
    };
    if *cmd != t.process {
        return false;
    }
    let want = &t.params;
    match t.param_match {
        // full_command alone: any parameters
        None if want.is_empty() => true,
        None | Some(ParamMatch::Exact) => args == want.as_slice(),
        Some(ParamMatch::Partial) => args.len() >= want.len() && args[..want.len()] == want[..],
        Some(ParamMatch::Initial) => match want.split_last() {
            None => true,
            Some((last, first)) => {
                args.len() >= want.len()
                    && args[..first.len()] == *first
                    && args[first.len()].starts_with(last.as_str())
            }
        },
    }
}

/// The cause of a change in a tracker's count, which picks its delay.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cause {
    Fork,
    Exit,
    /// exec, a new name, the first scan: no delay
    Now,
}

struct Tracker {
    name: String,
    spec: TrackProcess,
    pids: HashSet<u32>,
    /// The status VRRP was told.
    up: bool,
    /// A change waiting for its delay.
    pending: Option<Instant>,
}

impl Tracker {
    fn within_quorum(&self) -> bool {
        let n = self.pids.len() as u64;
        n >= u64::from(self.spec.quorum) && self.spec.quorum_max.is_none_or(|m| n <= u64::from(m))
    }

    fn delay(&self, cause: Cause) -> Duration {
        match cause {
            Cause::Fork => self.spec.fork_delay.as_duration(),
            Cause::Exit => self.spec.terminate_delay.as_duration(),
            Cause::Now => Duration::ZERO,
        }
    }

    /// The count changed: report a new status now, wait for the delay, or cancel a change
    /// that was waiting.
    fn settle(&mut self, cause: Cause, now: Instant, out: &mut Vec<(String, bool)>) {
        let want = self.within_quorum();
        if want == self.up {
            self.pending = None;
            return;
        }
        let d = self.delay(cause);
        if d.is_zero() {
            self.pending = None;
            self.up = want;
            out.push((self.name.clone(), want));
        } else if self.pending.is_none() {
            self.pending = Some(now + d);
        }
    }
}

/// Every tracker of a configuration and the processes each counts.
pub(crate) struct Processes {
    trackers: Vec<Tracker>,
    /// Every process some tracker counts, and the trackers that count it.
    counted: HashMap<u32, Vec<usize>>,
}

impl Processes {
    /// Trackers for `specs` (name, block); nothing counted yet: every tracker is up when
    /// its quorum is 0, down otherwise, until [`Processes::scan`].
    pub(crate) fn new<'a>(specs: impl IntoIterator<Item = (&'a String, &'a TrackProcess)>) -> Self {
        let trackers = specs
            .into_iter()
            .map(|(n, s)| {
                let mut t = Tracker {
                    name: n.clone(),
                    spec: s.clone(),
                    pids: HashSet::new(),
                    up: false,
                    pending: None,
                };
                t.up = t.within_quorum();
                t
            })
            .collect();
        Processes {
            trackers,
            counted: HashMap::new(),
        }
    }

    /// Every tracker's status now.
    pub(crate) fn status(&self) -> Vec<(String, bool)> {
        self.trackers
            .iter()
            .map(|t| (t.name.clone(), t.up))
            .collect()
    }

    /// The processes running now (a scan of /proc): counts start from them, at once.
    #[must_use]
    pub(crate) fn scan(
        &mut self,
        all: impl IntoIterator<Item = (u32, Proc)>,
        now: Instant,
    ) -> Vec<(String, bool)> {
        for t in &mut self.trackers {
            t.pids.clear();
        }
        self.counted.clear();
        for (pid, p) in all {
            self.count(pid, &p);
        }
        let mut out = Vec::new();
        for t in &mut self.trackers {
            t.settle(Cause::Now, now, &mut out);
        }
        out
    }

    fn count(&mut self, pid: u32, p: &Proc) {
        let which: Vec<usize> = (0..self.trackers.len())
            .filter(|&i| matches(&self.trackers[i].spec, p))
            .collect();
        for &i in &which {
            self.trackers[i].pids.insert(pid);
        }
        if !which.is_empty() {
            self.counted.insert(pid, which);
        }
    }

    /// Forget `pid`; the trackers that counted it.
    fn forget(&mut self, pid: u32) -> Vec<usize> {
        let was = self.counted.remove(&pid).unwrap_or_default();
        for &i in &was {
            self.trackers[i].pids.remove(&pid);
        }
        was
    }

    /// One process event; the trackers whose status changes now go to `out`.
    pub(crate) fn handle(&mut self, ev: Event, now: Instant, out: &mut Vec<(String, bool)>) {
        let (touched, cause): (Vec<usize>, Cause) = match ev {
            // a child of a counted process is counted by the same trackers (it is the
            // same program until it executes another)
            Event::Fork { parent, child } => match self.counted.get(&parent).cloned() {
                Some(which) => {
                    for &i in &which {
                        self.trackers[i].pids.insert(child);
                    }
                    self.counted.insert(child, which.clone());
                    (which, Cause::Fork)
                }
                None => (Vec::new(), Cause::Fork),
            },
            Event::Exec { pid, now: p } => {
                let mut t = self.forget(pid);
                self.count(pid, &p);
                t.extend(self.counted.get(&pid).into_iter().flatten().copied());
                (t, Cause::Now)
            }
            Event::Comm { pid, comm } => {
                // only the trackers that match by name look at it
                let mut t = Vec::new();
                for i in 0..self.trackers.len() {
                    let by_name = {
                        let s = &self.trackers[i].spec;
                        !s.full_command && s.params.is_empty() && s.param_match.is_none()
                    };
                    if !by_name {
                        continue;
                    }
                    let is = comm == self.trackers[i].spec.process;
                    let was = self.trackers[i].pids.contains(&pid);
                    if is == was {
                        continue;
                    }
                    let e = self.counted.entry(pid).or_default();
                    if is {
                        self.trackers[i].pids.insert(pid);
                        e.push(i);
                    } else {
                        self.trackers[i].pids.remove(&pid);
                        e.retain(|&x| x != i);
                    }
                    t.push(i);
                }
                if self.counted.get(&pid).is_some_and(|v| v.is_empty()) {
                    self.counted.remove(&pid);
                }
                (t, Cause::Now)
            }
            Event::Exit { pid } => (self.forget(pid), Cause::Exit),
        };
        let mut seen = HashSet::new();
        for i in touched {
            if seen.insert(i) {
                self.trackers[i].settle(cause, now, out);
            }
        }
    }

    /// When the next delayed change is due.
    #[must_use]
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.trackers.iter().filter_map(|t| t.pending).min()
    }

    /// Delayed changes that are due: they count now if the count still says so (to
    /// `out`).
    pub(crate) fn handle_timeout(&mut self, now: Instant, out: &mut Vec<(String, bool)>) {
        for t in &mut self.trackers {
            if t.pending.is_some_and(|d| d <= now) {
                t.pending = None;
                t.settle(Cause::Now, now, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The changes as a returned list (the tests read better so).
    trait Returning {
        fn h(&mut self, ev: Event, now: Instant) -> Vec<(String, bool)>;
        fn t(&mut self, now: Instant) -> Vec<(String, bool)>;
    }

    impl Returning for Processes {
        fn h(&mut self, ev: Event, now: Instant) -> Vec<(String, bool)> {
            let mut out = Vec::new();
            self.handle(ev, now, &mut out);
            out
        }

        fn t(&mut self, now: Instant) -> Vec<(String, bool)> {
            let mut out = Vec::new();
            self.handle_timeout(now, &mut out);
            out
        }
    }
    use crate::config::types::Secs;

    fn named(name: &str) -> Proc {
        Proc {
            comm: name.into(),
            cmdline: vec![format!("/usr/sbin/{name}")],
        }
    }

    fn cmd(argv: &[&str]) -> Proc {
        Proc {
            comm: "x".into(),
            cmdline: argv.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn spec(f: impl FnOnce(&mut TrackProcess)) -> TrackProcess {
        let mut t = TrackProcess {
            process: "nginx".into(),
            ..TrackProcess::default()
        };
        f(&mut t);
        t
    }

    #[test]
    fn names_commands_and_parameters_match_as_keepalived() {
        let by_name = spec(|_| {});
        assert!(matches(&by_name, &named("nginx")));
        assert!(!matches(&by_name, &named("nginx2")), "exact, not a pattern");
        let full = spec(|t| {
            t.process = "/usr/sbin/nginx".into();
            t.full_command = true;
        });
        assert!(matches(&full, &cmd(&["/usr/sbin/nginx", "-g", "x"])));
        let renamed = Proc {
            comm: "/usr/sbin/nginx".into(),
            cmdline: vec!["nginx: worker".into()],
        };
        assert!(!matches(&full, &renamed), "the command, not the name");
        let exact = spec(|t| {
            t.process = "/bin/sleep".into();
            t.params = vec!["100".into()];
        });
        assert!(matches(&exact, &cmd(&["/bin/sleep", "100"])));
        assert!(!matches(&exact, &cmd(&["/bin/sleep", "1000"])));
        assert!(!matches(&exact, &cmd(&["/bin/sleep", "100", "x"])));
        let none = spec(|t| {
            t.process = "/bin/sleep".into();
            t.param_match = Some(ParamMatch::Exact);
        });
        assert!(
            matches(&none, &cmd(&["/bin/sleep"])),
            "no parameters at all"
        );
        assert!(!matches(&none, &cmd(&["/bin/sleep", "1"])));
        let partial = spec(|t| {
            t.process = "/bin/sleep".into();
            t.params = vec!["100".into()];
            t.param_match = Some(ParamMatch::Partial);
        });
        assert!(matches(&partial, &cmd(&["/bin/sleep", "100", "x"])));
        assert!(!matches(&partial, &cmd(&["/bin/sleep", "1000"])));
        let initial = spec(|t| {
            t.process = "/bin/sleep".into();
            t.params = vec!["10".into()];
            t.param_match = Some(ParamMatch::Initial);
        });
        assert!(matches(&initial, &cmd(&["/bin/sleep", "1000", "y"])));
        assert!(!matches(&initial, &cmd(&["/bin/sleep"])));
    }

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn quorum_forks_exits_and_delays() {
        let t0 = Instant::now();
        let mut p = Processes::new([(
            &"web".to_string(),
            &spec(|t| {
                t.quorum = 2;
                t.quorum_max = Some(3);
                t.fork_delay = Secs::from_secs(1);
                t.terminate_delay = Secs::from_secs(2);
            }),
        )]);
        assert_eq!(p.status(), vec![("web".to_string(), false)]);
        // one running: below quorum, still down
        assert!(p
            .scan([(10, named("nginx")), (11, named("sshd"))], t0)
            .is_empty());
        // a fork brings the second: up after fork_delay
        assert!(p
            .h(
                Event::Fork {
                    parent: 10,
                    child: 12
                },
                t0
            )
            .is_empty());
        assert_eq!(p.poll_timeout(), Some(t0 + secs(1.0)));
        assert!(p.t(t0 + secs(0.5)).is_empty());
        assert_eq!(p.t(t0 + secs(1.0)), vec![("web".into(), true)]);
        assert_eq!(p.poll_timeout(), None);
        // a fork of an uncounted process changes nothing
        assert!(p
            .h(
                Event::Fork {
                    parent: 11,
                    child: 13
                },
                t0
            )
            .is_empty());
        // an exit takes it below quorum, and a fork brings it back within the delay: no
        // change at all
        let t1 = t0 + secs(5.0);
        assert!(p.h(Event::Exit { pid: 12 }, t1).is_empty());
        assert!(p.poll_timeout().is_some());
        assert!(p
            .h(
                Event::Fork {
                    parent: 10,
                    child: 14
                },
                t1 + secs(1.0)
            )
            .is_empty());
        assert_eq!(p.poll_timeout(), None);
        // four (above quorum_max) after exec'ing ones: down at once
        let t2 = t1 + secs(10.0);
        assert!(p
            .h(
                Event::Exec {
                    pid: 20,
                    now: named("nginx")
                },
                t2
            )
            .is_empty());
        assert_eq!(
            p.h(
                Event::Exec {
                    pid: 21,
                    now: named("nginx")
                },
                t2
            ),
            vec![("web".into(), false)]
        );
        // one executes something else: three again
        assert_eq!(
            p.h(
                Event::Exec {
                    pid: 21,
                    now: named("bash")
                },
                t2
            ),
            vec![("web".into(), true)]
        );
        // exits of all: down after terminate_delay
        let t3 = t2 + secs(1.0);
        for pid in [10, 14, 20] {
            assert!(p.h(Event::Exit { pid }, t3).is_empty());
        }
        assert_eq!(p.poll_timeout(), Some(t3 + secs(2.0)));
        assert_eq!(p.t(t3 + secs(2.0)), vec![("web".into(), false)]);
    }

    #[test]
    fn a_new_name_counts_and_quorum_max_zero_wants_none() {
        let t0 = Instant::now();
        let none = spec(|t| {
            t.quorum = 0;
            t.quorum_max = Some(0);
        });
        let one = spec(|_| {});
        let mut p = Processes::new([(&"none".to_string(), &none), (&"one".to_string(), &one)]);
        assert_eq!(
            p.status(),
            vec![("none".to_string(), true), ("one".to_string(), false)]
        );
        assert!(p.scan([], t0).is_empty());
        let mut got = p.h(
            Event::Comm {
                pid: 7,
                comm: "nginx".into(),
            },
            t0,
        );
        got.sort();
        assert_eq!(got, vec![("none".into(), false), ("one".into(), true)]);
        let mut got = p.h(
            Event::Comm {
                pid: 7,
                comm: "other".into(),
            },
            t0,
        );
        got.sort();
        assert_eq!(got, vec![("none".into(), true), ("one".into(), false)]);
    }
}
