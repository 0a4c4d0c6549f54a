//! Health checks: the sans-IO scheduler (more with the checkers and pools of issue 5).

pub mod scheduler;
