//! keepalived.conf's line language: comments, `include`, `@id` conditional lines,
//! `$NAME=value` parameters and `~SEQ` / `~LST` replication. The output is the stream of
//! logical lines keepalived's parser would see, each with the place it came from.

use crate::config::diag::{Diagnostics, FileId, Loc};
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One logical line; `loc.col` is the column of its first character.
#[derive(Clone, Debug)]
pub struct Line {
    pub text: String,
    pub loc: Loc,
}

#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Matched by `@ID` lines; keepalived's default is the short host name.
    pub config_id: Option<String>,
}

const MAX_DEPTH: usize = 32;
const MAX_LINES: usize = 2_000_000;
const MAX_LINE: usize = 65_536;
/// Bytes of text the preprocessor may handle in all (a real configuration: a few MB).
const MAX_WORK: usize = 64_000_000;
/// Bytes read at a time.
const CHUNK: u64 = 256 * 1024;

#[derive(Clone, Debug)]
struct Def {
    lines: Vec<String>,
}

/// Where logical lines go, one at a time, as they are read.
pub trait LineSink {
    fn line(&mut self, text: &str, loc: Loc, diags: &mut Diagnostics);
}

impl LineSink for Vec<Line> {
    fn line(&mut self, text: &str, loc: Loc, _: &mut Diagnostics) {
        self.push(Line {
            text: text.to_string(),
            loc,
        });
    }
}

/// Read `path` and everything it includes, handing each logical line to `sink`.
pub fn read_file(path: &Path, opts: &Options, diags: &mut Diagnostics, sink: &mut dyn LineSink) {
    let mut p = Pre::new(opts, diags, sink, PathBuf::new());
    p.file(path, None);
}

/// Read keepalived.conf text that is not in a file (tests, fuzzing): includes are relative
/// to the current directory.
pub fn read_str(
    name: &str,
    text: &str,
    opts: &Options,
    diags: &mut Diagnostics,
    sink: &mut dyn LineSink,
) {
    let mut p = Pre::new(opts, diags, sink, PathBuf::from("."));
    let file = p.diags.add_file(name, Arc::new(text.to_string()));
    p.text(file, text);
}

/// All logical lines of a text (for tests and tools).
pub fn collect_str(name: &str, text: &str, opts: &Options, diags: &mut Diagnostics) -> Vec<Line> {
    let mut out: Vec<Line> = Vec::new();
    read_str(name, text, opts, diags, &mut out);
    out
}

struct Pre<'a> {
    opts: &'a Options,
    diags: &'a mut Diagnostics,
    defs: HashMap<String, Def>,
    sink: &'a mut dyn LineSink,
    /// logical lines handed out so far
    count: usize,
    /// bytes of text handled so far, expansions included
    work: usize,
    stack: Vec<PathBuf>,
    pending_def: Option<String>,
    cur_dir: PathBuf,
    overflow: bool,
    main_registered: Option<FileId>,
}

impl<'a> Pre<'a> {
    fn new(
        opts: &'a Options,
        diags: &'a mut Diagnostics,
        sink: &'a mut dyn LineSink,
        cur_dir: PathBuf,
    ) -> Self {
        let mut p = Pre {
            opts,
            diags,
            defs: HashMap::new(),
            sink,
            count: 0,
            work: 0,
            stack: Vec::new(),
            pending_def: None,
            cur_dir,
            overflow: false,
            main_registered: None,
        };
        p.std_defs();
        p
    }

    fn std_defs(&mut self) {
        for (k, v) in [("_HASH", "#"), ("_BANG", "!")] {
            self.defs.insert(
                k.to_string(),
                Def {
                    lines: vec![v.to_string()],
                },
            );
        }
    }

