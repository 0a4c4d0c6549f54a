//! Health checks: the sans-IO scheduler and pools, the probes (TCP_CHECK, HTTP_GET, SSL_GET,
//! SMTP_CHECK, MISC_CHECK, PING_CHECK, UDP_CHECK, DNS_CHECK; FILE_CHECK follows a
//! track_file) and the runner that drives them on the daemon's main runtime.

pub(crate) mod dns;
pub(crate) mod http;
pub(crate) mod misc;
pub(crate) mod ping;
pub(crate) mod pool;
pub(crate) mod probe;
pub(crate) mod runner;
pub(crate) mod scheduler;
pub(crate) mod smtp;
pub(crate) mod ssl;
pub(crate) mod stats;
pub(crate) mod tcp;
pub(crate) mod udp;
