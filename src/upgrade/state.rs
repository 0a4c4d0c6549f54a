//! The hand-over file: what a running ldirector writes for the binary that takes its
//! place (`ldirector upgrade`). JSON, 0600, in the run directory; the new binary reads
//! it once at its start and removes it. `format` says which layout: a binary reads its
//! own format only, so a file from a newer (or much older) ldirector is refused — by the
//! check the running daemon asks of the new binary before it hands over.

use crate::check::runner::SavedChecker;
use crate::ipvs::drain::SavedDrain;
use crate::vrrp::engine::SavedInstance;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;

/// The layout this binary writes and reads.
pub(crate) const FORMAT: u32 = 1;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Handover {
    pub format: u32,
    /// The version of the binary that wrote it.
    pub from_version: String,
    /// CLOCK_MONOTONIC in µs when the state was taken (the clock `Instant` reads, which
    /// an exec does not reset): the successor takes off the time the hand-over took.
    pub saved_at_us: u64,
    pub vrrp: Vec<SavedInstance>,
    /// Per VRRP instance (by name): its receiving and sending sockets' descriptors.
    pub vrrp_sockets: Vec<(String, i32, i32)>,
    /// promote_secondaries values to restore at the stop, by interface.
    pub promoted: Vec<(String, String)>,
    /// vrrp_scripts' last verdicts.
    pub scripts: Vec<(String, bool)>,
    pub checks: Vec<SavedChecker>,
    /// Virtual servers (as `describe()` names them) without their quorum.
    pub no_quorum: Vec<String>,
    /// Real servers draining after a reload, with the time they have left.
    pub drains: Vec<SavedDrain>,
    /// Anycast blocks the operator drained (`ldirector anycast drain`): they stay so.
    pub anycast_drained: Vec<String>,
    /// sloppy_tcp / sloppy_sctp as they were before ldirector set them: (path, value).
    pub sloppy: Vec<(String, String)>,
    /// The control socket's listening descriptor.
    pub control_fd: Option<i32>,
    /// The HTTP endpoint's address and listening descriptor.
    pub http: Option<(SocketAddr, i32)>,
    /// Hand-overs so far in this process's life (status shows it).
    pub upgrades: u64,
    /// When the daemon first started, µs of CLOCK_MONOTONIC (uptime goes on).
    pub started_at_us: u64,
}

impl Handover {
    pub(crate) fn new() -> Handover {
        Handover {
            format: FORMAT,
            from_version: env!("CARGO_PKG_VERSION").to_string(),
            saved_at_us: monotonic_us(),
            ..Handover::default()
        }
    }
}

pub(crate) use crate::control::systemd::monotonic_usec as monotonic_us;

/// Write `h` to `path` (0600, complete or not at all).
pub(crate) fn write(path: &Path, h: &Handover) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let text = serde_json::to_vec(h).map_err(std::io::Error::other)?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(&text)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Read a hand-over file; a format other than [`FORMAT`] is refused with the reason.
pub(crate) fn read(path: &Path) -> Result<Handover, String> {
    let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| format!("{}: not a hand-over file: {e}", path.display()))?;
    let format = v.get("format").and_then(|f| f.as_u64()).unwrap_or(0);
    let from = v
        .get("from_version")
        .and_then(|f| f.as_str())
        .unwrap_or("?")
        .to_string();
    if format != u64::from(FORMAT) {
        let which = if format > u64::from(FORMAT) {
            "a newer"
        } else {
            "an older"
        };
        return Err(format!(
            "the running ldirector {from} hands over its state in format {format}, from {which} ldirector than this one ({}, format {FORMAT}): this binary cannot continue it",
            env!("CARGO_PKG_VERSION")
        ));
    }
    serde_json::from_value(v).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_round_trips_and_other_formats_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.json");
        let mut h = Handover::new();
        h.scripts = vec![("chk".into(), true)];
        h.control_fd = Some(7);
        write(&p, &h).unwrap();
        assert_eq!(read(&p).unwrap(), h);
        h.format = FORMAT + 1;
        write(&p, &h).unwrap();
        let e = read(&p).unwrap_err();
        assert!(e.contains("a newer ldirector"), "{e}");
        std::fs::write(&p, "nonsense").unwrap();
        assert!(read(&p).unwrap_err().contains("not a hand-over file"));
    }
}
