//! How the daemon's threads are scheduled: keepalived's `vrrp_priority`, `vrrp_rt_priority`,
//! `vrrp_rlimit_rttime`, `vrrp_no_swap`, `vrrp_cpu_affinity` and their `checker_*` twins,
//! applied to the VRRP thread and the health-check thread (keepalived applies them to its
//! VRRP and checker processes).
//!
//! Unlike keepalived, the VRRP thread runs under SCHED_RR by default (priority
//! [`DEFAULT_VRRP_RT_PRIORITY`]), with RLIMIT_RTTIME as a guard against a runaway loop
//! and the memory locked as it is touched: a machine saturated by health checks, scripts
//! or other work must not delay an advert past Master_Down_Interval, which would put the
//! VIPs on two directors. Where the privilege is missing (no CAP_SYS_NICE, a cgroup
//! without real-time budget) the thread runs as before, with one warning.
//!
//! RLIMIT_RTTIME and the memory lock are process-wide: the RTTIME limit is the larger of
//! the two threads' (each thread is measured against it on its own), and memory is locked
//! if either asks for it (or by default).

use crate::config::model::GlobalDefs;
use nix::sys::resource::{setrlimit, Resource};
use std::sync::atomic::{AtomicU64, Ordering};

/// SCHED_RR priority of the VRRP thread when `vrrp_rt_priority` is not set: above every
/// ordinary thread, below the kernel's own real-time threads (50 and up) and what an
/// operator usually picks.
pub(crate) const DEFAULT_VRRP_RT_PRIORITY: u8 = 10;
/// RLIMIT_RTTIME when ldirector chooses real time itself: generous (a reload of thousands
/// of addresses runs without blocking for tens of milliseconds), still a guard against a
/// thread that spins for ever. The soft limit (a SIGXCPU, counted and logged) is half.
pub(crate) const DEFAULT_RLIMIT_RTTIME_US: u32 = 1_000_000;

/// One thread's settings, resolved from the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ThreadSched {
    /// "vrrp" or "checker", for messages.
    pub who: &'static str,
    pub nice: Option<i8>,
    pub rt_priority: Option<u8>,
    pub cpus: Vec<u16>,
}

/// The process-wide part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ProcessSched {
    /// Microseconds; None: no limit set.
    pub rlimit_rttime: Option<u32>,
    pub lock_memory: bool,
}

/// What the configuration asks for (and ldirector's defaults).
pub(crate) fn from_config(g: &GlobalDefs) -> (ThreadSched, ThreadSched, ProcessSched) {
    let vrrp = ThreadSched {
        who: "vrrp",
        nice: g.vrrp_priority,
        rt_priority: match (g.vrrp_rt_priority, g.max_auto_priority) {
            (Some(p), _) => Some(p),
            // keepalived's max_auto_priority caps the real time it would choose itself;
            // 0 or -1: none
            (None, Some(m)) if m <= 0 => None,
            (None, Some(m)) => Some(DEFAULT_VRRP_RT_PRIORITY.min(m.unsigned_abs())),
            (None, None) => Some(DEFAULT_VRRP_RT_PRIORITY),
        },
        cpus: g.vrrp_cpu_affinity.clone(),
    };
    let checker = ThreadSched {
        who: "checker",
        nice: g.checker_priority,
        rt_priority: g.checker_rt_priority,
        cpus: g.checker_cpu_affinity.clone(),
    };
    // keepalived's default limit (10 ms) applies where the operator chose real time; the
    // default real time gets ldirector's wider guard
    let limit = |rt: Option<u8>, set: Option<u32>| match (rt, set) {
        (_, Some(v)) => Some(v),
        (Some(_), None) => Some(10_000),
        (None, None) => None,
    };
    let vrrp_limit = match (g.vrrp_rt_priority, g.vrrp_rlimit_rttime) {
        (None, None) if vrrp.rt_priority.is_some() => Some(DEFAULT_RLIMIT_RTTIME_US),
        (rt, set) => limit(rt, set),
    };
    let checker_limit = limit(g.checker_rt_priority, g.checker_rlimit_rttime);
    // memory is locked by default: vrrp_no_swap / checker_no_swap ask for what is done
    let process = ProcessSched {
        rlimit_rttime: vrrp_limit.max(checker_limit),
        lock_memory: true,
    };
    (vrrp, checker, process)
}

/// SIGXCPU received: a real-time thread ran past the soft RLIMIT_RTTIME without blocking.
static RTTIME_EXCEEDED: AtomicU64 = AtomicU64::new(0);

extern "C" fn on_sigxcpu(_: libc::c_int) {
    RTTIME_EXCEEDED.fetch_add(1, Ordering::Relaxed);
}

/// How many times a real-time thread went past the soft RLIMIT_RTTIME.
pub(crate) fn rttime_exceeded() -> u64 {
    RTTIME_EXCEEDED.load(Ordering::Relaxed)
}

