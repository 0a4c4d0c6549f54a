//! Telling the outside world: scripts, FIFOs and e-mail.

pub mod fifo;
pub mod lvs;
pub mod mail;
pub mod queue;
pub mod vrrp;
