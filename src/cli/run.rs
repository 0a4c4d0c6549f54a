//! `ldirector run`: the daemon. It runs the config's VRRP instances (with tracking and
//! notifications), its static addresses, routes and rules, the health checks and the IPVS
//! services they decide, the control socket; SIGHUP or `ldirector reload` apply a new
//! configuration as a diff.
//!
//! The run directory (default /run/ldirector) holds what belongs to one daemon: its pid
//! file, locked while it runs, so a second daemon on the same directory refuses to start
//! while daemons in other network namespaces use other directories.

use super::ConfigArgs;
use crate::check::pool::{Pools, QuorumEvent};
use crate::check::runner::{Checks, HealthChange, Input, RsIndex, Running, Start};
use crate::config::model::GlobalDefs;
use crate::config::{validate, Config};
use crate::control::metrics::CheckStats;
use crate::control::server::{self, Command as ControlCommand};
use crate::control::status as st;
use crate::ipvs::manager::Manager;
use crate::ipvs::syncd::SyncDaemon;
use crate::net::addr::{self, Kernel};
use crate::net::no_accept;
use crate::net::rtnl::Rtnl;
use crate::notify::exec;
use crate::notify::lvs::{LvsNotifier, Why};
use crate::notify::mail::Mailer;
use crate::notify::vrrp::Notifier;
use crate::sched;
use crate::track::file as track_file;
use crate::track::tasks::Tracking;
use crate::vrrp::{shell, spec};
use clap::Args;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::Write;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;
use tracing::{error, info, warn};

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Directory for this daemon's pid file (and control socket)
    #[arg(long, value_name = "DIR", default_value = "/run/ldirector")]
    pub run_dir: PathBuf,
    /// Log as JSON lines instead of text
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Serve /metrics, /status and /healthz over HTTP on ADDR:PORT (read-only; off by
    /// default; the TOML config's global_defs.http_listen too)
    #[arg(long, value_name = "ADDR:PORT")]
    pub http_listen: Option<std::net::SocketAddr>,
    /// Leave the IPVS services in the kernel when stopping
    #[arg(long)]
    pub dont_release_ipvs: bool,
    /// Run only the VRRP half (keepalived's -P): virtual servers are left alone
    #[arg(short = 'P', long = "vrrp", conflicts_with = "check_only")]
    pub vrrp_only: bool,
    /// Run only the IPVS and health-check half (keepalived's -C): no VRRP, no static
    /// addresses, routes or rules
    #[arg(short = 'C', long = "check", id = "check_only")]
    pub check_only: bool,
    /// keepalived's -n (do not fork), accepted for drop-in units: ldirector runs in the foreground
    #[arg(short = 'n', long = "dont-fork")]
    pub dont_fork: bool,
    /// keepalived's -l (log to the console), accepted: ldirector logs to stderr
    #[arg(short = 'l', long = "log-console")]
    pub log_console: bool,
    /// keepalived's -D (detailed log), accepted: ldirector's info level is already detailed
    /// (LDIRECTOR_LOG=debug for more)
    #[arg(short = 'D', long = "log-detail")]
    pub log_detail: bool,
}

