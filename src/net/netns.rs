//! keepalived's `net_namespace NAME`: the daemon works in the named network namespace
//! (`ip netns add NAME` made it; its handle is /var/run/netns/NAME, as for keepalived and
//! iproute2). Entered once, at the start, before any thread or socket exists: every thread
//! and socket made afterwards lives there.

use std::path::PathBuf;

/// Where iproute2 keeps the named namespaces.
pub(crate) const NETNS_DIR: &str = "/var/run/netns";

/// A namespace name is a file name in [`NETNS_DIR`].
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        Err(format!(
            "'{name}' is not a namespace name (a file name in {NETNS_DIR})"
        ))
    } else {
        Ok(())
    }
}

pub(crate) fn path(name: &str) -> PathBuf {
    PathBuf::from(NETNS_DIR).join(name)
}

/// Move the calling thread into namespace `name`; threads it starts later follow.
pub(crate) fn enter(name: &str) -> Result<(), String> {
    let p = path(name);
    let f = std::fs::File::open(&p).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            format!(
                "network namespace '{name}' does not exist ({} is missing: ip netns add {name})",
                p.display()
            )
        } else {
            format!("network namespace '{name}': {}: {e}", p.display())
        }
    })?;
    nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET)
        .map_err(|e| format!("network namespace '{name}': setns: {e}"))
}

/// The configuration's `net_namespace NAME`: move into it (before anything looks at
/// interfaces or opens a socket); a namespace that cannot be entered is an error at its
/// line. True when the configuration names none or it was entered.
pub(crate) fn enter_configured(loaded: &mut crate::config::Loaded) -> bool {
    let Some(ns) = loaded.config.global_defs.net_namespace.clone() else {
        return true;
    };
    match enter(&ns) {
        Ok(()) => true,
        Err(e) => {
            let loc = loaded.locs.at("global_defs.net_namespace");
            loaded.diags.error(&loc, e);
            false
        }
    }
}
