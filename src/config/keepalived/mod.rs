//! The keepalived.conf reader: lines (comments, includes, parameters) -> statement tree ->
//! model.
//!
//! Two threads share the work: one reads the lines and splits them into statements, the
//! caller's thread builds the model from each finished top-level statement. Statements pass
//! in batches; a batch goes back to the thread that built it to be freed (the allocator
//! frees fastest on the thread that allocated). Neither the lines nor the tree of a large
//! configuration exist as a whole.

pub mod keywords;
pub mod lines;
pub mod read;
pub mod tree;

use super::diag::{Diagnostics, Loc};
use super::model::Config;
use super::Locations;
use lines::LineSink;
use std::path::Path;
use std::sync::mpsc;
use std::sync::Arc;

pub use lines::Options;

/// Read a keepalived.conf file (and its includes) into the model.
pub fn read_file(path: &Path, opts: &Options, diags: &mut Diagnostics) -> (Config, Locations) {
    read_with(diags, &|d, sink| lines::read_file(path, opts, d, sink))
}

/// Read keepalived.conf text; `name` is used in diagnostics.
pub fn read_str(
    name: &str,
    text: &str,
    opts: &Options,
    diags: &mut Diagnostics,
) -> (Config, Locations) {
    read_with(diags, &|d, sink| lines::read_str(name, text, opts, d, sink))
}

/// The preprocessor run over a file or a text, handing its lines to a sink.
type Produce<'a> = dyn Fn(&mut Diagnostics, &mut dyn LineSink) + Sync + 'a;

/// A batch closes at this many top-level statements or logical lines: passing it costs
/// nothing next to reading it, and both threads stay busy.
const BATCH_NODES: usize = 64;
const BATCH_LINES: usize = 2048;
/// Batches on their way at once (bounds the memory when the model side is slower).
const BATCHES_IN_FLIGHT: usize = 4;

fn read_with(diags: &mut Diagnostics, produce: &Produce<'_>) -> (Config, Locations) {
    let mut state = read::State::default();
    // the model side's messages; its file table mirrors the other side's (for names)
    let mut mine = Diagnostics::default();
    let threaded = std::thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel::<Batch>(BATCHES_IN_FLIGHT);
        let (back_tx, back_rx) = mpsc::channel::<Vec<tree::Node>>();
        let theirs = &mut *diags;
        let spawned = std::thread::Builder::new()
            .name("config-lines".into())
            .spawn_scoped(scope, move || {
                let mut b = Batcher {
                    builder: tree::Builder::default(),
                    done: Vec::new(),
                    lines: 0,
                    files_sent: 0,
                    started: false,
                    start: None,
                    tx: Some(tx),
                    back: back_rx,
                };
                produce(theirs, &mut b);
                b.finish(theirs);
            });
        let Ok(lines_thread) = spawned else {
            return false;
        };
        for batch in rx {
            for name in batch.files {
                mine.add_file(&name, Arc::from(""));
            }
            if let Some(start) = batch.start {
                state.locs.set_start(start);
            }
            let mut r = read::Reader::new(&mut mine, &mut state);
            for n in &batch.nodes {
                r.root_node(n);
            }
            // freed where they were built (here, if that thread is gone)
            let _ = back_tx.send(batch.nodes);
        }
        drop(back_tx);
        if let Err(panic) = lines_thread.join() {
            std::panic::resume_unwind(panic);
        }
        true
    });
    if !threaded {
        // no second thread to be had: all of it on this one
        return read_here(diags, produce);
    }
    diags.absorb(mine);
    (state.cfg, state.locs)
}

/// The same reading on the caller's thread alone.
fn read_here(diags: &mut Diagnostics, produce: &Produce<'_>) -> (Config, Locations) {
    let mut p = Pipeline::default();
    produce(diags, &mut p);
    p.finish(diags)
}

/// Top-level statements on their way to the model, with the files registered since the
/// last batch (their names, for messages that point at a second place).
struct Batch {
    nodes: Vec<tree::Node>,
    files: Vec<Arc<str>>,
    start: Option<Loc>,
}

/// The lines side: statements built here, sent in batches.
struct Batcher {
    builder: tree::Builder,
    done: Vec<tree::Node>,
    lines: usize,
    files_sent: usize,
    started: bool,
    start: Option<Loc>,
    /// None once the model side has gone (it panicked): the rest is only drained.
    tx: Option<mpsc::SyncSender<Batch>>,
    back: mpsc::Receiver<Vec<tree::Node>>,
}

impl Batcher {
    fn send(&mut self, diags: &Diagnostics) {
        let files = diags.file_names_from(self.files_sent);
        self.files_sent += files.len();
        let batch = Batch {
            nodes: std::mem::take(&mut self.done),
            files,
            start: self.start.take(),
        };
        self.lines = 0;
        if let Some(tx) = &self.tx {
            if tx.send(batch).is_err() {
                self.tx = None;
            }
        }
        while let Ok(freed) = self.back.try_recv() {
            drop(freed);
        }
    }

    fn finish(mut self, diags: &mut Diagnostics) {
        std::mem::take(&mut self.builder).finish(diags, &mut self.done);
        self.send(diags);
        self.tx = None;
        for freed in self.back {
            drop(freed);
        }
    }
}

impl LineSink for Batcher {
    fn line(&mut self, text: &str, loc: Loc, diags: &mut Diagnostics) {
        if !self.started {
            self.started = true;
            self.start = Some(Loc::new(loc.file, 1, 1));
        }
        self.builder.feed(text, loc, diags, &mut self.done);
        self.lines += 1;
        if self.done.len() >= BATCH_NODES || (self.lines >= BATCH_LINES && !self.done.is_empty()) {
            self.send(diags);
        }
    }
}

/// Lines -> statements -> model on one thread, one top-level block at a time.
#[derive(Default)]
struct Pipeline {
    builder: tree::Builder,
    done: Vec<tree::Node>,
    state: read::State,
    started: bool,
}

impl Pipeline {
    fn read_done(&mut self, diags: &mut Diagnostics) {
        if self.done.is_empty() {
            return;
        }
        let mut r = read::Reader::new(diags, &mut self.state);
        for n in self.done.drain(..) {
            r.root_node(&n);
        }
    }

    fn finish(mut self, diags: &mut Diagnostics) -> (Config, Locations) {
        std::mem::take(&mut self.builder).finish(diags, &mut self.done);
        self.read_done(diags);
        (self.state.cfg, self.state.locs)
    }
}

impl LineSink for Pipeline {
    fn line(&mut self, text: &str, loc: Loc, diags: &mut Diagnostics) {
        if !self.started {
            self.started = true;
            self.state.locs.set_start(Loc::new(loc.file, 1, 1));
        }
        self.builder.feed(text, loc, diags, &mut self.done);
        self.read_done(diags);
    }
}
