//! The daemon (`ldirector run`): the subsystems — VRRP with tracking and notifications,
//! static addresses, health checks, IPVS, the sync daemon, the control socket and HTTP
//! endpoint — started in order, driven by one loop, reloaded as a diff, stopped in the
//! reverse order. As keepalived has a start, stop and reload per subsystem, each subsystem
//! here is a field of [`Daemon`] with its own start, reload and release, and each input of
//! the loop has its own `drive_*` method (as quinn's connection driver has one per source).
//!
//! Everything the daemon adds to the kernel is held by a guard (`Statics`, `Vmacs`, the
//! VRRP and IPVS threads) released at the stop and on every early return of the start, so
//! a start that fails leaves the host as it was.

mod build;
mod claims;
mod health;
mod http;
mod pidfile;
mod scripts;
mod signals;
mod sloppy;
mod statics;
mod status;
mod syncd;
mod upgrade;
mod vmacs;

pub(crate) use build::Options;

use crate::anycast::engine::Input as AnycastInput;
use crate::anycast::{spec as anycast_spec, Anycast};
use crate::check::runner::{Checks, Input, Report, Running};
use crate::check::stats::CheckStats;
use crate::config::Config;
use crate::control::server::{self, Command as ControlCommand, Request};
use crate::control::status as st;
use crate::control::systemd;
use crate::exec::{self, RunAs};
use crate::ipvs::{actor, syncd::SyncDaemon};
use crate::notify::lvs::{LvsNotifier, Why};
use crate::notify::mail::{Counters, Mailer};
use crate::notify::vrrp::Notifier;
use crate::sched;
use crate::track::file as track_file;
use crate::track::tasks::Tracking;
use crate::track::Event as TrackEvent;
use crate::upgrade::state::Handover;
use crate::vrrp::engine::Notification;
use crate::vrrp::{shell, spec};
use health::{Event, Health};
use signals::{Sig, Signals};
use statics::Statics;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tracing::{error, info, warn};
use vmacs::Vmacs;

/// How long a status request waits for the kernel's counters before it is answered with
/// the last ones read (a reading of a large table takes seconds).
const READINGS_WAIT: Duration = Duration::from_secs(1);

