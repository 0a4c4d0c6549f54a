//! Health checks: the sans-IO scheduler and pools, the probes (TCP_CHECK, HTTP_GET, SMTP_CHECK, MISC_CHECK so far) and the
//! runner that drives them on the daemon's main runtime.

pub mod http;
pub mod misc;
pub mod pool;
pub mod runner;
pub mod scheduler;
pub mod smtp;
pub mod tcp;
