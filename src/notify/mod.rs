//! Telling the outside world: scripts, FIFOs and e-mail.

pub(crate) mod anycast;
pub(crate) mod fifo;
pub(crate) mod lvs;
pub(crate) mod mail;
pub(crate) mod queue;
pub(crate) mod vrrp;
