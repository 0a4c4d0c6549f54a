//! keepalived.conf statements -> the model. One function per keepalived block; keyword
//! names and aliases are keepalived's. The helpers and the top level are here, the blocks
//! in one file per domain, as keepalived has one parser per domain.

mod anycast;
mod check;
mod global;
mod lvs;
mod vrrp;

use super::keywords;
use super::tree::{Children, Node, Word};
use crate::config::addr::{parse_ip, Route, Rule, VirtualIp};
use crate::config::diag::{Diagnostics, Loc};
use crate::config::model::*;
use crate::config::types::{
    parse_bool, parse_enum, parse_int, Priority, RsWeight, Script, Secs, TrackWeight, Vrid,
};
use crate::config::{Locations, PathKey};
use std::net::IpAddr;
use std::str::FromStr;

/// What the reader has built so far.
#[derive(Default)]
pub struct State {
    pub cfg: Config,
    pub locs: Locations,
    /// keepalived's preferences for rules written without one, per family (IPv4, IPv6),
    /// counted down from 16384 in file order.
    rule_preference: [Option<u32>; 2],
}

/// Reads top-level statements into a [`State`].
pub struct Reader<'d> {
    d: &'d mut Diagnostics,
    st: &'d mut State,
}

/// A named block's name, whether it repeats an earlier one, and its model path.
struct Named {
    name: String,
    dup: bool,
    path: String,
    pk: PathKey,
}

/// A value parser for one word.
type Parse<T> = fn(&str) -> Result<T, String>;

impl<'d> Reader<'d> {
    pub fn new(d: &'d mut Diagnostics, st: &'d mut State) -> Self {
        Reader { d, st }
    }

    // ------------------------------------------------------------------ helpers

    fn err(&mut self, loc: &Loc, msg: impl Into<String>) {
        self.d.error(loc, msg);
    }

    /// Record where keyword `n` of the block at `block` was written.
    fn at(&mut self, block: &PathKey, n: &Node) {
        self.st.locs.insert_key(&block.child(n.keyword()), n.loc);
    }

    /// Check the number of arguments; report what was expected.
    fn nargs(&mut self, n: &Node, min: usize, max: usize, what: &str) -> bool {
        let got = n.args().len();
        if got < min {
            let loc = n.end_loc();
            self.err(&loc, format!("'{}' needs {what}", n.keyword()));
            false
        } else if got > max {
            let loc = *n.arg_loc(max);
            self.err(
                &loc,
                format!(
                    "unexpected '{}' after '{}' (it takes {what})",
                    n.args()[max].text,
                    n.keyword()
                ),
            );
            false
        } else {
            true
        }
    }

    fn parse_word<T>(&mut self, n: &Node, w: &Word, p: Parse<T>) -> Option<T> {
        match p(&w.text) {
            Ok(v) => Some(v),
            Err(e) => {
                let hint = enum_hint(&w.text, &e);
                self.err(&w.loc, format!("{}: {e}{hint}", n.keyword()));
                None
            }
        }
    }

    /// Exactly one argument, parsed.
    fn one<T>(&mut self, n: &Node, what: &str, p: Parse<T>) -> Option<T> {
        self.no_block(n);
        if !self.nargs(n, 1, 1, what) {
            return None;
        }
        let w = n.args()[0].clone();
        self.parse_word(n, &w, p)
    }

    fn string(&mut self, n: &Node) -> Option<String> {
        self.one(n, "a value", |s| Ok(s.to_string()))
    }

    fn secs(&mut self, n: &Node) -> Option<Secs> {
        self.one(n, "a time in seconds", Secs::parse_decimal)
    }

    fn ip(&mut self, n: &Node) -> Option<IpAddr> {
        self.one(n, "an IP address", parse_ip)
    }

