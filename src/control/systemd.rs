//! systemd's readiness protocol (Type=notify): `READY=1` once running, `RELOADING=1` (with
//! `MONOTONIC_USEC`) and `READY=1` around a reload, `STOPPING=1` at stop, and a `STATUS=`
//! line. A datagram to `$NOTIFY_SOCKET` (a path, or `@name` in the abstract namespace);
//! nothing when the variable is unset. A failure is logged once, never fatal.

use std::os::unix::net::UnixDatagram;
use tracing::warn;

pub(crate) struct Notify {
    target: Option<String>,
    warned: bool,
}

impl Notify {
    pub(crate) fn from_env() -> Notify {
        Notify {
            target: std::env::var("NOTIFY_SOCKET")
                .ok()
                .filter(|s| !s.is_empty()),
            warned: false,
        }
    }

    pub(crate) fn send(&mut self, msg: &str) {
        let Some(t) = &self.target else { return };
        if let Err(e) = send_to(t, msg) {
            if !self.warned {
                warn!("systemd notify to {t}: {e}");
                self.warned = true;
            }
        }
    }

    pub(crate) fn ready(&mut self, status: &str) {
        self.send(&format!("READY=1\nSTATUS={status}"));
    }

    pub(crate) fn reloading(&mut self) {
        self.send(&format!("RELOADING=1\nMONOTONIC_USEC={}", monotonic_usec()));
    }

    pub(crate) fn stopping(&mut self) {
        self.send("STOPPING=1");
    }
}

/// CLOCK_MONOTONIC now, in µs (systemd's MONOTONIC_USEC; the clock `Instant` reads, which
/// an exec does not reset: the upgrade's state file times itself by it too).
pub(crate) fn monotonic_usec() -> u64 {
    use nix::time::{clock_gettime, ClockId};
    clock_gettime(ClockId::CLOCK_MONOTONIC)
        .map(|t| {
            u64::try_from(t.tv_sec()).unwrap_or(0) * 1_000_000
                + u64::try_from(t.tv_nsec()).unwrap_or(0) / 1_000
        })
        .unwrap_or(0)
}

/// One datagram, never waiting: a receiver that does not read (its queue holds a few
/// datagrams) gets an error here, not a daemon stuck in its loop.
fn send_to(target: &str, msg: &str) -> std::io::Result<()> {
    let s = UnixDatagram::unbound()?;
    s.set_nonblocking(true)?;
    match target.strip_prefix('@') {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
            s.send_to_addr(msg.as_bytes(), &addr)?;
        }
        None => {
            s.send_to(msg.as_bytes(), target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receiver_that_does_not_read_never_blocks_the_sender() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let _rx = UnixDatagram::bind(&path).unwrap();
        let mut n = Notify {
            target: Some(path.display().to_string()),
            warned: false,
        };
        // more than the receiving queue holds (net.unix.max_dgram_qlen, 10 by default)
        for _ in 0..100 {
            n.reloading();
        }
        assert!(n.warned, "the full queue was said once");
    }

    #[test]
    fn datagrams_reach_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let rx = UnixDatagram::bind(&path).unwrap();
        let mut n = Notify {
            target: Some(path.display().to_string()),
            warned: false,
        };
        n.ready("running");
        n.reloading();
        n.stopping();
        let mut buf = [0u8; 256];
        let k = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..k], b"READY=1\nSTATUS=running");
        let k = rx.recv(&mut buf).unwrap();
        assert!(String::from_utf8_lossy(&buf[..k]).starts_with("RELOADING=1\nMONOTONIC_USEC="));
        let k = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..k], b"STOPPING=1");
        // unset: nothing, no error
        Notify {
            target: None,
            warned: false,
        }
        .ready("x");
    }
}