    fn file(&mut self, path: &Path, from: Option<&Loc>) {
        let name = path.display().to_string();
        let canon = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let here = match from {
            Some(l) => *l,
            None => {
                // the main file: register it now so that a failure to read it has a name
                let id = self.diags.add_file(&name, Arc::default());
                self.main_registered = Some(id);
                Loc::new(id, 1, 1)
            }
        };
        if self.stack.contains(&canon) {
            self.diags.error(
                &here,
                format!("include loop: '{}' includes itself", path.display()),
            );
            return;
        }
        if self.stack.len() >= MAX_DEPTH {
            self.diags.error(
                &here,
                format!("includes nest deeper than {MAX_DEPTH} files"),
            );
            return;
        }
        // only regular files: a FIFO would block the reader (and a reload) until someone
        // writes, a device like /dev/zero never ends; O_NONBLOCK so that even a file
        // swapped for a FIFO after the check cannot block the open
        let opened = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .and_then(|f| f.metadata().map(|m| (f, m)));
        let mut handle = match opened {
            Ok((f, m)) if m.is_file() => f,
            Ok(_) => {
                self.diags.error(
                    &here,
                    format!(
                        "'{}' is not a regular file (a FIFO, a device or a socket): not read",
                        path.display()
                    ),
                );
                return;
            }
            Err(e) => {
                self.diags
                    .error(&here, format!("cannot read '{}': {e}", path.display()));
                return;
            }
        };
        let size = handle
            .metadata()
            .map_or(0, |m| m.len())
            .min(MAX_WORK as u64);
        self.stack.push(canon);
        let saved_dir = std::mem::replace(
            &mut self.cur_dir,
            path.parent().map(Path::to_path_buf).unwrap_or_default(),
        );
        let file = match self.main_registered.take() {
            Some(id) => id,
            None => self.diags.add_file(&name, Arc::default()),
        };
        // Lines are handed on as each chunk arrives (the next stage starts at once); the
        // whole text is kept for the messages.
        self.pending_def = None;
        let mut buf: Vec<u8> = Vec::with_capacity(size as usize + 1);
        let (mut done, mut lines) = (0, 0);
        loop {
            let got = match (&mut handle).take(CHUNK).read_to_end(&mut buf) {
                Ok(n) => n,
                Err(e) => {
                    let msg = format!("cannot read '{}': {e}", path.display());
                    self.diags.error(&here, msg);
                    break;
                }
            };
            // a file that grows while it is read stops at the bound too
            if buf.len() > MAX_WORK {
                let msg = format!(
                    "'{}' is larger than {} MB: read no further",
                    path.display(),
                    MAX_WORK / 1_000_000
                );
                self.diags.error(&here, msg);
                break;
            }
            // up to the last complete line (a '\n' never splits a UTF-8 character)
            let end = match (got, memchr::memrchr(b'\n', &buf[done..])) {
                (0, _) => buf.len(),
                (_, Some(i)) => done + i + 1,
                (_, None) => continue,
            };
            let chunk = &buf[done..end];
            if memchr::memchr(0, chunk).is_some() {
                self.diags.error(
                    &here,
                    format!(
                        "'{}' is not a text file (it contains NUL bytes): read no further",
                        path.display()
                    ),
                );
                break;
            }
            lines += self.lines(file, &String::from_utf8_lossy(chunk), lines);
            done = end;
            if got == 0 {
                break;
            }
        }
        let text = match String::from_utf8(buf) {
            Ok(t) => t,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        self.diags.set_text(file, Arc::new(text));
        self.cur_dir = saved_dir;
        self.stack.pop();
    }

    fn text(&mut self, file: FileId, text: &str) {
        self.pending_def = None;
        self.lines(file, text, 0);
    }

    /// The lines of a text whose first line is line `before + 1` of its file; returns how
    /// many there were.
    fn lines(&mut self, file: FileId, text: &str, before: u32) -> u32 {
        let mut count = 0;
        for (idx, raw) in lines_of(text).enumerate() {
            count = idx as u32 + 1;
            let idx = before as usize + idx;
            if self.pending_def.is_none() {
                if let Some((line, lead)) = plain(raw) {
                    if !line.is_empty() {
                        let loc = Loc::new(file, idx as u32 + 1, lead as u32 + 1);
                        if self.within_limits(line, &loc, 0) {
                            self.count += 1;
                            self.sink.line(line, loc, self.diags);
                        }
                    }
                    continue;
                }
            }
            let loc = Loc::new(file, idx as u32 + 1, 1);
            let (line, lead) = match decomment(raw) {
                Ok(v) => v,
                Err(msg) => {
                    self.diags.error(&loc, msg);
                    continue;
                }
            };
            if let Some(name) = self.pending_def.clone() {
                // continuation lines of a multi-line $NAME=... definition
                let (body, more) = match line.strip_suffix('\\') {
                    Some(b) => (b.trim_end().to_string(), true),
                    None => (line.to_string(), false),
                };
                if let Some(def) = self.defs.get_mut(&name) {
                    if !body.is_empty() {
                        def.lines.push(body);
                    }
                }
                if !more {
                    self.pending_def = None;
                }
                continue;
            }
            if line.is_empty() {
                continue;
            }
            let loc = Loc::new(file, idx as u32 + 1, lead as u32 + 1);
            self.logical(&line, loc, 0);
        }
        count
    }

    /// Stop expanding: reported once, at the place the limit was reached.
    fn overflowed(&mut self, loc: &Loc, msg: &str) {
        if !self.overflow {
            self.overflow = true;
            self.diags.error(loc, msg);
        }
    }

    /// Count a line against the bounds on the work and the output; false (reported) when
    /// it goes beyond one.
    fn within_limits(&mut self, text: &str, loc: &Loc, depth: usize) -> bool {
        // Parameters can refer to each other many times over: bound the total work, not
        // just the depth and the output.
        self.work += text.len() + 1;
        if self.work > MAX_WORK {
            self.overflowed(loc, "parameter and ~SEQ expansion exceeds 64 MB of text: the definitions refer to each other too much");
            return false;
        }
        if self.count >= MAX_LINES {
            self.overflowed(
                loc,
                "the configuration expands to more than 2 million lines",
            );
            return false;
        }
        if text.len() > MAX_LINE {
            self.diags.error(
                loc,
                format!("line longer than {MAX_LINE} characters after parameter substitution"),
            );
            return false;
        }
        if depth > MAX_DEPTH {
            self.diags.error(
                loc,
                "parameters or ~SEQ expand recursively more than 32 levels deep",
            );
            return false;
        }
        true
    }

    fn logical(&mut self, mut text: &str, mut loc: Loc, depth: usize) {
        if !self.within_limits(text, &loc, depth) {
            return;
        }
        // @ID / @^ID: keep the line only on the matching (or any other) config id.
        if let Some(rest) = text.strip_prefix('@') {
            let (neg, rest) = match rest.strip_prefix('^') {
                Some(r) => (true, r),
                None => (false, rest),
            };
            let Some(sp) = rest.find([' ', '\t']) else {
                return;
            };
            let id = &rest[..sp];
            let matches = self.opts.config_id.as_deref() == Some(id);
            if matches == neg {
                return;
            }
            let body = rest[sp..].trim_start();
            loc.col += (text.len() - body.len()) as u32;
            text = body;
        }
        if text.starts_with('$') {
            if let Some((name, value)) = definition(text) {
                let (value, multi) = match value.strip_suffix('\\') {
                    Some(v) => (v.trim_end().to_string(), true),
                    None => (value, false),
                };
                let lines = if value.is_empty() {
                    vec![]
                } else {
                    vec![value]
                };
                self.defs.insert(name.clone(), Def { lines });
                if multi {
                    self.pending_def = Some(name);
                }
                return;
            }
        }
        if text.starts_with("~SEQ") || text.starts_with("~LST") {
            self.replicate(text, &loc, depth);
            return;
        }
        if text.contains('$') {
            if let Some(lines) = self.substitute(text) {
                for l in lines {
                    match decomment(&l) {
                        Ok((l, _)) if !l.is_empty() => self.logical(&l, loc, depth + 1),
                        Ok(_) => {}
                        Err(msg) => self.diags.error(&loc, msg),
                    }
                }
                return;
            }
        }
        if text.starts_with("include") && text[7..].starts_with([' ', '\t']) {
            let pattern = text["include".len()..].trim();
            let pattern = pattern.trim_matches('"');
            if pattern.is_empty() {
                self.diags
                    .error(&loc, "'include' needs a file name or a glob pattern");
            } else {
                self.include(pattern, &loc);
            }
            return;
        }
        self.count += 1;
        self.sink.line(text, loc, self.diags);
    }

    fn include(&mut self, pattern: &str, loc: &Loc) {
        let mut files: Vec<PathBuf> = Vec::new();
        let mut any_wild = false;
        for pat in expand_braces(pattern) {
            let full = if Path::new(&pat).is_absolute() {
                PathBuf::from(&pat)
            } else {
                self.cur_dir.join(&pat)
            };
            let wild = pat.contains(['*', '?', '[']);
            any_wild |= wild;
            if !wild {
                files.push(full);
                continue;
            }
            match glob::glob(&full.to_string_lossy()) {
                Ok(paths) => {
                    let mut found: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
                    found.sort();
                    files.extend(found);
                }
                Err(e) => {
                    self.diags
                        .error(loc, format!("bad include pattern '{pattern}': {e}"));
                    return;
                }
            }
        }
        if files.is_empty() && any_wild {
            self.diags
                .warning(loc, format!("include '{pattern}' matches no file"));
        }
        for f in files {
            if f.is_dir() {
                self.diags.error(
                    loc,
                    format!(
                        "include '{}' is a directory (use a pattern like dir/*.conf)",
                        f.display()
                    ),
                );
                continue;
            }
            self.file(&f, Some(loc));
        }
    }

    /// Replace `$NAME` / `${NAME}` with defined values. None when nothing was replaced.
    fn substitute(&self, text: &str) -> Option<Vec<String>> {
        let b = text.as_bytes();
        let mut out: Vec<String> = vec![String::with_capacity(text.len())];
        let mut replaced = false;
        let mut total = 0; // bytes in `out` before its last line
        let mut copied = 0; // text before this offset is in `out`
        let mut pos = 0;
        while let Some(off) = memchr::memchr(b'$', &b[pos..]) {
            let i = pos + off;
            pos = i + 1;
            let Some((def, consumed)) = self.reference(&text[i + 1..]) else {
                continue;
            };
            replaced = true;
            let mut lines = def.iter();
            if let Some(cur) = out.last_mut() {
                cur.push_str(&text[copied..i]);
                if let Some(first) = lines.next() {
                    cur.push_str(first);
                }
            }
            for l in lines {
                total += l.len();
                out.push(l.clone());
            }
            pos = i + 1 + consumed;
            copied = pos;
            // a line this long is refused by the caller: stop building it
            if total + out.last().map_or(0, String::len) > MAX_LINE || out.len() > MAX_LINE {
                return Some(out);
            }
        }
        if !replaced {
            return None;
        }
        if let Some(cur) = out.last_mut() {
            cur.push_str(&text[copied..]);
        }
        Some(out)
    }

    /// The value of a reference after a `$` and how many bytes it took.
    fn reference(&self, s: &str) -> Option<(Cow<'_, [String]>, usize)> {
        let braced = s.starts_with('{');
        let body = if braced { &s[1..] } else { s };
        let first = body.chars().next()?;
        if !(first.is_ascii_alphabetic() || first == '_') {
            return None;
        }
        let name_len = body
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(body.len());
        let name = &body[..name_len];
        if braced {
            let close = body.find('}')?;
            let params: Vec<&str> = body[name_len..close].split_whitespace().collect();
            let value = match self.std_value(name, &params) {
                Some(v) => Cow::Owned(v),
                None if params.is_empty() => Cow::Borrowed(&self.defs.get(name)?.lines[..]),
                None => return None,
            };
            Some((value, close + 2))
        } else {
            let next = body[name_len..].chars().next();
            if !matches!(next, None | Some(' ' | '\t' | ',' | ')')) {
                return None;
            }
            let value = self
                .defs
                .get(name)
                .map(|d| Cow::Borrowed(&d.lines[..]))
                .or_else(|| self.std_value(name, &[]).map(Cow::Owned))?;
            Some((value, name_len))
        }
    }

    /// keepalived's built-in definitions computed when used.
    fn std_value(&self, name: &str, params: &[&str]) -> Option<Vec<String>> {
        if self.defs.contains_key(name) && params.is_empty() {
            return None; // an operator's definition overrides a built-in one
        }
        let v = match (name, params) {
            ("_PWD", []) => {
                let d = if self.cur_dir.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    self.cur_dir.clone()
                };
                std::fs::canonicalize(&d).unwrap_or(d).display().to_string()
            }
            ("_INSTANCE", []) => self.opts.config_id.clone().unwrap_or_default(),
            ("_ENV", [var]) => std::env::var(var).unwrap_or_default(),
            ("_RANDOM", p) if p.len() <= 2 => {
                let nums: Vec<u64> = p.iter().filter_map(|x| x.parse().ok()).collect();
                let (lo, hi) = match nums[..] {
                    [] => (0, u64::from(u32::MAX)),
                    [hi] => (0, hi),
                    [lo, hi] => (lo, hi.max(lo)),
                    _ => return None,
                };
                let seed = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(0);
                (lo + seed % (hi - lo + 1)).to_string()
            }
            _ => return None,
        };
        Some(vec![v])
    }