/// Run the daemon to its stop; the process exit code.
pub(crate) fn run(mut opts: Options) -> i32 {
    // a predecessor binary handing over (`ldirector upgrade`), or asking whether we can
    let handover = std::env::var_os(crate::upgrade::ENV).map(PathBuf::from);
    let only_check = std::env::var_os(crate::upgrade::CHECK_ENV).is_some();
    // (not for the scripts this daemon runs; no other thread runs yet)
    std::env::remove_var(crate::upgrade::ENV);
    std::env::remove_var(crate::upgrade::CHECK_ENV);
    let mut loaded = opts.load(true);
    if loaded.diags.has_errors() {
        eprint!("{}", loaded.diags.render());
        error!(
            "{}: invalid configuration, not started",
            opts.path.display()
        );
        return 1;
    }
    let handover = match handover {
        Some(p) => {
            let read = crate::upgrade::state::read(&p);
            if only_check {
                // the running daemon asks whether this binary can continue it
                return match read {
                    Ok(_) => {
                        println!("ready: ldirector {}", env!("CARGO_PKG_VERSION"));
                        0
                    }
                    Err(e) => {
                        eprintln!("{e}");
                        1
                    }
                };
            }
            let _ = std::fs::remove_file(&p);
            // (the predecessor checked with us first: an error should not happen)
            read.map_err(|e| error!("upgrade: {e}; starting afresh (a re-election)"))
                .ok()
        }
        None => None,
    };
    for line in build::lines(&loaded) {
        warn!("{line}");
    }
    // net_namespace: a run folder of its own (two daemons in two namespaces share a host)
    if let Some(ns) = &loaded.config.global_defs.net_namespace {
        info!("net_namespace {ns}: running in it");
        opts.run_dir = opts.run_dir.join(ns);
    }
    let pid = match pidfile::PidFile::create(&opts.run_dir) {
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
    if opts.vrrp_only {
        info!("--vrrp: running the VRRP half only");
    }
    if opts.check_only {
        info!("--check: running the IPVS and health-check half only");
    }
    let cfg = std::mem::take(&mut loaded.config);
    let code = rt.block_on(lifetime(cfg, opts, handover));
    drop(pid);
    code
}

/// The daemon between keepalived's startup_script and shutdown_script: the first runs
/// before anything is added to the kernel, the second after everything was released
/// (also when the start failed), as the configuration in force at the stop names it.
async fn lifetime(cfg: Config, opts: Options, handover: Option<Handover>) -> i32 {
    // first: a signal during the start is then served, never fatal
    let signals = match Signals::install() {
        Ok(s) => s,
        Err(e) => {
            error!("cannot install signal handlers: {e}");
            return 1;
        }
    };
    info!(
        "ldirector {} starting with {}",
        env!("CARGO_PKG_VERSION"),
        opts.path.display()
    );
    let mut last = cfg.global_defs.clone();
    // (a new binary taking over is not a start: the first one ran startup_script)
    if handover.is_none() {
        scripts::run(scripts::When::Startup, &last).await;
    }
    let code = match Daemon::start(cfg, opts, signals, handover).await {
        Ok((daemon, inputs)) => {
            let (code, at_stop) = daemon.serve(inputs).await;
            last = at_stop;
            code
        }
        Err(e) => {
            error!("{e}");
            1
        }
    };
    scripts::run(scripts::When::Shutdown, &last).await;
    code
}

/// The inputs of the daemon's loop, apart from the daemon so that one select can wait on
/// all of them while a `drive_*` method has the daemon.
struct Inputs {
    signals: Signals,
    control: mpsc::Receiver<Request>,
    /// VRRP transitions (notify scripts, FIFOs, the sync daemon).
    notifications: mpsc::UnboundedReceiver<Notification>,
    /// What the trackers see (for VRRP, and the FILE_CHECKs).
    tracking: mpsc::UnboundedReceiver<TrackEvent>,
    health: mpsc::UnboundedReceiver<Report>,
}

/// What a `drive_*` method asks of the loop.
enum Step {
    Go,
    Stop,
    /// Reload, answering these `ldirector reload` requests (none for SIGHUP).
    Reload {
        replies: Vec<oneshot::Sender<String>>,
        allow_empty: bool,
    },
    /// Hand over to the binary on disk (`ldirector upgrade`, answered; SIGUSR2).
    Upgrade(Option<oneshot::Sender<String>>),
}

pub(crate) struct Daemon {
    opts: Options,
    cfg: Arc<Config>,
    run_as: Option<RunAs>,
    life: status::Life,
    systemd: systemd::Notify,
    // notifications
    mailer: Option<Mailer>,
    /// smtp_alert e-mails sent and failed (across reloads).
    mail_counts: Arc<Counters>,
    notifier: Notifier,
    lvs_notify: LvsNotifier,
    // kernel objects (guards)
    claims: claims::Claims,
    vmacs: Vmacs,
    sloppy: sloppy::Sloppy,
    statics: Statics,
    ipvs: Option<actor::Actor>,
    syncd: Option<SyncDaemon>,
    // VRRP and tracking
    vrrp: shell::Handle,
    /// False while VRRP could not start (a reload tries again).
    vrrp_up: bool,
    /// The specs VRRP runs with (a reload VRRP refuses leaves them).
    vrrp_specs: spec::Specs,
    tracking: Tracking,
    file_values: HashMap<String, i64>,
    /// The vrrp_scripts' last verdicts (for anycast blocks that start tracking one).
    script_values: HashMap<String, bool>,
    // health checks
    checks: Running,
    check_stats: CheckStats,
    health: Health,
    health_tx: mpsc::UnboundedSender<Report>,
    // anycast announcements
    anycast: Anycast,
    /// A stop waits for the anycast drain until then (the loop still serves meanwhile).
    draining_until: Option<tokio::time::Instant>,
    // control
    control_tx: mpsc::Sender<Request>,
    control_path: Option<PathBuf>,
    /// The control socket's listening descriptor (passed on by `ldirector upgrade`).
    control_fd: Option<std::os::fd::RawFd>,
    http: http::Http,
}

impl Daemon {
    /// Start every subsystem of `cfg`. What can fail comes before anything reaches the
    /// kernel or is guarded: an error returns with the host as it was.
    async fn start(
        cfg: Config,
        opts: Options,
        signals: Signals,
        handover: Option<Handover>,
    ) -> Result<(Daemon, Inputs), String> {
        // what a predecessor binary handed over: how long ago, its descriptors
        let mut handover = handover;
        let elapsed = handover.as_ref().map_or(Duration::ZERO, |h| {
            Duration::from_micros(
                crate::upgrade::state::monotonic_us().saturating_sub(h.saved_at_us),
            )
        });
        let mut fds = handover.as_mut().map(inherited_fds).unwrap_or_default();
        if let Some(h) = &handover {
            info!(
                "upgrade: continuing ldirector {} (handed over {} ms ago)",
                h.from_version,
                elapsed.as_millis()
            );
        }
        build::not_acted_on(&cfg);
        let run_as = exec::default_run_as(cfg.global_defs.script_user.as_ref())
            .map_err(|e| format!("script_user: {e}"))?;
        // the notify FIFOs open before anything reaches the kernel
        let mail_counts = Arc::new(Counters::default());
        let mailer = Mailer::new(&cfg, &mail_counts);
        let notifier = Notifier::new(&cfg, run_as, mailer.clone())?;
        // a second daemon for the same virtual routers in this network namespace stops
        // here, before anything is added to the kernel
        let mut claims = claims::Claims::default();
        claims
            .add(&cfg)
            .map_err(|e| format!("{e}: refusing to start"))?;
        // the VMACs before the instances whose addresses are on them
        let mut vmacs = Vmacs::default();
        if handover.is_some() {
            vmacs.adopt(&spec::vmacs(&cfg));
        }
        vmacs.make(&spec::vmacs(&cfg))?;
        let built = build::build(&cfg).map_err(|e| e.join("\n"))?;
        let mut anycast_specs = anycast_spec::build(&cfg).map_err(|e| e.join("\n"))?;
        fail_point("vmacs")?;
        let statics = Statics::start(&cfg, built.statics)?;
        fail_point("statics")?;
        let ipvs = if cfg.virtual_server.is_empty() {
            None
        } else {
            let resumed = handover
                .as_mut()
                .map(|h| (std::mem::take(&mut h.drains), elapsed));
            match actor::Actor::start(&cfg, resumed) {
                Ok(a) => Some(a),
                Err(e) => {
                    let why = if e.kind() == std::io::ErrorKind::PermissionDenied {
                        " (IPVS needs CAP_NET_ADMIN: run as root)"
                    } else {
                        ""
                    };
                    error!("IPVS: {e}{why}; virtual servers are not programmed (VRRP and health checks go on)");
                    None
                }
            }
        };
        // active-active services: IPVS takes up flows another director started
        let mut sloppy = sloppy::Sloppy::default();
        if let Some(h) = &handover {
            sloppy.adopt(&h.sloppy);
        }
        if ipvs.is_some() {
            sloppy.follow(&cfg);
        }
        fail_point("ipvs")?;
        // the threads' scheduling (real time for VRRP by default; see `sched`)
        let (vrrp_sched, _, process_sched) = sched::from_config(&cfg.global_defs);
        for p in sched::apply_process(&process_sched) {
            warn!("{p}");
        }
        // tracking starts first: what its scripts, files and processes say is what the
        // engine starts with (their changes wait in the channel for the loop)
        let start_files = track_file::initial(&cfg.track_file);
        let file_values: HashMap<String, i64> = start_files.iter().cloned().collect();
        let (ttx, tracking_rx) = mpsc::unbounded_channel();
        let mut tracking = Tracking::new(run_as, ttx);
        if let Some(h) = &handover {
            tracking.carry(&h.scripts);
        }
        let tracked = build::tracked_objects(&cfg, &built.specs.tracked);
        let initial = tracking.update(&cfg, &tracked, &start_files);
        let script_values: HashMap<String, bool> = initial.scripts.iter().cloned().collect();
        let (ntx, notifications) = mpsc::unbounded_channel();
        let mut vrrp_up = true;
        let resume = handover.as_ref().map(|h| shell::Resume {
            instances: h.vrrp.clone(),
            sockets: std::mem::take(&mut fds.vrrp),
            promoted: h.promoted.clone(),
            elapsed,
        });
        let masters_now: Vec<String> = resume.as_ref().map_or(Vec::new(), |r| {
            r.instances
                .iter()
                .filter(|i| i.machine.state == "MASTER")
                .map(|i| i.name.clone())
                .collect()
        });
        let vrrp = match shell::spawn(
            built.specs.clone(),
            initial,
            ntx.clone(),
            vrrp_sched.clone(),
            resume,
        ) {
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
                shell::spawn(
                    spec::Specs::default(),
                    crate::track::Initial::default(),
                    ntx,
                    vrrp_sched,
                    None,
                )
                .map_err(|e| format!("VRRP: {e}"))?
            }
        };
        // nothing fails from here on
        let syncd = syncd::start(&cfg, &masters_now);
        let (health_tx, health_rx) = mpsc::unbounded_channel();
        let check_stats = CheckStats::default();
        let carried = handover
            .as_mut()
            .map(|h| (std::mem::take(&mut h.checks), elapsed));
        let (checks, start) = start_checks(
            &cfg,
            &health_tx,
            run_as,
            &file_values,
            &check_stats,
            carried,
        );
        let anycast_down = start.anycast_down.clone();
        let mut events = Vec::new();
        let health = match &handover {
            Some(h) => Health::resumed(&cfg, start, &h.no_quorum, &mut events),
            None => Health::start(&cfg, start, &mut events),
        };
        anycast_spec::verdicts(
            &mut anycast_specs,
            &build::anycast_verdicts(&cfg, anycast_down, &script_values, &file_values, &health),
        );
        // (after an upgrade: what the operator drained stays drained)
        let anycast = Anycast::start(
            &cfg,
            anycast_specs,
            run_as,
            mailer.clone(),
            handover.as_ref().map(|h| h.anycast_drained.as_slice()),
        );
        for name in handover.iter().flat_map(|h| &h.anycast_drained) {
            info!("anycast {name}: stays drained (as before the upgrade)");
        }
        let (control_tx, control) = mpsc::channel(16);
        let listening = match server::listen(&opts.run_dir, fds.control.take(), control_tx.clone())
        {
            Ok(p) => Some(p),
            Err(e) => {
                error!(
                    "control socket in {}: {e}; `ldirector reload` and `status` cannot reach this daemon (SIGHUP still reloads)",
                    opts.run_dir.display()
                );
                None
            }
        };
        let mut d = Daemon {
            life: status::Life::new(opts.path.clone()),
            lvs_notify: LvsNotifier::new(&cfg, run_as, mailer.clone()),
            cfg: Arc::new(cfg),
            opts,
            run_as,
            systemd: systemd::Notify::from_env(),
            mailer,
            mail_counts,
            notifier,
            claims,
            vmacs,
            sloppy,
            statics,
            ipvs,
            syncd,
            vrrp,
            vrrp_up,
            vrrp_specs: built.specs,
            tracking,
            file_values,
            script_values,
            checks,
            check_stats,
            health,
            health_tx,
            anycast,
            draining_until: None,
            control_tx,
            control_path: listening.as_ref().map(|l| l.0.clone()),
            control_fd: listening.map(|l| l.1),
            http: http::Http::default(),
        };
        if let Some((addr, fd)) = fds.http.take() {
            d.http.inherit(addr, fd);
        }
        if let Some(h) = &handover {
            d.life.upgrades = h.upgrades;
            let up = crate::upgrade::state::monotonic_us().saturating_sub(h.started_at_us);
            if let Some(t) = Instant::now().checked_sub(Duration::from_micros(up)) {
                d.life.started = t;
            }
            d.life.saw(
                "daemon",
                "ldirector".into(),
                format!("upgraded from {}", h.from_version),
            );
        }
        d.act(None, events);
        d.sync_ipvs(Some(""));
        d.follow_http().await;
        let inputs = Inputs {
            signals,
            control,
            notifications,
            tracking: tracking_rx,
            health: health_rx,
        };
        Ok((d, inputs))
    }

    /// The loop, to the stop; the exit code and the global settings in force at the stop
    /// (its shutdown_script).
    async fn serve(mut self, mut inputs: Inputs) -> (i32, crate::config::model::GlobalDefs) {
        info!("running");
        self.systemd.ready("running");
        release_freed_memory();
        loop {
            let hold = self.anycast.poll_timeout();
            let hold_down = async {
                match hold {
                    Some(t) => tokio::time::sleep_until(t.into()).await,
                    None => std::future::pending().await,
                }
            };
            let drained = async {
                match self.draining_until {
                    Some(t) => tokio::time::sleep_until(t).await,
                    None => std::future::pending().await,
                }
            };
            let step = tokio::select! {
                Some(req) = inputs.control.recv() => self.drive_control(req),
                Some(n) = inputs.notifications.recv() => self.drive_notification(n),
                Some(e) = inputs.tracking.recv() => self.drive_tracking(e),
                Some(h) = inputs.health.recv() => self.drive_health(h),
                () = hold_down => self.drive_anycast_timer(),
                () = drained => Step::Stop,
                s = inputs.signals.next() => self.drive_signal(s),
            };
            match step {
                Step::Go => {}
                Step::Stop if self.draining_until.is_none() => {
                    // the anycast announcements go first; the service is still served
                    // (and status answered) for their drain_time
                    let drain = self.anycast.stop(&self.cfg);
                    if drain.is_zero() {
                        break;
                    }
                    info!(
                        "anycast: withdrawn; serving {drain:?} more (drain_time) before stopping"
                    );
                    self.draining_until = Some(tokio::time::Instant::now() + drain);
                }
                Step::Stop => break,
                Step::Reload { replies, .. } if self.draining_until.is_some() => {
                    // stopping: the anycast drain runs out, nothing is applied any more
                    warn!("reload ignored: stopping (anycast drain_time running)");
                    let answer = serde_json::json!({ "ok": false, "errors": ["stopping: the reload is not applied"] });
                    for r in replies {
                        let _ = r.send(answer.to_string());
                    }
                }
                Step::Upgrade(reply) => self.upgrade(reply).await,
                Step::Reload {
                    replies,
                    allow_empty,
                } => {
                    // reload requests that came while one was read make one more
                    let mut next = Some((replies, allow_empty));
                    while let Some((replies, allow_empty)) = next.take() {
                        next = self.reload(replies, allow_empty, &mut inputs).await;
                    }
                }
            }
        }
        let at_stop = self.cfg.global_defs.clone();
        self.stop(inputs).await;
        (0, at_stop)
    }

    fn drive_control(&mut self, req: Request) -> Step {
        match req.command {
            ControlCommand::Status => {
                self.answer_status(req.reply);
                Step::Go
            }
            ControlCommand::Reload { allow_empty } => {
                info!("ldirector reload: reloading {}", self.opts.path.display());
                Step::Reload {
                    replies: vec![req.reply],
                    allow_empty,
                }
            }
            ControlCommand::Upgrade => {
                info!("ldirector upgrade: handing over to the binary on disk");
                Step::Upgrade(Some(req.reply))
            }
            ControlCommand::Anycast { drain, name } => {
                let answer = self.anycast_command(drain, name.as_deref());
                let _ = req.reply.send(answer.to_string());
                Step::Go
            }
        }
    }

    /// `ldirector anycast drain|resume [NAME]`.
    fn anycast_command(&mut self, drain: bool, name: Option<&str>) -> serde_json::Value {
        if let Some(n) = name.filter(|n| !self.cfg.anycast.contains_key(*n)) {
            return serde_json::json!({ "ok": false, "error": format!("no anycast block named '{n}'") });
        }
        if self.draining_until.is_some() {
            return serde_json::json!({ "ok": false, "error": "stopping: every block is withdrawn" });
        }
        let verb = if drain { "drain" } else { "resume" };
        info!(
            "ldirector anycast {verb} {}",
            name.unwrap_or("(every block)")
        );
        let n = if drain {
            self.anycast.drain(&self.cfg, name)
        } else {
            self.anycast.resume(&self.cfg, name)
        };
        if n == 0 {
            let why = if drain {
                "no anycast block is configured"
            } else {
                "no anycast block is drained"
            };
            return serde_json::json!({ "ok": false, "error": why, "blocks": 0 });
        }
        serde_json::json!({ "ok": true, "blocks": n })
    }

    /// A hold-down ended: a recovered anycast block announces again.
    fn drive_anycast_timer(&mut self) -> Step {
        self.anycast.poll(&self.cfg);
        Step::Go
    }

    fn drive_signal(&mut self, s: Sig) -> Step {
        match s {
            Sig::Stop(name) => {
                info!("{name}: stopping");
                Step::Stop
            }
            Sig::Reload => {
                info!("SIGHUP: reloading {}", self.opts.path.display());
                Step::Reload {
                    replies: Vec::new(),
                    allow_empty: false,
                }
            }
            Sig::Upgrade => {
                info!("SIGUSR2: handing over to the binary on disk");
                Step::Upgrade(None)
            }
            Sig::Dump => {
                let file = self.opts.run_dir.join("ldirector.data");
                self.with_status(move |s| {
                    let text = format!(
                        "{}\n{}\n",
                        s.table(),
                        serde_json::to_string_pretty(&s).unwrap_or_default()
                    );
                    match std::fs::write(&file, text) {
                        Ok(()) => info!("SIGUSR1: state written to {}", file.display()),
                        Err(e) => error!("SIGUSR1: {}: {e}", file.display()),
                    }
                });
                Step::Go
            }
        }
    }

    /// A VRRP transition: the sync daemon follows, notifications go out.
    fn drive_notification(&mut self, n: Notification) -> Step {
        syncd::follow(&mut self.syncd, &self.cfg, &n);
        self.life.vrrp(&n);
        self.notifier.send(n);
        Step::Go
    }

    /// A tracker's change: to VRRP; a track_file's value to the FILE_CHECKs too.
    fn drive_tracking(&mut self, e: TrackEvent) -> Step {
        let command = match e {
            TrackEvent::Script(name, ok) => {
                self.script_values.insert(name.clone(), ok);
                self.anycast
                    .set(&self.cfg, &AnycastInput::Script(name.clone()), ok);
                shell::Command::Script(name, ok)
            }
            TrackEvent::Process(name, up) => shell::Command::Process(name, up),
            TrackEvent::File(name, v) => {
                self.file_value(&name, v);
                self.anycast
                    .set(&self.cfg, &AnycastInput::File(name.clone()), v == 0);
                shell::Command::File(name, v)
            }
        };
        let _ = self.vrrp.commands.send(command);
        Step::Go
    }

    /// A track_file's value: kept (checks started afresh read it) and, when it changed,
    /// handed to the FILE_CHECKs.
    fn file_value(&mut self, name: &str, v: i64) {
        if self.file_values.insert(name.to_string(), v) != Some(v) {
            let _ = self.checks.input.send(Input::File(name.to_string(), v));
        }
    }

    /// A check's verdict: through the health core to the notifications and IPVS (an
    /// anycast block's: to the anycast announcements).
    fn drive_health(&mut self, r: Report) -> Step {
        let h = match r {
            Report::Real(h) => h,
            Report::Anycast { name, up } => {
                self.anycast.set(&self.cfg, &AnycastInput::Checks(name), up);
                return Step::Go;
            }
        };
        let cfg = &self.cfg;
        let name = cfg
            .virtual_server
            .get(h.rs.0)
            .and_then(|v| {
                v.real_server
                    .get(h.rs.1)
                    .map(|r| format!("real_server {} of {}", r.ip, v.describe()))
            })
            .unwrap_or_default();
        match h.weight {
            Some(w) => info!("{name}: weight {w}"),
            None => info!("{name} is {}", if h.up { "healthy" } else { "failed" }),
        }
        let mut events = Vec::new();
        self.health.change(&self.cfg, &h, &mut events);
        let changed = events.iter().any(|e| matches!(e, Event::Desired { .. }));
        self.act(None, events);
        if changed {
            self.sync_ipvs(None);
        }
        Step::Go
    }

    /// The health core's events: logs, notifications (scripts, FIFO lines, e-mail).
    /// `old`: the configuration before a reload (the removed servers are named by it).
    fn act(&mut self, old: Option<&Config>, events: Vec<Event>) {
        for e in events {
            match e {
                Event::RealServer { rs, up, why } => {
                    let cfg = match (why, old) {
                        (Why::Removed, Some(old)) => old,
                        _ => &self.cfg,
                    };
                    let Some((vs, r)) = cfg
                        .virtual_server
                        .get(rs.0)
                        .and_then(|vs| vs.real_server.get(rs.1).map(|r| (vs, r)))
                    else {
                        continue;
                    };
                    if why == Why::Removed {
                        info!("reload: real_server {} of {} removed", r.ip, vs.describe());
                    }
                    if why == Why::Check {
                        let port = r.port.or(vs.port).unwrap_or(0);
                        self.life.saw(
                            "real_server",
                            format!(
                                "{} of {}",
                                std::net::SocketAddr::new(r.ip, port),
                                vs.describe()
                            ),
                            if up { "up" } else { "DOWN" },
                        );
                    }
                    self.lvs_notify.rs(vs, r, up, why);
                }
                Event::Quorum {
                    vs,
                    gained,
                    stopping,
                } => {
                    if !stopping {
                        self.anycast
                            .set(&self.cfg, &AnycastInput::Quorum(vs), gained);
                    }
                    let Some(vs) = self.cfg.virtual_server.get(vs) else {
                        continue;
                    };
                    if !stopping {
                        warn!(
                            "{}: quorum {}",
                            vs.describe(),
                            if gained { "gained" } else { "lost" }
                        );
                        self.life.saw(
                            "quorum",
                            vs.describe(),
                            if gained { "gained" } else { "lost" },
                        );
                    }
                    self.lvs_notify.quorum(vs, gained, stopping);
                }
                Event::Desired { vs, before, now } => {
                    if let Some(vs) = self.cfg.virtual_server.get(vs) {
                        log_desired(vs, &before, &now);
                    }
                }
            }
        }
    }

    /// IPVS to what the health core wants (on the IPVS thread). `summary`: see
    /// [`actor::Want::summary`].
    fn sync_ipvs(&self, summary: Option<&'static str>) {
        if let Some(a) = &self.ipvs {
            a.sync(actor::Want {
                cfg: self.cfg.clone(),
                weights: self.health.table().to_vec(),
                summary,
            });
        }
    }

    /// Answer a status request (the IPVS counters come from the IPVS thread).
    fn answer_status(&self, reply: oneshot::Sender<String>) {
        self.with_status(move |s| {
            let _ = reply.send(serde_json::to_string(&s).unwrap_or_default());
        });
    }

    /// The status, to `then` once the kernel's counters are in (or after
    /// [`READINGS_WAIT`] without them): the loop does not wait for the IPVS thread.
    fn with_status(&self, then: impl FnOnce(st::Status) + Send + 'static) {
        let mut s = status::assemble(&status::Parts {
            cfg: &self.cfg,
            life: &self.life,
            health: &self.health,
            vrrp: &self.vrrp.status,
            syncd: self.syncd.as_ref(),
            ipvs: self.ipvs.is_some(),
            mail: &self.mail_counts,
            anycast: &self.anycast,
        });
        let Some(a) = &self.ipvs else {
            return then(s);
        };
        // the counters last read, by the indexes of the configuration in force
        let (last, cfg) = (a.last_readings(), self.cfg.clone());
        let cached = move |s: &mut st::Status| {
            if let Some(r) = last.for_config(&cfg) {
                status::add_readings(s, &r);
            }
        };
        if a.reading() {
            // a reading is under way (a large table takes seconds): the last one, at once
            cached(&mut s);
            return then(s);
        }
        let readings = a.readings(self.cfg.clone());
        tokio::spawn(async move {
            match tokio::time::timeout(READINGS_WAIT, readings).await {
                Ok(Ok(r)) => status::add_readings(&mut s, &r),
                _ => cached(&mut s),
            }
            then(s);
        });
    }

    async fn follow_http(&mut self) {
        let want = self.opts.http_listen.or(self.cfg.global_defs.http_listen);
        self.http
            .follow(want, &self.control_tx, &self.check_stats)
            .await;
    }

    /// SIGHUP or `ldirector reload`: the requests of a burst gathered, the new
    /// configuration read, checked and built completely before anything changes, then
    /// applied subsystem by subsystem; the callers answered.
    /// Returns the reload requests that came while the configuration was read, for one
    /// more reload.
    async fn reload(
        &mut self,
        mut replies: Vec<oneshot::Sender<String>>,
        mut allow_empty: bool,
        inputs: &mut Inputs,
    ) -> Option<(Vec<oneshot::Sender<String>>, bool)> {
        let deferred = settle(inputs, &mut replies, &mut allow_empty).await;
        self.systemd.reloading();
        let mut later = Vec::new();
        let outcome = self.apply_reload(allow_empty, inputs, &mut later).await;
        match &outcome {
            Ok(warnings) => {
                self.life.reloaded(true, warnings.clone());
                self.follow_http().await;
            }
            Err(errors) => self.life.reloaded(false, errors.clone()),
        }
        self.systemd.ready(if outcome.is_ok() {
            "running (reloaded)"
        } else {
            "running (reload refused: see the log)"
        });
        let answer = match &outcome {
            Ok(w) => serde_json::json!({ "ok": true, "warnings": w }),
            Err(e) => serde_json::json!({ "ok": false, "errors": e }),
        };
        for reply in replies {
            let _ = reply.send(answer.to_string());
        }
        for req in deferred {
            let _ = self.drive_control(req);
        }
        if later.is_empty() {
            return None;
        }
        let allow = later
            .iter()
            .any(|r| r.command == (ControlCommand::Reload { allow_empty: true }));
        Some((later.into_iter().map(|r| r.reply).collect(), allow))
    }

    /// Ok(the warnings to answer with) when the new configuration runs now; Err(the
    /// errors) when it was refused and the running one stays. The configuration is read
    /// and checked on a blocking thread (a large one takes a while) while status requests
    /// are answered; reload requests that come meanwhile go to `later`.
    async fn apply_reload(
        &mut self,
        allow_empty: bool,
        inputs: &mut Inputs,
        later: &mut Vec<Request>,
    ) -> Result<Vec<String>, Vec<String>> {
        let (opts, running) = (self.opts.clone(), self.cfg.clone());
        let mut load =
            tokio::task::spawn_blocking(move || build::for_reload(&opts, &running, allow_empty));
        let loaded = loop {
            tokio::select! {
                r = &mut load => break r,
                Some(req) = inputs.control.recv() => match req.command {
                    ControlCommand::Reload { .. } => later.push(req),
                    _ => {
                        let _ = self.drive_control(req);
                    }
                },
            }
        };
        let (new, mut warnings) = match loaded {
            Ok(r) => r?,
            Err(e) => {
                let e = format!("reload refused: reading the configuration failed: {e}");
                error!("{e}");
                return Err(vec![e]);
            }
        };
        let refuse = |errs: Vec<String>| {
            for e in &errs {
                error!("{e}");
            }
            error!("reload refused: the configuration cannot run on this host; still running the previous one");
            Err(errs)
        };
        // the virtual routers it adds are claimed before their VMACs are made (a VMAC of
        // the same name would be another daemon's), and the VMACs before the specs
        let claimed = match self.claims.add(&new) {
            Ok(c) => c,
            Err(e) => return refuse(vec![e.to_string()]),
        };
        let undo = |d: &mut Daemon| {
            d.claims.drop_keys(&claimed);
            d.vmacs.keep_only(&spec::vmacs(&d.cfg));
        };
        if let Err(e) = self.vmacs.make(&spec::vmacs(&new)) {
            undo(self);
            return refuse(vec![e]);
        }
        let built = match build::build(&new) {
            Ok(b) => b,
            Err(errs) => {
                undo(self);
                return refuse(errs);
            }
        };
        let anycast_specs = match anycast_spec::build(&new) {
            Ok(s) => s,
            Err(errs) => {
                undo(self);
                return refuse(errs);
            }
        };
        for w in &warnings {
            warn!("{w}");
        }
        // the threads and the process keep the scheduling they started with
        if sched::from_config(&self.cfg.global_defs) != sched::from_config(&new.global_defs) {
            warn!("reload: the vrrp_* and checker_* scheduling settings (priority, rt_priority, rlimit_rttime, cpu_affinity) take effect at the next start");
        }
        if self.ipvs.is_none() && !new.virtual_server.is_empty() {
            match actor::Actor::start(&new, None) {
                Ok(a) => self.ipvs = Some(a),
                Err(e) => error!("reload: IPVS: {e}"),
            }
        }
        let old = std::mem::replace(&mut self.cfg, Arc::new(new));
        // each subsystem applies its own diff
        self.statics.reload(&self.cfg, built.statics);
        self.reload_notify(&old);
        if let Some(note) = self.reload_vrrp(&old, built.specs, &claimed).await {
            // the caller of `ldirector reload` hears of it too
            warnings.push(note);
        }
        let checks_down = self.reload_checks(&old).await;
        self.reload_anycast(&old, anycast_specs, checks_down);
        Ok(warnings)
    }

    /// The anycast blocks (continued ones keep what they announce, their hold-down and
    /// drain), from what their inputs say now.
    fn reload_anycast(
        &mut self,
        old: &Config,
        mut specs: Vec<crate::anycast::engine::Spec>,
        checks_down: Vec<String>,
    ) {
        let now = build::anycast_verdicts(
            &self.cfg,
            checks_down,
            &self.script_values,
            &self.file_values,
            &self.health,
        );
        anycast_spec::verdicts(&mut specs, &now);
        self.anycast
            .reload(old, &self.cfg, specs, self.mailer.clone());
    }

    fn reload_notify(&mut self, old: &Config) {
        if old.global_defs != self.cfg.global_defs {
            self.mailer = Mailer::new(&self.cfg, &self.mail_counts);
        }
        self.notifier.reconfigure(&self.cfg, self.mailer.clone());
        self.lvs_notify
            .reconfigure(old, &self.cfg, self.mailer.clone());
    }

    /// Tracking, the sync daemon and the VRRP instances (continued ones keep their state
    /// and timers); a note when VRRP refused (its instances run on as before).
    async fn reload_vrrp(
        &mut self,
        old: &Config,
        specs: spec::Specs,
        claimed: &[String],
    ) -> Option<String> {
        let now_files = track_file::initial(&self.cfg.track_file);
        let tracked = build::tracked_objects(&self.cfg, &specs.tracked);
        let initial = self.tracking.update(&self.cfg, &tracked, &now_files);
        for (name, v) in &initial.files {
            self.file_value(name, *v);
        }
        self.script_values.extend(initial.scripts.iter().cloned());
        syncd::reload(&mut self.syncd, &self.cfg);
        if self.ipvs.is_some() {
            self.sloppy.follow(&self.cfg);
        }
        let (tx, answer) = oneshot::channel();
        let _ = self.vrrp.commands.send(shell::Command::Reload {
            specs: specs.clone(),
            initial,
            reply: tx,
        });
        let failed = match answer.await {
            Ok(Ok(())) => {
                // the VMACs and claims of instances that are gone
                self.vmacs.keep_only(&spec::vmacs(&self.cfg));
                self.claims.keep_only(&self.cfg);
                if !self.vrrp_up && !self.cfg.vrrp_instance.is_empty() {
                    info!("reload: VRRP is running now");
                }
                self.vrrp_up = true;
                self.vrrp_specs = specs;
                None
            }
            Ok(Err(e)) if self.vrrp_up => {
                // the instances run on as they were: so do their vrrp_scripts
                let tracked = build::tracked_objects(&self.cfg, &self.vrrp_specs.tracked);
                let _ = self.tracking.update_scripts(old, &tracked);
                Some(format!("VRRP: {e}; the VRRP instances run on as before"))
            }
            Ok(Err(e)) => Some(format!("VRRP still cannot start: {e}")),
            Err(_) => Some("VRRP is not running".to_string()),
        };
        if let Some(f) = &failed {
            error!("reload: {f}");
            self.claims.drop_keys(claimed);
        }
        failed
    }

    /// The health checks (unchanged checkers carry on, the others start afresh), the
    /// health core, and IPVS (real servers dropped drain first). Returns the anycast
    /// blocks whose checkers are down.
    async fn reload_checks(&mut self, old: &Config) -> Vec<String> {
        let (tx, answer) = oneshot::channel();
        let _ = self
            .checks
            .input
            .send(Input::Reload(Box::new((*self.cfg).clone()), tx));
        let start = match answer.await {
            Ok(start) => start,
            Err(_) => {
                error!("reload: the health checks had stopped; starting them again");
                let (checks, start) = start_checks(
                    &self.cfg,
                    &self.health_tx,
                    self.run_as,
                    &self.file_values,
                    &self.check_stats,
                    None,
                );
                self.checks = checks;
                start
            }
        };
        let anycast_down = start.anycast_down.clone();
        let mut events = Vec::new();
        self.health.reload(old, &self.cfg, start, &mut events);
        self.act(Some(old), events);
        if let Some(a) = &self.ipvs {
            a.reloading(self.cfg.global_defs.lvs_drain_timeout.as_duration());
        }
        self.sync_ipvs(Some("reload: "));
        anycast_down
    }

    /// Everything in the reverse order of the start: tracking and checks stop, omega's
    /// notifications, VRRP's priority-0 adverts and its addresses, IPVS released, the
    /// sync daemon, the static objects, the notifications still queued.
    async fn stop(mut self, mut inputs: Inputs) {
        self.systemd.stopping();
        self.tracking.stop();
        if let Some(p) = &self.control_path {
            let _ = std::fs::remove_file(p);
        }
        self.http.stop();
        let (idle, _) = mpsc::unbounded_channel();
        std::mem::replace(&mut self.checks, Running::idle(idle)).stop();
        let mut events = Vec::new();
        self.health.stop(&self.cfg, &mut events);
        self.act(None, events);
        self.vrrp.shutdown().await;
        if let Some(a) = self.ipvs.take() {
            a.stop(
                self.cfg.global_defs.lvs_flush_on_stop,
                self.opts.dont_release_ipvs,
            )
            .await;
        }
        // the VRRP handle is gone (shut down): what drive_notification does, by hand
        while let Ok(n) = inputs.notifications.try_recv() {
            syncd::follow(&mut self.syncd, &self.cfg, &n);
            self.notifier.send(n);
        }
        if let Some(d) = self.syncd.as_mut() {
            d.stop();
        }
        self.sloppy.release();
        self.anycast.release(&self.cfg).await;
        self.statics.release();
        self.vmacs.keep_only(&[]);
        self.notifier.drain(Duration::from_secs(10)).await;
        self.lvs_notify.drain(Duration::from_secs(10)).await;
        info!("stopped");
    }
}

