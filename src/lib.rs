//! ldirector: a load-balancer director for Linux (VRRP, IPVS, health checks), a drop-in
//! replacement for keepalived.

#![warn(unreachable_pub)]

// what the binary, the integration tests, the examples and the fuzzer use is public;
// the rest is the crate's own
pub(crate) mod anycast;
pub(crate) mod check;
pub mod cli;
pub mod config;
pub mod control;
pub(crate) mod daemon;
pub(crate) mod exec;
pub mod ipvs;
pub mod net;
pub(crate) mod notify;
pub(crate) mod sched;
pub(crate) mod track;
pub(crate) mod upgrade;
pub mod vrrp;
