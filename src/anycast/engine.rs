//! The anycast blocks, sans-IO: health verdicts, operator commands and time in; kernel
//! changes (make before break) and announcement changes out, into the caller's buffer.
//!
//! A block announces its `healthy` objects while every input is up, its `failed` objects
//! (a worse-metric route, or nothing: withdrawn) as soon as one is down, and nothing while
//! draining or stopped. Coming back from failed waits for the inputs to stay up for the
//! hold-down, so that a replica recovering in fits does not pull traffic back and forth.
//! The `accept` objects (local routes that keep the addresses served whatever is
//! announced: checks of the service address, connections being drained) are held from
//! the start to the release.
//!
//! At the start, the checkers have not spoken yet (they start down, keepalived's alpha):
//! for its `grace` a block whose inputs are not all up waits — announcing nothing, or
//! keeping what a run that died left announced (adopted: a restart moves no traffic) —
//! and is announced at the first verdict that makes it healthy. After the grace it is
//! what its inputs say.

use crate::net::kernel::{self, Kernel};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A health input of a block.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Input {
    /// The block's own checkers (all up: up), by block name.
    Checks(String),
    /// A vrrp_script.
    Script(String),
    /// A track_file (up: it reads 0).
    File(String),
    /// A virtual server's quorum, by its index in the configuration.
    Quorum(usize),
}

impl std::fmt::Display for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Input::Checks(_) => write!(f, "its checks"),
            Input::Script(s) => write!(f, "track_script {s}"),
            Input::File(s) => write!(f, "track_file {s}"),
            Input::Quorum(i) => write!(f, "the quorum of virtual_server #{i}"),
        }
    }
}

/// One block, as the shell built it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Spec {
    pub name: String,
    /// Held from start to release.
    pub accept: Vec<Kernel>,
    /// Announced while healthy.
    pub healthy: Vec<Kernel>,
    /// Announced while failed (empty: withdrawn).
    pub failed: Vec<Kernel>,
    /// The route metrics of the two (None: an address, or nothing).
    pub healthy_metric: Option<u32>,
    pub failed_metric: Option<u32>,
    /// The inputs, with the verdict each starts from.
    pub inputs: Vec<(Input, bool)>,
    /// How logs and status name an input (default: its `Display`).
    pub labels: HashMap<Input, String>,
    /// Whose health the inputs watch: the other replicas (true) or ours.
    pub peers: bool,
    pub hold_down: Duration,
    pub drain_time: Duration,
    /// How long the first verdicts may take after a start.
    pub grace: Duration,
}

/// What a block has in the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level {
    /// Nothing announced: not started, draining, or stopped.
    Off,
    Healthy,
    Failed,
}

/// Something for the shell to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Output {
    /// Add these (first), then remove these; for the block of this name.
    Kernel {
        name: String,
        add: Vec<Kernel>,
        remove: Vec<Kernel>,
    },
    /// The announcement changed (logs, notifications).
    Changed {
        block: usize,
        from: Level,
        to: Level,
        why: String,
    },
}

struct Block {
    spec: Spec,
    verdicts: Vec<bool>,
    level: Level,
    /// Healthy again (after a failure) since then: back at `+ hold_down`.
    recovering: Option<Instant>,
    /// Started, waiting for the first verdicts until then.
    pending_until: Option<Instant>,
    draining: bool,
    since: Option<Instant>,
    why: String,
    changes: u64,
}

impl Block {
    fn new(spec: Spec) -> Block {
        Block {
            verdicts: spec.inputs.iter().map(|(_, v)| *v).collect(),
            spec,
            level: Level::Off,
            recovering: None,
            pending_until: None,
            draining: false,
            since: None,
            why: String::new(),
            changes: 0,
        }
    }

    fn objects(&self, l: Level) -> &[Kernel] {
        objects(&self.spec, l)
    }

    fn healthy(&self) -> bool {
        self.verdicts.iter().all(|&v| v)
    }