/// Keep only the half of the configuration this daemon runs (`--vrrp`, `--check`).
fn half(cfg: &mut Config, args: &RunArgs) {
    if args.vrrp_only {
        cfg.virtual_server.clear();
        cfg.virtual_server_group.clear();
    }
    if args.check_only {
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

/// The sync daemon's settings and its instance's VRID, when `cfg` asks for one.
fn syncd_wanted(cfg: &Config) -> Option<(&crate::config::model::LvsSyncDaemon, u8)> {
    let s = cfg.global_defs.lvs_sync_daemon.as_ref()?;
    let vrid = cfg.vrrp_instance.get(&s.vrrp_instance)?.virtual_router_id.0;
    Some((s, vrid))
}

/// The connection-sync daemon as `cfg` asks (None: not configured, or IPVS unavailable,
/// said in one line).
fn start_syncd(cfg: &Config) -> Option<SyncDaemon> {
    let (s, vrid) = syncd_wanted(cfg)?;
    match SyncDaemon::start(s, vrid) {
        Ok(d) => Some(d),
        Err(e) => {
            error!("lvs_sync_daemon: {e}; connections are not synchronised to the other director");
            None
        }
    }
}

/// A transition of the instance the sync daemon follows.
fn follow_syncd(
    syncd: &mut Option<SyncDaemon>,
    cfg: &Config,
    n: &crate::vrrp::engine::Notification,
) {
    let Some(d) = syncd.as_mut() else { return };
    let followed = cfg
        .global_defs
        .lvs_sync_daemon
        .as_ref()
        .is_some_and(|s| n.kind == "INSTANCE" && s.vrrp_instance == n.name);
    if followed {
        d.follow(n.state);
    }
}

/// A reload: the sync daemon as the new config asks.
fn reload_syncd(syncd: &mut Option<SyncDaemon>, cfg: &Config) {
    match (syncd.as_mut(), syncd_wanted(cfg)) {
        (Some(d), Some((s, vrid))) => d.reconfigure(s, vrid),
        (Some(d), None) => {
            d.stop();
            *syncd = None;
        }
        (None, Some(_)) => *syncd = start_syncd(cfg),
        (None, None) => {}
    }
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

fn init_logging(f: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LDIRECTOR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false);
    let _ = match f {
        LogFormat::Text => b.try_init(),
        LogFormat::Json => b.json().try_init(),
    };
}

/// The pid file, locked for the daemon's lifetime.
struct PidFile {
    path: PathBuf,
    _file: File,
}

impl PidFile {
    fn create(dir: &Path) -> Result<PidFile, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("run directory {}: {e}", dir.display()))?;
        let path = dir.join("ldirector.pid");
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| format!("pid file {}: {e}", path.display()))?;
        // SAFETY: flock on a descriptor we own
        let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if r != 0 {
            let other = std::fs::read_to_string(&path).unwrap_or_default();
            return Err(format!(
                "another ldirector (pid {}) is running with run directory {}",
                other.trim(),
                dir.display()
            ));
        }
        file.set_len(0)
            .and_then(|_| writeln!(file, "{}", std::process::id()))
            .map_err(|e| format!("pid file {}: {e}", path.display()))?;
        Ok(PidFile { path, _file: file })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
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

/// What the operator configured that this version does not act on yet: said once, loudly.
fn not_yet(cfg: &Config) {
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

fn statics(cfg: &Config) -> Result<Vec<Kernel>, String> {
    let mut v = Vec::new();
    let dev = cfg
        .global_defs
        .default_interface
        .clone()
        .unwrap_or_else(|| "lo".into());
    for a in &cfg.static_ipaddress {
        v.push(addr::address(a, &dev).map_err(|e| format!("static_ipaddress {a}: {e}"))?);
    }
    for r in &cfg.static_routes {
        v.push(addr::route(r, &dev).map_err(|e| format!("static_routes {r}: {e}"))?);
    }
    for r in &cfg.static_rules {
        v.push(addr::rule(r).map_err(|e| format!("static_rules {r}: {e}"))?);
    }
    Ok(v)
}

pub fn run(a: &RunArgs) -> i32 {
    init_logging(a.log_format);
    let path = a.config.path();
    let mut loaded = a.config.load();
    half(&mut loaded.config, a);
    // net_namespace: in it before anything looks at interfaces or opens a socket, and
    // with a run folder of its own (two daemons in two namespaces share a host)
    let mut a = std::borrow::Cow::Borrowed(a);
    if loaded.is_valid() && super::enter_net_namespace(&mut loaded) {
        if let Some(ns) = &loaded.config.global_defs.net_namespace {
            info!("net_namespace {ns}: running in it");
            let dir = a.run_dir.join(ns);
            a.to_mut().run_dir = dir;
        }
    }
    let a: &RunArgs = &a;
    if loaded.is_valid() {
        validate::host(&loaded.config, &loaded.locs, &mut loaded.diags);
    }
    let text = loaded.diags.render();
    if loaded.diags.has_errors() {
        eprint!("{text}");
        error!("{}: invalid configuration, not started", path.display());
        return 1;
    }
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        warn!("{line}");
    }
    let pid = match PidFile::create(&a.run_dir) {
        Ok(p) => p,
        Err(e) => {
            error!("{e}");
            return 1;
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("ldirector")
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            error!("runtime: {e}");
            return 1;
        }
    };
    let cfg = loaded.config;
    if a.vrrp_only {
        info!("--vrrp: running the VRRP half only");
    }
    if a.check_only {
        info!("--check: running the IPVS and health-check half only");
    }
    if a.dont_fork || a.log_console || a.log_detail {
        info!("-n / -l / -D accepted for keepalived compatibility: ldirector runs in the foreground and logs to stderr");
    }
    let code = rt.block_on(daemon(cfg, &path, a));
    drop(pid);
    code
}

/// The daemon between keepalived's startup_script and shutdown_script: the first runs
/// before anything is added to the kernel, the second after everything was released
/// (also when the start failed), as the configuration in force at the stop names it.
async fn daemon(cfg: Config, path: &Path, args: &RunArgs) -> i32 {
    info!(
        "ldirector {} starting with {}",
        env!("CARGO_PKG_VERSION"),
        path.display()
    );
    let mut last = cfg.global_defs.clone();
    if let Some(s) = &last.startup_script {
        once("startup_script", s, &last).await;
    }
    let code = serve(cfg, path, args, &mut last).await;
    if let Some(s) = &last.shutdown_script {
        once("shutdown_script", s, &last).await;
    }
    code
}

/// startup_script / shutdown_script: run to its end or its timeout; a failure is logged
/// and changes nothing else, as in keepalived.
async fn once(what: &str, script: &crate::config::types::Script, g: &GlobalDefs) {
    let timeout = if what == "startup_script" {
        g.startup_script_timeout
    } else {
        g.shutdown_script_timeout
    };
    let run_as = match exec::default_run_as(g.script_user.as_ref()) {
        Ok(r) => r,
        Err(e) => {
            error!("{what}: script_user: {e}; not run");
            return;
        }
    };
    info!("{what}: running {}", script.argv.join(" "));
    match exec::run(script, &[], run_as, timeout.as_duration()).await {
        o if o.success() => info!("{what}: done"),
        o => warn!("{what}: {o}"),
    }
}

async fn serve(mut cfg: Config, path: &Path, args: &RunArgs, last: &mut GlobalDefs) -> i32 {
    not_yet(&cfg);
    let run_as = match exec::default_run_as(cfg.global_defs.script_user.as_ref()) {
        Ok(r) => r,
        Err(e) => {
            error!("script_user: {e}");
            return 1;
        }
    };
    // the notify FIFOs open before anything reaches the kernel: failing here leaves
    // nothing to undo
    let mut mailer = Mailer::new(&cfg);
    let mut notifier = match Notifier::new(&cfg, run_as, mailer.clone()) {
        Ok(n) => n,
        Err(e) => {
            error!("{e}");
            return 1;
        }
    };
    // the VMACs first: the instances' addresses name them
    let mut vmacs = Vmacs::default();
    if let Err(e) = vmacs.make(&spec::vmacs(&cfg)) {
        error!("use_vmac: {e}");
        return 1;
    }
    let specs = match spec::build(&cfg, &Interfaces::read()) {
        Ok(s) => s,
        Err(errs) => {
            for e in errs {
                error!("{e}");
            }
            return 1;
        }
    };
    // a second daemon for the same virtual routers in this network namespace stops here,
    // before anything is added to the kernel
    let claims = match shell::claim_all(&specs) {
        Ok(c) => c,
        Err(e) => {
            error!("{e}: refusing to start");
            return 1;
        }
    };
    // static addresses, routes and rules and the no_accept table: removed when `kept`
    // goes, at the stop or on any return before it
    let mut kept = match statics(&cfg).and_then(|s| Statics::start(&cfg, s)) {
        Ok(k) => k,
        Err(e) => {
            error!("{e}");
            return 1;
        }
    };
    let mut lvs = if cfg.virtual_server.is_empty() {
        None
    } else {
        match ipvs_start(&cfg) {
            Ok(m) => Some(m),
            Err(e) => {
                let why = if e.kind() == std::io::ErrorKind::PermissionDenied {
                    " (IPVS needs CAP_NET_ADMIN: run as root)"
                } else {
                    ""
                };
                error!(
                    "IPVS: {e}{why}; virtual servers are not programmed (VRRP and health checks go on)"
                );
                None
            }
        }
    };

    // tracking: what scripts and files say before the engine starts
    let initial = Tracking::initial(&cfg, &specs);
    let mut file_values: HashMap<String, i64> = initial.files.iter().cloned().collect();
    // the specs VRRP runs with (a reload VRRP refuses leaves them)
    let mut vrrp_specs = specs.clone();

    let (ntx, mut nrx) = mpsc::unbounded_channel();
    // false while VRRP could not start (a reload tries again)
    let mut vrrp_up = true;
    // the threads' scheduling (real time for VRRP by default; see `sched`)
    let (vrrp_sched, _, process_sched) = sched::from_config(&cfg.global_defs);
    for p in sched::apply_process(&process_sched) {
        warn!("{p}");
    }
    let vrrp = match shell::spawn(specs, initial, ntx.clone(), vrrp_sched.clone(), claims) {
        Ok(h) => h,
        Err(e) => {
            vrrp_up = false;
            // one clear line; IPVS and the health checks go on without VRRP
            let why = if e.kind() == std::io::ErrorKind::PermissionDenied {
                " (VRRP needs CAP_NET_RAW and CAP_NET_ADMIN: run as root)"
            } else {
                ""
            };
            error!("VRRP: {e}{why}; VRRP is not running, the rest goes on");
            match shell::spawn(
                spec::Specs::default(),
                shell::Initial::default(),
                ntx,
                vrrp_sched,
                shell::Claims::new(),
            ) {
                Ok(h) => h,
                Err(e) => {
                    error!("VRRP: {e}");
                    return 1;
                }
            }
        }
    };
    let mut syncd = start_syncd(&cfg);
    // track_file values go to VRRP and to the FILE_CHECKs (through the loop below)
    let (ftx, mut frx) = mpsc::unbounded_channel::<(String, i64)>();
    let mut tracking = Tracking::new(run_as, vrrp.commands.clone(), ftx);
    let start_files: Vec<(String, i64)> = file_values.clone().into_iter().collect();
    tracking.update(&cfg, &vrrp_specs, &start_files);

    // health checks feed IPVS: a real server whose checks fail leaves its service
    let (htx, mut hrx) = mpsc::unbounded_channel::<HealthChange>();
    let mut health = Health {
        down: HashSet::new(),
        desired: HashMap::new(),
        weight: HashMap::new(),
        notify: LvsNotifier::new(&cfg, run_as, mailer.clone()),
    };
    let check_stats = CheckStats::default();
    let mut checks = start_checks(&cfg, &mut health, &htx, run_as, &file_values, &check_stats);
    let mut pools = Pools::from_config(&cfg);
    apply_health(&cfg, &mut health, &mut pools, &mut lvs, Some(""));
    let signals = Signals::new();
    let Ok(mut signals) = signals else {
        error!("cannot install signal handlers");
        vrrp.shutdown().await;
        return 1;
    };
    // the control socket: `ldirector reload` and `ldirector status`
    let started = std::time::Instant::now();
    let (ctl_tx, ctl_rx) = mpsc::channel(16);
    let mut control = Some(ctl_rx);
    let control_path = match server::listen(&args.run_dir, ctl_tx.clone()) {
        Ok(p) => Some(p),
        Err(e) => {
            error!(
                "control socket in {}: {e}; `ldirector reload` and `status` cannot reach this daemon (SIGHUP still reloads)",
                args.run_dir.display()
            );
            None
        }
    };
    // the HTTP endpoint, when asked for
    let mut http = Http::default();
    http.follow(
        args.http_listen.or(cfg.global_defs.http_listen),
        &ctl_tx,
        &check_stats,
    )
    .await;
    let mut life = Life {
        path: path.to_path_buf(),
        started,
        reloads: 0,
        reloads_refused: 0,
    };
    info!("running");
    let mut systemd = crate::control::systemd::Notify::from_env();
    systemd.ready("running");
    release_freed_memory();
    let mut drain_timer = tokio::time::interval(Duration::from_secs(1));
    drain_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // a reload asked by SIGHUP (None) or by `ldirector reload` (the reply)
        let mut pending_reload: Option<Vec<tokio::sync::oneshot::Sender<String>>> = None;
        // whether the reload may apply a configuration with nothing to run
        let mut allow_empty = false;
        tokio::select! {
            Some(req) = async { match control.as_mut() { Some(c) => c.recv().await, None => std::future::pending().await } } => {
                match req.command {
                    ControlCommand::Status => {
                        let st = status(&cfg, &life, &health, &pools, &mut lvs, &vrrp.status, syncd.as_ref());
                        let _ = req.reply.send(serde_json::to_string(&st).unwrap_or_default());
                    }
                    ControlCommand::Reload { allow_empty: allow } => {
                        info!("ldirector reload: reloading {}", path.display());
                        pending_reload = Some(vec![req.reply]);
                        allow_empty = allow;
                    }
                }
            }
            _ = drain_timer.tick(), if lvs.as_ref().is_some_and(|m| m.draining()) => {
                if let Some(Err(e)) = lvs.as_mut().map(|m| m.drain_tick()) {
                    error!("IPVS: draining: {e}");
                }
            }
            Some(n) = nrx.recv() => {
                follow_syncd(&mut syncd, &cfg, &n);
                notifier.send(n);
            }
            Some((name, v)) = frx.recv() => {
                let _ = checks.input.send(Input::File(name.clone(), v));
                file_values.insert(name, v);
            }
            Some(h) = hrx.recv() => {
                let name = cfg
                    .virtual_server
                    .get(h.rs.0)
                    .and_then(|v| v.real_server.get(h.rs.1).map(|r| format!("real_server {} of {}", r.ip, v.describe())))
                    .unwrap_or_default();
                match h.weight {
                    Some(w) => {
                        info!("{name}: weight {w}");
                        health.weight.insert(h.rs, w);
                    }
                    None => {
                        info!("{name} is {}", if h.up { "healthy" } else { "failed" });
                        if h.up {
                            health.down.remove(&h.rs);
                        } else {
                            health.down.insert(h.rs);
                        }
                        rs_notify(&cfg, &mut health, h.rs, h.up);
                    }
                }
                apply_health(&cfg, &mut health, &mut pools, &mut lvs, None);
            }
            s = signals.next() => match s {
                Sig::Stop(name) => {
                    info!("{name}: stopping");
                    break;
                }
                Sig::Reload => {
                    info!("SIGHUP: reloading {}", path.display());
                    pending_reload = Some(Vec::new());
                }
                Sig::Dump => {
                    let st = status(&cfg, &life, &health, &pools, &mut lvs, &vrrp.status, syncd.as_ref());
                    let file = args.run_dir.join("ldirector.data");
                    let text = format!(
                        "{}\n{}\n",
                        st.table(),
                        serde_json::to_string_pretty(&st).unwrap_or_default()
                    );
                    match std::fs::write(&file, text) {
                        Ok(()) => info!("SIGUSR1: state written to {}", file.display()),
                        Err(e) => error!("SIGUSR1: {}: {e}", file.display()),
                    }
                }
            },
        }
        if let Some(mut replies) = pending_reload {
            // reloads queue: requests that come while this one settles or runs are served
            // by one more reload at most (a storm of SIGHUPs ends in the last config,
            // applied once or twice)
            let deferred = settle(&mut signals, &mut control, &mut replies, &mut allow_empty).await;
            systemd.reloading();
            let old_cfg = cfg.clone();
            let old_names: Vec<String> = cfg.virtual_server.iter().map(|v| v.describe()).collect();
            let mut vrrp_note = None;
            let outcome = reload(&mut cfg, args, &mut lvs, &mut vmacs, allow_empty);
            let outcome = match outcome {
                Ok((warnings, specs, new_statics)) => {
                    last.clone_from(&cfg.global_defs);
                    // static addresses, routes and rules: the ones gone leave, new ones come
                    kept.reload(&cfg, new_statics);
                    if old_cfg.global_defs != cfg.global_defs {
                        mailer = Mailer::new(&cfg);
                    }
                    notifier.reconfigure(&cfg, mailer.clone());
                    health.notify.reconfigure(&old_cfg, &cfg, mailer.clone());
                    // VRRP: continued instances keep their state and timers
                    let now_files = track_file::initial(&cfg.track_file);
                    let initial = tracking.update(&cfg, &specs, &now_files);
                    for (name, v) in &initial.files {
                        if file_values.insert(name.clone(), *v) != Some(*v) {
                            let _ = checks.input.send(Input::File(name.clone(), *v));
                        }
                    }
                    reload_syncd(&mut syncd, &cfg);
                    let (tx, answer) = tokio::sync::oneshot::channel();
                    let _ = vrrp.commands.send(shell::Command::Reload {
                        specs: specs.clone(),
                        initial,
                        reply: tx,
                    });
                    let failed = match answer.await {
                        Ok(Ok(())) => {
                            // the VMACs of instances that are gone
                            vmacs.keep_only(&spec::vmacs(&cfg));
                            if !vrrp_up && !cfg.vrrp_instance.is_empty() {
                                info!("reload: VRRP is running now");
                            }
                            vrrp_up = true;
                            vrrp_specs = specs;
                            None
                        }
                        Ok(Err(e)) if vrrp_up => {
                            // the instances run on as they were: so do their vrrp_scripts
                            tracking.update_scripts(&old_cfg, &vrrp_specs);
                            Some(format!("VRRP: {e}; the VRRP instances run on as before"))
                        }
                        Ok(Err(e)) => Some(format!("VRRP still cannot start: {e}")),
                        Err(_) => Some("VRRP is not running".to_string()),
                    };
                    if let Some(f) = failed {
                        error!("reload: {f}");
                        // the caller of `ldirector reload` hears of it too
                        vrrp_note = Some(f);
                    }
                    Ok(warnings)
                }
                Err(e) => Err(e),
            };
            if let Ok(warnings) = &outcome {
                for w in warnings {
                    warn!("{w}");
                }
                removed_notify(&old_cfg, &cfg, &mut health);
                // unchanged checkers carry on; the others start afresh
                let (tx, answer) = tokio::sync::oneshot::channel();
                let _ = checks.input.send(Input::Reload(Box::new(cfg.clone()), tx));
                match answer.await {
                    Ok(start) => set_health(&mut health, start),
                    Err(_) => {
                        error!("reload: the health checks had stopped; starting them again");
                        checks = start_checks(
                            &cfg,
                            &mut health,
                            &htx,
                            run_as,
                            &file_values,
                            &check_stats,
                        );
                    }
                }
                if let Some(m) = lvs.as_mut() {
                    m.reloading(cfg.global_defs.lvs_drain_timeout.as_duration());
                }
                let old_pools = std::mem::replace(&mut pools, Pools::from_config(&cfg));
                pools.carry_from(&old_pools, &old_names, &cfg);
                apply_health(&cfg, &mut health, &mut pools, &mut lvs, Some("reload: "));
            }
            if outcome.is_ok() {
                life.reloads += 1;
                http.follow(
                    args.http_listen.or(cfg.global_defs.http_listen),
                    &ctl_tx,
                    &check_stats,
                )
                .await;
            } else {
                life.reloads_refused += 1;
            }
            systemd.ready(if outcome.is_ok() {
                "running (reloaded)"
            } else {
                "running (reload refused: see the log)"
            });
            let answer = match &outcome {
                Ok(w) => {
                    let w: Vec<&String> = w.iter().chain(&vrrp_note).collect();
                    serde_json::json!({ "ok": true, "warnings": w })
                }
                Err(e) => serde_json::json!({ "ok": false, "errors": e }),
            };
            for reply in replies {
                let _ = reply.send(answer.to_string());
            }
            for req in deferred {
                let st = status(
                    &cfg,
                    &life,
                    &health,
                    &pools,
                    &mut lvs,
                    &vrrp.status,
                    syncd.as_ref(),
                );
                let _ = req
                    .reply
                    .send(serde_json::to_string(&st).unwrap_or_default());
            }
        }
    }
    systemd.stopping();
    tracking.stop();
    if let Some(p) = &control_path {
        let _ = std::fs::remove_file(p);
    }
    checks.stop();
    omega(&cfg, &mut health, &pools);
    vrrp.shutdown().await;
    if let Some(m) = lvs.as_mut() {
        m.release(cfg.global_defs.lvs_flush_on_stop, args.dont_release_ipvs);
    }
    while let Ok(n) = nrx.try_recv() {
        follow_syncd(&mut syncd, &cfg, &n);
        notifier.send(n);
    }
    if let Some(d) = syncd.as_mut() {
        d.stop();
    }
    kept.release();
    notifier.drain(Duration::from_secs(10)).await;
    health.notify.drain(Duration::from_secs(10)).await;
    info!("stopped");
    0
}