    /// `~SEQ(var, start, step, end) text`, `~SEQx(...)`, `~LST(var, a, b, c) text`.
    fn replicate(&mut self, text: &str, loc: &Loc, depth: usize) {
        let (kind, rest) = text.split_at(4);
        let (hex, rest) = match rest.strip_prefix('x') {
            Some(r) if kind == "~SEQ" => (true, r),
            _ => (false, rest),
        };
        let rest = rest.trim_start();
        let bad = |what: &str| format!("invalid {kind}: {what} (expected {kind}(VAR, ...) TEXT)");
        let Some(inner) = rest.strip_prefix('(') else {
            self.diags.error(loc, bad("missing '('"));
            return;
        };
        let Some(close) = inner.find(')') else {
            self.diags.error(loc, bad("missing ')'"));
            return;
        };
        let args_text = match self.substitute(&inner[..close]) {
            Some(v) => v.join(" "),
            None => inner[..close].to_string(),
        };
        let body = inner[close + 1..].trim_start().to_string();
        let args: Vec<&str> = args_text.split(',').map(str::trim).collect();
        let var = args[0];
        if var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            self.diags
                .error(loc, bad("the first argument must be a variable name"));
            return;
        }
        let values: Vec<String> = if kind == "~LST" {
            args[1..].iter().map(|s| s.to_string()).collect()
        } else {
            let nums: Result<Vec<i64>, _> = args[1..].iter().map(|a| parse_c_int(a)).collect();
            let Ok(nums) = nums else {
                self.diags
                    .error(loc, bad("start, step and end must be integers"));
                return;
            };
            let (start, step, end) = match nums[..] {
                [end] => (
                    if end < 0 { -1 } else { 1 },
                    if end < 1 { -1 } else { 1 },
                    end,
                ),
                [start, end] => (start, if start <= end { 1 } else { -1 }, end),
                [start, step, end] => (start, step, end),
                _ => {
                    self.diags.error(loc, bad("expected 1 to 3 numbers"));
                    return;
                }
            };
            if step == 0 || (start < end && step < 0) || (start > end && step > 0) {
                self.diags.error(loc, bad("the step never reaches the end"));
                return;
            }
            if hex && (start < 0 || end < 0) {
                self.diags
                    .error(loc, bad("~SEQx takes only positive numbers"));
                return;
            }
            let count = (end - start) / step + 1;
            if count > 1_000_000 || self.count + count as usize > MAX_LINES {
                self.diags
                    .error(loc, bad("more than a million repetitions"));
                return;
            }
            (0..count)
                .map(|i| start + i * step)
                .map(|v| if hex { format!("{v:x}") } else { v.to_string() })
                .collect()
        };
        for v in values {
            self.defs.insert(var.to_string(), Def { lines: vec![v] });
            self.logical(&body, *loc, depth + 1);
        }
    }
}

