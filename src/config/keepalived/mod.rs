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
    let lines = lines::read_file(path, opts, diags);
    from_lines(&lines, diags)
}

/// Read keepalived.conf text; `name` is used in diagnostics.
pub fn read_str(
    name: &str,
    text: &str,
    opts: &Options,
    diags: &mut Diagnostics,
) -> (Config, Locations) {
    let lines = lines::read_str(name, text, opts, diags);
    from_lines(&lines, diags)
}

/// Statements are read as soon as each top-level block is complete: the tree of a large
/// configuration never exists as a whole.
fn from_lines(lines: &[lines::Line], diags: &mut Diagnostics) -> (Config, Locations) {
    let mut b = tree::Builder::default();
    let mut done = Vec::new();
    let mut r = read::Reader::new(diags);
    r.locs.reserve(lines.len());
    if let Some(first) = lines.first() {
        r.locs.set_start(super::Loc::new(first.loc.file, 1, 1));
    }
    for line in lines {
        b.feed(line, r.diags(), &mut done);
        for n in done.drain(..) {
            r.root_node(&n);
        }
    }
    b.finish(r.diags(), &mut done);
    for n in done.drain(..) {
        r.root_node(&n);
    }
    (r.cfg, r.locs)
}
