//! The keepalived.conf reader: lines (comments, includes, parameters) -> statement tree ->
//! model.
//!
//! Two threads share the work: one reads the lines and splits them into statements, the
//! caller's thread builds the model from each finished top-level statement. Statements pass
//! in batches (a [`tree::Tree`] each); a batch goes back to the thread that built it to be
//! reused. Neither the lines nor the tree of a large configuration exist as a whole.

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
                let mut b = Batcher {
                    builder: tree::Builder::default(),
                    done: tree::Tree::default(),
                    lines: 0,
                    files_sent: 0,
                    started: false,
                    start: None,
                    tx: Some(tx),
                    back: back_rx,
                    spare: Vec::new(),
                };
                produce(theirs, &mut b);
                b.finish(theirs);
            });
        let Ok(lines_thread) = spawned else {
            return false;
        };
        for batch in rx {
            for name in batch.files {
                mine.add_file(&name, Arc::default());
            }
            if let Some(start) = batch.start {
                state.locs.set_start(start);
            }
            let mut r = read::Reader::new(&mut mine, &mut state);
            for n in batch.tree.roots() {
                r.root_node(&n);
            }
            // reused where it was built (freed here, if that thread is gone)
            let _ = back_tx.send(batch.tree);
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
    tree: tree::Tree,
    files: Vec<Arc<str>>,
    start: Option<Loc>,
}

/// The lines side: statements built here, sent in batches.
struct Batcher {
    builder: tree::Builder,
    done: tree::Tree,
    lines: usize,
    files_sent: usize,
    started: bool,
    start: Option<Loc>,
    /// None once the model side has gone (it panicked): the rest is only drained.
    tx: Option<mpsc::SyncSender<Batch>>,
    back: mpsc::Receiver<tree::Tree>,
    /// Trees back from the model side, emptied, for the next batches.
    spare: Vec<tree::Tree>,
}

impl Batcher {
    fn send(&mut self, diags: &Diagnostics) {
        let files = diags.file_names_from(self.files_sent);
        self.files_sent += files.len();
        while let Ok(mut used) = self.back.try_recv() {
            used.clear();
            self.spare.push(used);
        }
        let next = self.spare.pop().unwrap_or_default();
        let batch = Batch {
            tree: std::mem::replace(&mut self.done, next),
            files,
            start: self.start.take(),
        };
        self.lines = 0;
        if let Some(tx) = &self.tx {
            if tx.send(batch).is_err() {
                self.tx = None;
            }
        }
    }

    fn finish(mut self, diags: &mut Diagnostics) {
        std::mem::take(&mut self.builder).finish(diags, &mut self.done);
        self.send(diags);
        self.tx = None;
        // the model side's last trees are freed here, where they were built
        for used in self.back {
            drop(used);
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
        // a batch is cut between top-level statements only
        if self.builder.idle()
            && (self.done.len() >= BATCH_NODES
                || (self.lines >= BATCH_LINES && !self.done.is_empty()))
        {
            self.send(diags);
        }
    }
}

/// Lines -> statements -> model on one thread, one top-level block at a time.
#[derive(Default)]
struct Pipeline {
    builder: tree::Builder,
    done: tree::Tree,
    state: read::State,
    started: bool,
}

impl Pipeline {
    fn read_done(&mut self, diags: &mut Diagnostics) {
        if self.done.is_empty() {
            return;
        }
        let mut r = read::Reader::new(diags, &mut self.state);
        for n in self.done.roots() {
            r.root_node(&n);
        }
        self.done.clear();
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
        if self.builder.idle() {
            self.read_done(diags);
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
