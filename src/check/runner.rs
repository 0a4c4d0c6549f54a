//! The checkers' I/O shell: builds the scheduler and the probes from the config, starts each
//! probe as a tokio task when the scheduler says so, feeds results back, and reports
//! real-server health and weight changes on a channel. Runs on the daemon's main runtime,
//! never on the VRRP thread.
//!
//! A real server's weight is its configured weight, or the last misc_dynamic weight, plus
//! what its FILE_CHECKs add (value x weight), within 0..=i32::MAX as keepalived keeps it.

use super::probe::{self, Probe, TlsCache, Verdict, FILE_FAULT};
use super::scheduler::{Output, Scheduler, ServerId, Timing};
use super::stats::{CheckStats, Kind, Outcome};
use crate::config::model::{Checker, Config, RealServer, VirtualServer};
use crate::exec::RunAs;
use crate::track::file;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info};

/// A real server: (virtual_server index, real_server index) in the config.
pub(crate) type RsIndex = (usize, usize);

/// Whose health a server's checkers tell.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Owner {
    Real(RsIndex),
    /// An anycast block, by name.
    Anycast(String),
}

/// What the checks report: a real server's health or weight, or an anycast block's
/// checkers all up or not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Report {
    Real(HealthChange),
    Anycast { name: String, up: bool },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HealthChange {
    pub rs: RsIndex,
    pub up: bool,
    /// A new weight (misc_dynamic, FILE_CHECK); `up` is then not a change.
    pub weight: Option<u32>,
}

struct Server {
    owner: Owner,
    /// Its checkers: `checks[checks]` (a server's checkers are registered together).
    checks: std::ops::Range<usize>,
    base: u32,
    /// The weight last reported (starts at `base`).
    reported: u32,
}

/// What the checks' task is told while it runs.
pub(crate) enum Input {
    /// A track_file's new value.
    File(String, i64),
    /// A new configuration: unchanged checkers go on with their state (no re-check storm,
    /// a failed server stays failed until its check passes); the reply is the health the
    /// new configuration starts from.
    Reload(Box<Config>, oneshot::Sender<Start>),
    /// A new binary takes over (`ldirector upgrade`): every checker's state, to carry on
    /// in it (the checks go on here meanwhile: the hand-over may fail).
    Save(oneshot::Sender<Vec<SavedChecker>>),
}

/// A checker's state as a successor in a new binary carries it on: found by its
/// identity (`key`), its next probe as a delay from the save.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct SavedChecker {
    pub key: u64,
    pub up: bool,
    pub failures: u32,
    pub due_in_us: Option<u64>,
    pub probes: u64,
    pub failed: u64,
    pub dynamic: Option<u32>,
}

/// Health at start or after a reload: failed real servers and weights set by checks,
/// and the anycast blocks whose checkers start down.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Start {
    pub down: Vec<RsIndex>,
    pub weights: Vec<(RsIndex, u32)>,
    pub anycast_down: Vec<String>,
}

struct Check {
    /// Identity across reloads (a hash of the same service, real server and checker
    /// settings).
    key: u64,
    probe: Probe,
    name: String,
    server: usize,
    /// misc_dynamic's last weight.
    dynamic: Option<u32>,
    /// FILE_CHECK's current contribution.
    offset: i64,
    /// The probe in flight, and its number (results of an abandoned probe are dropped).
    task: Option<tokio::task::AbortHandle>,
    seq: u64,
}

/// What building the checks of a configuration carries from server to server.
struct Ctx<'a> {
    /// The checks before a reload, and their checkers by identity.
    old: Option<&'a Checks>,
    before: HashMap<u64, Vec<usize>>,
    tls: TlsCache,
    /// What of the global settings some checkers use (part of every checker's key).
    globals: String,
    carried: usize,
    now: Instant,
    /// A predecessor binary's checkers by identity (`ldirector upgrade`), saved
    /// `elapsed` before `now`.
    saved: HashMap<u64, Vec<SavedChecker>>,
    elapsed: std::time::Duration,
}

