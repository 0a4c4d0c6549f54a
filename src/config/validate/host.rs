//! Checks against this machine (`check --host`, and every start and reload): interfaces,
//! scripts, FIFOs, link groups.

use super::V;
use crate::config::diag::Diagnostics;
use crate::config::model::*;
use crate::config::Locations;

/// Checks against this machine: interfaces exist, scripts exist and are executable, and
/// with enable_script_security, scripts are safe to run as root.
pub fn host(cfg: &Config, locs: &Locations, d: &mut Diagnostics) {
    let mut v = V { locs, d };
    // by index, not /sys/class/net: sysfs shows the namespace it was mounted in, which is
    // not ours under net_namespace
    let have_if = |name: &str| nix::net::if_::if_nametoindex(name).is_ok();
    for (name, i) in &cfg.vrrp_instance {
        let p = format!("vrrp_instance.{name}");
        let e = &i.effective;
        if !e.interface.is_empty() && !have_if(&e.interface) {
            v.error(
                &format!("{p}.interface"),
                format!("interface '{}' does not exist on this host", e.interface),
            );
        }
        if let Some(g) = &i.vmac_group {
            if let Err(e) = crate::net::vmac::group_num(g) {
                v.error(&format!("{p}.use_vmac"), format!("use_vmac: {e}"));
            }
        }
        if let Some(g) = i.use_ipvlan.as_ref().and_then(|l| l.group.as_ref()) {
            if let Err(e) = crate::net::vmac::group_num(g) {
                v.error(&format!("{p}.use_ipvlan"), format!("use_ipvlan: {e}"));
            }
        }
        for t in &i.track_interface {
            if !have_if(&t.name) {
                v.warning(&format!("{p}.track_interface"), format!("tracked interface '{}' does not exist on this host (the instance will be in FAULT)", t.name));
            }
        }
        for vip in &i.virtual_ipaddress {
            if let Some(dev) = &vip.dev {
                if !have_if(dev) {
                    v.error(
                        &format!("{p}.virtual_ipaddress"),
                        format!(
                            "interface '{dev}' of {} does not exist on this host",
                            vip.address
                        ),
                    );
                }
            }
        }
    }
    for (name, a) in &cfg.anycast {
        let p = format!("anycast.{name}");
        if !a.device.is_empty() && !have_if(&a.device) {
            v.error(
                &format!("{p}.device"),
                format!("device '{}' does not exist on this host", a.device),
            );
        }
        if let Some(sd) = a.sync_daemon.as_ref().filter(|s| !have_if(&s.interface)) {
            v.error(
                &format!("{p}.sync_daemon"),
                format!(
                    "sync_daemon: interface '{}' does not exist on this host",
                    sd.interface
                ),
            );
        }
        if let Err(e) = crate::net::addr::protocol_num(&a.route_protocol) {
            v.error(
                &format!("{p}.route_protocol"),
                format!("route_protocol: {e}"),
            );
        }
        if let Err(e) = crate::net::addr::table_num(&a.route_table) {
            v.error(&format!("{p}.route_table"), format!("route_table: {e}"));
        }
    }
    // notify FIFOs: one that cannot be made or opened would fail the start late
    let g = &cfg.global_defs;
    for (key, fifo) in [
        ("notify_fifo", &g.notify_fifo),
        ("vrrp_notify_fifo", &g.vrrp_notify_fifo),
        ("lvs_notify_fifo", &g.lvs_notify_fifo),
    ] {
        if let Some(msg) = fifo.as_ref().and_then(|f| fifo_problem(&f.path)) {
            v.error(&format!("global_defs.{key}"), format!("{key}: {msg}"));
        }
    }
    let secure = cfg.global_defs.enable_script_security;
    let mut scripts: Vec<(String, &crate::config::types::Script)> = Vec::new();
    for (name, s) in &cfg.vrrp_script {
        scripts.push((format!("vrrp_script.{name}.script"), &s.script));
    }
    for (name, i) in &cfg.vrrp_instance {
        for s in notify_scripts(&i.notify) {
            scripts.push((format!("vrrp_instance.{name}"), s));
        }
    }
    for (name, g) in &cfg.vrrp_sync_group {
        for s in notify_scripts(&g.notify) {
            scripts.push((format!("vrrp_sync_group.{name}"), s));
        }
    }
    for (idx, vs) in cfg.virtual_server.iter().enumerate() {
        let p = format!("virtual_server[{idx}]");
        for s in vs.quorum_up.iter().chain(vs.quorum_down.iter()) {
            scripts.push((p.clone(), s));
        }
        for (ri, rs) in vs.real_server.iter().enumerate() {
            let rp = format!("{p}.real_server[{ri}]");
            for s in rs.notify_up.iter().chain(rs.notify_down.iter()) {
                scripts.push((rp.clone(), s));
            }
            for (ci, ch) in rs.checkers.iter().enumerate() {
                if let Some(s) = &ch.misc_path {
                    scripts.push((format!("{rp}.check[{ci}].misc_path"), s));
                }
            }
        }
    }
    for (name, a) in &cfg.anycast {
        for s in [&a.notify_up, &a.notify_down, &a.notify]
            .into_iter()
            .flatten()
        {
            scripts.push((format!("anycast.{name}"), s));
        }
        for (ci, ch) in a.checkers.iter().enumerate() {
            if let Some(s) = &ch.misc_path {
                scripts.push((format!("anycast.{name}.check[{ci}].misc_path"), s));
            }
        }
    }
    for (path, s) in scripts {
        let Some(prog) = s.argv.first() else { continue };
        if let Some(msg) = script_problem(prog, secure) {
            v.error(&path, msg);
        }
    }
}