/// keepalived-like lines for the changes of a service's destinations.
fn log_desired(
    vs: &crate::config::model::VirtualServer,
    before: &(Vec<Option<u32>>, Option<u32>),
    now: &(Vec<Option<u32>>, Option<u32>),
) {
    let name = vs.describe();
    let rows = vs
        .real_server
        .iter()
        .map(|r| {
            let addr = std::net::SocketAddr::new(r.ip, r.port.or(vs.port).unwrap_or(0));
            format!("real_server {addr}")
        })
        .zip(before.0.iter().zip(&now.0))
        .chain(
            vs.sorry_server
                .iter()
                .map(|s| format!("sorry_server {}", s.ip))
                .zip(std::iter::once((&before.1, &now.1))),
        );
    for (what, (b, n)) in rows {
        match (b, n) {
            (b, n) if b == n => {}
            (None, Some(w)) => info!("{name}: {what} added with weight {w}"),
            (Some(_), None) => info!("{name}: {what} removed"),
            (Some(a), Some(w)) => info!("{name}: {what} weight {a} -> {w}"),
            (None, None) => {}
        }
    }
}

/// The static addresses, routes and rules and the no_accept table this daemon added:
/// released at the stop, and when dropped (a start that fails leaves none behind).
struct Statics {
    nl: Rtnl,
    objs: Vec<Kernel>,
    refused: Vec<IpAddr>,
}