    /// Why the inputs say what they say.
    fn reason(&self) -> String {
        let down: Vec<String> = self
            .spec
            .inputs
            .iter()
            .zip(&self.verdicts)
            .filter(|(_, &v)| !v)
            .map(|((i, _), _)| {
                self.spec
                    .labels
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| i.to_string())
            })
            .collect();
        match (down.is_empty(), self.spec.peers) {
            (true, false) => "healthy".into(),
            (true, true) => "the peers are healthy".into(),
            (false, false) => format!("{} failed", down.join(", ")),
            (false, true) => format!("a peer failed ({})", down.join(", ")),
        }
    }
}

/// A read-only view of one block, for status and metrics.
#[derive(Clone, Debug)]
pub(crate) struct View<'a> {
    pub name: &'a str,
    pub level: Level,
    pub healthy: bool,
    pub draining: bool,
    /// Waiting for the first verdicts.
    pub starting: bool,
    /// The inputs watch the other replicas (failed: taking their traffic over).
    pub peers: bool,
    /// The metric announced now (None: an address, or nothing).
    pub metric: Option<u32>,
    pub since: Option<Instant>,
    pub why: &'a str,
    pub changes: u64,
    /// The hold-down ends then (a recovered block waiting to come back).
    pub back_at: Option<Instant>,
}

#[derive(Default)]
pub(crate) struct Engine {
    blocks: Vec<Block>,
    started: bool,
    stopping: bool,
}

impl Engine {
    pub(crate) fn new(specs: Vec<Spec>) -> Engine {
        Engine {
            blocks: specs.into_iter().map(Block::new).collect(),
            started: false,
            stopping: false,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// Every block, in the configuration's order.
    pub(crate) fn views(&self) -> impl Iterator<Item = View<'_>> {
        self.blocks.iter().map(|b| View {
            name: &b.spec.name,
            level: b.level,
            healthy: b.healthy(),
            draining: b.draining,
            starting: b.pending_until.is_some(),
            peers: b.spec.peers,
            metric: match b.level {
                Level::Healthy => b.spec.healthy_metric,
                Level::Failed => b.spec.failed_metric,
                Level::Off => None,
            },
            since: b.since,
            why: &b.why,
            changes: b.changes,
            back_at: b.recovering.map(|t| t + b.spec.hold_down),
        })
    }

    /// Every block's specification.
    pub(crate) fn specs(&self) -> Vec<&Spec> {
        self.blocks.iter().map(|b| &b.spec).collect()
    }

    pub(crate) fn name(&self, block: usize) -> &str {
        self.blocks.get(block).map_or("", |b| b.spec.name.as_str())
    }

    /// Announce what each block's inputs say (a failed block's `failed` objects), after
    /// the objects that keep its addresses served; a block whose inputs are not all up
    /// yet waits for them (its grace). `adopted[i]`: block `i`'s healthy objects are in
    /// the kernel already (a run that died): kept, no withdrawal, no flap.
    /// Before the start: these blocks were drained by the operator in the binary this one
    /// continues (`ldirector upgrade`): they start drained, announcing nothing.
    pub(crate) fn drained_before(&mut self, names: &[String]) {
        for b in &mut self.blocks {
            if names.contains(&b.spec.name) {
                b.draining = true;
            }
        }
    }

    pub(crate) fn start(&mut self, now: Instant, adopted: &[bool], out: &mut Vec<Output>) {
        self.started = true;
        for i in 0..self.blocks.len() {
            let kept = adopted.get(i).copied().unwrap_or(false);
            self.start_block(i, kept, now, out);
        }
    }

    fn start_block(&mut self, i: usize, adopted: bool, now: Instant, out: &mut Vec<Output>) {
        let b = &mut self.blocks[i];
        out.push(Output::Kernel {
            name: b.spec.name.clone(),
            add: b.spec.accept.clone(),
            remove: Vec::new(),
        });
        if b.draining {
            b.why = "drained by the operator".into();
            return;
        }
        if !b.healthy() && !b.spec.grace.is_zero() {
            b.pending_until = Some(now + b.spec.grace);
            if adopted {
                let why = "kept from the run before, until the first checks".to_string();
                self.move_to(i, Level::Healthy, why, now, out);
            } else {
                b.why = "waiting for the first checks".into();
            }
            return;
        }
        let to = if b.healthy() {
            Level::Healthy
        } else {
            Level::Failed
        };
        let why = b.reason();
        self.move_to(i, to, why, now, out);
    }

    /// An input's new verdict (before the start: only recorded).
    pub(crate) fn set(&mut self, input: &Input, up: bool, now: Instant, out: &mut Vec<Output>) {
        for i in 0..self.blocks.len() {
            let b = &mut self.blocks[i];
            let mut touched = false;
            for (k, (inp, _)) in b.spec.inputs.iter().enumerate() {
                if inp == input && b.verdicts[k] != up {
                    b.verdicts[k] = up;
                    touched = true;
                }
            }
            if touched && self.started {
                self.evaluate(i, now, out);
            }
        }
    }

    /// Where block `i` should be now, and the move there.
    fn evaluate(&mut self, i: usize, now: Instant, out: &mut Vec<Output>) {
        let b = &mut self.blocks[i];
        if b.draining || self.stopping {
            return;
        }
        let why = b.reason();
        if let Some(until) = b.pending_until {
            // starting: healthy at the first verdict that says so, failed only after
            // the grace
            if !b.healthy() && now < until {
                return;
            }
            b.pending_until = None;
        }
        if !b.healthy() {
            b.recovering = None;
            self.move_to(i, Level::Failed, why, now, out);
            return;
        }
        // healthy: at once unless coming back from a failure within the hold-down
        if b.level == Level::Failed && !b.spec.hold_down.is_zero() {
            let since = *b.recovering.get_or_insert(now);
            if now < since + b.spec.hold_down {
                return;
            }
        }
        b.recovering = None;
        self.move_to(i, Level::Healthy, why, now, out);
    }

    fn move_to(&mut self, i: usize, to: Level, why: String, now: Instant, out: &mut Vec<Output>) {
        let b = &mut self.blocks[i];
        let from = b.level;
        if from == to {
            return;
        }
        let (old, new) = (b.objects(from), b.objects(to));
        let (remove, add) = kernel::diff(old, new);
        if !add.is_empty() || !remove.is_empty() {
            out.push(Output::Kernel {
                name: b.spec.name.clone(),
                add,
                remove,
            });
        }
        b.level = to;
        b.since = Some(now);
        b.changes += 1;
        b.why.clone_from(&why);
        out.push(Output::Changed {
            block: i,
            from,
            to,
            why,
        });
    }

    /// When the next hold-down or start grace ends.
    #[must_use]
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let holds = self
            .blocks
            .iter()
            .filter(|b| !b.draining && b.level == Level::Failed)
            .filter_map(|b| b.recovering.map(|t| t + b.spec.hold_down));
        let graces = self.blocks.iter().filter_map(|b| b.pending_until);
        holds.chain(graces).min()
    }

