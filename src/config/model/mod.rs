//! The one configuration model every subsystem reads.
//!
//! Both readers (keepalived.conf and TOML) produce a [`Config`]; [`super::resolve`] then
//! fills the `effective` parts (values inherited from `global_defs`, virtual servers and
//! real servers, and every default) so that engines never apply defaults of their own.
//! Field names are keepalived's keywords. The TOML format is these types through serde;
//! `effective` parts are computed, never read from a file. One file per domain, as
//! keepalived has one parser per domain: `global`, `vrrp`, `lvs` (virtual and real
//! servers), `check` (the checkers), `anycast` (announced service addresses).

use super::addr::{Route, Rule, VirtualIp};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

mod anycast;
mod check;
mod global;
mod lvs;
mod vrrp;

pub use anycast::*;
pub use check::*;
pub use global::*;
pub use lvs::*;
pub use vrrp::*;

pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

/// The whole effective configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub global_defs: GlobalDefs,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub static_ipaddress: Vec<VirtualIp>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub static_routes: Vec<Route>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub static_rules: Vec<Rule>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub vrrp_script: IndexMap<String, VrrpScript>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub track_file: IndexMap<String, TrackFile>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub vrrp_track_process: IndexMap<String, TrackProcess>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub vrrp_sync_group: IndexMap<String, SyncGroup>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub vrrp_instance: IndexMap<String, VrrpInstance>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub ssl: IndexMap<String, SslConfig>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub virtual_server_group: IndexMap<String, Vec<VsGroupEntry>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub virtual_server: Vec<VirtualServer>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub anycast: IndexMap<String, Anycast>,
}

impl Config {
    /// No VRRP instance, virtual server or anycast block: nothing for a daemon to do.
    pub fn runs_nothing(&self) -> bool {
        self.vrrp_instance.is_empty() && self.virtual_server.is_empty() && self.anycast.is_empty()
    }
}
