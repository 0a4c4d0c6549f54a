//! The keepalived.conf reader: lines (comments, includes, parameters) -> statement tree ->
//! model.

pub mod keywords;
pub mod lines;
pub mod read;
pub mod tree;

use super::diag::Diagnostics;
use super::model::Config;
use super::Locations;
use std::path::Path;

pub use lines::Options;

/// Read a keepalived.conf file (and its includes) into the model.
pub fn read_file(path: &Path, opts: &Options, diags: &mut Diagnostics) -> (Config, Locations) {
    let mut p = Pipeline::default();
    lines::read_file(path, opts, diags, &mut p);
    p.finish(diags)
}

/// Read keepalived.conf text; `name` is used in diagnostics.
pub fn read_str(
    name: &str,
    text: &str,
    opts: &Options,
    diags: &mut Diagnostics,
) -> (Config, Locations) {
    let mut p = Pipeline::default();
    lines::read_str(name, text, opts, diags, &mut p);
    p.finish(diags)
}

/// Lines -> statements -> model, one top-level block at a time: neither the lines nor the
/// tree of a large configuration exist as a whole.
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

impl lines::LineSink for Pipeline {
    fn line(&mut self, text: &str, loc: super::Loc, diags: &mut Diagnostics) {
        if !self.started {
            self.started = true;
            self.state.locs.set_start(super::Loc::new(loc.file, 1, 1));
        }
        self.builder.feed(text, loc, diags, &mut self.done);
        self.read_done(diags);
    }
}