fn parse_c_int(s: &str) -> Result<i64, std::num::ParseIntError> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let v = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        i64::from_str_radix(h, 16)?
    } else {
        s.parse()?
    };
    Ok(if neg { -v } else { v })
}

/// The lines of a text (without `\n` or `\r\n`), found with memchr.
fn lines_of(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (line, next) = match memchr::memchr(b'\n', rest.as_bytes()) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        rest = next;
        Some(line.strip_suffix('\r').unwrap_or(line))
    })
}

/// Bytes that give a line work for the preprocessor: comments, quotes, escapes, parameters.
const SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    t[b'#' as usize] = true;
    t[b'!' as usize] = true;
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t[b'$' as usize] = true;
    t
};

/// A line with nothing for the preprocessor to do — no comment, quote, escape or parameter,
/// not a conditional, `~SEQ` or `include` line (most lines): its text without the blanks
/// around it, and how many blanks led. One pass over its bytes.
fn plain(raw: &str) -> Option<(&str, usize)> {
    let b = raw.as_bytes();
    let lead = b.iter().take_while(|c| matches!(c, b' ' | b'\t')).count();
    let rest = &b[lead..];
    if rest.iter().any(|&c| SPECIAL[c as usize])
        || matches!(rest.first(), Some(b'@' | b'~'))
        || rest.starts_with(b"include")
    {
        return None;
    }
    let trail = rest
        .iter()
        .rev()
        .take_while(|c| matches!(c, b' ' | b'\t' | b'\r'))
        .count();
    Some((&raw[lead..raw.len() - trail], lead))
}

