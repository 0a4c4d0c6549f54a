//! Anycast: service addresses announced through the host's routing daemon while this
//! replica is healthy (docs/anycast.md). `engine` decides (sans-IO); `spec` builds the
//! kernel objects from the configuration; [`Anycast`] carries the engine's outputs out
//! (rtnetlink, notifications) as one subsystem of the daemon: start, reload, stop in two
//! steps (withdraw, then after the drain time release), and a guard that removes what
//! it added when dropped before its stop (a start that fails leaves nothing behind).

pub(crate) mod engine;
pub(crate) mod spec;

use crate::config::Config;
use crate::exec::RunAs;
use crate::net::kernel::Kernel;
use crate::net::rtnl::Rtnl;
use crate::notify::anycast::{AnycastNotifier, State};
use crate::notify::mail::Mailer;
use engine::{Engine, Input, Level, Output, Spec, View};
use std::time::{Duration, Instant};
use tracing::{error, info, warn};

pub(crate) struct Anycast {
    engine: Engine,
    /// Opened when the first block comes.
    nl: Option<Rtnl>,
    out: Vec<Output>,
    notifier: AnycastNotifier,
    /// Stopped and released: nothing left to remove.
    released: bool,
    /// Continuing a predecessor binary's blocks (the start of a new binary after
    /// `ldirector upgrade`): what the start finds is logged, not notified (nothing moved).
    quiet: bool,
    /// Recent changes (when, block, state word), newest last, for the status page.
    recent: crate::control::status::Recent<(String, &'static str)>,
}

impl Anycast {
    /// Announce the blocks of `specs` (built from `cfg`) as their inputs say. Without
    /// an rtnetlink socket nothing is announced (said loudly; the rest runs).
    /// `resumed`: a new binary continuing a running ldirector (`ldirector upgrade`), with
    /// the blocks the operator had drained (they stay so); its start notifies nothing.
    pub(crate) fn start(
        cfg: &Config,
        specs: Vec<Spec>,
        run_as: Option<RunAs>,
        mailer: Option<Mailer>,
        resumed: Option<&[String]>,
    ) -> Anycast {
        let nl = if specs.is_empty() {
            None
        } else {
            Rtnl::open()
                .map_err(|e| error!("anycast: rtnetlink: {e}: nothing is announced"))
                .ok()
        };
        let mut me = Anycast {
            engine: Engine::new(specs),
            nl,
            out: Vec::new(),
            notifier: AnycastNotifier::new(cfg, run_as, mailer),
            released: false,
            quiet: resumed.is_some(),
            recent: Default::default(),
        };
        if let Some(drained) = resumed {
            me.engine.drained_before(drained);
        }
        // what a run that died left announced is kept (a restart moves no traffic)
        let adopted = me.adopted();
        me.drive(cfg, |e, out| e.start(Instant::now(), &adopted, out));
        me.quiet = false;
        me
    }

    /// Per block, whether its healthy objects are all in the kernel already.
    fn adopted(&mut self) -> Vec<bool> {
        let specs = self.engine.specs();
        let objs: Vec<_> = specs
            .iter()
            .flat_map(|s| s.healthy.iter().cloned())
            .collect();
        let Some(nl) = self.nl.as_mut() else {
            return Vec::new();
        };
        let found = match crate::net::addr::present(nl, &objs) {
            Ok(f) => f,
            Err(e) => {
                warn!("anycast: reading the kernel's routes: {e}");
                return Vec::new();
            }
        };
        let mut at = 0;
        specs
            .iter()
            .map(|s| {
                let n = s.healthy.len();
                let all = n > 0 && found[at..at + n].iter().all(|&x| x);
                at += n;
                if all {
                    info!(
                        "anycast {}: its announcement is in the kernel already: kept",
                        s.name
                    );
                }
                all
            })
            .collect()
    }

    /// Run `f` on the engine with the output buffer, then carry out what it asked for.
    fn drive<R>(&mut self, cfg: &Config, f: impl FnOnce(&mut Engine, &mut Vec<Output>) -> R) -> R {
        let mut out = std::mem::take(&mut self.out);
        let r = f(&mut self.engine, &mut out);
        self.execute(cfg, &mut out);
        self.out = out;
        r
    }