impl Statics {
    fn start(cfg: &Config, objs: Vec<Kernel>) -> Result<Statics, String> {
        let mut nl = Rtnl::open().map_err(|e| format!("rtnetlink: {e}"))?;
        for k in &objs {
            if let Err(e) = k.add(&mut nl) {
                error!("adding static {k}: {e}");
            }
        }
        let mut me = Statics {
            nl,
            objs,
            refused: Vec::new(),
        };
        me.refuse(no_accept::addresses(cfg), "");
        Ok(me)
    }

    /// The no_accept table for `now` (none when empty).
    fn refuse(&mut self, now: Vec<IpAddr>, label: &str) {
        if now == self.refused {
            return;
        }
        let r = if now.is_empty() {
            no_accept::remove()
        } else {
            no_accept::install(&now)
        };
        match r {
            Ok(()) => {
                if !now.is_empty() {
                    info!(
                        "{label}no_accept: packets to {} VIP(s) are dropped (nftables table inet {})",
                        now.len(),
                        no_accept::TABLE
                    );
                }
                self.refused = now;
            }
            Err(e) => error!("{label}no_accept / vrrp_strict not enforced, masters will accept packets to their VIPs: {e}"),
        }
    }

    /// A reload: the objects gone leave, new ones come; the table follows.
    fn reload(&mut self, cfg: &Config, objs: Vec<Kernel>) {
        let (remove, add) = addr::diff(&self.objs, &objs);
        addr::change(&mut self.nl, "reload: static", &remove, &add);
        self.objs = objs;
        self.refuse(no_accept::addresses(cfg), "reload: ");
    }