/// A test hook of debug builds: `LDIRECTOR_FAIL_AT=NAME` makes the start fail at the
/// point of that name, after what comes before it was added to the kernel (the tests show
/// that such a start leaves nothing behind).
/// The descriptors a predecessor binary passed on (each taken once; one that is not an
/// open socket is skipped with a warning, and what it served is opened afresh).
#[derive(Default)]
struct Inherited {
    vrrp: HashMap<String, (std::os::fd::OwnedFd, std::os::fd::OwnedFd)>,
    control: Option<std::os::fd::OwnedFd>,
    http: Option<(std::net::SocketAddr, std::os::fd::OwnedFd)>,
}

fn inherited_fds(h: &mut Handover) -> Inherited {
    let take = |fd: i32, what: &str| match crate::upgrade::inherit(fd) {
        Ok(f) => Some(f),
        Err(e) => {
            warn!("upgrade: {what}: {e}; opened afresh");
            None
        }
    };
    let mut got = Inherited {
        control: h
            .control_fd
            .take()
            .and_then(|fd| take(fd, "control socket")),
        http: h
            .http
            .take()
            .and_then(|(a, fd)| take(fd, "HTTP endpoint").map(|f| (a, f))),
        ..Inherited::default()
    };
    for (name, rx, tx) in std::mem::take(&mut h.vrrp_sockets) {
        let what = format!("vrrp_instance {name}");
        if let (Some(rx), Some(tx)) = (take(rx, &what), take(tx, &what)) {
            got.vrrp.insert(name, (rx, tx));
        }
    }
    got
}

