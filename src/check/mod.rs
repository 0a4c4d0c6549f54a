//! Health checks: the sans-IO scheduler and pools (probes and their wiring follow, issue 5).

pub mod pool;
pub mod scheduler;