pub(crate) struct Checks {
    sched: Scheduler,
    checks: Vec<Check>,
    servers: Vec<Server>,
    run_as: Option<RunAs>,
    files: HashMap<String, i64>,
    /// Bumped at each reload: results of probes started before are dropped.
    epoch: u64,
}

/// A checker's identity across reloads: everything that makes its probe and timing
/// (the service, the real server, the checker's settings with their effective timers, and
/// the global settings some checkers use), plus its rank among identical ones.
fn key(owner: &str, vs: &VirtualServer, rs: &RealServer, ch: &Checker, globals: &str) -> u64 {
    let text = format!(
        "{owner}|{}|{}|{:?}|{:?}|{:?}|{}|{globals}",
        vs.describe(),
        rs.ip,
        rs.port.or(vs.port),
        vs.virtualhost,
        rs.virtualhost,
        serde_json::to_string(ch).unwrap_or_default(),
    );
    stable_hash(&text)
}

/// FNV-1a (64 bits): the same value in every build, so a new binary finds the checkers
/// its predecessor saved (std's hasher promises no such thing across Rust versions).
fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The checks running on a thread of their own with a single-threaded runtime: probes
/// never wait behind the daemon's other work (nor VRRP behind them), and thousands of
/// probe tasks a second cost no cross-thread wake-ups.
pub(crate) struct Running {
    pub input: mpsc::UnboundedSender<Input>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    pub(crate) fn spawn(
        checks: Checks,
        changes: mpsc::UnboundedSender<Report>,
        stats: CheckStats,
        sched: crate::sched::ThreadSched,
    ) -> std::io::Result<Running> {
        let (input, rx) = mpsc::unbounded_channel();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread = std::thread::Builder::new()
            .name("checks".into())
            .spawn(move || {
                for p in crate::sched::apply_thread(&sched) {
                    tracing::warn!("{p}");
                }
                rt.block_on(checks.run(changes, rx, stats))
            })?;
        Ok(Running {
            input,
            thread: Some(thread),
        })
    }

    /// Nothing running (the thread could not be started).
    pub(crate) fn idle(input: mpsc::UnboundedSender<Input>) -> Running {
        Running {
            input,
            thread: None,
        }
    }