    /// Hold-downs and start graces that ended by `now`.
    pub(crate) fn poll(&mut self, now: Instant, out: &mut Vec<Output>) {
        for i in 0..self.blocks.len() {
            let b = &self.blocks[i];
            let held = b.recovering.is_some_and(|t| t + b.spec.hold_down <= now);
            let graced = b.pending_until.is_some_and(|t| t <= now);
            if held || graced {
                self.evaluate(i, now, out);
            }
        }
    }

    /// `ldirector anycast drain [NAME]`: withdraw (all blocks, or the one named), keep
    /// serving. The blocks it applied to.
    pub(crate) fn drain(
        &mut self,
        name: Option<&str>,
        now: Instant,
        out: &mut Vec<Output>,
    ) -> usize {
        let chosen = self.chosen(name);
        for &i in &chosen {
            let b = &mut self.blocks[i];
            b.draining = true;
            b.recovering = None;
            b.pending_until = None;
            self.move_to(i, Level::Off, "drained by the operator".into(), now, out);
        }
        chosen.len()
    }

    /// The blocks `name` chooses (every block when None).
    fn chosen(&self, name: Option<&str>) -> Vec<usize> {
        (0..self.blocks.len())
            .filter(|&i| name.is_none_or(|x| x == self.blocks[i].spec.name))
            .collect()
    }

