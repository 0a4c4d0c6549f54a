//! Health checks: the sans-IO scheduler and pools, the probes (TCP_CHECK, HTTP_GET, SSL_GET,
//! SMTP_CHECK, MISC_CHECK, PING_CHECK, UDP_CHECK, DNS_CHECK; FILE_CHECK follows a
//! track_file) and the runner that drives them on the daemon's main runtime.

pub mod dns;
pub mod http;
pub mod misc;
pub mod ping;
pub mod pool;
pub mod probe;
pub mod runner;
pub mod scheduler;
pub mod smtp;
pub mod ssl;
pub mod stats;
pub mod tcp;
pub mod udp;