    /// Stop the checks (probes in flight are dropped) and wait for the thread.
    pub(crate) fn stop(mut self) {
        let (dead, _) = mpsc::unbounded_channel();
        self.input = dead;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Checks {
    /// Every checker of every real server. `files` holds the track_files' values now.
    pub(crate) fn from_config(
        cfg: &Config,
        now: Instant,
        run_as: Option<RunAs>,
        files: HashMap<String, i64>,
    ) -> Checks {
        Self::build(
            cfg,
            now,
            run_as,
            files,
            None,
            Vec::new(),
            Default::default(),
        )
    }

    /// Every checker of every real server, carrying on from a predecessor binary's
    /// checkers saved `elapsed` ago (a checker it did not have starts afresh).
    pub(crate) fn resumed(
        cfg: &Config,
        now: Instant,
        run_as: Option<RunAs>,
        files: HashMap<String, i64>,
        saved: Vec<SavedChecker>,
        elapsed: std::time::Duration,
    ) -> Checks {
        Self::build(cfg, now, run_as, files, None, saved, elapsed)
    }

    /// Every checker's state, for a successor binary.
    pub(crate) fn save(&self, now: Instant) -> Vec<SavedChecker> {
        self.checks
            .iter()
            .enumerate()
            .map(|(id, c)| {
                let st = self.sched.carry(id);
                SavedChecker {
                    key: c.key,
                    up: st.up,
                    failures: st.failures,
                    due_in_us: st.due.map(|t| {
                        u64::try_from(t.saturating_duration_since(now).as_micros())
                            .unwrap_or(u64::MAX)
                    }),
                    probes: st.probes,
                    failed: st.failed,
                    dynamic: c.dynamic,
                }
            })
            .collect()
    }

    /// The checks of a new configuration, unchanged checkers carrying on from `self`.
    pub(crate) fn reload(&self, cfg: &Config, now: Instant) -> Checks {
        let mut c = Self::build(
            cfg,
            now,
            self.run_as,
            self.files.clone(),
            Some(self),
            Vec::new(),
            Default::default(),
        );
        c.epoch = self.epoch + 1;
        c
    }

    fn build(
        cfg: &Config,
        now: Instant,
        run_as: Option<RunAs>,
        files: HashMap<String, i64>,
        old: Option<&Checks>,
        saved: Vec<SavedChecker>,
        elapsed: std::time::Duration,
    ) -> Checks {
        let mut c = Checks {
            sched: Scheduler::new(now.elapsed().as_nanos() as u64 ^ 0x9e37_79b9_7f4a_7c15),
            checks: Vec::new(),
            servers: Vec::new(),
            run_as,
            files,
            epoch: 0,
        };
        // the old checkers by identity
        let mut before: HashMap<u64, Vec<usize>> = HashMap::new();
        if let Some(o) = old {
            for (id, ch) in o.checks.iter().enumerate().rev() {
                before.entry(ch.key).or_default().push(id);
            }
        }
        // what of the global settings some checkers use goes into every checker's key
        let globals = format!(
            "{}|{:?}",
            serde_json::to_string(&cfg.ssl).unwrap_or_default(),
            cfg.global_defs.smtp_helo_name
        );
        let mut ctx = Ctx {
            old,
            before,
            tls: TlsCache::default(),
            globals,
            carried: 0,
            now,
            saved: HashMap::new(),
            elapsed,
        };
        let resuming = !saved.is_empty();
        for sc in saved.into_iter().rev() {
            ctx.saved.entry(sc.key).or_default().push(sc);
        }
        for (vi, vs) in cfg.virtual_server.iter().enumerate() {
            for (ri, rs) in vs.real_server.iter().enumerate() {
                let owner = Owner::Real((vi, ri));
                c.add_server(cfg, &mut ctx, owner, vs, rs, &rs.checkers);
            }
        }
        // an anycast block's checkers: one server, the block's service
        for (name, a) in &cfg.anycast {
            if !a.checkers.is_empty() {
                let (vs, rs) = a.as_service();
                let owner = Owner::Anycast(name.clone());
                c.add_server(cfg, &mut ctx, owner, &vs, &rs, &a.checkers);
            }
        }
        let carried = ctx.carried;
        // FILE_CHECKs start from the files' values
        let mut out = Vec::new();
        for id in 0..c.checks.len() {
            if let Some(v) = c.file_verdict(id) {
                let ok = v.is_ok();
                c.sched.verdict(id, ok, now, &mut out);
            }
        }
        for sid in 0..c.servers.len() {
            let w = c.weight(sid);
            c.servers[sid].reported = w;
        }
        if old.is_some() {
            info!(
                "reload: {carried} checker(s) carry on, {} new",
                c.checks.len() - carried
            );
        }
        if resuming {
            info!(
                "{carried} checker(s) carry on from the previous binary, {} new",
                c.checks.len() - carried
            );
        }
        c
    }

    /// Register a server (a real server, or an anycast block's service) and its checkers;
    /// a checker identical to one of the configuration before carries on.
    fn add_server(
        &mut self,
        cfg: &Config,
        ctx: &mut Ctx<'_>,
        owner: Owner,
        vs: &VirtualServer,
        rs: &RealServer,
        checkers: &[Checker],
    ) {
        let sid = self.servers.len();
        let base = match owner {
            Owner::Real(_) => rs.effective.weight.0,
            Owner::Anycast(_) => 0,
        };
        let first = self.checks.len();
        let who = match &owner {
            Owner::Real(_) => vs.describe(),
            Owner::Anycast(n) => format!("anycast {n}"),
        };
        self.servers.push(Server {
            owner,
            checks: first..first + checkers.len(),
            base,
            reported: base,
        });
        for ch in checkers {
            let key = key(&who, vs, rs, ch, &ctx.globals);
            let (probe, name) = probe::build(cfg, vs, rs, ch, &who, &mut ctx.tls);
            let e = &ch.effective;
            let mut timing = Timing {
                delay_loop: e.delay_loop.as_duration(),
                retry: e.retry,
                delay_before_retry: e.delay_before_retry.as_duration(),
                warmup: e.warmup.as_duration(),
                alpha: e.alpha,
                // TCP_CHECK and HTTP_GET / SSL_GET are bounded by the scheduler
                timeout: probe
                    .bounded_by_scheduler()
                    .then(|| e.connect_timeout.as_duration()),
            };
            if matches!(probe, Probe::File { .. }) {
                // known at once: judged now, no warmup, no alpha
                timing.warmup = std::time::Duration::ZERO;
                timing.alpha = false;
            }
            let prev = ctx.old.zip(ctx.before.get_mut(&key).and_then(Vec::pop));
            let from_saved = ctx.saved.get_mut(&key).and_then(Vec::pop);
            let mut dynamic = prev.and_then(|(o, id)| o.checks[id].dynamic);
            match (prev, from_saved) {
                (Some((o, id)), _) => {
                    ctx.carried += 1;
                    self.sched
                        .add_carried(sid, timing, o.sched.carry(id), ctx.now)
                }
                (None, Some(sc)) => {
                    ctx.carried += 1;
                    dynamic = sc.dynamic;
                    let due = sc.due_in_us.map(|us| {
                        ctx.now + std::time::Duration::from_micros(us).saturating_sub(ctx.elapsed)
                    });
                    let state = crate::check::scheduler::Carried {
                        up: sc.up,
                        failures: sc.failures,
                        due,
                        probes: sc.probes,
                        failed: sc.failed,
                    };
                    self.sched.add_carried(sid, timing, state, ctx.now)
                }
                (None, None) => self.sched.add(sid, timing, ctx.now),
            };
            self.checks.push(Check {
                key,
                probe,
                name,
                server: sid,
                dynamic,
                offset: 0,
                task: None,
                seq: 0,
            });
        }
    }

    /// The health to start from: failed real servers and weights set by checks.
    pub(crate) fn start(&self) -> Start {
        let mut start = Start {
            weights: self.weights(),
            ..Start::default()
        };
        for (sid, s) in self.servers.iter().enumerate() {
            if self.sched.server_up(sid) {
                continue;
            }
            match &s.owner {
                Owner::Real(rs) => start.down.push(*rs),
                Owner::Anycast(n) => start.anycast_down.push(n.clone()),
            }
        }
        start
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.checks.is_empty()
    }

    #[cfg(test)]
    /// Whether a real server is healthy now.
    pub(crate) fn healthy(&self, rs: RsIndex) -> bool {
        match self.servers.iter().position(|s| s.owner == Owner::Real(rs)) {
            Some(sid) => self.sched.server_up(sid),
            None => true,
        }
    }

    /// A real server's weight now, when checks changed it from the configured one.
    pub(crate) fn weight(&self, sid: usize) -> u32 {
        let s = &self.servers[sid];
        let mut w = i64::from(s.base);
        let mut sum = 0i64;
        for c in &self.checks[s.checks.clone()] {
            if let Some(d) = c.dynamic {
                w = i64::from(d);
            }
            sum = sum.saturating_add(c.offset);
        }
        w.saturating_add(sum).clamp(0, i64::from(i32::MAX)) as u32
    }

    /// The weights that differ from the configured ones, to apply at start.
    pub(crate) fn weights(&self) -> Vec<(RsIndex, u32)> {
        self.servers
            .iter()
            .filter(|s| s.reported != s.base)
            .filter_map(|s| match s.owner {
                Owner::Real(rs) => Some((rs, s.reported)),
                Owner::Anycast(_) => None,
            })
            .collect()
    }

    /// A FILE_CHECK's verdict from its file's value (None: not a FILE_CHECK); records the
    /// contribution to the weight.
    fn file_verdict(&mut self, id: usize) -> Option<Result<(), String>> {
        let Probe::File {
            file,
            weight,
            reverse,
        } = &self.checks[id].probe
        else {
            return None;
        };
        let v = self.files.get(file).copied().unwrap_or(0);
        let (offset, r) = match file::offset(v, *weight, *reverse, FILE_FAULT) {
            Some(d) => (d, Ok(())),
            None => (0, Err(format!("track_file {file} is {v}"))),
        };
        self.checks[id].offset = offset;
        Some(r)
    }

    /// Report the server's weight when it changed; false when nobody listens any more.
    fn report_weight(&mut self, sid: usize, changes: &mpsc::UnboundedSender<Report>) -> bool {
        let w = self.weight(sid);
        let s = &mut self.servers[sid];
        let Owner::Real(rs) = s.owner else {
            return true;
        };
        if w == s.reported {
            return true;
        }
        s.reported = w;
        changes
            .send(Report::Real(HealthChange {
                rs,
                up: true,
                weight: Some(w),
            }))
            .is_ok()
    }

    /// Run until the receiver of `changes` or the sender of `input` is gone. `input`
    /// brings track_file values as they change, and new configurations.
    pub(crate) async fn run(
        mut self,
        changes: mpsc::UnboundedSender<Report>,
        mut input: mpsc::UnboundedReceiver<Input>,
        stats: CheckStats,
    ) {
        // (epoch, checker, probe sequence, verdict, how long the probe took)
        let (rtx, mut results) =
            mpsc::unbounded_channel::<(u64, usize, u64, Verdict, Option<Duration>)>();
        let run_as = self.run_as;
        let timer = tokio::time::sleep(std::time::Duration::from_secs(3600));
        tokio::pin!(timer);
        let mut armed: Option<Instant> = None;
        loop {
            // one timer, moved only when the next deadline changes (each new timer costs
            // the runtime a wake-up)
            let deadline = self.sched.next_timeout();
            if deadline != armed {
                if let Some(d) = deadline {
                    timer.as_mut().reset(d.into());
                }
                armed = deadline;
            }
            let mut out = Vec::new();
            let mut touched = Vec::new();
            tokio::select! {
                _ = &mut timer, if armed.is_some() => {
                    armed = None;
                    self.sched.poll(Instant::now(), &mut out);
                }
                Some(first) = results.recv() => {
                    // several results may be waiting: take them all
                    let mut next = Some(first);
                    while let Some((epoch, id, seq, verdict, took)) = next {
                        next = results.try_recv().ok();
                        if epoch != self.epoch || seq != self.checks[id].seq {
                            continue; // started before a reload, or abandoned
                        }
                        self.checks[id].task = None;
                        let ok = !matches!(verdict, Verdict::Down(_));
                        let outcome = if ok { Outcome::Up } else { Outcome::Down };
                        stats.probe(Kind::of(&self.checks[id].probe), outcome, took);
                        if let Verdict::UpWithWeight(w) = verdict {
                            self.checks[id].dynamic = Some(w);
                            touched.push(self.checks[id].server);
                        }
                        self.sched.result(id, ok, Instant::now(), &mut out);
                    }
                }
                i = input.recv() => match i {
                    Some(Input::Reload(cfg, reply)) => {
                        for c in &self.checks {
                            if let Some(t) = &c.task {
                                t.abort();
                            }
                        }
                        self = self.reload(&cfg, Instant::now());
                        let _ = reply.send(self.start());
                    }
                    Some(Input::Save(reply)) => {
                        let _ = reply.send(self.save(Instant::now()));
                    }
                    Some(Input::File(name, v)) => {
                        self.files.insert(name.clone(), v);
                        let now = Instant::now();
                        for id in 0..self.checks.len() {
                            if matches!(&self.checks[id].probe, Probe::File { file, .. } if *file == name) {
                                let ok = self.file_verdict(id).is_some_and(|r| r.is_ok());
                                touched.push(self.checks[id].server);
                                self.sched.verdict(id, ok, now, &mut out);
                            }
                        }
                    }
                    // the daemon let go: stop
                    None => return,
                },
            }
            for o in out {
                match o {
                    Output::Probe(id) => {
                        if let Some(r) = self.file_verdict(id) {
                            touched.push(self.checks[id].server);
                            let v = r.map_or_else(Verdict::Down, |()| Verdict::Up);
                            let _ = rtx.send((self.epoch, id, self.checks[id].seq, v, None));
                            continue;
                        }
                        let probe = self.checks[id].probe.clone();
                        let tx = rtx.clone();
                        let name = self.checks[id].name.clone();
                        let epoch = self.epoch;
                        let seq = self.checks[id].seq;
                        let task = tokio::spawn(async move {
                            let t0 = Instant::now();
                            let v = probe::run(&probe, run_as).await;
                            let took = t0.elapsed();
                            if let Verdict::Down(e) = &v {
                                debug!("{name}: {e}");
                            }
                            let _ = tx.send((epoch, id, seq, v, Some(took)));
                        });
                        self.checks[id].task = Some(task.abort_handle());
                    }
                    Output::Abandon(id) => {
                        let c = &mut self.checks[id];
                        if let Some(t) = c.task.take() {
                            t.abort();
                        }
                        c.seq += 1;
                        stats.probe(Kind::of(&c.probe), Outcome::Timeout, None);
                        debug!("{}: no answer within connect_timeout", c.name);
                    }
                    Output::Checker { id, up } => {
                        info!(
                            "{} is {}",
                            self.checks[id].name,
                            if up { "up" } else { "down" }
                        );
                    }
                    Output::Server { id, up } => {
                        let report = match &self.servers[id as ServerId].owner {
                            Owner::Real(rs) => Report::Real(HealthChange {
                                rs: *rs,
                                up,
                                weight: None,
                            }),
                            Owner::Anycast(name) => Report::Anycast {
                                name: name.clone(),
                                up,
                            },
                        };
                        if changes.send(report).is_err() {
                            return;
                        }
                    }
                }
            }
            touched.sort_unstable();
            touched.dedup();
            for sid in touched {
                if !self.report_weight(sid, &changes) {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_str, Format};

    #[tokio::test]
    async fn file_check_adds_value_times_weight_and_faults() {
        let conf = "track_file f {\n file /nonexistent/ldirector-test\n}\nvirtual_server 192.0.2.1 80 {\n real_server 192.0.2.2 80 {\n weight 5\n FILE_CHECK {\n track_file f\n weight 1000\n }\n }\n real_server 192.0.2.3 80 {\n FILE_CHECK {\n track_file f\n weight 0\n }\n }\n}";
        let loaded = load_str("t.conf", conf, Format::Keepalived, None);
        assert!(loaded.is_valid(), "{}", loaded.diags.render());
        let files = HashMap::from([("f".to_string(), 2)]);
        let checks = Checks::from_config(&loaded.config, Instant::now(), None, files);
        // 5 + 2 x 1000 (FILE_CHECK takes IPVS-sized weights, not VRRP's -253..253);
        // weight 0 with a non-zero value: down
        assert_eq!(checks.weights(), vec![((0, 0), 2005)]);
        assert!(checks.healthy((0, 0)));
        assert!(!checks.healthy((0, 1)));
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (ftx, frx) = mpsc::unbounded_channel();
        let task = tokio::spawn(checks.run(tx, frx, CheckStats::default()));
        // the next two changes, by real server
        async fn two(rx: &mut mpsc::UnboundedReceiver<Report>) -> Vec<HealthChange> {
            let mut got = Vec::new();
            for _ in 0..2 {
                let c = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
                match c.unwrap().unwrap() {
                    Report::Real(h) => got.push(h),
                    other => panic!("not a real server's: {other:?}"),
                }
            }
            got.sort_by_key(|c| c.rs);
            got
        }
        ftx.send(Input::File("f".into(), 0)).unwrap();
        assert_eq!(
            two(&mut rx).await,
            vec![
                HealthChange {
                    rs: (0, 0),
                    up: true,
                    weight: Some(5)
                },
                HealthChange {
                    rs: (0, 1),
                    up: true,
                    weight: None
                },
            ]
        );
        ftx.send(Input::File("f".into(), -3)).unwrap();
        assert_eq!(
            two(&mut rx).await,
            vec![
                // 5 - 3000 is clamped at 0
                HealthChange {
                    rs: (0, 0),
                    up: true,
                    weight: Some(0)
                },
                HealthChange {
                    rs: (0, 1),
                    up: false,
                    weight: None
                },
            ]
        );
        task.abort();
    }

    #[tokio::test]
    async fn a_stopped_server_goes_down_after_its_retries_and_comes_back() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let conf = format!(
            "virtual_server 192.0.2.1 80 {{\n real_server 127.0.0.1 {port} {{\n TCP_CHECK {{\n connect_timeout 1\n retry 1\n delay_before_retry 0.1\n }}\n delay_loop 0.2\n }}\n}}"
        );
        let loaded = load_str("t.conf", &conf, Format::Keepalived, None);
        assert!(loaded.is_valid(), "{}", loaded.diags.render());
        let checks = Checks::from_config(&loaded.config, Instant::now(), None, HashMap::new());
        assert!(!checks.is_empty());
        assert!(checks.healthy((0, 0)));
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (_input, irx) = mpsc::unbounded_channel();
        let task = tokio::spawn(checks.run(tx, irx, CheckStats::default()));
        tokio::time::sleep(Duration::from_millis(500)).await;
        drop(l);
        let down = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
        assert_eq!(
            down.unwrap(),
            Some(Report::Real(HealthChange {
                rs: (0, 0),
                up: false,
                weight: None
            }))
        );
        let _l2 = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        let up = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
        assert_eq!(
            up.unwrap(),
            Some(Report::Real(HealthChange {
                rs: (0, 0),
                up: true,
                weight: None
            }))
        );
        task.abort();
    }

    #[tokio::test]
    async fn http_get_follows_status_and_digest() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let healthy = Arc::new(AtomicBool::new(true));
        let h = healthy.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = l.accept().await else {
                    return;
                };
                let mut buf = [0u8; 1024];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                assert!(
                    req.starts_with(
                        "GET /health HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: "
                    ),
                    "{req}"
                );
                let body: &[u8] = if h.load(Ordering::SeqCst) {
                    b"HTTP/1.0 200 OK\r\n\r\nhello"
                } else {
                    b"HTTP/1.0 200 OK\r\n\r\nchanged"
                };
                let _ = s.write_all(body).await;
            }
        });
        // md5("hello"): a changed body fails the digest
        let conf = format!(
            "virtual_server 192.0.2.1 80 {{\n real_server 127.0.0.1 {port} {{\n HTTP_GET {{\n url {{\n path /health\n digest 5d41402abc4b2a76b9719d911017c592\n }}\n connect_timeout 1\n retry 0\n }}\n delay_loop 0.2\n }}\n}}"
        );
        let loaded = load_str("t.conf", &conf, Format::Keepalived, None);
        assert!(loaded.is_valid(), "{}", loaded.diags.render());
        let checks = Checks::from_config(&loaded.config, Instant::now(), None, HashMap::new());
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (_input, irx) = mpsc::unbounded_channel();
        let task = tokio::spawn(checks.run(tx, irx, CheckStats::default()));
        tokio::time::sleep(Duration::from_millis(500)).await;
        healthy.store(false, Ordering::SeqCst);
        let down = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
        assert_eq!(
            down.unwrap(),
            Some(Report::Real(HealthChange {
                rs: (0, 0),
                up: false,
                weight: None
            }))
        );
        healthy.store(true, Ordering::SeqCst);
        let up = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
        assert_eq!(
            up.unwrap(),
            Some(Report::Real(HealthChange {
                rs: (0, 0),
                up: true,
                weight: None
            }))
        );
        task.abort();
    }
}
