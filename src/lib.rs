//! ldirector: a load-balancer director for Linux (VRRP, IPVS, health checks), a drop-in
//! replacement for keepalived.

pub mod check;
pub mod cli;
pub mod config;
pub mod control;
mod daemon;
pub mod exec;
pub mod ipvs;
pub mod net;
pub mod notify;
pub mod sched;
pub mod track;
pub mod vrrp;
