//! Trackers shared by VRRP and the health checks (keepalived's trackers/).

pub mod file;
pub mod proc_events;
pub mod process;
pub mod tasks;
