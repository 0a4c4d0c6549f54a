//! ldirector's native TOML format: the model's own names (keepalived's keywords), laid out
//! as tables (see docs/config.md). Reading reports the first error with its line and
//! column; writing omits every value equal to its default so the file says only what the
//! operator chose.

use super::diag::{Diagnostics, FileId, Loc};
use super::model::*;
use super::Locations;
use std::path::Path;
use std::sync::Arc;
use toml::de::{DeTable, DeValue};
use toml::Value;

/// Line starts of a text, to turn byte offsets into lines and columns quickly.
struct LineIndex<'t> {
    text: &'t str,
    starts: Vec<usize>,
}

impl<'t> LineIndex<'t> {
    fn new(text: &'t str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        LineIndex { text, starts }
    }

    /// 1-based line and column (in characters) of a byte offset.
    fn line_col(&self, offset: usize) -> (u32, u32) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line - 1];
        let col = self.text[start..offset].chars().count() as u32 + 1;
        (line as u32, col)
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() as u32 + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1;
    (line, col)
}

pub fn read_file(path: &Path, diags: &mut Diagnostics) -> (Config, Locations) {
    let name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => read_str(&name, &text, diags),
        Err(e) => {
            let file = diags.add_file(&name, Arc::default());
            diags.error(&Loc::new(file, 1, 1), format!("cannot read '{name}': {e}"));
            (Config::default(), Locations::default())
        }
    }
}

pub fn read_str(name: &str, text: &str, diags: &mut Diagnostics) -> (Config, Locations) {
    let file = diags.add_file(name, Arc::new(text.to_string()));
    let mut locs = Locations::default();
    locs.set_start(Loc::new(file, 1, 1));
    if let Ok(t) = DeTable::parse(text) {
        let lines = LineIndex::new(text);
        walk_table(t.get_ref(), "", &lines, file, &mut locs);
    }
    match toml::from_str::<Config>(text) {
        Ok(cfg) => (cfg, locs),
        Err(e) => {
            let (line, col) = e.span().map_or((1, 1), |s| line_col(text, s.start));
            let msg = e.message().trim().replace('`', "'");
            diags.error(&Loc::new(file, line, col), msg);
            (Config::default(), locs)
        }
    }
}

fn walk_table(t: &DeTable, prefix: &str, text: &LineIndex, file: FileId, locs: &mut Locations) {
    for (k, v) in t.iter() {
        let path = if prefix.is_empty() {
            k.get_ref().to_string()
        } else {
            format!("{prefix}.{}", k.get_ref())
        };
        let (line, col) = text.line_col(k.span().start);
        locs.insert(&path, Loc::new(file, line, col));
        walk_value(v.get_ref(), v.span().start, &path, text, file, locs);
    }
}

fn walk_value(
    v: &DeValue,
    start: usize,
    path: &str,
    text: &LineIndex,
    file: FileId,
    locs: &mut Locations,
) {
    match v {
        DeValue::Table(t) => walk_table(t, path, text, file, locs),
        DeValue::Array(a) => {
            for (i, item) in a.into_iter().enumerate() {
                let ip = format!("{path}[{i}]");
                let s = item.span().start.max(start);
                let (line, col) = text.line_col(s);
                locs.insert(&ip, Loc::new(file, line, col));
                walk_value(item.get_ref(), s, &ip, text, file, locs);
            }
        }
        _ => {}
    }
}

// ------------------------------------------------------------------------------- writing