    /// A host address where keepalived also takes `ADDR/PREFIX` and drops the prefix
    /// (unicast_src_ip, unicast_peer, mcast_src_ip): the same, with a warning.
    fn host_ip(&mut self, w: &Word, what: &str) -> Option<IpAddr> {
        let e = match parse_ip(&w.text) {
            Ok(a) => return Some(a),
            Err(e) => e,
        };
        let prefixed = w
            .text
            .split_once('/')
            .filter(|(_, len)| len.parse::<u8>().is_ok())
            .and_then(|(a, _)| parse_ip(a).ok());
        match prefixed {
            Some(a) => {
                self.d.warning(
                    &w.loc,
                    format!("{what}: the prefix of '{}' is dropped: a host address is {a}, as keepalived takes it", w.text),
                );
                Some(a)
            }
            None => {
                self.err(&w.loc, format!("{what}: {e}"));
                None
            }
        }
    }

    fn host_ip_arg(&mut self, n: &Node) -> Option<IpAddr> {
        self.no_block(n);
        if !self.nargs(n, 1, 1, "an IP address") {
            return None;
        }
        let w = n.args()[0].clone();
        self.host_ip(&w, n.keyword())
    }

    fn u32_(&mut self, n: &Node) -> Option<u32> {
        self.one(n, "a number", |s| parse_int(s, 0, u32::MAX))
    }

    fn port(&mut self, n: &Node) -> Option<u16> {
        self.one(n, "a port number", |s| parse_int(s, 0, 65535))
    }

    fn parsed<T: FromStr<Err = String>>(&mut self, n: &Node, what: &str) -> Option<T> {
        self.one(n, what, |s| s.parse())
    }

    /// A keyword alone means true; `keyword true|false|on|off|yes|no` says which.
    fn flag(&mut self, n: &Node) -> Option<bool> {
        self.no_block(n);
        if !self.nargs(n, 0, 1, "no value or true/false") {
            return None;
        }
        match n.args().first() {
            None => Some(true),
            Some(w) => {
                let w = w.clone();
                self.parse_word(n, &w, parse_bool)
            }
        }
    }

    fn set_flag(&mut self, n: &Node, target: &mut bool) {
        if let Some(v) = self.flag(n) {
            *target = v;
        }
    }

    fn no_block(&mut self, n: &Node) {
        if n.block.is_some() {
            let loc = n.loc;
            self.err(&loc, format!("'{}' takes no {{ }} block", n.keyword()));
        }
    }

