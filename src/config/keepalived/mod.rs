//! The keepalived.conf reader: lines (comments, includes, parameters) -> statement tree ->
//! model.
//!
//! Two threads share the work: one reads the lines and splits them into statements, the
//! caller's thread builds the model from each finished top-level statement. Statements pass
//! in batches (a [`tree::Tree`] each); a batch goes back to the thread that built it to be
//! reused. Neither the lines nor the tree of a large configuration exist as a whole.

pub mod fallback;
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
        let (back_tx, back_rx) = mpsc::channel::<tree::Tree>();
        let theirs = &mut *diags;
        let spawned = std::thread::Builder::new()
            .name("config-lines".into())
            .spawn_scoped(scope, move || {
                let mut b = Batcher::new(ToModelThread {
                    tx: Some(tx),
                    back: back_rx,
                    spare: Vec::new(),
                });
                produce(theirs, &mut b);
                b.finish(theirs).close();
            });
        let Ok(lines_thread) = spawned else {
            return false;
        };
        for batch in rx {
            for name in &batch.files {
                mine.add_file(name, Arc::default());
            }
            // reused where it was built (freed here, if that thread is gone)
            let _ = back_tx.send(read_batch(batch, &mut state, &mut mine));
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
    let mut state = read::State::default();
    let mut b = Batcher::new(ReadHere(&mut state));
    produce(diags, &mut b);
    b.finish(diags);
    (state.cfg, state.locs)
}

/// The model side of a batch: its statements into the model. Returns the tree, to be
/// emptied and reused by the lines side.
fn read_batch(batch: Batch, state: &mut read::State, diags: &mut Diagnostics) -> tree::Tree {
    if let Some(start) = batch.start {
        state.locs.set_start(start);
    }
    let mut r = read::Reader::new(diags, state);
    for n in batch.tree.roots() {
        r.root_node(&n);
    }
    batch.tree
}

/// Top-level statements on their way to the model, with the files registered since the
/// last batch (their names, for messages that point at a second place).
struct Batch {
    tree: tree::Tree,
    files: Vec<Arc<str>>,
    start: Option<Loc>,
}

/// Where the batches go; hands back a used tree for the next batch when it has one.
trait Deliver {
    fn deliver(&mut self, batch: Batch, diags: &mut Diagnostics) -> Option<tree::Tree>;
}

/// To the model on the other thread; trees come back to be reused.
struct ToModelThread {
    /// None once the model side has gone (it panicked): the rest is only drained.
    tx: Option<mpsc::SyncSender<Batch>>,
    back: mpsc::Receiver<tree::Tree>,
    /// Trees back from the model side, for the next batches.
    spare: Vec<tree::Tree>,
}

impl Deliver for ToModelThread {
    fn deliver(&mut self, batch: Batch, _: &mut Diagnostics) -> Option<tree::Tree> {
        if let Some(tx) = &self.tx {
            if tx.send(batch).is_err() {
                self.tx = None;
            }
        }
        self.spare.extend(self.back.try_iter());
        self.spare.pop()
    }
}

impl ToModelThread {
    /// No more batches; the model side's last trees are freed here, where they were built.
    fn close(mut self) {
        self.tx = None;
        for used in self.back {
            drop(used);
        }
    }
}

/// Into the model right here.
struct ReadHere<'s>(&'s mut read::State);

impl Deliver for ReadHere<'_> {
    fn deliver(&mut self, batch: Batch, diags: &mut Diagnostics) -> Option<tree::Tree> {
        Some(read_batch(batch, self.0, diags))
    }
}

/// The lines side: statements built here, handed on in batches cut between top-level
/// statements.
struct Batcher<D> {
    builder: tree::Builder,
    done: tree::Tree,
    lines: usize,
    files_sent: usize,
    started: bool,
    start: Option<Loc>,
    to: D,
}

