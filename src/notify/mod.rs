//! Telling the outside world: scripts, FIFOs (and, with the daemon, e-mail).

pub mod exec;
pub mod fifo;
pub mod lvs;
pub mod queue;
pub mod vrrp;