fn fail_point(name: &str) -> Result<(), String> {
    #[cfg(debug_assertions)]
    if std::env::var("LDIRECTOR_FAIL_AT").is_ok_and(|v| v == name) {
        return Err(format!("LDIRECTOR_FAIL_AT={name}: the start fails here"));
    }
    let _ = name;
    Ok(())
}

/// Start the health checks of `cfg` on their own thread; the health they start with
/// (`alpha` servers down, weights the checks set at once).
fn start_checks(
    cfg: &Config,
    tx: &mpsc::UnboundedSender<Report>,
    run_as: Option<RunAs>,
    files: &HashMap<String, i64>,
    stats: &CheckStats,
    carried: Option<(Vec<crate::check::runner::SavedChecker>, Duration)>,
) -> (Running, crate::check::runner::Start) {
    let checks = match carried {
        Some((saved, elapsed)) => {
            Checks::resumed(cfg, Instant::now(), run_as, files.clone(), saved, elapsed)
        }
        None => Checks::from_config(cfg, Instant::now(), run_as, files.clone()),
    };
    let start = checks.start();
    let (_, checker_sched, _) = sched::from_config(&cfg.global_defs);
    let running = match Running::spawn(checks, tx.clone(), stats.clone(), checker_sched) {
        Ok(r) => r,
        Err(e) => {
            // without a thread nothing is checked: said loudly, the rest goes on
            error!("health checks: cannot start their thread: {e}");
            let (input, _) = mpsc::unbounded_channel();
            Running::idle(input)
        }
    };
    (running, start)
}

