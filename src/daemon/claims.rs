//! Claims on the virtual routers this daemon runs: an abstract Unix socket per router,
//! bound under a name made of the link, the family and the VRID. The abstract namespace
//! belongs to the network namespace and the socket to the process: a second ldirector for
//! the same virtual router there cannot bind it, whatever run directory it was given (a
//! lock file in a deleted directory would not stop it), and the claim ends with the
//! process, however it ends. Claimed before anything is added to the kernel (a VMAC of
//! the same name is another daemon's), at the start and for the routers a reload adds.

use crate::config::model::VrrpInstance;
use crate::config::Config;
use std::collections::HashMap;
use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener};

#[derive(Default)]
pub(crate) struct Claims(HashMap<String, UnixListener>);

/// The name under which a virtual router is claimed in its network namespace.
fn key(i: &VrrpInstance) -> String {
    format!(
        "ldirector/vrrp/{}/{}/{}",
        i.effective.interface,
        if i.effective.ipv6 { 6 } else { 4 },
        i.virtual_router_id.0
    )
}

fn claim(name: &str, i: &VrrpInstance) -> io::Result<UnixListener> {
    let key = key(i);
    let addr = SocketAddr::from_abstract_name(key.as_bytes())?;
    UnixListener::bind_addr(&addr).map_err(|e| {
        if e.kind() == io::ErrorKind::AddrInUse {
            io::Error::new(
                e.kind(),
                format!(
                    "vrrp_instance {}: another ldirector already runs virtual router {} on {} ({}) in this network namespace (@{key} is taken)",
                    name,
                    i.virtual_router_id.0,
                    i.effective.interface,
                    if i.effective.ipv6 { "IPv6" } else { "IPv4" }
                ),
            )
        } else {
            e
        }
    })
}

impl Claims {
    /// Claim the routers of `cfg` not held yet. On an error none of them is kept; Ok:
    /// the routers newly claimed (to [`Claims::drop_keys`] if what needed them is refused).
    pub(crate) fn add(&mut self, cfg: &Config) -> io::Result<Vec<String>> {
        let mut new = Vec::new();
        for (name, i) in &cfg.vrrp_instance {
            let k = key(i);
            if self.0.contains_key(&k) || new.iter().any(|(n, _)| *n == k) {
                continue;
            }
            new.push((k, claim(name, i)?));
        }
        let keys = new.iter().map(|(k, _)| k.clone()).collect();
        self.0.extend(new);
        Ok(keys)
    }

    pub(crate) fn drop_keys(&mut self, keys: &[String]) {
        self.0.retain(|k, _| !keys.contains(k));
    }

    /// Keep only the routers of `cfg`.
    pub(crate) fn keep_only(&mut self, cfg: &Config) {
        let wanted: Vec<String> = cfg.vrrp_instance.values().map(key).collect();
        self.0.retain(|k, _| wanted.contains(k));
    }
}