    /// The block of a keyword that needs one (empty and reported when missing).
    fn block<'n>(&mut self, n: &Node<'n>) -> Children<'n> {
        match n.block {
            Some(b) => b.iter(),
            None => {
                let loc = n.end_loc();
                self.err(
                    &loc,
                    format!("'{}' needs a block: expected '{{'", n.keyword()),
                );
                n.children()
            }
        }
    }

    /// Lines of a value block (`virtual_ipaddress { ... }`): each line's words.
    fn value_lines<'n>(&mut self, n: &Node<'n>, max_head: usize) -> Vec<Node<'n>> {
        self.nargs(n, 0, max_head, "no value before '{'");
        let mut out = Vec::new();
        for c in self.block(n) {
            if c.block.is_some() {
                self.err(&c.loc, "a nested block is not allowed in a list of values");
            }
            if !c.words.is_empty() {
                out.push(c);
            }
        }
        out
    }

    fn words<'n>(n: &Node<'n>) -> Vec<&'n str> {
        n.words.iter().map(|w| w.text.as_str()).collect()
    }

    /// A script command: `keyword "command args" [user [group]]`.
    fn script(&mut self, n: &Node) -> Option<Script> {
        self.no_block(n);
        if !self.nargs(
            n,
            1,
            3,
            "a command line (quoted when it has arguments) and optionally a user and group",
        ) {
            return None;
        }
        // Re-split the statement honouring both quote styles and keeping escapes for
        // the command splitter, as keepalived does for script keywords.
        let parts = match crate::config::types::split_words_raw(&n.raw_rest()) {
            Ok(p) => p,
            Err(e) => {
                let loc = *n.arg_loc(0);
                self.err(&loc, format!("{}: {e}", n.keyword()));
                return None;
            }
        };
        if parts.is_empty() || parts.len() > 3 {
            let loc = *n.arg_loc(0);
            self.err(
                &loc,
                format!(
                    "'{}' needs a command line, then optionally a user and group",
                    n.keyword()
                ),
            );
            return None;
        }
        let mut s = match Script::from_command(&parts[0]) {
            Ok(s) => s,
            Err(e) => {
                let loc = *n.arg_loc(0);
                self.err(&loc, format!("{}: {e}", n.keyword()));
                return None;
            }
        };
        s.user = parts.get(1).cloned();
        s.group = parts.get(2).cloned();
        Some(s)
    }

    fn user(&mut self, n: &Node) -> Option<User> {
        self.no_block(n);
        if !self.nargs(n, 1, 2, "a user name and optionally a group") {
            return None;
        }
        Some(User {
            user: n.args()[0].text.to_string(),
            group: n.args().get(1).map(|w| w.text.to_string()),
        })
    }

    /// A keyword keepalived knows but ldirector does not act on: warn. Anything else: error.
    fn other(&mut self, n: &Node, context: &str, known: &[&str]) {
        let kw = n.keyword();
        let loc = n.loc;
        if let Some((_, what)) = keywords::OBSOLETE.iter().find(|(k, _)| *k == kw) {
            self.d.warning(
                &loc,
                format!("'{kw}' is obsolete ({what}): it has no effect and is ignored, as keepalived ignores it"),
            );
        } else if known.contains(&kw) {
            self.d.warning(
                &loc,
                format!("'{kw}' is not supported by ldirector (ignored)"),
            );
        } else {
            let words = keywords::read_by(context).iter().chain(known).copied();
            let inner = keywords::inner_block(context);
            let hint = match keywords::closest(kw, words) {
                Some(k) => format!(" (did you mean '{k}'?)"),
                None => match inner.and_then(|b| {
                    keywords::closest(kw, keywords::read_by(b).iter().copied()).map(|k| (b, k))
                }) {
                    Some((b, k)) => format!(" (did you mean '{k}', inside '{b} {{ }}'?)"),
                    None => String::new(),
                },
            };
            self.err(&loc, format!("unknown keyword '{kw}' in {context}{hint}"));
        }
    }

    /// `name [weight N [reverse]]` lines of track_* blocks.
    fn tracks(&mut self, n: &Node) -> Vec<Track> {
        let mut out = Vec::new();
        for line in self.value_lines(n, 0) {
            let w = Self::words(&line);
            let mut t = Track {
                name: w[0].to_string(),
                weight: None,
                reverse: false,
            };
            let mut i = 1;
            let mut ok = true;
            while i < w.len() {
                match w[i] {
                    "weight" => match w.get(i + 1).map(|v| v.parse::<TrackWeight>()) {
                        Some(Ok(v)) => {
                            t.weight = Some(v);
                            i += 1;
                        }
                        Some(Err(e)) => {
                            self.err(&line.words[i + 1].loc, format!("weight: {e}"));
                            ok = false;
                        }
                        None => {
                            self.err(&line.end_loc(), "'weight' needs a number in -253..=253");
                            ok = false;
                        }
                    },
                    "reverse" => t.reverse = true,
                    "noreverse" => t.reverse = false,
                    other => {
                        self.err(
                            &line.words[i].loc,
                            format!("unexpected '{other}' (expected weight N [reverse])"),
                        );
                        ok = false;
                    }
                }
                i += 1;
            }
            if ok {
                if t.reverse && t.weight.is_none() {
                    self.err(&line.loc, "'reverse' needs a 'weight'");
                }
                out.push(t);
            }
        }
        out
    }

    /// `weight N [reverse]` of vrrp_script, track_file and FILE_CHECK.
    fn weight_reverse<T: std::str::FromStr<Err = String>>(
        &mut self,
        n: &Node,
    ) -> Option<(T, bool)> {
        self.no_block(n);
        if !self.nargs(n, 1, 2, "a weight and optionally 'reverse'") {
            return None;
        }
        let w0 = n.args()[0].clone();
        let w = self.parse_word(n, &w0, |s| s.parse::<T>())?;
        let reverse = match n.args().get(1).map(|w| w.text.as_str()) {
            None | Some("noreverse") => false,
            Some("reverse") => true,
            Some(o) => {
                let loc = *n.arg_loc(1);
                self.err(&loc, format!("unexpected '{o}' (expected 'reverse')"));
                return None;
            }
        };
        Some((w, reverse))
    }

    fn vips(&mut self, n: &Node, out: &mut Vec<VirtualIp>) {
        for line in self.value_lines(n, 0) {
            match VirtualIp::parse_words(&Self::words(&line)) {
                Ok(v) => out.push(v),
                Err(e) => self.err(&line.loc, e),
            }
        }
    }

    fn routes(&mut self, n: &Node, out: &mut Vec<Route>) {
        for line in self.value_lines(n, 0) {
            let words = Self::words(&line);
            match Route::parse_words(&words) {
                Ok(v) => {
                    if Route::has_or(&words) {
                        let hops: Vec<String> = v.nexthops.iter().map(|h| h.to_string()).collect();
                        self.d.warning(
                            &line.loc,
                            format!("'or' in a route is deprecated: read as '{}', as keepalived reads it", hops.join(" ")),
                        );
                    }
                    out.push(v)
                }
                Err(e) => self.err(&line.loc, e),
            }
        }
    }

    fn rules(&mut self, n: &Node, out: &mut Vec<Rule>) {
        for line in self.value_lines(n, 0) {
            match Rule::parse_words(&Self::words(&line)) {
                Ok(mut v) => {
                    if v.priority.is_none() {
                        // keepalived: "Rule has no preference specified - setting to
                        // 16384. This is probably not what you want."
                        let ipv6 = v
                            .from
                            .as_ref()
                            .or(v.to.as_ref())
                            .is_some_and(|p| p.addr.is_ipv6());
                        let next = self.st.rule_preference[usize::from(ipv6)].get_or_insert(16384);
                        v.priority = Some(*next);
                        self.d.warning(
                            &line.loc,
                            format!("this rule has no preference: it gets {next}, as keepalived gives it (counting down from 16384 in file order); write 'preference N' to choose"),
                        );
                        *next = next.saturating_sub(1);
                    }
                    out.push(v)
                }
                Err(e) => self.err(&line.loc, e),
            }
        }
    }

    /// The name after a named block keyword (`vrrp_instance NAME {`).
    fn name(&mut self, n: &Node) -> Option<String> {
        if !self.nargs(n, 1, 1, "a name") {
            return None;
        }
        Some(n.args()[0].text.to_string())
    }

    // ------------------------------------------------------------------ top level

    pub fn diags(&mut self) -> &mut Diagnostics {
        self.d
    }

    /// One top-level statement.
    pub fn root_node(&mut self, n: &Node) {
        {
            match n.keyword() {
                "global_defs" => {
                    self.nargs(n, 0, 0, "no value");
                    let b = self.block(n);
                    self.st.locs.insert("global_defs", n.loc);
                    for c in b {
                        self.global(&c);
                    }
                }
                "static_ipaddress" => {
                    let mut v = std::mem::take(&mut self.st.cfg.static_ipaddress);
                    self.vips(n, &mut v);
                    self.st.cfg.static_ipaddress = v;
                }
                "static_routes" => {
                    let mut v = std::mem::take(&mut self.st.cfg.static_routes);
                    self.routes(n, &mut v);
                    self.st.cfg.static_routes = v;
                }
                "static_rules" => {
                    let mut v = std::mem::take(&mut self.st.cfg.static_rules);
                    self.rules(n, &mut v);
                    self.st.cfg.static_rules = v;
                }
                "vrrp_script" => self.vrrp_script(n),
                "track_file" | "vrrp_track_file" => self.track_file(n),
                "vrrp_track_process" => self.track_process(n),
                "vrrp_sync_group" => self.sync_group(n),
                "vrrp_instance" => self.vrrp_instance(n),
                "virtual_server_group" => self.vs_group(n),
                "virtual_server" => self.virtual_server(n),
                "SSL" => self.ssl(n),
                "anycast" => self.anycast(n),
                "net_namespace" => {
                    if let Some(ns) = self.one(n, "a network namespace name", |s| {
                        crate::net::netns::check_name(s).map(|()| s.to_string())
                    }) {
                        self.st.locs.insert("global_defs.net_namespace", n.loc);
                        self.st.cfg.global_defs.net_namespace = Some(ns);
                    }
                }
                _ => self.other(n, "the top level", keywords::ROOT),
            }
        }
    }

    /// A named block's preamble (`vrrp_instance NAME {`...): its name (None: missing, said
    /// here), whether it was defined before (an error naming the first, said here), and its
    /// model path. `map` picks the configuration's blocks of that kind.
    fn named<T>(
        &mut self,
        n: &Node,
        kind: &str,
        map: fn(&Config) -> &indexmap::IndexMap<String, T>,
    ) -> Option<Named> {
        let name = self.name(n)?;
        let dup = self.dup_name(map(&self.st.cfg).contains_key(&name), kind, &name, n);
        let path = format!("{kind}.{name}");
        let pk = PathKey::of(&path);
        Some(Named {
            name,
            dup,
            path,
            pk,
        })
    }

    fn dup_name(&mut self, seen: bool, kind: &str, name: &str, n: &Node) -> bool {
        if seen {
            let first = self
                .st
                .locs
                .get_exact(&format!("{kind}.{name}"))
                .map(|l| format!(" (first defined at {})", self.d.describe(&l)))
                .unwrap_or_default();
            self.err(&n.loc, format!("{kind} '{name}' is defined twice{first}"));
            true
        } else {
            self.st.locs.insert(&format!("{kind}.{name}"), n.loc);
            false
        }
    }
}