    /// Remove everything (again: nothing).
    fn release(&mut self) {
        for k in std::mem::take(&mut self.objs).iter().rev() {
            let _ = k.remove(&mut self.nl);
        }
        if !self.refused.is_empty() {
            if let Err(e) = no_accept::remove() {
                warn!("removing the no_accept table: {e}");
            }
            self.refused.clear();
        }
    }
}

impl Drop for Statics {
    fn drop(&mut self) {
        self.release();
    }
}

/// The VMACs (use_vmac) this daemon made: removed when dropped, so a start that fails
/// leaves none behind.
#[derive(Default)]
struct Vmacs(Vec<crate::net::vmac::Made>);

impl Vmacs {
    /// Make the ones of `wanted` not made yet.
    fn make(&mut self, wanted: &[crate::net::vmac::Vmac]) -> Result<(), String> {
        let missing: Vec<_> = wanted
            .iter()
            .filter(|w| !self.0.iter().any(|m| m.vmac == **w))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let mut nl = Rtnl::open().map_err(|e| format!("rtnetlink: {e}"))?;
        for w in missing {
            let m = crate::net::vmac::create(&mut nl, w).map_err(|e| e.to_string())?;
            info!("use_vmac: {} made on {}", w.name, w.base);
            self.0.push(m);
        }
        if let Some(w) = crate::net::vmac::rp_filter_problem() {
            warn!("{w}");
        }
        Ok(())
    }

