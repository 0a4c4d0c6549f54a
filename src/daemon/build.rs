//! From a configuration file to what the subsystems run: read and validated (with the
//! host's interfaces), cut to the half this daemon runs, and built into the VRRP specs
//! and static kernel objects — everything that can fail, before anything changes.

use super::statics;
use crate::config::{self, validate, Config, LoadOptions};
use crate::net::addr::Kernel;
use crate::vrrp::spec;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use tracing::{error, warn};

/// How the daemon was started (`ldirector run`'s options).
#[derive(Clone, Debug)]
pub(crate) struct Options {
    /// The configuration file, read again by every reload.
    pub(crate) path: PathBuf,
    pub(crate) load: LoadOptions,
    /// The pid file and control socket's folder (a folder of its own per net_namespace).
    pub(crate) run_dir: PathBuf,
    pub(crate) http_listen: Option<SocketAddr>,
    /// Leave the IPVS services in the kernel at the stop.
    pub(crate) dont_release_ipvs: bool,
    /// Run the VRRP half only (keepalived's -P).
    pub(crate) vrrp_only: bool,
    /// Run the IPVS and health-check half only (keepalived's -C).
    pub(crate) check_only: bool,
}

impl Options {
    /// Read the configuration and keep the half this daemon runs; `enter`: move into its
    /// net_namespace first (the start), so the host checks see that namespace.
    pub(crate) fn load(&self, enter: bool) -> config::Loaded {
        let mut loaded = config::load(&self.path, &self.load);
        self.half(&mut loaded.config);
        let entered = !enter || crate::net::netns::enter_configured(&mut loaded);
        if loaded.is_valid() && entered {
            validate::host(&loaded.config, &loaded.locs, &mut loaded.diags);
        }
        loaded
    }

    /// Keep only the half of the configuration this daemon runs (`--vrrp`, `--check`).
    fn half(&self, cfg: &mut Config) {
        if self.vrrp_only {
            cfg.virtual_server.clear();
            cfg.virtual_server_group.clear();
        }
        if self.check_only {
            cfg.vrrp_instance.clear();
            cfg.vrrp_sync_group.clear();
            cfg.vrrp_script.clear();
            cfg.static_ipaddress.clear();
            cfg.static_routes.clear();
            cfg.static_rules.clear();
            // the VRRP half runs it, as keepalived's VRRP process does
            cfg.global_defs.lvs_sync_daemon = None;
        }
    }
}

/// The diagnostic lines of a load, one per line.
pub(crate) fn lines(loaded: &config::Loaded) -> Vec<String> {
    loaded
        .diags
        .render()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// A configuration built for this host.
pub(crate) struct Built {
    pub(crate) specs: spec::Specs,
    pub(crate) statics: Vec<Kernel>,
}

/// Build `cfg`'s VRRP specs (with the interfaces' addresses; its VMACs made before) and
/// static objects; nothing reaches the kernel. Err: the lines saying why.
pub(crate) fn build(cfg: &Config) -> Result<Built, Vec<String>> {
    let specs = spec::build(cfg, &Interfaces::read())?;
    let statics = statics::wanted(cfg).map_err(|e| vec![e])?;
    Ok(Built { specs, statics })
}

/// What the operator configured that this version does not act on: said once, loudly.
pub(crate) fn not_acted_on(cfg: &Config) {
    let g = &cfg.global_defs;
    let smtp = g.smtp_alert.unwrap_or(false)
        || g.smtp_alert_vrrp.unwrap_or(false)
        || g.smtp_alert_checker.unwrap_or(false)
        || cfg.vrrp_instance.values().any(|i| i.effective.smtp_alert)
        || cfg
            .virtual_server
            .iter()
            .any(|v| v.real_server.iter().any(|r| r.effective.smtp_alert));
    if smtp && (g.smtp_server.is_none() || g.notification_email.is_empty()) {
        warn!(
            "smtp_alert is set but smtp_server or notification_email is missing: no e-mail is sent"
        );
    }
}

/// A reload's configuration, checked against the running one: Err(the lines to answer
/// with, also logged) when it has errors, would release everything without `allow_empty`
/// (a file caught while being rewritten reads as empty), or moves net_namespace.
pub(crate) fn for_reload(
    opts: &Options,
    running: &Config,
    allow_empty: bool,
) -> Result<(Config, Vec<String>), Vec<String>> {
    let loaded = opts.load(false);
    let lines = lines(&loaded);
    if loaded.diags.has_errors() {
        for line in &lines {
            error!("{line}");
        }
        error!("reload refused: the configuration has errors; still running the previous one");
        return Err(lines);
    }
    let new = loaded.config;
    let nothing = |c: &Config| c.runs_nothing();
    if nothing(&new) && !nothing(running) && !allow_empty {
        let e = "reload refused: the new configuration defines no vrrp_instance, virtual_server or anycast (a file being rewritten?); still running the previous one. `ldirector reload --allow-empty` applies it".to_string();
        error!("{e}");
        return Err(vec![e]);
    }
    if new.global_defs.net_namespace != running.global_defs.net_namespace {
        let e = format!(
            "reload refused: net_namespace cannot change on a reload (from {} to {}, as in keepalived); still running the previous configuration: restart ldirector to move it",
            running.global_defs.net_namespace.as_deref().unwrap_or("none"),
            new.global_defs.net_namespace.as_deref().unwrap_or("none"),
        );
        error!("{e}");
        return Err(vec![e]);
    }
    Ok((new, lines))
}

/// Interface addresses, read once for the specs (first address is the primary).
struct Interfaces(HashMap<String, Vec<IpAddr>>);

impl Interfaces {
    fn read() -> Interfaces {
        let mut m: HashMap<String, Vec<IpAddr>> = HashMap::new();
        if let Ok(addrs) = nix::ifaddrs::getifaddrs() {
            for a in addrs {
                let ip = a.address.as_ref().and_then(|s| {
                    s.as_sockaddr_in()
                        .map(|v| IpAddr::V4(v.ip()))
                        .or_else(|| s.as_sockaddr_in6().map(|v| IpAddr::V6(v.ip())))
                });
                if let Some(ip) = ip {
                    m.entry(a.interface_name).or_default().push(ip);
                }
            }
        }
        Interfaces(m)
    }
}

impl spec::Host for Interfaces {
    fn addresses(&self, iface: &str) -> Vec<IpAddr> {
        self.0.get(iface).cloned().unwrap_or_default()
    }
}

/// What the trackers follow: what the VRRP instances track, and the vrrp_scripts of the
/// anycast blocks.
pub(crate) fn tracked_objects(
    cfg: &Config,
    vrrp: &[crate::track::Object],
) -> Vec<crate::track::Object> {
    let mut v = vrrp.to_vec();
    for a in cfg.anycast.values() {
        for s in &a.track_script {
            let o = crate::track::Object::Script(s.clone());
            if !v.contains(&o) {
                v.push(o);
            }
        }
    }
    v
}

/// What the anycast blocks' inputs say now.
pub(crate) fn anycast_verdicts(
    cfg: &Config,
    checks_down: Vec<String>,
    scripts: &std::collections::HashMap<String, bool>,
    files: &std::collections::HashMap<String, i64>,
    health: &super::health::Health,
) -> crate::anycast::spec::Verdicts {
    crate::anycast::spec::Verdicts {
        checks_down,
        scripts: scripts.clone(),
        files: files.clone(),
        no_quorum: (0..cfg.virtual_server.len())
            .filter(|&i| !health.has_quorum(i))
            .collect(),
    }
}
