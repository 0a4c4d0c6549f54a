//! Trackers shared by VRRP and the health checks (keepalived's trackers/): vrrp_scripts,
//! track_files, vrrp_track_process. They report what they see as [`Event`]s on a channel
//! of the daemon's, which hands them to VRRP and the checks: tracking imports neither.

pub(crate) mod file;
pub(crate) mod proc_events;
pub(crate) mod process;
pub(crate) mod script;
pub(crate) mod tasks;

/// What an instance can track.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Object {
    Interface(String),
    Script(String),
    File(String),
    /// A vrrp_track_process: whether its quorum of processes runs.
    Process(String),
    /// An address on an interface (track_src_ip: the configured source address).
    Address(String, std::net::IpAddr),
}

/// What the trackers know before anything runs (scripts' init state, files' values,
/// processes' verdicts): the VRRP engine starts with it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Initial {
    pub scripts: Vec<(String, bool)>,
    pub files: Vec<(String, i64)>,
    /// vrrp_track_process verdicts.
    pub processes: Vec<(String, bool)>,
}

/// A tracker's change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// A vrrp_script's verdict (true: success).
    Script(String, bool),
    /// A track_file's value.
    File(String, i64),
    /// A vrrp_track_process's verdict (true: its quorum runs).
    Process(String, bool),
}