    fn execute(&mut self, cfg: &Config, out: &mut Vec<Output>) {
        for o in out.drain(..) {
            match o {
                Output::Kernel { name, add, remove } => {
                    apply(self.nl.as_mut(), &name, &add, &remove);
                }
                Output::Changed {
                    block,
                    from,
                    to,
                    why,
                } => {
                    let name = self.engine.name(block).to_string();
                    let view = self.engine.views().nth(block);
                    let metric = view.as_ref().and_then(|v| v.metric);
                    let peers = view.is_some_and(|v| v.peers);
                    let state = match (to, metric) {
                        (Level::Healthy, _) => State::Announced,
                        (Level::Failed, Some(_)) if peers => State::Takeover,
                        (Level::Failed, Some(_)) => State::Lowered,
                        _ => State::Withdrawn,
                    };
                    let m = metric.map(|m| format!(" (metric {m})")).unwrap_or_default();
                    if self.quiet {
                        // a new binary finding what its predecessor announced
                        info!(
                            "anycast {name}: {}{m} (continued from the previous binary): {why}",
                            state.word().to_lowercase()
                        );
                        continue;
                    }
                    if from == Level::Off && to == Level::Failed && state == State::Withdrawn {
                        // a start (or a new block) whose inputs fail: nothing was announced
                        warn!("anycast {name}: not announced: {why}");
                    } else if state == State::Announced {
                        info!("anycast {name}: {}{m}: {why}", state.word().to_lowercase());
                    } else {
                        warn!("anycast {name}: {}{m}: {why}", state.word().to_lowercase());
                    }
                    self.notifier.changed(cfg, &name, state, metric, &why);
                    self.recent.push((name, state.word()));
                }
            }
        }
    }

    /// Recent changes: (when, block, state), oldest first.
    pub(crate) fn recent(&self) -> impl Iterator<Item = &(Instant, (String, &'static str))> {
        self.recent.iter()
    }

    /// An input's new verdict.
    pub(crate) fn set(&mut self, cfg: &Config, input: &Input, up: bool) {
        self.drive(cfg, |e, out| e.set(input, up, Instant::now(), out));
    }

    /// When [`Anycast::poll`] is due (a hold-down ends).
    #[must_use]
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.engine.poll_timeout()
    }

    pub(crate) fn poll(&mut self, cfg: &Config) {
        self.drive(cfg, |e, out| e.poll(Instant::now(), out));
    }

    /// Withdraw (all blocks, or the one named) and keep serving; how many it applied to.
    pub(crate) fn drain(&mut self, cfg: &Config, name: Option<&str>) -> usize {
        self.drive(cfg, |e, out| e.drain(name, Instant::now(), out))
    }

    /// Announce again as the inputs say; how many it applied to.
    pub(crate) fn resume(&mut self, cfg: &Config, name: Option<&str>) -> usize {
        self.drive(cfg, |e, out| e.resume(name, Instant::now(), out))
    }

    /// A reload: the blocks of `specs` (built from the new `cfg`), continued by name.
    pub(crate) fn reload(
        &mut self,
        old: &Config,
        cfg: &Config,
        specs: Vec<Spec>,
        mailer: Option<Mailer>,
    ) {
        self.notifier.reconfigure(old, cfg, mailer);
        if self.nl.is_none() && !specs.is_empty() {
            match Rtnl::open() {
                Ok(nl) => self.nl = Some(nl),
                Err(e) => error!("reload: anycast: rtnetlink: {e}"),
            }
        }
        self.drive(cfg, |e, out| e.replace(specs, Instant::now(), out));
    }

    /// The stop, first step: everything withdrawn, the addresses still served. How long
    /// to wait before [`Anycast::release`] (the longest drain_time of what was announced).
    pub(crate) fn stop(&mut self, cfg: &Config) -> Duration {
        self.drive(cfg, |e, out| e.stop(Instant::now(), out))
    }

    /// The stop, second step: the addresses no longer served; notifications finish.
    pub(crate) async fn release(&mut self, cfg: &Config) {
        self.drive(cfg, |e, out| e.release(out));
        self.released = true;
        self.notifier.drain(Duration::from_secs(10)).await;
    }

    pub(crate) fn views(&self) -> impl Iterator<Item = View<'_>> {
        self.engine.views()
    }
}

impl Drop for Anycast {
    fn drop(&mut self) {
        if self.released || self.engine.is_empty() {
            return;
        }
        // a start that failed after this one, or a stop that skipped it: nothing stays
        let mut out = Vec::new();
        self.engine.stop(Instant::now(), &mut out);
        self.engine.release(&mut out);
        for o in out {
            if let Output::Kernel { name, add, remove } = o {
                apply(self.nl.as_mut(), &name, &add, &remove);
            }
        }
    }
}

/// Add `add` (first: make before break, the new announcement before the old one goes),
/// then remove `remove`, for block `name`; failures are logged.
fn apply(nl: Option<&mut Rtnl>, name: &str, add: &[Kernel], remove: &[Kernel]) {
    let Some(nl) = nl else {
        error!("anycast {name}: no rtnetlink socket: the kernel is not changed");
        return;
    };
    for k in add {
        if let Err(e) = k.add(nl) {
            error!("anycast {name}: adding {k}: {e}");
        }
    }
    for k in remove {
        if let Err(e) = k.remove(nl) {
            error!("anycast {name}: removing {k}: {e}");
        }
    }
}