    /// Remove the ones `wanted` no longer has.
    fn keep_only(&mut self, wanted: &[crate::net::vmac::Vmac]) {
        let (keep, gone): (Vec<_>, Vec<_>) = std::mem::take(&mut self.0)
            .into_iter()
            .partition(|m| wanted.contains(&m.vmac));
        self.0 = keep;
        if gone.is_empty() {
            return;
        }
        match Rtnl::open() {
            Ok(mut nl) => {
                for m in gone.iter().rev() {
                    match crate::net::vmac::remove(&mut nl, m) {
                        Ok(()) => info!("use_vmac: {} removed", m.vmac.name),
                        Err(e) => warn!("use_vmac: removing {}: {e}", m.vmac.name),
                    }
                }
            }
            Err(e) => error!("use_vmac: rtnetlink: {e}; VMACs left behind"),
        }
    }
}

impl Drop for Vmacs {
    fn drop(&mut self) {
        self.keep_only(&[]);
    }
}

/// The daemon's own history, for status and metrics.
struct Life {
    /// The configuration file.
    path: PathBuf,
    started: std::time::Instant,
    reloads: u64,
    reloads_refused: u64,
}

/// What `ldirector status` shows.
fn status(
    cfg: &Config,
    life: &Life,
    health: &Health,
    pools: &Pools,
    lvs: &mut Option<Manager>,
    vrrp: &shell::Snapshot,
    syncd: Option<&SyncDaemon>,
) -> st::Status {
    let vrrp = vrrp
        .lock()
        .map(|v| {
            v.iter()
                .map(|i| st::Instance {
                    name: i.name.clone(),
                    state: i.state.name().to_string(),
                    priority: i.priority,
                    master: i.master.map(|a| a.to_string()),
                    since_s: i.since.map(|t| t.elapsed().as_secs_f64()),
                    adverts_sent: i.stats.adverts_sent,
                    adverts_received: i.stats.adverts_received,
                    dropped: i.stats.dropped.values().sum(),
                    transitions: i.stats.transitions,
                    became_master: i.stats.became_master,
                    dropped_by_reason: i
                        .stats
                        .dropped
                        .iter()
                        .map(|(k, v)| (k.to_string(), *v))
                        .collect(),
                    other_vrid: i.stats.other_vrid,
                    address_list_mismatch: i.stats.address_list_mismatch,
                    priority_zero_sent: i.stats.priority_zero_sent,
                    priority_zero_received: i.stats.priority_zero_received,
                    announcements: i.stats.announcements,
                })
                .collect()
        })
        .unwrap_or_default();
    let read = lvs.as_mut().map(|m| m.readings(cfg)).unwrap_or_default();
    let traffic = |t: &crate::ipvs::table::Stats| st::Traffic {
        connections: t.conns,
        in_packets: t.inpkts,
        out_packets: t.outpkts,
        in_bytes: t.inbytes,
        out_bytes: t.outbytes,
    };
    let virtual_servers = cfg
        .virtual_server
        .iter()
        .enumerate()
        .map(|(vi, vs)| {
            let want = health.desired.get(&vi);
            let port = |p: Option<u16>| p.or(vs.port).unwrap_or(0);
            let row = |which: Option<usize>, address: String, healthy: bool, weight| {
                let c = read.dests.get(&(vi, which));
                st::Real {
                    address,
                    healthy,
                    weight,
                    active: c.map(|c| c.0.active),
                    inactive: c.map(|c| c.0.inactive),
                    traffic: c.map(|c| traffic(&c.1)),
                }
            };
            st::Service {
                name: vs.describe(),
                quorum: pools.has_quorum(vi),
                traffic: read.services.get(&vi).map(traffic),
                real_servers: vs
                    .real_server
                    .iter()
                    .enumerate()
                    .map(|(ri, r)| {
                        row(
                            Some(ri),
                            std::net::SocketAddr::new(r.ip, port(r.port)).to_string(),
                            !health.down.contains(&(vi, ri)),
                            want.and_then(|w| w.0.get(ri).copied().flatten()),
                        )
                    })
                    .collect(),
                sorry_server: vs.sorry_server.as_ref().map(|s| {
                    row(
                        None,
                        std::net::SocketAddr::new(s.ip, port(s.port)).to_string(),
                        true,
                        want.and_then(|w| w.1),
                    )
                }),
            }
        })
        .collect();
    st::Status {
        version: env!("CARGO_PKG_VERSION").to_string(),
        config: life.path.display().to_string(),
        uptime_s: life.started.elapsed().as_secs_f64(),
        vrrp,
        virtual_servers,
        ipvs: lvs.is_some(),
        reloads: life.reloads,
        reloads_refused: life.reloads_refused,
        sync_daemon: match (syncd, &cfg.global_defs.lvs_sync_daemon) {
            (Some(d), _) => Some(d.describe()),
            (None, Some(_)) => Some("not running (see the log)".into()),
            (None, None) => None,
        },
    }
}

/// Give the memory freed after reading the config back to the system (glibc keeps it
/// otherwise: a 10,000-server config's parse would stay in the RSS for good).
fn release_freed_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only releases free heap pages; it has no preconditions
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Real servers' health: the failed ones, weights set by checks (misc_dynamic, FILE_CHECK),
/// what the pools asked for, and the notifier of changes (scripts; notify_fifo and
/// lvs_notify_fifo lines).
struct Health {
    /// Real-server and quorum notifications (scripts, FIFO lines).
    notify: LvsNotifier,
    down: HashSet<RsIndex>,
    /// Per service: what the pools last asked for (real servers' weights, sorry server).
    desired: HashMap<usize, (Vec<Option<u32>>, Option<u32>)>,
    weight: HashMap<RsIndex, u32>,
}

