//! The I/O side of vrrp_track_process: /proc read at the start, then the kernel's process
//! events (the netlink process connector, CN_IDX_PROC) on a thread of their own, fed to
//! the sans-IO [`super::process::Processes`]. Lost events (ENOBUFS) or a kernel without
//! the connector fall back to reading /proc again (once, or every second), logged.
//!
//! The connector only speaks in the host's first network namespace, so the thread opens
//! its socket there (/proc/1/ns/net) whatever namespace the daemon runs in.

use super::process::{Event, Proc, Processes};
use crate::config::model::TrackProcess;
use indexmap::IndexMap;
use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tracing::{error, warn};

/// What /proc says of `pid` now; None for a process gone or a zombie.
pub(crate) fn read_proc(pid: u32) -> Option<Proc> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "PID (COMM) S ...": COMM may hold spaces and parentheses, the state follows the
    // last ')'
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?.to_string();
    if stat.get(close + 2..close + 3) == Some("Z") {
        return None;
    }
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let cmdline = raw
        .split(|&b| b == 0)
        .filter(|w| !w.is_empty())
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    Some(Proc { comm, cmdline })
}

/// Every process running now.
pub(crate) fn scan() -> Vec<(u32, Proc)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| read_proc(pid).map(|p| (pid, p)))
        .collect()
}

/// The verdicts of `specs` as /proc says now (the engine's start).
pub(crate) fn initial(specs: &IndexMap<String, TrackProcess>) -> Vec<(String, bool)> {
    if specs.is_empty() {
        return Vec::new();
    }
    let mut p = Processes::new(specs);
    let _ = p.scan(scan(), Instant::now());
    p.status()
}