/// `$NAME=value` (spaces allowed around `=`).
fn definition(text: &str) -> Option<(String, String)> {
    let body = &text[1..];
    let first = body.chars().next()?;
    if !(first.is_ascii_alphabetic() || first == '_') {
        return None;
    }
    let name_len = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(body.len());
    let rest = body[name_len..].trim_start();
    let value = rest.strip_prefix('=')?;
    Some((body[..name_len].to_string(), value.trim().to_string()))
}

/// Remove a comment (`#` or `!` outside double quotes; `\#` and `\!` stand for themselves)
/// and surrounding blanks. Returns the text and how many leading characters were removed.
pub fn decomment(raw: &str) -> Result<(Cow<'_, str>, usize), String> {
    let b = raw.as_bytes();
    let lead = b.iter().take_while(|c| matches!(c, b' ' | b'\t')).count();
    let s = &raw[lead..];
    let sb = s.as_bytes();
    if memchr::memchr3(b'"', b'\\', b'#', sb).is_none() && memchr::memchr(b'!', sb).is_none() {
        // the common line: nothing to remove but blanks
        let end = sb.len()
            - sb.iter()
                .rev()
                .take_while(|c| matches!(c, b' ' | b'\t' | b'\r'))
                .count();
        return Ok((Cow::Borrowed(&s[..end]), lead));
    }
    let mut out = String::with_capacity(s.len());
    let mut quote = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quote = !quote;
                out.push(c);
            }
            '\\' => match chars.next() {
                Some(n @ ('#' | '!')) if !quote => out.push(n),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            },
            '#' | '!' if !quote => break,
            _ => out.push(c),
        }
    }
    if quote {
        return Err(format!("unterminated quote in '{}'", s.trim_end()));
    }
    let trimmed = out.trim_end_matches([' ', '\t', '\r']).to_string();
    Ok((Cow::Owned(trimmed), raw[..lead].chars().count()))
}