/// A real server changed state: its notify_up / notify_down script and a FIFO line.
fn rs_notify(cfg: &Config, health: &mut Health, rs: RsIndex, up: bool) {
    if let Some((vs, r)) = cfg
        .virtual_server
        .get(rs.0)
        .and_then(|vs| vs.real_server.get(rs.1).map(|r| (vs, r)))
    {
        health.notify.rs(vs, r, up, Why::Check);
    }
}

/// At shutdown, for the virtual servers with `omega`: the down notifications of the live
/// real servers, and quorum_down where the quorum was held (keepalived does the same).
fn omega(cfg: &Config, health: &mut Health, pools: &Pools) {
    for (vi, vs) in cfg.virtual_server.iter().enumerate() {
        if !vs.omega {
            continue;
        }
        for (ri, r) in vs.real_server.iter().enumerate() {
            if !health.down.contains(&(vi, ri)) {
                health.notify.rs(vs, r, false, Why::Shutdown);
            }
        }
        if pools.has_quorum(vi) {
            health.notify.quorum(vs, false, true);
        }
    }
}

/// After a reload: the real servers that are gone from the config and were up get their
/// down notifications (as keepalived does). `old` is the previous config.
fn removed_notify(old: &Config, new: &Config, health: &mut Health) {
    let key = |vs: &crate::config::model::VirtualServer, r: &crate::config::model::RealServer| {
        (vs.describe(), r.ip, r.port.or(vs.port))
    };
    let kept: HashSet<_> = new
        .virtual_server
        .iter()
        .flat_map(|vs| vs.real_server.iter().map(move |r| key(vs, r)))
        .collect();
    for (vi, vs) in old.virtual_server.iter().enumerate() {
        for (ri, r) in vs.real_server.iter().enumerate() {
            if !kept.contains(&key(vs, r)) && !health.down.contains(&(vi, ri)) {
                info!("reload: real_server {} of {} removed", r.ip, vs.describe());
                health.notify.rs(vs, r, false, Why::Removed);
            }
        }
    }
}

/// Start the health checks of `cfg` on their own thread, with the initial health of every
/// real server in `health` (failed ones, weights the checks set at once).
fn start_checks(
    cfg: &Config,
    health: &mut Health,
    tx: &mpsc::UnboundedSender<HealthChange>,
    run_as: Option<exec::RunAs>,
    files: &HashMap<String, i64>,
    stats: &CheckStats,
) -> Running {
    let checks = Checks::from_config(cfg, std::time::Instant::now(), run_as, files.clone());
    set_health(health, checks.start());
    let (_, checker_sched, _) = sched::from_config(&cfg.global_defs);
    match Running::spawn(checks, tx.clone(), stats.clone(), checker_sched) {
        Ok(r) => r,
        Err(e) => {
            // without a thread nothing is checked: said loudly, the rest goes on
            error!("health checks: cannot start their thread: {e}");
            let (input, _) = mpsc::unbounded_channel();
            Running::idle(input)
        }
    }
}

fn set_health(health: &mut Health, start: Start) {
    // services may have moved in the new config: what they asked for is compared afresh
    health.desired.clear();
    health.down = start.down.into_iter().collect();
    health.weight = start.weights.into_iter().collect();
}

/// Bring IPVS to the config with the current health, through the pools (quorum with
/// hysteresis, sorry server, inhibit_on_failure): a diff, so nothing changed is no write.
/// Quorum changes run quorum_up / quorum_down.
/// `summary`: at start ("") and reload ("reload: ") the IPVS summary is logged even when
/// nothing was written.
fn apply_health(
    cfg: &Config,
    health: &mut Health,
    pools: &mut Pools,
    lvs: &mut Option<Manager>,
    summary: Option<&str>,
) {
    let up =
        |vi: usize, ri: usize| {
            if health.down.contains(&(vi, ri)) {
                None
            } else {
                Some(
                    health.weight.get(&(vi, ri)).copied().unwrap_or_else(|| {
                        cfg.virtual_server[vi].real_server[ri].effective.weight.0
                    }),
                )
            }
        };
    for (vi, ev) in pools.update(cfg, &up) {
        let vs = &cfg.virtual_server[vi];
        let gained = ev == QuorumEvent::Gained;
        warn!(
            "{}: quorum {}",
            vs.describe(),
            if gained { "gained" } else { "lost" }
        );
        health.notify.quorum(vs, gained, false);
    }
    // what each service should hold now: logged as it changes (with or without IPVS)
    for vi in 0..cfg.virtual_server.len() {
        let now = pools.weights(cfg, vi, &up);
        let before = health.desired.insert(vi, now.clone());
        if let Some(before) = before.filter(|b| *b != now) {
            log_desired(&cfg.virtual_server[vi], &before, &now);
        }
    }
    if let Some(m) = lvs.as_mut() {
        match (
            m.sync_weighted(cfg, &|vi| pools.weights(cfg, vi, &up)),
            summary,
        ) {
            (Ok(s), Some(label)) => info!(
                "{label}IPVS: {} service(s), {} destination(s); {} change(s) written, {} refused",
                s.services, s.dests, s.ops, s.failed
            ),
            (Ok(s), None) if s.ops > 0 => info!("IPVS: {} change(s) written for health", s.ops),
            (Ok(_), None) => {}
            (Err(e), _) => error!("IPVS: {e}"),
        }
    }
}

/// Open IPVS and apply the start-up settings; the table itself is written by
/// `apply_health`, with the checks' initial health, so no real server the checks hold
/// down is ever added for a moment.
fn ipvs_start(cfg: &Config) -> std::io::Result<Manager> {
    let mut m = Manager::open()?;
    m.prepare(cfg)?;
    Ok(m)
}