    /// `ldirector anycast resume [NAME]`: announce again as the inputs say (no hold-down:
    /// the operator decided). The blocks it applied to.
    pub(crate) fn resume(
        &mut self,
        name: Option<&str>,
        now: Instant,
        out: &mut Vec<Output>,
    ) -> usize {
        let mut n = 0;
        for i in self.chosen(name) {
            let b = &mut self.blocks[i];
            if !b.draining {
                continue;
            }
            n += 1;
            b.draining = false;
            let (to, why) = if b.healthy() {
                (Level::Healthy, "resumed by the operator".to_string())
            } else {
                (
                    Level::Failed,
                    format!("resumed by the operator; {}", b.reason()),
                )
            };
            self.move_to(i, to, why, now, out);
        }
        n
    }

    /// The stop, first step: withdraw everything (the addresses are still served). How
    /// long to go on serving: the longest drain_time of a block that was announced.
    pub(crate) fn stop(&mut self, now: Instant, out: &mut Vec<Output>) -> Duration {
        self.stopping = true;
        let mut drain = Duration::ZERO;
        for i in 0..self.blocks.len() {
            let b = &self.blocks[i];
            if !b.objects(b.level).is_empty() {
                drain = drain.max(b.spec.drain_time);
            }
            self.move_to(i, Level::Off, "stopping".into(), now, out);
        }
        drain
    }

    /// The stop, second step: the addresses are no longer served.
    pub(crate) fn release(&mut self, out: &mut Vec<Output>) {
        for b in &self.blocks {
            if !b.spec.accept.is_empty() {
                out.push(Output::Kernel {
                    name: b.spec.name.clone(),
                    add: Vec::new(),
                    remove: b.spec.accept.clone(),
                });
            }
        }
        self.started = false;
    }

    /// A reload: blocks continue by name (state, verdicts of inputs they still have,
    /// hold-down, drain) with their objects brought to the new ones; blocks that are gone
    /// withdraw and release; new ones start.
    pub(crate) fn replace(&mut self, specs: Vec<Spec>, now: Instant, out: &mut Vec<Output>) {
        let mut old: HashMap<String, Block> = std::mem::take(&mut self.blocks)
            .into_iter()
            .map(|b| (b.spec.name.clone(), b))
            .collect();
        let mut fresh = Vec::new();
        for spec in specs {
            let i = self.blocks.len();
            match old.remove(&spec.name) {
                Some(mut b) => {
                    // the verdicts of the inputs it had
                    let verdicts = spec
                        .inputs
                        .iter()
                        .map(|(inp, v)| {
                            b.spec
                                .inputs
                                .iter()
                                .position(|(o, _)| o == inp)
                                .map_or(*v, |k| b.verdicts[k])
                        })
                        .collect();
                    let before = std::mem::replace(&mut b.spec, spec);
                    b.verdicts = verdicts;
                    if self.started {
                        let (old_objs, new_objs) = (
                            [before.accept.as_slice(), objects(&before, b.level)].concat(),
                            [b.spec.accept.as_slice(), b.objects(b.level)].concat(),
                        );
                        let (remove, add) = kernel::diff(&old_objs, &new_objs);
                        if !add.is_empty() || !remove.is_empty() {
                            out.push(Output::Kernel {
                                name: b.spec.name.clone(),
                                add,
                                remove,
                            });
                        }
                    }
                    self.blocks.push(b);
                    if self.started {
                        self.evaluate(i, now, out);
                    }
                }
                None => {
                    self.blocks.push(Block::new(spec));
                    fresh.push(i);
                }
            }
        }
        // the blocks that are gone: withdrawn, no longer served
        for (_, b) in old {
            if !self.started {
                continue;
            }
            let gone: Vec<Kernel> = [b.objects(b.level), b.spec.accept.as_slice()].concat();
            if !gone.is_empty() {
                out.push(Output::Kernel {
                    name: b.spec.name.clone(),
                    add: Vec::new(),
                    remove: gone,
                });
            }
            if b.level != Level::Off {
                tracing::info!("reload: anycast {} removed: withdrawn", b.spec.name);
            }
        }
        if self.started {
            for i in fresh {
                self.start_block(i, false, now, out);
            }
        }
    }
}

fn objects(s: &Spec, l: Level) -> &[Kernel] {
    match l {
        Level::Off => &[],
        Level::Healthy => &s.healthy,
        Level::Failed => &s.failed,
    }
}

#[cfg(test)]
mod tests;