/// csh-style brace expansion: `a{b,c}d` -> `abd`, `acd` (nested braces allowed).
pub fn expand_braces(pattern: &str) -> Vec<String> {
    let b = pattern.as_bytes();
    let Some(open) = pattern.find('{') else {
        return vec![pattern.to_string()];
    };
    let mut depth = 0;
    let mut close = None;
    let mut commas = Vec::new();
    for (i, &c) in b.iter().enumerate().skip(open) {
        match c {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            }
            b',' if depth == 1 => commas.push(i),
            _ => {}
        }
    }
    let Some(close) = close else {
        return vec![pattern.to_string()];
    };
    let prefix = &pattern[..open];
    let suffix = &pattern[close + 1..];
    let mut parts = Vec::new();
    let mut start = open + 1;
    for c in commas.iter().copied().chain(std::iter::once(close)) {
        parts.push(&pattern[start..c]);
        start = c + 1;
    }
    if parts.len() == 1 {
        // "{x}" without a comma is literal in csh; keep it and expand the rest
        return expand_braces(suffix)
            .into_iter()
            .map(|s| format!("{prefix}{{{}}}{s}", parts[0]))
            .collect();
    }
    let mut out = Vec::new();
    for p in parts {
        for s in expand_braces(&format!("{p}{suffix}")) {
            for full in expand_braces(&format!("{prefix}{s}")) {
                if !out.contains(&full) {
                    out.push(full);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str, id: Option<&str>) -> (Vec<String>, Diagnostics) {
        let mut d = Diagnostics::default();
        let opts = Options {
            config_id: id.map(str::to_string),
        };
        let l = collect_str("t.conf", text, &opts, &mut d);
        (l.into_iter().map(|l| l.text).collect(), d)
    }

    #[test]
    fn plain_lines_take_the_short_way() {
        assert_eq!(plain("    weight 1 \r"), Some(("weight 1", 4)));
        assert_eq!(plain("\t}"), Some(("}", 1)));
        assert_eq!(plain("  "), Some(("", 2)));
        for busy in [
            "a # c",
            "a ! c",
            "notify \"/bin/x\"",
            "a \\#",
            "x $P",
            "$P=1",
            "@node1 priority 100",
            "~SEQ(i, 1, 3) real_server 10.0.0.$i 80",
            "include /etc/x.conf",
        ] {
            assert_eq!(plain(busy), None, "{busy}");
        }
        // the short way and the long way give the same lines
        let text = "a {\n  b 1   \n\t c  2\n}\n";
        let (l, d) = lines(text, None);
        assert!(!d.has_errors());
        assert_eq!(l, vec!["a {", "b 1", "c  2", "}"]);
    }

    #[test]
    fn comments() {
        assert_eq!(decomment("  a b # c").unwrap(), (Cow::from("a b"), 2));
        assert_eq!(decomment("\ta b  ").unwrap(), (Cow::from("a b"), 1));
        assert_eq!(decomment("a ! c").unwrap().0, "a");
        assert_eq!(decomment("a \"b # c\" d").unwrap().0, "a \"b # c\" d");
        assert_eq!(decomment("a \\# b").unwrap().0, "a # b");
        assert!(decomment("a \"b").is_err());
    }

    #[test]
    fn conditionals() {
        let text = "@lb1 router_id one\n@^lb1 router_id other\nplain\n@lb1\n";
        assert_eq!(lines(text, Some("lb1")).0, vec!["router_id one", "plain"]);
        assert_eq!(lines(text, Some("lb2")).0, vec!["router_id other", "plain"]);
        assert_eq!(lines(text, None).0, vec!["router_id other", "plain"]);
    }

    #[test]
    fn parameters() {
        let text = "$IF=eth0\n$PRIO=100\n$BOTH=$IF $PRIO\ninterface $IF\nx ${BOTH} y\n$LATE\n$LATE=now\n$LATE\nmoney $5\n";
        let (l, d) = lines(text, None);
        assert!(!d.has_errors());
        assert_eq!(
            l,
            vec!["interface eth0", "x eth0 100 y", "$LATE", "now", "money $5"]
        );
    }

    #[test]
    fn multiline_parameter() {
        let text =
            "$VIPS=192.0.2.1 \\\n  192.0.2.2 \\\n  192.0.2.3\nvirtual_ipaddress {\n$VIPS\n}\n";
        let (l, _) = lines(text, None);
        assert_eq!(
            l,
            vec![
                "virtual_ipaddress {",
                "192.0.2.1",
                "192.0.2.2",
                "192.0.2.3",
                "}"
            ]
        );
    }

    #[test]
    fn seq_and_lst() {
        let (l, d) = lines("~SEQ(n, 1, 2, 5) real_server 192.0.2.$n 80\n", None);
        assert!(!d.has_errors());
        assert_eq!(
            l,
            vec![
                "real_server 192.0.2.1 80",
                "real_server 192.0.2.3 80",
                "real_server 192.0.2.5 80"
            ]
        );
        let (l, _) = lines("~SEQx(n, 9, 11) a $n\n", None);
        assert_eq!(l, vec!["a 9", "a a", "a b"]);
        let (l, _) = lines("~SEQ(n, 3) a $n\n", None);
        assert_eq!(l, vec!["a 1", "a 2", "a 3"]);
        let (l, _) = lines("~LST(w, x, y) a $w\n", None);
        assert_eq!(l, vec!["a x", "a y"]);
        let (_, d) = lines("~SEQ(n, 1, -1, 5) a\n", None);
        assert!(d.has_errors());
        let (_, d) = lines("~SEQ(n, 1\n", None);
        assert!(d.has_errors());
    }

    #[test]
    fn braces() {
        assert_eq!(expand_braces("a{b,c}d"), vec!["abd", "acd"]);
        assert_eq!(
            expand_braces("{x,y{1,2}}.conf"),
            vec!["x.conf", "y1.conf", "y2.conf"]
        );
        assert_eq!(expand_braces("plain"), vec!["plain"]);
        assert_eq!(expand_braces("a{b}c"), vec!["a{b}c"]);
    }

    /// A file read in chunks gives the lines the same text gives at once: lines across
    /// chunk boundaries, a multi-line parameter, multi-byte characters, CRLF, no final
    /// newline.
    #[test]
    fn a_file_read_in_chunks_reads_as_its_text() {
        let mut text = String::from("$P=one \\\n  two\n");
        let mut i = 0;
        while text.len() < 3 * CHUNK as usize + 1000 {
            match i % 5 {
                0 => text.push_str(&format!("    weight {i}\r\n")),
                1 => text.push_str(&format!("  notify \"/bin/é{i}\" # ü\n")),
                2 => text.push_str("$P\n"),
                3 => text.push_str(&format!("vs{i} {{ ñ {i} }}\n")),
                _ => text.push_str("\n   ! comment\n"),
            }
            i += 1;
        }
        text.push_str("last line");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.conf");
        std::fs::write(&path, &text).unwrap();
        let mut d1 = Diagnostics::default();
        let mut from_file: Vec<Line> = Vec::new();
        read_file(&path, &Options::default(), &mut d1, &mut from_file);
        let mut d2 = Diagnostics::default();
        let from_text = collect_str("k.conf", &text, &Options::default(), &mut d2);
        assert!(!d1.has_errors(), "{}", d1.render());
        assert_eq!(from_file.len(), from_text.len());
        for (a, b) in from_file.iter().zip(&from_text) {
            assert_eq!(
                (&a.text, a.loc.line, a.loc.col),
                (&b.text, b.loc.line, b.loc.col)
            );
        }
        assert_eq!(from_file.last().unwrap().text, "last line");
        // the multi-line parameter, defined in the first chunk, used in every one
        let uses = from_file
            .windows(2)
            .filter(|w| w[0].text == "one" && w[1].text == "two")
            .count();
        assert!(uses > 1000, "{uses}");
    }

    #[test]
    fn a_nul_byte_stops_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bin.conf");
        std::fs::write(&path, b"a 1\nb \0 2\nc 3\n").unwrap();
        let mut d = Diagnostics::default();
        let mut out: Vec<Line> = Vec::new();
        read_file(&path, &Options::default(), &mut d, &mut out);
        assert!(d
            .render()
            .contains("is not a text file (it contains NUL bytes)"));
        assert!(!out.iter().any(|l| l.text == "c 3"));
    }

    #[test]
    fn recursion_is_bounded() {
        let (_, d) = lines("$A=$A $A\n$A\n", None);
        assert!(d.has_errors());
    }
}
