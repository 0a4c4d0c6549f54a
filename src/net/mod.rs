//! The network edge: frames and (to come) the sockets and rtnetlink calls that carry them.

pub mod garp;
