//! The configuration: one model ([`model::Config`]) read from keepalived.conf or TOML,
//! resolved (inheritance and defaults) and validated. Every subsystem reads this model.

pub mod addr;
pub mod diag;
pub mod keepalived;
pub mod model;
mod parallel;
pub mod resolve;
pub mod toml_format;
pub mod types;
pub mod validate;

pub use diag::{Diagnostic, Diagnostics, FileId, Loc, Severity};
pub use model::Config;

use rustc_hash::{FxHashMap, FxHasher};
use std::hash::Hasher;
use std::path::{Path, PathBuf};

/// A path in the model (`vrrp_instance.VI_1.priority`, `virtual_server[0].real_server[1]`)
/// reduced to a hash, built one component at a time so readers never format path strings
/// for the hundreds of thousands of keywords a large configuration has.
#[derive(Clone, Default)]
pub struct PathKey(FxHasher);

impl PathKey {
    pub fn of(path: &str) -> PathKey {
        PathKey::default().child(path)
    }

    /// This path extended by `component` (which may itself contain dots).
    pub fn child(&self, component: &str) -> PathKey {
        let mut h = self.0.clone();
        if !component.as_bytes().contains(&b'.') {
            h.write(component.as_bytes());
            h.write_u8(0xff);
            return PathKey(h);
        }
        for part in component.split('.') {
            h.write(part.as_bytes());
            h.write_u8(0xff);
        }
        PathKey(h)
    }

    /// This path extended by `name[i]` (the same key as `child("name[i]")`, without
    /// formatting a string).
    pub fn child_indexed(&self, name: &str, i: usize) -> PathKey {
        let mut buf = [0u8; 64];
        let n = name.len().min(40);
        buf[..n].copy_from_slice(&name.as_bytes()[..n]);
        buf[n] = b'[';
        let mut digits = [0u8; 20];
        let mut d = 0;
        let mut v = i;
        loop {
            digits[d] = b'0' + (v % 10) as u8;
            d += 1;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        let mut len = n + 1;
        for k in (0..d).rev() {
            buf[len] = digits[k];
            len += 1;
        }
        buf[len] = b']';
        len += 1;
        let mut h = self.0.clone();
        h.write(&buf[..len]);
        h.write_u8(0xff);
        PathKey(h)
    }

    pub fn key(&self) -> u64 {
        self.0.finish()
    }
}

/// Where each part of the configuration was written, by model path. Validation looks its
/// messages up here, so they point at the right line for either format. Recording is an
/// append; the index is built the first time a message needs a place.
#[derive(Clone, Debug, Default)]
pub struct Locations {
    entries: Vec<(u64, Loc)>,
    index: std::sync::OnceLock<FxHashMap<u64, Loc>>,
    start: Option<Loc>,
}

impl Locations {
    /// The start of the main file: the place of last resort for a message.
    pub fn set_start(&mut self, loc: Loc) {
        self.start = Some(loc);
    }

    pub fn insert(&mut self, path: &str, loc: Loc) {
        self.insert_key(&PathKey::of(path), loc);
    }

    /// The first place a path was written wins (a keyword repeated keeps its first line).
    pub fn insert_key(&mut self, key: &PathKey, loc: Loc) {
        self.entries.push((key.key(), loc));
        if self.index.get().is_some() {
            self.index = std::sync::OnceLock::new();
        }
    }

    fn index(&self) -> &FxHashMap<u64, Loc> {
        self.index.get_or_init(|| {
            let mut m = FxHashMap::with_capacity_and_hasher(self.entries.len(), Default::default());
            for (k, l) in &self.entries {
                m.entry(*k).or_insert(*l);
            }
            m
        })
    }

    pub fn get_key(&self, key: &PathKey) -> Option<Loc> {
        self.index().get(&key.key()).copied()
    }

    pub fn get_exact(&self, path: &str) -> Option<Loc> {
        self.get_key(&PathKey::of(path))
    }

    /// The location of `path`, or of the nearest enclosing part that has one.
    pub fn find(&self, path: &str) -> Option<Loc> {
        let mut keys = Vec::new();
        let mut k = PathKey::default();
        for part in path.split('.') {
            k = k.child(part);
            keys.push(k.key());
        }
        let index = self.index();
        keys.iter().rev().find_map(|k| index.get(k).copied())
    }

