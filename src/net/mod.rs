//! The network edge: frames, sockets and rtnetlink calls.

pub mod addr;
pub mod garp;
pub mod netns;
pub mod no_accept;
pub mod rtnl;
pub mod vmac;