impl<D: Deliver> Batcher<D> {
    fn new(to: D) -> Self {
        Batcher {
            builder: tree::Builder::default(),
            done: tree::Tree::default(),
            lines: 0,
            files_sent: 0,
            started: false,
            start: None,
            to,
        }
    }

    fn send(&mut self, diags: &mut Diagnostics) {
        let files = diags.file_names_from(self.files_sent);
        self.files_sent += files.len();
        let batch = Batch {
            tree: std::mem::take(&mut self.done),
            files,
            start: self.start.take(),
        };
        self.lines = 0;
        // emptied here, on the thread that filled it
        self.done = self.to.deliver(batch, diags).unwrap_or_default();
        self.done.clear();
    }

    fn finish(mut self, diags: &mut Diagnostics) -> D {
        std::mem::take(&mut self.builder).finish(diags, &mut self.done);
        self.send(diags);
        self.to
    }
}

impl<D: Deliver> LineSink for Batcher<D> {
    fn line(&mut self, text: &str, loc: Loc, diags: &mut Diagnostics) {
        if !self.started {
            self.started = true;
            self.start = Some(Loc::new(loc.file, 1, 1));
        }
        self.builder.feed(text, loc, diags, &mut self.done);
        self.lines += 1;
        // a batch is cut between top-level statements only
        if self.builder.idle()
            && (self.done.len() >= BATCH_NODES
                || (self.lines >= BATCH_LINES && !self.done.is_empty()))
        {
            self.send(diags);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write;

    /// Enough top-level blocks for many batches, with the shapes that decide where a batch
    /// may be cut: a `{` on the line after its keyword, blocks closed and opened on one
    /// line, messages from every stage, a name defined twice far apart.
    fn big_text() -> String {
        let mut s = String::from("global_defs {\n    router_id t\n}\n");
        for i in 0..400u32 {
            let ip = format!("192.0.2.{}", i % 250);
            let port = 1000 + i;
            match i % 4 {
                0 => write!(s, "virtual_server {ip} {port}\n{{\n"),
                1 => writeln!(s, "virtual_server {ip} {port} {{ protocol TCP"),
                _ => write!(s, "virtual_server {ip} {port} {{\n    protocol TCP\n"),
            }
            .unwrap();
            for r in 0..6 {
                write!(
                    s,
                    "    real_server 198.51.100.{r} {port} {{\n        weight {}\n        TCP_CHECK {{ connect_timeout 3 }}\n    }}\n",
                    r + 1
                )
                .unwrap();
            }
            if i % 97 == 5 {
                s.push_str("    colour blue\n");
            }
            if i % 131 == 7 {
                s.push_str("    delay_loop \"6\n");
            }
            s.push_str("}\n");
            if i == 10 || i == 390 {
                s.push_str("vrrp_script chk\n{\n    script \"/bin/true\"\n}\n");
            }
        }
        s.push_str("virtual_server 203.0.113.1 80 {\n    protocol TCP\n");
        s
    }

    fn summary(cfg: &Config, locs: &Locations, d: &Diagnostics) -> (String, String, String) {
        (
            serde_json::to_string(cfg).unwrap(),
            format!("{locs:?}"),
            d.render(),
        )
    }

    #[test]
    fn two_threads_read_as_one() {
        let text = big_text();
        let opts = Options::default();
        let mut d1 = Diagnostics::default();
        let (c1, l1) = read_str("big.conf", &text, &opts, &mut d1);
        let mut d2 = Diagnostics::default();
        let (c2, l2) = read_here(&mut d2, &|d, sink| {
            lines::read_str("big.conf", &text, &opts, d, sink)
        });
        assert_eq!(c1.virtual_server.len(), 401);
        let r = d1.render();
        for want in [
            "unknown keyword 'colour'",
            "unterminated quote",
            "vrrp_script 'chk' is defined twice (first defined at big.conf:300:1)",
            "is never closed",
        ] {
            assert!(r.contains(want), "{want}: {r}");
        }
        assert_eq!(summary(&c1, &l1, &d1), summary(&c2, &l2, &d2));
    }
}