    /// Like `find`, falling back to the start of the file.
    pub fn at(&self, path: &str) -> Loc {
        self.find(path)
            .or(self.start)
            .unwrap_or(Loc::new(FileId(0), 1, 1))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Keepalived,
    Toml,
}

impl Format {
    /// `.toml` files are TOML; anything else is keepalived.conf.
    pub fn from_path(path: &Path) -> Format {
        if path.extension().is_some_and(|e| e == "toml") {
            Format::Toml
        } else {
            Format::Keepalived
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    pub format: Option<Format>,
    /// For keepalived's `@ID` lines; None: the short host name.
    pub config_id: Option<String>,
}

/// A loaded configuration: usable when `diags` has no errors.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub diags: Diagnostics,
    pub locs: Locations,
    pub format: Format,
}

impl Loaded {
    pub fn is_valid(&self) -> bool {
        !self.diags.has_errors()
    }
}

pub const DEFAULT_PATHS: [&str; 2] = [
    "/etc/ldirector/ldirector.toml",
    "/etc/keepalived/keepalived.conf",
];

/// The configuration file to use when none is given.
pub fn default_path() -> PathBuf {
    DEFAULT_PATHS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_PATHS[0]))
}

/// The short host name (keepalived's default config id).
pub fn short_hostname() -> Option<String> {
    let h = nix::unistd::gethostname().ok()?;
    let h = h.to_string_lossy();
    Some(h.split('.').next().unwrap_or("").to_string())
}

/// Read, resolve and validate a configuration file.
pub fn load(path: &Path, opts: &LoadOptions) -> Loaded {
    let format = opts.format.unwrap_or_else(|| Format::from_path(path));
    let mut diags = Diagnostics::default();
    let (config, locs) = match format {
        Format::Keepalived => {
            let ko = keepalived::Options {
                config_id: opts.config_id.clone().or_else(short_hostname),
            };
            keepalived::read_file(path, &ko, &mut diags)
        }
        Format::Toml => toml_format::read_file(path, &mut diags),
    };
    finish(config, locs, diags, format)
}

/// Read, resolve and validate configuration text (tests, fuzzing).
pub fn load_str(name: &str, text: &str, format: Format, config_id: Option<&str>) -> Loaded {
    let mut diags = Diagnostics::default();
    let (config, locs) = match format {
        Format::Keepalived => {
            let ko = keepalived::Options {
                config_id: config_id.map(str::to_string),
            };
            keepalived::read_str(name, text, &ko, &mut diags)
        }
        Format::Toml => toml_format::read_str(name, text, &mut diags),
    };
    finish(config, locs, diags, format)
}

fn finish(mut config: Config, locs: Locations, mut diags: Diagnostics, format: Format) -> Loaded {
    if format == Format::Keepalived {
        keepalived::fallback::apply(&mut config, &locs, &mut diags);
    }
    resolve::resolve(&mut config);
    validate::validate(&config, &locs, &mut diags);
    Loaded {
        config,
        diags,
        locs,
        format,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_keys_agree_however_built() {
        let a = PathKey::of("virtual_server[12].real_server[3].weight");
        let b = PathKey::default()
            .child_indexed("virtual_server", 12)
            .child_indexed("real_server", 3)
            .child("weight");
        assert_eq!(a.key(), b.key());
        assert_ne!(
            a.key(),
            PathKey::of("virtual_server[1].real_server[23].weight").key()
        );
        let mut l = Locations::default();
        let f = FileId(0);
        l.insert("vrrp_instance.VI_1", Loc::new(f, 3, 1));
        l.insert("vrrp_instance.VI_1.priority", Loc::new(f, 5, 5));
        l.insert("vrrp_instance.VI_1.priority", Loc::new(f, 9, 5));
        assert_eq!(
            l.get_exact("vrrp_instance.VI_1.priority"),
            Some(Loc::new(f, 5, 5))
        );
        assert_eq!(
            l.find("vrrp_instance.VI_1.advert_int"),
            Some(Loc::new(f, 3, 1))
        );
        assert_eq!(l.find("nothing.here"), None);
    }
}