/// The configuration as TOML, without computed parts and without values equal to their
/// defaults. Reading the result gives the same model back.
pub fn write(cfg: &Config) -> Result<String, String> {
    let mut v = Value::try_from(cfg).map_err(|e| e.to_string())?;
    strip_effective(&mut v);
    if let Value::Table(root) = &mut v {
        strip_defaults_in(root, "global_defs", &GlobalDefs::default());
        for (key, template) in [
            ("vrrp_script", template(&VrrpScript::default())),
            ("track_file", template(&TrackFile::default())),
            ("vrrp_sync_group", template(&SyncGroup::default())),
            ("vrrp_instance", template(&VrrpInstance::default())),
            ("ssl", template(&SslConfig::default())),
        ] {
            if let Some(Value::Table(named)) = root.get_mut(key) {
                for (_, item) in named.iter_mut() {
                    strip_against(item, &template);
                }
            }
        }
        let vs_t = template(&VirtualServer::default());
        let rs_t = template(&RealServer::default());
        let url_t = template(&Url::default());
        if let Some(Value::Array(list)) = root.get_mut("virtual_server") {
            for vs in list.iter_mut() {
                strip_against(vs, &vs_t);
                let Some(Value::Array(rss)) = vs.get_mut("real_server") else {
                    continue;
                };
                for rs in rss.iter_mut() {
                    strip_against(rs, &rs_t);
                    let Some(Value::Array(checks)) = rs.get_mut("check") else {
                        continue;
                    };
                    for ch in checks.iter_mut() {
                        if let Some(Value::Array(urls)) = ch.get_mut("url") {
                            for u in urls.iter_mut() {
                                strip_against(u, &url_t);
                            }
                        }
                    }
                }
            }
        }
    }
    toml::to_string_pretty(&v).map_err(|e| e.to_string())
}

fn template<T: serde::Serialize>(t: &T) -> Value {
    let mut v = Value::try_from(t).unwrap_or(Value::Table(Default::default()));
    strip_effective(&mut v);
    v
}

fn strip_effective(v: &mut Value) {
    match v {
        Value::Table(t) => {
            t.remove("effective");
            for (_, x) in t.iter_mut() {
                strip_effective(x);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(strip_effective),
        _ => {}
    }
}

/// Keys that are written even with their default value (validation requires them).
const REQUIRED: &[&str] = &["virtual_router_id", "ip", "script", "file"];

/// Remove the keys of `item` whose value equals the default's (top level only).
fn strip_against(item: &mut Value, default: &Value) {
    let (Value::Table(t), Value::Table(d)) = (item, default) else {
        return;
    };
    let same: Vec<String> = t
        .iter()
        .filter(|(k, v)| !REQUIRED.contains(&k.as_str()) && d.get(k.as_str()) == Some(v))
        .map(|(k, _)| k.clone())
        .collect();
    for k in same {
        t.remove(&k);
    }
}

fn strip_defaults_in<T: serde::Serialize>(root: &mut toml::Table, key: &str, default: &T) {
    let d = template(default);
    if let Some(item) = root.get_mut(key) {
        strip_against(item, &d);
        if item.as_table().is_some_and(|t| t.is_empty()) {
            root.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_to_lines() {
        let t = "a\nbc\ndef";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 3), (2, 2));
        assert_eq!(line_col(t, 7), (3, 3));
        let idx = LineIndex::new(t);
        for off in 0..=t.len() {
            assert_eq!(idx.line_col(off), line_col(t, off), "offset {off}");
        }
        let u = "é\nxé";
        let idx = LineIndex::new(u);
        assert_eq!(idx.line_col(1), (1, 1), "inside a character: its start");
        assert_eq!(idx.line_col(u.len()), (2, 3));
    }

    #[test]
    fn errors_have_positions() {
        let mut d = Diagnostics::default();
        read_str(
            "x.toml",
            "[vrrp_instance.VI_1]\ninterface = \"eth0\"\npriority = 300\n",
            &mut d,
        );
        let r = d.render();
        assert!(r.starts_with("x.toml:3:12: error:"), "{r}");
        assert!(r.contains("1..=255"), "{r}");
        let mut d = Diagnostics::default();
        read_str("x.toml", "[vrrp_instance.VI_1]\ncolour = 1\n", &mut d);
        let r = d.render();
        assert!(
            r.starts_with("x.toml:2:1: error: unknown field 'colour'"),
            "{r}"
        );
    }

    #[test]
    fn write_omits_defaults() {
        let mut cfg = Config::default();
        let inst = VrrpInstance {
            interface: Some("eth0".into()),
            virtual_router_id: crate::config::types::Vrid(7),
            ..Default::default()
        };
        cfg.vrrp_instance.insert("VI_1".into(), inst);
        let t = write(&cfg).unwrap();
        assert!(!t.contains("priority"), "{t}");
        assert!(!t.contains("effective"), "{t}");
        assert!(t.contains("interface = \"eth0\""), "{t}");
        let back: Config = toml::from_str(&t).unwrap();
        assert_eq!(back, cfg);
    }
}
