//! The network edge: frames, sockets and rtnetlink calls.

pub(crate) mod addr;
pub mod garp;
pub(crate) mod kernel;
pub(crate) mod netns;
pub(crate) mod no_accept;
pub(crate) mod rtnl;
pub(crate) mod vmac;
