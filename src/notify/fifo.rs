//! keepalived's notify FIFOs: one line per event (`INSTANCE "VI_1" MASTER 100`), written
//! without blocking (a reader that stops reading loses lines, never stalls the daemon),
//! and an optional script started with the FIFO's path to read it.

use crate::config::model::NotifyFifo;
use crate::exec::{self, RunAs};
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::time::Duration;
use tracing::warn;

pub(crate) struct Fifo {
    path: String,
    file: File,
    created: bool,
    /// Lines lost to a full FIFO (a reader that stopped reading).
    pub dropped: u64,
}

impl Fifo {
    /// Create (if missing) and open the FIFO; start its script.
    pub(crate) fn open(cfg: &NotifyFifo, run_as: Option<RunAs>) -> Result<Fifo, String> {
        let path = &cfg.path;
        let mut created = false;
        match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_fifo() => {}
            Ok(_) => return Err(format!("notify FIFO {path} exists and is not a FIFO")),
            Err(_) => {
                nix::unistd::mkfifo(path.as_str(), Mode::from_bits_truncate(0o644))
                    .map_err(|e| format!("notify FIFO {path}: {e}"))?;
                created = true;
                if let Some(u) = &cfg.user {
                    let r = exec::resolve_user(u)?;
                    let _ = nix::unistd::chown(
                        path.as_str(),
                        Some(nix::unistd::Uid::from_raw(r.uid)),
                        Some(nix::unistd::Gid::from_raw(r.gid)),
                    );
                }
            }
        }
        if let Some(script) = &cfg.script {
            let script = script.clone();
            let p = path.clone();
            tokio::spawn(async move {
                // the reader runs as long as the daemon
                let o = exec::run(&script, &[&p], run_as, Duration::MAX / 4).await;
                warn!("notify FIFO script for {p} ended: {o}");
            });
        }
        // read-write: opening never blocks and writes never fail for want of a reader
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags((OFlag::O_NONBLOCK | OFlag::O_NOFOLLOW).bits())
            .open(path)
            .map_err(|e| format!("notify FIFO {path}: {e}"))?;
        Ok(Fifo {
            path: path.clone(),
            file,
            created,
            dropped: 0,
        })
    }

    /// Write one line; a full FIFO drops it (logged).
    pub(crate) fn write_line(&mut self, line: &str) {
        if let Err(e) = self.file.write_all(line.as_bytes()) {
            self.dropped += 1;
            if self.dropped.is_power_of_two() {
                warn!(
                    "notify FIFO {}: {} line(s) dropped so far: {e}",
                    self.path, self.dropped
                );
            }
        }
    }
}

impl Drop for Fifo {
    fn drop(&mut self) {
        if self.created {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// keepalived's line for a VRRP event.
pub(crate) fn vrrp_line(kind: &str, name: &str, state: &str, priority: u8) -> String {
    format!("{kind} \"{name}\" {state} {priority}\n")
}

/// keepalived's name of a virtual server in FIFO lines: `[192.0.2.1]:tcp:80`,
/// `FWM 7`, `[group]:80`.
pub(crate) fn vs_name(vs: &crate::config::model::VirtualServer) -> String {
    use crate::config::model::Protocol;
    let proto = match vs.protocol {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
        Protocol::Sctp => "sctp",
    };
    if let Some(g) = &vs.group {
        format!("[{g}]:{}", vs.port.unwrap_or(0))
    } else if let Some(m) = vs.fwmark {
        format!("FWM {m}")
    } else {
        format!(
            "[{}]:{proto}:{}",
            vs.ip.map(|a| a.to_string()).unwrap_or_default(),
            vs.port.unwrap_or(0)
        )
    }
}

/// keepalived's line for a real server's health: `RS [ip]:tcp:port <vs> UP|DOWN`.
pub(crate) fn rs_line(
    vs: &crate::config::model::VirtualServer,
    rs: &crate::config::model::RealServer,
    up: bool,
) -> String {
    format!(
        "RS {} {} {}\n",
        rs_name(vs, rs),
        vs_name(vs),
        if up { "UP" } else { "DOWN" }
    )
}

/// keepalived's name of a real server: `[ip]:tcp:port`.
pub(crate) fn rs_name(
    vs: &crate::config::model::VirtualServer,
    rs: &crate::config::model::RealServer,
) -> String {
    use crate::config::model::Protocol;
    let proto = match vs.protocol {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
        Protocol::Sctp => "sctp",
    };
    format!("[{}]:{proto}:{}", rs.ip, rs.port.or(vs.port).unwrap_or(0))
}

/// keepalived's line for a virtual server's quorum: `VS <vs> UP|DOWN`.
pub(crate) fn vs_line(vs: &crate::config::model::VirtualServer, up: bool) -> String {
    format!("VS {} {}\n", vs_name(vs), if up { "UP" } else { "DOWN" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lvs_lines() {
        use crate::config::{load_str, Format};
        let l = load_str(
            "t.conf",
            "virtual_server 192.168.201.15 80 {\n protocol TCP\n real_server 1.2.3.4 80 { }\n}\nvirtual_server fwmark 7 {\n real_server 1.2.3.5 80 { }\n}",
            Format::Keepalived,
            None,
        );
        let vs = &l.config.virtual_server;
        assert_eq!(
            rs_line(&vs[0], &vs[0].real_server[0], false),
            "RS [1.2.3.4]:tcp:80 [192.168.201.15]:tcp:80 DOWN\n"
        );
        assert_eq!(vs_line(&vs[1], true), "VS FWM 7 UP\n");
    }

    #[test]
    fn line_format() {
        assert_eq!(
            vrrp_line("INSTANCE", "VI_1", "MASTER", 100),
            "INSTANCE \"VI_1\" MASTER 100\n"
        );
        assert_eq!(
            vrrp_line("GROUP", "G", "BACKUP", 0),
            "GROUP \"G\" BACKUP 0\n"
        );
    }

    #[tokio::test]
    async fn lines_reach_a_reader_and_a_full_fifo_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fifo").display().to_string();
        let cfg = NotifyFifo {
            path: path.clone(),
            user: None,
            script: None,
        };
        let mut f = Fifo::open(&cfg, None).unwrap();
        let mut reader = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(OFlag::O_NONBLOCK.bits())
            .open(&path)
            .unwrap();
        f.write_line("INSTANCE \"A\" MASTER 100\n");
        let mut s = String::new();
        std::io::Read::read_to_string(&mut reader, &mut s).ok();
        assert_eq!(s, "INSTANCE \"A\" MASTER 100\n");
        // nobody reads: 100k lines fill the pipe and are dropped, without blocking
        for _ in 0..100_000 {
            f.write_line("INSTANCE \"A\" BACKUP 100\n");
        }
        assert!(f.dropped > 90_000);
        drop(f);
        assert!(
            !std::path::Path::new(&path).exists(),
            "created FIFO removed"
        );
    }
}