/// Before a reload: gather the reload requests (SIGHUP, `ldirector reload`) that follow
/// within 100 ms of each other (1 s at most), so that a burst is one reload. Status
/// requests that come meanwhile are returned, answered after the reload.
async fn settle(
    inputs: &mut Inputs,
    replies: &mut Vec<oneshot::Sender<String>>,
    allow_empty: &mut bool,
) -> Vec<Request> {
    let mut deferred = Vec::new();
    let limit = tokio::time::Instant::now() + Duration::from_secs(1);
    loop {
        let quiet = tokio::time::sleep(Duration::from_millis(100));
        tokio::select! {
            biased;
            _ = inputs.signals.hup.recv() => {}
            Some(req) = inputs.control.recv() => {
                match req.command {
                    ControlCommand::Reload { allow_empty: allow } => {
                        replies.push(req.reply);
                        *allow_empty |= allow;
                    }
                    ControlCommand::Status
                    | ControlCommand::Anycast { .. }
                    | ControlCommand::Upgrade => deferred.push(req),
                }
            }
            _ = quiet => break,
            _ = tokio::time::sleep_until(limit) => break,
        }
    }
    deferred
}

/// keepalived-like lines for the changes of a service's destinations.
fn log_desired(
    vs: &crate::config::model::VirtualServer,
    before: &crate::ipvs::desired::PoolWeights,
    now: &crate::ipvs::desired::PoolWeights,
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

/// Give the memory freed after reading the config back to the system (glibc keeps it
/// otherwise: a 10,000-server config's parse would stay in the RSS for good).
fn release_freed_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only releases free heap pages; it has no preconditions
    unsafe {
        libc::malloc_trim(0);
    }
}
