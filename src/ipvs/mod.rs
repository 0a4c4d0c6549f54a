//! IPVS: the kernel's load balancer, programmed over generic netlink.
//!
//! - `table`: services and destinations as the kernel keys them;
//! - `codec`: the IPVS generic-netlink messages (sans-IO);
//! - `netlink`: the client (pipelined changes, dumps);
//! - `desired`: the table the configuration asks for;
//! - `reconcile`: desired vs kernel -> the minimal ordered operations (sans-IO);
//! - `drain`: real servers a reload removes, kept at weight 0 until idle (sans-IO);
//! - `syncd`: the connection-sync daemon following a VRRP instance;
//! - `manager`: the daemon's shell over all of it;
//! - `actor`: the thread the manager runs on;
//! - `counters`: the kernel's counters for status and metrics, on a thread of their own.

pub(crate) mod actor;
pub mod codec;
pub(crate) mod counters;
pub mod desired;
pub(crate) mod drain;
pub(crate) mod manager;
pub mod netlink;
pub mod reconcile;
pub(crate) mod syncd;
pub mod table;