// The process connector's wire format (linux/connector.h, linux/cn_proc.h): a netlink
// header, a cn_msg, then the operation or the event. Offsets from the start of the
// datagram; host byte order.
mod wire {
    pub(super) const NLMSG_HDR: usize = 16;
    pub(super) const NLMSG_DONE: u16 = 3;
    pub(super) const CN_MSG: usize = 20;
    /// cn_msg.len (u16) from the start of the cn_msg
    pub(super) const CN_LEN: usize = 16;
    pub(super) const CN_IDX_PROC: u32 = 1;
    pub(super) const CN_VAL_PROC: u32 = 1;
    pub(super) const PROC_CN_MCAST_LISTEN: u32 = 1;
    /// proc_event: what (u32) at 0, cpu at 4, timestamp at 8, event data at 16
    pub(super) const EV: usize = NLMSG_HDR + CN_MSG;
    pub(super) const EV_DATA: usize = EV + 16;
    pub(super) const FORK: u32 = 0x1;
    pub(super) const EXEC: u32 = 0x2;
    pub(super) const COMM: u32 = 0x200;
    pub(super) const EXIT: u32 = 0x8000_0000;
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The LISTEN request, written into `out`.
fn listen_request(out: &mut [u8; 40]) {
    use wire::*;
    out.fill(0);
    out[0..4].copy_from_slice(&40u32.to_ne_bytes());
    out[4..6].copy_from_slice(&NLMSG_DONE.to_ne_bytes());
    out[12..16].copy_from_slice(&std::process::id().to_ne_bytes());
    out[16..20].copy_from_slice(&CN_IDX_PROC.to_ne_bytes());
    out[20..24].copy_from_slice(&CN_VAL_PROC.to_ne_bytes());
    out[16 + CN_LEN..16 + CN_LEN + 2].copy_from_slice(&4u16.to_ne_bytes());
    out[36..40].copy_from_slice(&PROC_CN_MCAST_LISTEN.to_ne_bytes());
}

/// What a connector datagram says, threads left out; an exec or a name change is read
/// from /proc (None: the process is already gone).
enum Raw {
    Fork { parent: u32, child: u32 },
    Exec { pid: u32 },
    Comm { pid: u32, comm: String },
    Exit { pid: u32 },
}

fn decode(b: &[u8]) -> Option<Raw> {
    use wire::*;
    let what = u32_at(b, EV)?;
    let a = u32_at(b, EV_DATA)?;
    let a_tgid = u32_at(b, EV_DATA + 4)?;
    match what {
        FORK => {
            let child = u32_at(b, EV_DATA + 8)?;
            let child_tgid = u32_at(b, EV_DATA + 12)?;
            // a new thread is not a new process
            (child == child_tgid).then_some(Raw::Fork {
                parent: a_tgid,
                child,
            })
        }
        EXEC => Some(Raw::Exec { pid: a_tgid }),
        COMM if a == a_tgid => {
            let raw = b.get(EV_DATA + 8..EV_DATA + 24)?;
            let end = raw.iter().position(|&c| c == 0).unwrap_or(raw.len());
            Some(Raw::Comm {
                pid: a,
                comm: String::from_utf8_lossy(&raw[..end]).into_owned(),
            })
        }
        EXIT if a == a_tgid => Some(Raw::Exit { pid: a }),
        _ => None,
    }
}

/// The connector socket, opened in the host's first network namespace.
fn open_connector() -> io::Result<netlink_sys::Socket> {
    let init = std::fs::File::open("/proc/1/ns/net")?;
    let ours = std::fs::File::open("/proc/thread-self/ns/net")?;
    nix::sched::setns(&init, nix::sched::CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
    let made = (|| {
        let mut s = netlink_sys::Socket::new(netlink_sys::protocols::NETLINK_CONNECTOR)?;
        s.bind(&netlink_sys::SocketAddr::new(0, wire::CN_IDX_PROC))?;
        let mut req = [0u8; 40];
        listen_request(&mut req);
        s.send_to(&req, &netlink_sys::SocketAddr::new(0, 0), 0)?;
        s.set_rx_buf_sz(1 << 20)?;
        Ok::<_, io::Error>(s)
    })();
    // back where the daemon works, whatever happened
    nix::sched::setns(&ours, nix::sched::CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
    made
}

/// The watcher thread; stops when dropped.
pub(crate) struct Watcher {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Watch the processes of `specs`; `changed(name, up)` hears every verdict once the watch
/// is subscribed (the engine may have been told an older one), then each change (false
/// from it ends the watch).
pub(crate) fn spawn(
    specs: IndexMap<String, TrackProcess>,
    mut changed: impl FnMut(&str, bool) -> bool + Send + 'static,
) -> io::Result<Watcher> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::Builder::new()
        .name("ldirector-proc".into())
        .spawn(move || {
            let sock = match open_connector() {
                Ok(s) => Some(s),
                Err(e) => {
                    warn!("vrrp_track_process: the kernel's process events cannot be read ({e}): /proc is read every second instead");
                    None
                }
            };
            let mut p = Processes::new(&specs);
            let mut told: std::collections::HashMap<String, bool> = Default::default();
            let mut tell = |changes: Vec<(String, bool)>, told: &mut std::collections::HashMap<String, bool>| -> bool {
                for (n, up) in changes {
                    if told.insert(n.clone(), up) != Some(up) && !changed(&n, up) {
                        return false;
                    }
                }
                true
            };
            // subscribed first, then /proc: nothing falls between the two
            let first = p.scan(scan(), Instant::now());
            let mut all = p.status();
            all.extend(first);
            if !tell(all, &mut told) {
                return;
            }
            let mut buf = vec![0u8; 64 * 1024];
            let mut last_scan = Instant::now();
            while !flag.load(Ordering::Relaxed) {
                let now = Instant::now();
                let mut wait = Duration::from_millis(500);
                if let Some(t) = p.poll_timeout() {
                    wait = wait.min(t.saturating_duration_since(now));
                }
                let mut rescan = sock.is_none() && now.duration_since(last_scan) >= Duration::from_secs(1);
                let mut changes = Vec::new();
                if let Some(s) = &sock {
                    let mut fds = [nix::poll::PollFd::new(s.as_fd(), nix::poll::PollFlags::POLLIN)];
                    let ms = u16::try_from(wait.as_millis()).unwrap_or(500);
                    if nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(ms)).unwrap_or(0) > 0 {
                        match s.recv(&mut &mut buf[..], 0) {
                            Ok(n) => {
                                if let Some(raw) = decode(&buf[..n]) {
                                    if let Some(ev) = resolve(raw) {
                                        p.handle(ev, Instant::now(), &mut changes);
                                    }
                                }
                            }
                            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                                warn!("vrrp_track_process: process events were lost (a burst): reading /proc again");
                                rescan = true;
                            }
                            Err(e) => {
                                error!("vrrp_track_process: reading process events (fd {}): {e}", s.as_raw_fd());
                                std::thread::sleep(Duration::from_millis(100));
                            }
                        }
                    }
                } else {
                    std::thread::sleep(wait);
                }
                if rescan {
                    changes.extend(p.scan(scan(), Instant::now()));
                    last_scan = Instant::now();
                }
                p.handle_timeout(Instant::now(), &mut changes);
                if !tell(changes, &mut told) {
                    return;
                }
            }
        })?;
    Ok(Watcher {
        stop,
        thread: Some(thread),
    })
}

/// A connector event with what /proc says of an executed process.
fn resolve(raw: Raw) -> Option<Event> {
    Some(match raw {
        Raw::Fork { parent, child } => Event::Fork { parent, child },
        Raw::Exec { pid } => match read_proc(pid) {
            Some(now) => Event::Exec { pid, now },
            None => Event::Exit { pid },
        },
        Raw::Comm { pid, comm } => Event::Comm { pid, comm },
        Raw::Exit { pid } => Event::Exit { pid },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_reads_from_proc() {
        let me = read_proc(std::process::id()).expect("own /proc entry");
        assert!(!me.comm.is_empty());
        assert!(!me.cmdline.is_empty());
        assert!(scan().iter().any(|(pid, _)| *pid == std::process::id()));
    }

    #[test]
    fn connector_events_decode_and_threads_are_left_out() {
        let mut b = vec![0u8; wire::EV_DATA + 24];
        let put =
            |b: &mut Vec<u8>, at: usize, v: u32| b[at..at + 4].copy_from_slice(&v.to_ne_bytes());
        put(&mut b, wire::EV, wire::FORK);
        put(&mut b, wire::EV_DATA, 10);
        put(&mut b, wire::EV_DATA + 4, 10);
        put(&mut b, wire::EV_DATA + 8, 11);
        put(&mut b, wire::EV_DATA + 12, 11);
        assert!(matches!(
            decode(&b),
            Some(Raw::Fork {
                parent: 10,
                child: 11
            })
        ));
        put(&mut b, wire::EV_DATA + 12, 10);
        assert!(decode(&b).is_none(), "a thread");
        put(&mut b, wire::EV, wire::EXIT);
        assert!(matches!(decode(&b), Some(Raw::Exit { pid: 10 })));
        put(&mut b, wire::EV, wire::COMM);
        b[wire::EV_DATA + 8..wire::EV_DATA + 13].copy_from_slice(b"nginx");
        assert!(matches!(decode(&b), Some(Raw::Comm { pid: 10, ref comm }) if comm == "nginx"));
        assert!(decode(&b[..wire::EV_DATA]).is_none(), "short");
        let mut req = [0u8; 40];
        listen_request(&mut req);
        assert_eq!(u32_at(&req, 0), Some(40));
        assert_eq!(u32_at(&req, 36), Some(wire::PROC_CN_MCAST_LISTEN));
    }
}