/// SIGHUP or `ldirector reload`: read and check the new configuration completely, with
/// everything built from it that can fail (VRRP specs, static objects), before anything
/// changes. Invalid: the running configuration stays; Err(the diagnostic lines), also
/// logged. Valid: it becomes the running one and the caller applies it as a diff (VRRP,
/// statics, IPVS with health); Ok(warnings, VRRP specs, static objects).
fn reload(
    cfg: &mut Config,
    args: &RunArgs,
    lvs: &mut Option<Manager>,
    vmacs: &mut Vmacs,
    allow_empty: bool,
) -> Result<(Vec<String>, spec::Specs, Vec<Kernel>), Vec<String>> {
    let mut loaded = args.config.load();
    half(&mut loaded.config, args);
    if loaded.is_valid() {
        validate::host(&loaded.config, &loaded.locs, &mut loaded.diags);
    }
    let lines: Vec<String> = loaded
        .diags
        .render()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    if loaded.diags.has_errors() {
        for line in &lines {
            error!("{line}");
        }
        error!("reload refused: the configuration has errors; still running the previous one");
        return Err(lines);
    }
    let new = loaded.config;
    // a file caught while being rewritten (`cat new > conf` during a SIGHUP) reads as an
    // empty configuration: applying it would release every VIP and service
    let nothing = |c: &Config| c.vrrp_instance.is_empty() && c.virtual_server.is_empty();
    if nothing(&new) && !nothing(cfg) && !allow_empty {
        let e = "reload refused: the new configuration defines no vrrp_instance and no virtual_server (a file being rewritten?); still running the previous one. `ldirector reload --allow-empty` applies it".to_string();
        error!("{e}");
        return Err(vec![e]);
    }
    if new.global_defs.net_namespace != cfg.global_defs.net_namespace {
        let e = format!(
            "reload refused: net_namespace cannot change on a reload (from {} to {}, as in keepalived); still running the previous configuration: restart ldirector to move it",
            cfg.global_defs.net_namespace.as_deref().unwrap_or("none"),
            new.global_defs.net_namespace.as_deref().unwrap_or("none"),
        );
        error!("{e}");
        return Err(vec![e]);
    }
    // new VMACs before the instances that name them; refused, they go again
    if let Err(e) = vmacs.make(&spec::vmacs(&new)) {
        vmacs.keep_only(&spec::vmacs(cfg));
        let e = format!("reload refused: use_vmac: {e}; still running the previous configuration");
        error!("{e}");
        return Err(vec![e]);
    }
    let specs = match spec::build(&new, &Interfaces::read()) {
        Ok(s) => s,
        Err(errs) => {
            vmacs.keep_only(&spec::vmacs(cfg));
            for e in &errs {
                error!("{e}");
            }
            error!("reload refused: the VRRP instances cannot run on this host; still running the previous configuration");
            return Err(errs);
        }
    };
    let new_statics = match statics(&new) {
        Ok(s) => s,
        Err(e) => {
            vmacs.keep_only(&spec::vmacs(cfg));
            error!("{e}");
            error!("reload refused; still running the previous configuration");
            return Err(vec![e]);
        }
    };
    // the threads and the process keep the scheduling they started with
    if sched::from_config(&cfg.global_defs) != sched::from_config(&new.global_defs) {
        warn!("reload: the vrrp_* and checker_* scheduling settings (priority, rt_priority, rlimit_rttime, cpu_affinity) take effect at the next start");
    }
    if lvs.is_none() && !new.virtual_server.is_empty() {
        match ipvs_start(&new) {
            Ok(m) => *lvs = Some(m),
            Err(e) => error!("reload: IPVS: {e}"),
        }
    }
    *cfg = new;
    Ok((lines, specs, new_statics))
}

/// The HTTP endpoint as configured: (re)bound when its address changes, off when unset.
#[derive(Default)]
struct Http {
    on: Option<(std::net::SocketAddr, tokio::task::JoinHandle<()>)>,
}

impl Http {
    async fn follow(
        &mut self,
        want: Option<std::net::SocketAddr>,
        tx: &mpsc::Sender<server::Request>,
        stats: &CheckStats,
    ) {
        if self.on.as_ref().map(|o| o.0) == want {
            return;
        }
        if let Some((_, t)) = self.on.take() {
            t.abort();
        }
        if let Some(addr) = want {
            match crate::control::http::serve(addr, tx.clone(), stats.clone()).await {
                Ok(t) => self.on = Some((addr, t)),
                Err(e) => error!("HTTP endpoint on {addr}: {e}; /metrics is not served"),
            }
        }
    }
}

/// Before a reload: gather the reload requests (SIGHUP, `ldirector reload`) that follow
/// within 100 ms of each other (1 s at most), so that a burst is one reload. Status
/// requests that come meanwhile are returned, answered after the reload.
async fn settle(
    signals: &mut Signals,
    control: &mut Option<mpsc::Receiver<server::Request>>,
    replies: &mut Vec<tokio::sync::oneshot::Sender<String>>,
    allow_empty: &mut bool,
) -> Vec<server::Request> {
    let mut deferred = Vec::new();
    let limit = tokio::time::Instant::now() + Duration::from_secs(1);
    loop {
        let quiet = tokio::time::sleep(Duration::from_millis(100));
        tokio::select! {
            biased;
            _ = signals.hup.recv() => {}
            Some(req) = async { match control.as_mut() { Some(c) => c.recv().await, None => std::future::pending().await } } => {
                match req.command {
                    ControlCommand::Reload { allow_empty: allow } => {
                        replies.push(req.reply);
                        *allow_empty |= allow;
                    }
                    ControlCommand::Status => deferred.push(req),
                }
            }
            _ = quiet => break,
            _ = tokio::time::sleep_until(limit) => break,
        }
    }
    deferred
}

enum Sig {
    Stop(&'static str),
    Reload,
    /// SIGUSR1: write the state to `<run-dir>/ldirector.data` (keepalived writes
    /// /tmp/keepalived.data).
    Dump,
}

struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    usr1: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
            usr1: signal(SignalKind::user_defined1())?,
        })
    }

    async fn next(&mut self) -> Sig {
        tokio::select! {
            _ = self.term.recv() => Sig::Stop("SIGTERM"),
            _ = self.int.recv() => Sig::Stop("SIGINT"),
            _ = self.hup.recv() => Sig::Reload,
            _ = self.usr1.recv() => Sig::Dump,
        }
    }
}