/// Apply the process-wide settings. Returns what could not be done, one line each.
pub(crate) fn apply_process(p: &ProcessSched) -> Vec<String> {
    let mut problems = Vec::new();
    if p.lock_memory && !may_lock_memory() {
        problems.push("memory not locked (it may be swapped out): no CAP_IPC_LOCK".into());
    } else if p.lock_memory {
        // as pages are touched (MCL_ONFAULT): thread stacks and large reads are not
        // made resident ahead of use
        use nix::sys::mman::{mlockall, MlockAllFlags};
        // (nix names no MCL_ONFAULT)
        let on_fault = MlockAllFlags::from_bits_retain(libc::MCL_ONFAULT);
        let flags = MlockAllFlags::MCL_CURRENT | MlockAllFlags::MCL_FUTURE | on_fault;
        if let Err(e) = mlockall(flags) {
            problems.push(format!("memory not locked (it may be swapped out): {e}"));
        }
    }
    if let Some(us) = p.rlimit_rttime {
        // SIGXCPU at the soft limit would end the process: count it instead
        let handler = nix::sys::signal::SigHandler::Handler(on_sigxcpu);
        let action = nix::sys::signal::SigAction::new(
            handler,
            nix::sys::signal::SaFlags::SA_RESTART,
            nix::sys::signal::SigSet::empty(),
        );
        // SAFETY: the handler only increments an atomic (async-signal-safe)
        if let Err(e) = unsafe { nix::sys::signal::sigaction(nix::sys::signal::SIGXCPU, &action) } {
            problems.push(format!("SIGXCPU handler: {e}"));
        }
        let (soft, hard) = (u64::from(us / 2).max(1), u64::from(us));
        if let Err(e) = setrlimit(Resource::RLIMIT_RTTIME, soft, hard) {
            problems.push(format!("RLIMIT_RTTIME {us} us: {e}"));
        }
    }
    problems
}

/// Whether locking all memory is safe: with CAP_IPC_LOCK there is no RLIMIT_MEMLOCK to
/// reach (without it, MCL_FUTURE would make allocations fail past the limit).
fn may_lock_memory() -> bool {
    const CAP_IPC_LOCK: u32 = 14;
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_IPC_LOCK) != 0)
}

/// Apply a thread's settings to the calling thread. Returns what could not be done.
pub(crate) fn apply_thread(t: &ThreadSched) -> Vec<String> {
    let mut problems = Vec::new();
    let tid = nix::unistd::gettid().as_raw();
    if !t.cpus.is_empty() {
        let mut set = nix::sched::CpuSet::new();
        let mut bad = Vec::new();
        for &c in &t.cpus {
            if set.set(usize::from(c)).is_err() {
                bad.push(c);
            }
        }
        if !bad.is_empty() {
            problems.push(format!("{}_cpu_affinity: no CPU {bad:?}", t.who));
        }
        if let Err(e) = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set) {
            problems.push(format!("{}_cpu_affinity {:?}: {e}", t.who, t.cpus));
        }
    }
    if let Some(n) = t.nice {
        // per thread on Linux: PRIO_PROCESS with a thread id
        // SAFETY: setpriority with valid arguments
        let r = unsafe { libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, i32::from(n)) };
        if r != 0 {
            problems.push(format!(
                "{}_priority {n}: {}",
                t.who,
                std::io::Error::last_os_error()
            ));
        }
    }
    if let Some(p) = t.rt_priority {
        let param = libc::sched_param {
            sched_priority: i32::from(p),
        };
        // children forked from this thread (scripts) go back to normal scheduling
        let policy = libc::SCHED_RR | libc::SCHED_RESET_ON_FORK;
        // SAFETY: sched_setscheduler on the calling thread with a valid param
        if unsafe { libc::sched_setscheduler(0, policy, &param) } != 0 {
            problems.push(format!(
                "{} thread not real-time (SCHED_RR {p}): {}",
                t.who,
                std::io::Error::last_os_error()
            ));
        }
    }
    problems
}

#[cfg(test)]
/// The scheduling policy and real-time priority of a thread, from
/// /proc/self/task/TID/stat (fields 41 and 40): for status and tests.
pub(crate) fn thread_policy(tid: i32) -> Option<(u32, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    // the command may hold spaces and parentheses: fields start after the last ')'
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): field N is f[N - 3]
    Some((f.get(38)?.parse().ok()?, f.get(37)?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_keepalived_settings() {
        let g = GlobalDefs::default();
        let (v, c, p) = from_config(&g);
        assert_eq!(v.rt_priority, Some(DEFAULT_VRRP_RT_PRIORITY));
        assert_eq!(c.rt_priority, None);
        assert_eq!(p.rlimit_rttime, Some(DEFAULT_RLIMIT_RTTIME_US));
        let g = GlobalDefs {
            vrrp_rt_priority: Some(50),
            checker_rt_priority: Some(20),
            checker_rlimit_rttime: Some(30_000),
            vrrp_cpu_affinity: vec![1],
            ..GlobalDefs::default()
        };
        let (v, c, p) = from_config(&g);
        assert_eq!((v.rt_priority, c.rt_priority), (Some(50), Some(20)));
        // keepalived's max_auto_priority caps ldirector's own choice, 0 turns it off
        for (m, want) in [
            (Some(5), Some(5)),
            (Some(50), Some(10)),
            (Some(0), None),
            (Some(-1), None),
        ] {
            let g = GlobalDefs {
                max_auto_priority: m,
                ..GlobalDefs::default()
            };
            let (v, _, p) = from_config(&g);
            assert_eq!(v.rt_priority, want, "{m:?}");
            assert_eq!(p.rlimit_rttime.is_some(), want.is_some(), "{m:?}");
        }
        assert_eq!(v.cpus, vec![1]);
        // keepalived's 10 ms for the VRRP side, 30 ms asked for the checker: the larger
        assert_eq!(p.rlimit_rttime, Some(30_000));
    }

    #[test]
    fn the_policy_of_a_thread_is_read_back() {
        let tid = nix::unistd::gettid().as_raw();
        let (policy, prio) = thread_policy(tid).unwrap();
        assert_eq!((policy, prio), (libc::SCHED_OTHER as u32, 0));
    }
}
