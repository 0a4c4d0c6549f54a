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

fn from_lines(lines: &[lines::Line], diags: &mut Diagnostics) -> (Config, Locations) {
    let nodes = tree::build(lines, diags);
    let mut r = read::Reader::new(diags);
    if let Some(first) = lines.first() {
        r.locs.set_start(super::Loc::new(first.loc.file, 1, 1));
    }
    r.root(&nodes);
    (r.cfg, r.locs)
}