/// keepalived's hex strings (read_hex_str): pairs of hex digits, spaces between groups
/// allowed, a lone digit before a space or the end is one byte; with `wildcards`, `x`/`X`
/// (or ldirector's `?`) is a nibble that matches anything. The model keeps lowercase pairs
/// with `?` wildcards.
fn hex_string(s: &str, wildcards: bool) -> Result<String, String> {
    let nib = |c: char| -> Result<char, String> {
        match c {
            '0'..='9' | 'a'..='f' => Ok(c),
            'A'..='F' => Ok(c.to_ascii_lowercase()),
            'x' | 'X' | '?' if wildcards => Ok('?'),
            _ => Err(format!(
                "'{c}' is not a hexadecimal digit{} in '{s}'",
                if wildcards { " or x" } else { "" }
            )),
        }
    };
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        let Some(a) = chars.next() else { break };
        let a = nib(a)?;
        match chars.next_if(|c| *c != ' ' && *c != '\t') {
            Some(b) => {
                out.push(a);
                out.push(nib(b)?);
            }
            None => {
                out.push('0');
                out.push(a);
            }
        }
    }
    if out.is_empty() && !wildcards {
        return Err("expected hexadecimal bytes, found nothing".into());
    }
    Ok(out)
}

/// A hint for a value that is not one of an enumeration's words, read from the parser's
/// "expected one of 'a', 'b'" message.
fn enum_hint(word: &str, err: &str) -> String {
    let Some((_, list)) = err.split_once("expected") else {
        return String::new();
    };
    let list = list.trim_start().trim_start_matches("one of");
    let words = list
        .split([',', ' '])
        .filter(|w| w.starts_with('\''))
        .map(|w| w.trim_matches('\''));
    match keywords::closest(word, words) {
        Some(m) => format!(" (did you mean '{m}'?)"),
        None => String::new(),
    }
}

/// Keep a value read without error in its slot (a rejected one was reported by the
/// reader, and the slot keeps its default, as keepalived's does).
fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

#[cfg(test)]
mod tests {
    use super::hex_string;

    #[test]
    fn hex_strings_as_keepalived_reads_them() {
        assert_eq!(hex_string("0a0B", false).unwrap(), "0a0b");
        assert_eq!(hex_string("01 02  a", false).unwrap(), "01020a");
        assert_eq!(hex_string("1 2x", true).unwrap(), "012?");
        assert_eq!(hex_string("XX ?", true).unwrap(), "??0?");
        assert_eq!(hex_string("", true).unwrap(), "");
        assert!(hex_string("", false).is_err());
        assert!(hex_string("0x", false).is_err(), "no wildcard in a payload");
        assert!(hex_string("zz", true).is_err());
    }
}