/// Why a notify FIFO cannot be used, if it cannot: something else in its place, or no
/// folder to make it in.
fn fifo_problem(path: &str) -> Option<String> {
    use std::os::unix::fs::FileTypeExt;
    let p = std::path::Path::new(path);
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.file_type().is_fifo() => None,
        Ok(_) => Some(format!("'{path}' exists and is not a FIFO")),
        Err(_) => {
            let dir = match p.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => std::path::Path::new("."),
            };
            if dir.is_dir() {
                None
            } else {
                Some(format!(
                    "'{path}' cannot be made: its folder '{}' does not exist",
                    dir.display()
                ))
            }
        }
    }
}

fn notify_scripts(n: &Notify) -> impl Iterator<Item = &crate::config::types::Script> {
    [&n.all, &n.master, &n.backup, &n.fault, &n.stop, &n.deleted]
        .into_iter()
        .flatten()
}

/// Why a script cannot (or must not) be run, if it cannot.
pub fn script_problem(prog: &str, secure: bool) -> Option<String> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let path = if prog.contains('/') {
        std::path::PathBuf::from(prog)
    } else {
        let found = std::env::var_os("PATH").and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(prog))
                .find(|c| c.is_file())
        });
        match found {
            Some(f) => f,
            None => return Some(format!("script '{prog}' is not found in PATH")),
        }
    };
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) => return Some(format!("script '{}': {e}", path.display())),
    };
    if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
        return Some(format!(
            "script '{}' is not an executable file",
            path.display()
        ));
    }
    if secure {
        // Every directory up to / and the file itself must be unwritable by non-root.
        let mut p = Some(path.as_path());
        while let Some(cur) = p {
            if let Ok(m) = std::fs::metadata(cur) {
                if m.uid() != 0 || m.mode() & 0o022 != 0 {
                    return Some(format!(
                        "enable_script_security: '{}' is writable by a user other than root, so '{}' is unsafe to run",
                        cur.display(),
                        path.display()
                    ));
                }
            }
            p = cur.parent();
        }
    }
    None
}
