//! keepalived.conf statements -> the model. One function per keepalived block; keyword
//! names and aliases are keepalived's.

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

    fn dup_name<T>(
        &mut self,
        map: &indexmap::IndexMap<String, T>,
        kind: &str,
        name: &str,
        n: &Node,
    ) -> bool {
        if map.contains_key(name) {
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

    // ------------------------------------------------------------------ global_defs

    fn global(&mut self, n: &Node) {
        self.at(&PathKey::of("global_defs"), n);
        let mut g = std::mem::take(&mut self.st.cfg.global_defs);
        match n.keyword() {
            "router_id" => g.router_id = self.string(n),
            "notification_email" => {
                for l in self.value_lines(n, 0) {
                    for w in l.words {
                        g.notification_email.push(w.text.to_string());
                    }
                }
            }
            "notification_email_from" => g.notification_email_from = self.string(n),
            "smtp_server" => {
                self.no_block(n);
                if self.nargs(n, 1, 2, "an address or host name and optionally a port") {
                    let text = match n.args() {
                        [h] => h.text.to_string(),
                        [h, p] if h.text.contains(':') => format!("[{}]:{}", h.text, p.text),
                        [h, p] => format!("{}:{}", h.text, p.text),
                        _ => String::new(),
                    };
                    match text.parse::<SmtpServer>() {
                        Ok(s) => g.smtp_server = Some(s),
                        Err(e) => self.err(n.arg_loc(0), format!("smtp_server: {e}")),
                    }
                }
            }
            "smtp_connect_timeout" => {
                if let Some(v) = self.secs(n) {
                    g.smtp_connect_timeout = if v.is_zero() {
                        // "smtp_conect_timeout must be greater than 0, setting to 1"
                        self.d.warning(
                            n.arg_loc(0),
                            "smtp_connect_timeout 0 would never connect: 1 s is used, as keepalived uses it",
                        );
                        Secs::from_secs(1)
                    } else {
                        v
                    }
                }
            }
            "smtp_helo_name" => g.smtp_helo_name = self.string(n),
            "smtp_alert" => g.smtp_alert = self.flag(n),
            "smtp_alert_vrrp" => g.smtp_alert_vrrp = self.flag(n),
            "smtp_alert_checker" => g.smtp_alert_checker = self.flag(n),
            "checker_log_all_failures" => self.set_flag(n, &mut g.checker_log_all_failures),
            "vrrp_version" => {
                if let Some(v) = self.one(n, "2 or 3", VrrpVersion::parse) {
                    g.vrrp_version = v
                }
            }
            "vrrp_mcast_group4" => {
                if let Some(v) = self.one(n, "an IPv4 multicast address", |s| {
                    s.parse::<std::net::Ipv4Addr>()
                        .ok()
                        .filter(|a| a.is_multicast())
                        .ok_or_else(|| format!("expected an IPv4 multicast address, found '{s}'"))
                }) {
                    g.vrrp_mcast_group4 = v
                }
            }
            "vrrp_mcast_group6" => {
                if let Some(v) = self.one(n, "an IPv6 multicast address", |s| {
                    s.parse::<std::net::Ipv6Addr>()
                        .ok()
                        .filter(|a| a.is_multicast())
                        .ok_or_else(|| format!("expected an IPv6 multicast address, found '{s}'"))
                }) {
                    // "should be link-local multicast" (keepalived warns and uses it)
                    if v.segments()[0] & 0x000f != 2 {
                        self.d.warning(
                            n.arg_loc(0),
                            format!("vrrp_mcast_group6 {v} is not link-local (ff02::/16): adverts are link-local, routers may not carry this group (keepalived warns too)"),
                        );
                    }
                    g.vrrp_mcast_group6 = v
                }
            }
            "vrrp_garp_master_delay" => {
                if let Some(v) = self.secs(n) {
                    g.vrrp_garp_master_delay = v
                }
            }
            "vrrp_garp_master_repeat" => {
                if let Some(v) = self.at_least_one(n) {
                    g.vrrp_garp_master_repeat = v
                }
            }
            "vrrp_garp_master_refresh" => {
                if let Some(v) = self.secs(n) {
                    g.vrrp_garp_master_refresh = v
                }
            }
            "vrrp_garp_master_refresh_repeat" => {
                if let Some(v) = self.at_least_one(n) {
                    g.vrrp_garp_master_refresh_repeat = v
                }
            }
            "vrrp_garp_lower_prio_delay" => g.vrrp_garp_lower_prio_delay = self.secs(n),
            "vrrp_garp_lower_prio_repeat" => g.vrrp_garp_lower_prio_repeat = self.u32_(n),
            "vrrp_garp_interval" => {
                if let Some(v) = self.secs(n) {
                    g.vrrp_garp_interval = v
                }
            }
            "vrrp_gna_interval" => {
                if let Some(v) = self.secs(n) {
                    g.vrrp_gna_interval = v
                }
            }
            "vrrp_min_garp" => self.set_flag(n, &mut g.vrrp_min_garp),
            "vrrp_lower_prio_no_advert" => self.set_flag(n, &mut g.vrrp_lower_prio_no_advert),
            "vrrp_higher_prio_send_advert" => self.set_flag(n, &mut g.vrrp_higher_prio_send_advert),
            "vrrp_strict" => self.set_flag(n, &mut g.vrrp_strict),
            "vrrp_check_unicast_src" => self.set_flag(n, &mut g.vrrp_check_unicast_src),
            "vrrp_skip_check_adv_addr" => self.set_flag(n, &mut g.vrrp_skip_check_adv_addr),
            "v3_checksum_as_v2" => self.set_flag(n, &mut g.v3_checksum_as_v2),
            "lvs_sync_daemon" => g.lvs_sync_daemon = self.lvs_sync_daemon(n),
            "lvs_timeouts" => {
                self.no_block(n);
                let a = n.args();
                if a.is_empty() || a.len() % 2 != 0 {
                    self.err(
                        &n.end_loc(),
                        "lvs_timeouts needs pairs like 'tcp 7200 tcpfin 120 udp 300'",
                    );
                } else {
                    for pair in a.chunks(2) {
                        let v = match Secs::parse_decimal(&pair[1].text) {
                            Ok(v) => v,
                            Err(e) => {
                                self.err(&pair[1].loc, format!("lvs_timeouts: {e}"));
                                continue;
                            }
                        };
                        match pair[0].text.as_str() {
                            "tcp" => g.lvs_timeouts.tcp = Some(v),
                            "tcpfin" => g.lvs_timeouts.tcpfin = Some(v),
                            "udp" => g.lvs_timeouts.udp = Some(v),
                            o => self.err(
                                &pair[0].loc,
                                format!("lvs_timeouts: unknown protocol '{o}' (expected tcp, tcpfin or udp)"),
                            ),
                        }
                    }
                }
            }
            "lvs_flush" => self.set_flag(n, &mut g.lvs_flush),
            // what ldirector always does: real-server e-mails only when the server changes
            "no_checker_emails" => {
                let mut on = true;
                self.set_flag(n, &mut on);
                if !on {
                    self.d.warning(&n.loc, "no_checker_emails false: ldirector sends real-server e-mails only when the server's state changes, not for each checker");
                }
            }
            "lvs_drain_timeout" => {
                if let Some(t) = self.secs(n) {
                    g.lvs_drain_timeout = t;
                }
            }
            "lvs_flush_on_stop" | "lvs_flush_onstop" => {
                self.no_block(n);
                if self.nargs(n, 0, 1, "optionally VS or ALL") {
                    g.lvs_flush_on_stop = match n.args().first().map(|w| w.text.as_str()) {
                        None | Some("ALL") => FlushOnStop::All,
                        Some("VS") => FlushOnStop::Vs,
                        Some(o) => {
                            self.err(
                                n.arg_loc(0),
                                format!("lvs_flush_onstop: expected VS or ALL, found '{o}'"),
                            );
                            g.lvs_flush_on_stop
                        }
                    }
                }
            }
            "script_user" => g.script_user = self.user(n),
            "enable_script_security" => self.set_flag(n, &mut g.enable_script_security),
            "notify_fifo" => self.fifo(n, &mut g.notify_fifo),
            "vrrp_notify_fifo" => self.fifo(n, &mut g.vrrp_notify_fifo),
            "lvs_notify_fifo" => self.fifo(n, &mut g.lvs_notify_fifo),
            "notify_fifo_script" => self.fifo_script(n, "notify_fifo", &mut g.notify_fifo),
            "vrrp_notify_fifo_script" => {
                self.fifo_script(n, "vrrp_notify_fifo", &mut g.vrrp_notify_fifo)
            }
            "lvs_notify_fifo_script" => {
                self.fifo_script(n, "lvs_notify_fifo", &mut g.lvs_notify_fifo)
            }
            "default_interface" => g.default_interface = self.string(n),
            "reload_check_config" => {
                self.no_block(n);
                if self.nargs(n, 0, 1, "optionally a log file") {
                    g.reload_check_config = Some(
                        n.args()
                            .first()
                            .map_or("/dev/null".to_string(), |w| w.text.to_string()),
                    );
                }
            }
            "dynamic_interfaces" => {
                self.no_block(n);
                if self.nargs(n, 0, 1, "optionally 'allow_if_changes'") {
                    g.dynamic_interfaces = match n.args().first().map(|w| w.text.as_str()) {
                        None => DynamicInterfaces::Yes,
                        Some("allow_if_changes") => DynamicInterfaces::AllowIfChanges,
                        Some(o) => {
                            self.err(n.arg_loc(0), format!("dynamic_interfaces: unknown option '{o}' (expected allow_if_changes)"));
                            g.dynamic_interfaces
                        }
                    };
                }
            }
            "vrrp_priority" => g.vrrp_priority = self.nice(n),
            "checker_priority" => g.checker_priority = self.nice(n),
            "vrrp_no_swap" => self.set_flag(n, &mut g.vrrp_no_swap),
            "checker_no_swap" => self.set_flag(n, &mut g.checker_no_swap),
            "vrrp_rt_priority" => g.vrrp_rt_priority = self.rt_priority(n),
            "checker_rt_priority" => g.checker_rt_priority = self.rt_priority(n),
            "vrrp_rlimit_rttime" | "vrrp_rlimit_rtime" => {
                g.vrrp_rlimit_rttime = self.rlimit_rttime(n)
            }
            "checker_rlimit_rttime" | "checker_rlimit_rtime" => {
                g.checker_rlimit_rttime = self.rlimit_rttime(n)
            }
            "max_auto_priority" => {
                // no value: the maximum (keepalived); -1 silences keepalived's notice
                g.max_auto_priority = match n.args().first() {
                    None => Some(99),
                    Some(_) => self.one(n, "a priority in -1..=99", |s| parse_int(s, -1, 99)),
                }
            }
            "vrrp_startup_delay" => {
                if let Some(d) = self.secs(n) {
                    g.vrrp_startup_delay = d
                }
            }
            "vrrp_iptables" | "nftables" => {
                self.no_block(n);
                let loc = n.loc;
                self.d.warning(
                    &loc,
                    format!("'{}': ldirector enforces no_accept / vrrp_strict with an nftables table of its own (inet ldirector); the names given here are not used", n.keyword()),
                );
            }
            "vrrp_notify_priority_changes" => self.set_flag(n, &mut g.vrrp_notify_priority_changes),
            "startup_script" => self.once_script(n, &mut g.startup_script),
            "shutdown_script" => self.once_script(n, &mut g.shutdown_script),
            "startup_script_timeout" => {
                if let Some(t) = self.script_timeout(n) {
                    g.startup_script_timeout = t
                }
            }
            "shutdown_script_timeout" => {
                if let Some(t) = self.script_timeout(n) {
                    g.shutdown_script_timeout = t
                }
            }
            "vrrp_cpu_affinity" => g.vrrp_cpu_affinity = self.cpus(n),
            "checker_cpu_affinity" => g.checker_cpu_affinity = self.cpus(n),
            _ => self.other(n, "global_defs", keywords::GLOBAL_DEFS),
        }
        self.st.cfg.global_defs = g;
    }

    /// `*_priority`: a nice value.
    fn nice(&mut self, n: &Node) -> Option<i8> {
        self.one(n, "a nice value in -20..=19", |s| parse_int(s, -20, 19))
    }

    /// `*_rt_priority`: SCHED_RR 1..=99; keepalived moves a value outside into the range.
    fn rt_priority(&mut self, n: &Node) -> Option<u8> {
        let v: i64 = self.one(n, "a real-time priority in 1..=99", |s| {
            parse_int(s, i64::from(i32::MIN), i64::from(i32::MAX))
        })?;
        let clamped = v.clamp(1, 99);
        if clamped != v {
            let loc = *n.arg_loc(0);
            self.d.warning(
                &loc,
                format!(
                    "{}: {v} is outside 1..=99: {clamped} is used, as keepalived uses it",
                    n.keyword()
                ),
            );
        }
        u8::try_from(clamped).ok()
    }

    /// `*_rlimit_rttime`: microseconds, at least 2 (keepalived raises 1 to 2).
    fn rlimit_rttime(&mut self, n: &Node) -> Option<u32> {
        let kw = n.keyword();
        if let Some(base) = kw.strip_suffix("rlimit_rtime") {
            let loc = n.loc;
            self.d.warning(
                &loc,
                format!("'{kw}' is the old name of '{base}rlimit_rttime'"),
            );
        }
        self.one(n, "microseconds (at least 2)", |s| {
            parse_int(s, 1, u32::MAX)
        })
        .map(|v: u32| v.max(2))
    }

    /// `*_cpu_affinity`: CPU numbers.
    fn cpus(&mut self, n: &Node) -> Vec<u16> {
        self.no_block(n);
        if !self.nargs(n, 1, 1024, "CPU numbers") {
            return Vec::new();
        }
        let mut v = Vec::new();
        for w in n.args() {
            match parse_int::<u16>(&w.text, 0, 4095) {
                Ok(c) => v.push(c),
                Err(e) => self.err(&w.loc, format!("{}: {e}", n.keyword())),
            }
        }
        v
    }

    fn fifo(&mut self, n: &Node, slot: &mut Option<NotifyFifo>) {
        self.no_block(n);
        if !self.nargs(n, 1, 3, "a FIFO path and optionally a user and group") {
            return;
        }
        let a = n.args();
        let f = slot.get_or_insert(NotifyFifo {
            path: String::new(),
            user: None,
            script: None,
        });
        f.path = a[0].text.to_string();
        f.user = a.get(1).map(|u| User {
            user: u.text.to_string(),
            group: a.get(2).map(|g| g.text.to_string()),
        });
    }

    /// A vrrp_script time keepalived raises to 1 s ("must be greater than 0, setting to 1").
    fn not_zero(&mut self, n: &Node, v: Secs) -> Secs {
        if !v.is_zero() {
            return v;
        }
        self.d.warning(
            n.arg_loc(0),
            format!("{} 0: 1 s is used, as keepalived uses it", n.keyword()),
        );
        Secs::from_secs(1)
    }

    /// A repeat count keepalived raises to 1 ("must be greater than 0, setting to 1").
    fn at_least_one(&mut self, n: &Node) -> Option<u32> {
        let v = self.one(n, "a count", |s| parse_int(s, 0, u32::MAX))?;
        if v == 0 {
            self.d.warning(
                n.arg_loc(0),
                format!("{} 0: 1 is used, as keepalived uses it", n.keyword()),
            );
            return Some(1);
        }
        Some(v)
    }

    /// startup_script / shutdown_script: one of each (keepalived keeps the first and
    /// reports the second as an error).
    fn once_script(&mut self, n: &Node, slot: &mut Option<Script>) {
        let Some(s) = self.script(n) else { return };
        if slot.is_some() {
            let loc = n.loc;
            self.err(
                &loc,
                format!(
                    "'{}' is already set above: keepalived would run only the first",
                    n.keyword()
                ),
            );
            return;
        }
        *slot = Some(s);
    }

    /// startup_script_timeout / shutdown_script_timeout: whole seconds in 1..=1000
    /// (keepalived ignores any other value and keeps 10).
    fn script_timeout(&mut self, n: &Node) -> Option<Secs> {
        self.one(n, "whole seconds in 1..=1000", |s| {
            parse_int::<u32>(s, 1, 1000)
                .map(|v| Secs::from_secs(u64::from(v)))
                .map_err(|e| format!("{e} (keepalived would ignore it and keep 10)"))
        })
    }

    fn fifo_script(&mut self, n: &Node, fifo: &str, slot: &mut Option<NotifyFifo>) {
        let Some(s) = self.script(n) else { return };
        match slot {
            Some(f) => f.script = Some(s),
            None => self.err(
                &n.loc,
                format!("'{}' needs '{fifo}' set before it", n.keyword()),
            ),
        }
    }

    fn lvs_sync_daemon(&mut self, n: &Node) -> Option<LvsSyncDaemon> {
        self.no_block(n);
        if !self.nargs(
            n,
            2,
            12,
            "an interface, a VRRP instance and options (id, maxlen, port, ttl, group)",
        ) {
            return None;
        }
        let a = n.args();
        let mut s = LvsSyncDaemon {
            interface: a[0].text.to_string(),
            vrrp_instance: a[1].text.to_string(),
            id: None,
            maxlen: None,
            port: None,
            ttl: None,
            group: None,
        };
        let mut i = 2;
        while i < a.len() {
            let opt = a[i].text.as_str();
            let Some(v) = a.get(i + 1) else {
                self.err(&a[i].loc, format!("lvs_sync_daemon: '{opt}' needs a value"));
                return None;
            };
            let r: Result<(), String> = match opt {
                "id" => parse_int(&v.text, 0, 255).map(|x| s.id = Some(x)),
                "maxlen" => parse_int(&v.text, 1, 65535 - 20 - 8).map(|x| s.maxlen = Some(x)),
                "port" => parse_int(&v.text, 1, 65535).map(|x| s.port = Some(x)),
                "ttl" => parse_int(&v.text, 1, 255).map(|x| s.ttl = Some(x)),
                "group" => parse_ip(&v.text).and_then(|x| {
                    if x.is_multicast() {
                        s.group = Some(x);
                        Ok(())
                    } else {
                        Err(format!("'{x}' is not a multicast address"))
                    }
                }),
                o => Err(format!(
                    "unknown option '{o}' (expected id, maxlen, port, ttl or group)"
                )),
            };
            if let Err(e) = r {
                self.err(&v.loc, format!("lvs_sync_daemon: {e}"));
            }
            i += 2;
        }
        Some(s)
    }

    // ------------------------------------------------------------------ VRRP

    fn vrrp_script(&mut self, n: &Node) {
        let Some(name) = self.name(n) else { return };
        let map = std::mem::take(&mut self.st.cfg.vrrp_script);
        let dup = self.dup_name(&map, "vrrp_script", &name, n);
        self.st.cfg.vrrp_script = map;
        let path = format!("vrrp_script.{name}");
        let pk = PathKey::of(&path);
        let mut s = VrrpScript::default();
        for c in self.block(n) {
            self.at(&pk, &c);
            match c.keyword() {
                "script" => {
                    if let Some(v) = self.script(&c) {
                        s.script = v;
                    }
                }
                "interval" => {
                    if let Some(v) = self.secs(&c) {
                        s.interval = self.not_zero(&c, v)
                    }
                }
                "timeout" => {
                    if let Some(v) = self.secs(&c) {
                        s.timeout = Some(self.not_zero(&c, v))
                    }
                }
                "weight" => {
                    if let Some((w, r)) = self.weight_reverse(&c) {
                        s.weight = w;
                        s.weight_reverse = r;
                    }
                }
                "rise" => {
                    if let Some(v) = self.at_least_one(&c) {
                        s.rise = v
                    }
                }
                "fall" => {
                    if let Some(v) = self.at_least_one(&c) {
                        s.fall = v
                    }
                }
                "user" => s.user = self.user(&c),
                "init_fail" => self.set_flag(&c, &mut s.init_fail),
                _ => self.other(&c, "vrrp_script", &[]),
            }
        }
        if !dup {
            self.st.cfg.vrrp_script.insert(name, s);
        }
    }

    /// `use_vmac [[name] NAME] [MAC] [netlink_notify_msg] [group G]`, in any order as
    /// keepalived reads it: a word with ':' is the MAC.
    fn use_vmac(&mut self, c: &Node, v: &mut VrrpInstance) {
        self.no_block(c);
        let mut name = String::new();
        let a = c.args();
        let mut i = 0;
        while i < a.len() {
            let w = &a[i];
            match w.text.as_ref() {
                // ldirector sends the base interface's notification itself
                "netlink_notify_msg" => {}
                "group" => {
                    self.d.warning(
                        &w.loc,
                        "use_vmac: 'group' (the macvlan's link group) is not supported by ldirector: the VMAC is made in the default group",
                    );
                    i += 1;
                }
                t if t.contains(':') => match crate::net::vmac::parse_mac(t) {
                    Ok(_) => v.vmac_address = Some(t.to_string()),
                    Err(e) => self.err(&w.loc, format!("use_vmac: {e}")),
                },
                "name" => {}
                t => {
                    if !name.is_empty() {
                        self.err(&w.loc, "use_vmac: the interface name is already given");
                    } else if t.len() > 15 || t.contains('/') || t.contains(char::is_whitespace) {
                        self.err(&w.loc, format!("use_vmac: '{t}' is not an interface name (at most 15 bytes, no '/' or spaces)"));
                    } else {
                        name = t.to_string();
                    }
                }
            }
            i += 1;
        }
        v.use_vmac = Some(name);
    }

    /// keepalived's vrrp_track_process block.
    fn track_process(&mut self, n: &Node) {
        let Some(name) = self.name(n) else { return };
        let map = std::mem::take(&mut self.st.cfg.vrrp_track_process);
        let dup = self.dup_name(&map, "vrrp_track_process", &name, n);
        self.st.cfg.vrrp_track_process = map;
        let path = format!("vrrp_track_process.{name}");
        let pk = PathKey::of(&path);
        let mut t = TrackProcess::default();
        let mut quorum_set = false;
        let delay = |me: &mut Self, c: &Node| {
            me.one(c, "seconds in 0.000001..=3600", |s| {
                let v = Secs::parse_decimal(s)?;
                if v.is_zero() || v.as_duration() > std::time::Duration::from_secs(3600) {
                    Err(format!("'{s}' is outside 0.000001..=3600 seconds"))
                } else {
                    Ok(v)
                }
            })
        };
        for c in self.block(n) {
            self.at(&pk, &c);
            match c.keyword() {
                "process" => {
                    self.no_block(&c);
                    if !t.process.is_empty() {
                        let loc = c.loc;
                        self.err(
                            &loc,
                            "'process' is already set above: keepalived would keep the first",
                        );
                    } else if self.nargs(
                        &c,
                        1,
                        usize::MAX,
                        "a process name or command, then its parameters",
                    ) {
                        let a = c.args();
                        t.process = a[0].text.to_string();
                        t.params = a[1..].iter().map(|w| w.text.to_string()).collect();
                    }
                }
                "param_match" => {
                    self.no_block(&c);
                    t.param_match = match c.args().first() {
                        None => Some(ParamMatch::Exact),
                        Some(_) => self.one(&c, "initial or partial", |s| match s {
                            "initial" => Ok(ParamMatch::Initial),
                            "partial" => Ok(ParamMatch::Partial),
                            _ => Err(format!(
                                "'{s}' is not initial or partial (keepalived would ignore it)"
                            )),
                        }),
                    };
                }
                "full_command" => self.set_flag(&c, &mut t.full_command),
                "weight" => {
                    if let Some((w, r)) = self.weight_reverse(&c) {
                        t.weight = w;
                        t.weight_reverse = r;
                    }
                }
                "quorum" => {
                    if let Some(v) =
                        self.one(&c, "a count in 1..=65535", |s| parse_int(s, 1, 65535))
                    {
                        t.quorum = v;
                        quorum_set = true;
                    }
                }
                "quorum_max" => {
                    t.quorum_max = self.one(&c, "a count in 0..=65535", |s| parse_int(s, 0, 65535))
                }
                "delay" => {
                    if let Some(v) = delay(self, &c) {
                        t.fork_delay = v;
                        t.terminate_delay = v;
                    }
                }
                "fork_delay" => {
                    if let Some(v) = delay(self, &c) {
                        t.fork_delay = v
                    }
                }
                "terminate_delay" => {
                    if let Some(v) = delay(self, &c) {
                        t.terminate_delay = v
                    }
                }
                _ => self.other(&c, "vrrp_track_process", &[]),
            }
        }
        // quorum_max 0: success while none runs (keepalived)
        if t.quorum_max == Some(0) && !quorum_set {
            t.quorum = 0;
        }
        if !dup {
            self.st.locs.insert(&path, n.loc);
            self.st.cfg.vrrp_track_process.insert(name, t);
        }
    }

    fn track_file(&mut self, n: &Node) {
        let Some(name) = self.name(n) else { return };
        let map = std::mem::take(&mut self.st.cfg.track_file);
        let dup = self.dup_name(&map, "track_file", &name, n);
        self.st.cfg.track_file = map;
        let path = format!("track_file.{name}");
        let pk = PathKey::of(&path);
        let mut t = TrackFile::default();
        for c in self.block(n) {
            self.at(&pk, &c);
            match c.keyword() {
                "file" => {
                    if let Some(v) = self.string(&c) {
                        t.file = v
                    }
                }
                "weight" => {
                    if let Some((w, r)) = self.weight_reverse(&c) {
                        t.weight = w;
                        t.weight_reverse = r;
                    }
                }
                "init_file" => {
                    self.no_block(&c);
                    if self.nargs(&c, 0, 2, "optionally a value and 'overwrite'") {
                        let mut init = InitFile {
                            value: 0,
                            overwrite: false,
                        };
                        for w in c.args() {
                            if w.text == "overwrite" {
                                init.overwrite = true;
                            } else {
                                match w.text.parse::<i64>() {
                                    Ok(v) => init.value = v,
                                    Err(_) => self.err(&w.loc, format!("init_file: expected a number or 'overwrite', found '{}'", w.text)),
                                }
                            }
                        }
                        t.init_file = Some(init);
                    }
                }
                _ => self.other(&c, "track_file", &[]),
            }
        }
        if !dup {
            self.st.cfg.track_file.insert(name, t);
        }
    }

    fn notify(&mut self, c: &Node, notify: &mut Notify) -> bool {
        let slot = match c.keyword() {
            "notify" => &mut notify.all,
            "notify_master" => &mut notify.master,
            "notify_backup" => &mut notify.backup,
            "notify_fault" => &mut notify.fault,
            "notify_stop" => &mut notify.stop,
            "notify_deleted" => &mut notify.deleted,
            _ => return false,
        };
        *slot = self.script(c);
        true
    }

    fn sync_group(&mut self, n: &Node) {
        let Some(name) = self.name(n) else { return };
        let map = std::mem::take(&mut self.st.cfg.vrrp_sync_group);
        let dup = self.dup_name(&map, "vrrp_sync_group", &name, n);
        self.st.cfg.vrrp_sync_group = map;
        let path = format!("vrrp_sync_group.{name}");
        let pk = PathKey::of(&path);
        let mut g = SyncGroup::default();
        for c in self.block(n) {
            self.at(&pk, &c);
            if c.keyword() != "notify_deleted" && self.notify(&c, &mut g.notify) {
                continue;
            }
            match c.keyword() {
                "group" => {
                    for l in self.value_lines(&c, 0) {
                        for w in l.words {
                            g.group.push(w.text.to_string());
                        }
                    }
                }
                "track_interface" => g.track_interface = self.tracks(&c),
                "track_script" => g.track_script = self.tracks(&c),
                "track_file" => g.track_file = self.tracks(&c),
                "track_process" => g.track_process = self.tracks(&c),
                "smtp_alert" => g.smtp_alert = self.flag(&c),
                "notify_priority_changes" => g.notify_priority_changes = self.flag(&c),
                "global_tracking" => self.set_flag(&c, &mut g.global_tracking),
                "sync_group_tracking_weight" => {
                    self.set_flag(&c, &mut g.sync_group_tracking_weight)
                }
                // keepalived 1.x samples list members bare: keepalived 2 drops them
                // ("Unknown keyword"), leaving the group empty
                kw if c.args().is_empty()
                    && c.block.is_none()
                    && keywords::closest(
                        kw,
                        keywords::read_by("vrrp_sync_group").iter().copied(),
                    )
                    .is_none()
                    && !keywords::SYNC_GROUP.contains(&kw) =>
                {
                    self.err(
                        &c.loc,
                        format!("unknown keyword '{kw}' in vrrp_sync_group (did you mean 'group {{ {kw} ... }}'? members go in a group block)"),
                    );
                }
                _ => self.other(&c, "vrrp_sync_group", keywords::SYNC_GROUP),
            }
        }
        if !dup {
            self.st.cfg.vrrp_sync_group.insert(name, g);
        }
    }

    fn vrrp_instance(&mut self, n: &Node) {
        let Some(name) = self.name(n) else { return };
        let map = std::mem::take(&mut self.st.cfg.vrrp_instance);
        let dup = self.dup_name(&map, "vrrp_instance", &name, n);
        self.st.cfg.vrrp_instance = map;
        let path = format!("vrrp_instance.{name}");
        let pk = PathKey::of(&path);
        let mut v = VrrpInstance::default();
        for c in self.block(n) {
            self.at(&pk, &c);
            if self.notify(&c, &mut v.notify) {
                continue;
            }
            match c.keyword() {
                "state" => {
                    if let Some(s) = self.one(&c, "MASTER or BACKUP", parse_enum) {
                        v.state = s
                    }
                }
                "interface" => v.interface = self.string(&c),
                "virtual_router_id" => {
                    if let Some(x) = self.parsed::<Vrid>(&c, "a number in 1..=255") {
                        v.virtual_router_id = x;
                    }
                }
                "priority" => {
                    if let Some(x) = self.parsed::<Priority>(&c, "a number in 1..=255") {
                        v.priority = x
                    }
                }
                "advert_int" => {
                    if let Some(x) = self.secs(&c) {
                        v.advert_int = x
                    }
                }
                "version" => v.version = self.one(&c, "2 or 3", VrrpVersion::parse),
                "nopreempt" => self.set_flag(&c, &mut v.nopreempt),
                "preempt" => {
                    if let Some(x) = self.flag(&c) {
                        v.nopreempt = !x
                    }
                }
                "preempt_delay" => {
                    if let Some(x) = self.secs(&c) {
                        v.preempt_delay = x
                    }
                }
                "mcast_src_ip" => v.mcast_src_ip = self.host_ip_arg(&c),
                "mcast_dst_ip" => v.mcast_dst_ip = self.ip(&c),
                "unicast_src_ip" => v.unicast_src_ip = self.host_ip_arg(&c),
                "unicast_peer" => {
                    for l in self.value_lines(&c, 0) {
                        if let Some(p) = self.unicast_peer(&l) {
                            v.unicast_peer.push(p);
                        }
                    }
                }
                "unicast_fault_no_peer" => self.set_flag(&c, &mut v.unicast_fault_no_peer),
                "track_src_ip" => self.set_flag(&c, &mut v.track_src_ip),
                "unicast_ttl" => {
                    v.unicast_ttl = self.one(&c, "a TTL in 1..=255", |s| parse_int(s, 1, 255))
                }
                "authentication" => v.authentication = self.authentication(&c),
                "virtual_ipaddress" => self.vips(&c, &mut v.virtual_ipaddress),
                "virtual_ipaddress_excluded" => self.vips(&c, &mut v.virtual_ipaddress_excluded),
                "virtual_routes" => self.routes(&c, &mut v.virtual_routes),
                "virtual_rules" => self.rules(&c, &mut v.virtual_rules),
                "track_interface" => v.track_interface = self.tracks(&c),
                "track_script" => v.track_script = self.tracks(&c),
                "track_file" => v.track_file = self.tracks(&c),
                "track_process" => v.track_process = self.tracks(&c),
                "dont_track_primary" => self.set_flag(&c, &mut v.dont_track_primary),
                "smtp_alert" => v.smtp_alert = self.flag(&c),
                "notify_priority_changes" => v.notify_priority_changes = self.flag(&c),
                "garp_master_delay" => v.garp_master_delay = self.secs(&c),
                "garp_master_repeat" => v.garp_master_repeat = self.at_least_one(&c),
                "garp_master_refresh" => v.garp_master_refresh = self.secs(&c),
                "garp_master_refresh_repeat" => {
                    v.garp_master_refresh_repeat = self.at_least_one(&c)
                }
                "garp_lower_prio_delay" => v.garp_lower_prio_delay = self.secs(&c),
                "garp_lower_prio_repeat" => v.garp_lower_prio_repeat = self.u32_(&c),
                "lower_prio_no_advert" => v.lower_prio_no_advert = self.flag(&c),
                "higher_prio_send_advert" => v.higher_prio_send_advert = self.flag(&c),
                "accept" => v.accept = self.flag(&c),
                "no_accept" => v.accept = self.flag(&c).map(|x| !x),
                "strict_mode" => v.strict_mode = self.flag(&c),
                "check_unicast_src" => v.check_unicast_src = self.flag(&c),
                "skip_check_adv_addr" => v.skip_check_adv_addr = self.flag(&c),
                "v3_checksum_as_v2" => v.v3_checksum_as_v2 = self.flag(&c),
                "use_vmac" => self.use_vmac(&c, &mut v),
                "vmac_xmit_base" => self.set_flag(&c, &mut v.vmac_xmit_base),
                "use_vmac_addr" => self.set_flag(&c, &mut v.use_vmac_addr),
                "lvs_sync_daemon_interface" => self.lvs_sync_daemon_interface(&c, &name),
                "promote_secondaries" => self.set_flag(&c, &mut v.promote_secondaries),
                _ => self.other(&c, "vrrp_instance", keywords::VRRP_INSTANCE),
            }
        }
        if !dup {
            self.st.cfg.vrrp_instance.insert(name, v);
        }
    }

    /// keepalived 1.x's `lvs_sync_daemon_interface IF` inside an instance: the sync daemon
    /// on IF following this instance (global_defs' `lvs_sync_daemon IF INSTANCE`), unless
    /// one is already set.
    fn lvs_sync_daemon_interface(&mut self, c: &Node, instance: &str) {
        let Some(ifname) = self.string(c) else { return };
        let g = &mut self.st.cfg.global_defs;
        if let Some(s) = &g.lvs_sync_daemon {
            let msg = format!(
                "lvs_sync_daemon_interface: the sync daemon is already set on {} (following '{}'): this one is ignored, as keepalived does",
                s.interface, s.vrrp_instance
            );
            self.d.warning(&c.loc, msg);
            return;
        }
        g.lvs_sync_daemon = Some(LvsSyncDaemon {
            interface: ifname.clone(),
            vrrp_instance: instance.to_string(),
            id: None,
            maxlen: None,
            port: None,
            ttl: None,
            group: None,
        });
        self.st.locs.insert("global_defs.lvs_sync_daemon", c.loc);
        self.d.warning(
            &c.loc,
            format!("lvs_sync_daemon_interface in vrrp_instance is deprecated: read as global_defs' 'lvs_sync_daemon {ifname} {instance}'"),
        );
    }

    fn unicast_peer(&mut self, l: &Node) -> Option<UnicastPeer> {
        let a = &l.words;
        let address = self.host_ip(&a[0], "unicast_peer")?;
        let mut p = UnicastPeer {
            address,
            min_ttl: None,
            max_ttl: None,
        };
        let mut i = 1;
        while i < a.len() {
            let v = a.get(i + 1).map(|w| parse_int::<u8>(&w.text, 0, 255));
            match (a[i].text.as_str(), v) {
                ("min_ttl", Some(Ok(x))) => p.min_ttl = Some(x),
                ("max_ttl", Some(Ok(x))) => p.max_ttl = Some(x),
                ("min_ttl" | "max_ttl", Some(Err(e))) => {
                    self.err(&a[i + 1].loc, format!("unicast_peer: {e}"));
                    return None;
                }
                (o, _) => {
                    self.err(
                        &a[i].loc,
                        format!("unicast_peer: unexpected '{o}' (expected min_ttl N or max_ttl N)"),
                    );
                    return None;
                }
            }
            i += 2;
        }
        Some(p)
    }

    fn authentication(&mut self, n: &Node) -> Option<Authentication> {
        self.nargs(n, 0, 0, "no value before '{'");
        let mut kind = None;
        let mut pass = None;
        for c in self.block(n) {
            match c.keyword() {
                "auth_type" => kind = self.one(&c, "PASS or AH", parse_enum::<AuthType>),
                "auth_pass" => pass = self.string(&c),
                _ => self.other(&c, "authentication", &[]),
            }
        }
        match (kind, pass) {
            (Some(auth_type), Some(auth_pass)) => Some(Authentication {
                auth_type,
                auth_pass,
            }),
            (None, _) => {
                self.err(&n.loc, "authentication needs 'auth_type PASS' (or AH)");
                None
            }
            (Some(_), None) => {
                self.err(&n.loc, "authentication needs 'auth_pass'");
                None
            }
        }
    }

    // ------------------------------------------------------------------ IPVS

    fn ssl(&mut self, n: &Node) {
        self.nargs(n, 0, 0, "no value before '{'");
        let path = "ssl.default".to_string();
        let pk = PathKey::of(&path);
        self.st.locs.insert(&path, n.loc);
        let mut s = SslConfig::default();
        for c in self.block(n) {
            self.at(&pk, &c);
            match c.keyword() {
                "password" => s.password = self.string(&c),
                "ca" => s.ca = self.string(&c),
                "certificate" => s.certificate = self.string(&c),
                "key" => s.key = self.string(&c),
                _ => self.other(&c, "SSL", &[]),
            }
        }
        self.st.cfg.ssl.insert("default".into(), s);
    }

    fn vs_group(&mut self, n: &Node) {
        let Some(name) = self.name(n) else { return };
        let map = std::mem::take(&mut self.st.cfg.virtual_server_group);
        let dup = self.dup_name(&map, "virtual_server_group", &name, n);
        self.st.cfg.virtual_server_group = map;
        let mut entries = Vec::new();
        for l in self.value_lines(n, 1) {
            match VsGroupEntry::parse_words(&Self::words(&l)) {
                Ok(e) => entries.push(e),
                Err(e) => self.err(&l.loc, format!("virtual_server_group: {e}")),
            }
        }
        if !dup {
            self.st.cfg.virtual_server_group.insert(name, entries);
        }
    }

    fn virtual_server(&mut self, n: &Node) {
        let idx = self.st.cfg.virtual_server.len();
        let pk = PathKey::default().child_indexed("virtual_server", idx);
        self.st.locs.insert_key(&pk, n.loc);
        let mut vs = VirtualServer::default();
        let a = n.args();
        match a {
            [k, v] if k.text == "fwmark" => match parse_int::<u32>(&v.text, 1, u32::MAX) {
                Ok(m) => vs.fwmark = Some(m),
                Err(e) => self.err(&v.loc, format!("virtual_server fwmark: {e}")),
            },
            [k, v] if k.text == "group" => vs.group = Some(v.text.to_string()),
            [ip, port] => {
                match parse_ip(&ip.text) {
                    Ok(x) => vs.ip = Some(x),
                    Err(e) => self.err(&ip.loc, format!("virtual_server: {e}")),
                }
                match parse_int::<u16>(&port.text, 0, 65535) {
                    Ok(p) => vs.port = Some(p),
                    Err(e) => self.err(&port.loc, format!("virtual_server port: {e}")),
                }
            }
            _ => {
                self.err(
                    &n.loc,
                    "virtual_server needs 'IP PORT', 'fwmark N' or 'group NAME'",
                );
            }
        }
        let servers = n
            .children()
            .filter(|c| c.keyword() == "real_server")
            .count();
        vs.real_server.reserve_exact(servers);
        let mut sorry: Option<SorryServer> = None;
        let mut sorry_method: Option<(LvsMethod, Loc)> = None;
        let mut sorry_inhibit: Option<Loc> = None;
        // "no protocol set - defaulting to UDP": keepalived (and the kernel, for protocol 0)
        // makes an address service without `protocol` a UDP service; so does ldirector
        let by_addr = vs.ip.is_some() || vs.group.is_some();
        if by_addr && !n.children().any(|c| c.keyword() == "protocol") {
            vs.protocol = Protocol::Udp;
            self.d.warning(
                &n.loc,
                "virtual_server without 'protocol': it is a UDP service, as keepalived makes it; write 'protocol TCP' for TCP",
            );
        }
        for c in self.block(n) {
            self.at(&pk, &c);
            match c.keyword() {
                "ip_family" => vs.ip_family = self.one(&c, "inet or inet6", parse_enum),
                "retry" => vs.retry = self.u32_(&c),
                "delay_before_retry" => vs.delay_before_retry = self.secs(&c),
                "warmup" => vs.warmup = self.secs(&c),
                "connect_timeout" => vs.connect_timeout = self.secs(&c),
                "delay_loop" => vs.delay_loop = self.secs(&c),
                "inhibit_on_failure" => self.set_flag(&c, &mut vs.inhibit_on_failure),
                "lb_algo" | "lvs_sched" => {
                    if let Some(s) = self.one(&c, "a scheduler (rr wrr lc wlc lblc lblcr dh sh sed nq mh fo ovf twos)", parse_enum) {
                        vs.lvs_sched = s
                    }
                }
                "hashed" => self.set_flag(&c, &mut vs.hashed),
                "ops" => self.set_flag(&c, &mut vs.ops),
                "flag-1" | "flag-2" | "flag-3" | "sh-port" | "sh-fallback" | "mh-port" | "mh-fallback" => {
                    self.no_block(&c);
                    if self.nargs(&c, 0, 0, "no value") {
                        if let Ok(f) = parse_enum::<SchedFlag>(c.keyword()) {
                            if !vs.sched_flags.contains(&f) {
                                vs.sched_flags.push(f);
                            }
                        }
                    }
                }
                "lb_kind" | "lvs_method" => {
                    if let Some(m) = self.method(&c) {
                        vs.lvs_method = m
                    }
                }
                "persistence_engine" => vs.persistence_engine = self.string(&c),
                "persistence_timeout" => {
                    self.no_block(&c);
                    if self.nargs(&c, 0, 1, "optionally a time in seconds") {
                        vs.persistence_timeout = match c.args().first() {
                            None => Some(360),
                            // keepalived refuses 0 and keeps the service without persistence
                            Some(w) if w.text == "0" => {
                                self.d.warning(
                                    &w.loc,
                                    "persistence_timeout 0: no persistence (keepalived refuses 0 and runs the service without it)",
                                );
                                None
                            }
                            Some(w) => match parse_int::<u32>(&w.text, 1, u32::MAX) {
                                Ok(v) => Some(v),
                                Err(e) => {
                                    self.err(&w.loc, format!("persistence_timeout: {e}"));
                                    None
                                }
                            },
                        }
                    }
                }
                "persistence_granularity" => {
                    if let Some(g) = self.one(&c, "a netmask or IPv6 prefix length", |s| {
                        let ok = s.parse::<std::net::Ipv4Addr>().is_ok()
                            || s.parse::<u8>().is_ok_and(|p| (1..=128).contains(&p));
                        if ok {
                            Ok(s.to_string())
                        } else {
                            Err(format!("expected a netmask (255.255.255.0) or a prefix length 1..=128, found '{s}'"))
                        }
                    }) {
                        vs.persistence_granularity = Some(g)
                    }
                }
                "protocol" => {
                    if let Some(p) = self.one(&c, "TCP, UDP or SCTP", parse_enum) {
                        vs.protocol = p
                    }
                }
                "ha_suspend" => self.set_flag(&c, &mut vs.ha_suspend),
                "smtp_alert" => vs.smtp_alert = self.flag(&c),
                "virtualhost" => vs.virtualhost = self.string(&c),
                "alpha" => self.set_flag(&c, &mut vs.alpha),
                "omega" => self.set_flag(&c, &mut vs.omega),
                "quorum_up" => vs.quorum_up = self.script(&c),
                "quorum_down" => vs.quorum_down = self.script(&c),
                // "Quorum 0 must be in [1, 4294967295]. Setting to 1."
                "quorum" => {
                    if let Some(q) = self.at_least_one(&c) {
                        vs.quorum = q
                    }
                }
                "hysteresis" => {
                    if let Some(h) = self.u32_(&c) {
                        vs.hysteresis = h
                    }
                }
                "weight" => vs.weight = self.parsed::<RsWeight>(&c, "a weight in 0..=65535"),
                "sorry_server" => {
                    self.no_block(&c);
                    if self.nargs(&c, 1, 2, "an address and optionally a port") {
                        let ca = c.args();
                        let ip = parse_ip(&ca[0].text);
                        let port = ca.get(1).map(|p| parse_int::<u16>(&p.text, 0, 65535)).transpose();
                        match (ip, port) {
                            (Ok(ip), Ok(port)) => {
                                sorry = Some(SorryServer {
                                    ip,
                                    port,
                                    lvs_method: None,
                                    inhibit: false,
                                })
                            }
                            (Err(e), _) | (_, Err(e)) => self.err(&c.loc, format!("sorry_server: {e}")),
                        }
                    }
                }
                "sorry_server_inhibit" => {
                    if self.flag(&c) == Some(true) {
                        sorry_inhibit = Some(c.loc)
                    }
                }
                "sorry_server_lvs_method" => {
                    if let Some(m) = self.method(&c) {
                        sorry_method = Some((m, c.loc))
                    }
                }
                "real_server" => {
                    let rpk = pk.child_indexed("real_server", vs.real_server.len());
                    self.real_server(&c, &rpk, &mut vs.real_server);
                }
                _ => self.other(&c, "virtual_server", keywords::VIRTUAL_SERVER),
            }
        }
        match &mut sorry {
            Some(s) => {
                s.lvs_method = sorry_method.map(|m| m.0);
                s.inhibit = sorry_inhibit.is_some();
            }
            None => {
                for loc in sorry_method.map(|m| m.1).into_iter().chain(sorry_inhibit) {
                    self.err(&loc, "this sorry_server option needs a 'sorry_server'");
                }
            }
        }
        vs.sorry_server = sorry;
        self.st.cfg.virtual_server.push(vs);
    }

    fn method(&mut self, c: &Node) -> Option<LvsMethod> {
        self.no_block(c);
        if !self.nargs(
            c,
            1,
            6,
            "NAT, DR or TUN [type ipip|gue port N|gre] [csum|remcsum]",
        ) {
            return None;
        }
        let w: Vec<&str> = c.args().iter().map(|w| w.text.as_str()).collect();
        match LvsMethod::parse_words(&w) {
            Ok(m) => Some(m),
            Err(e) => {
                let hint = match keywords::closest(w[0], ["NAT", "DR", "TUN"]) {
                    Some(m) if w[0] != m => format!(
                        " (did you mean '{} {m}'? keepalived would run '{}' as NAT)",
                        c.keyword(),
                        w[0]
                    ),
                    _ => String::new(),
                };
                self.err(c.arg_loc(0), format!("{}: {e}{hint}", c.keyword()));
                None
            }
        }
    }

    /// Read a real_server block into a new element of `out` (built in place: a real
    /// server and its checkers are large, and there can be tens of thousands).
    fn real_server(&mut self, n: &Node, pk: &PathKey, out: &mut Vec<RealServer>) {
        self.st.locs.insert_key(pk, n.loc);
        if !self.nargs(n, 1, 2, "an address and optionally a port") {
            return;
        }
        out.push(RealServer::default());
        let Some(rs) = out.last_mut() else { return };
        let checkers = n
            .children()
            .filter(|c| CheckKind::from_keyword(c.keyword()).is_some())
            .count();
        rs.checkers.reserve_exact(checkers);
        let a = n.args();
        self.st.locs.insert_key(&pk.child("ip"), a[0].loc);
        match parse_ip(&a[0].text) {
            Ok(ip) => rs.ip = ip,
            Err(e) => self.err(&a[0].loc, format!("real_server: {e}")),
        }
        if let Some(p) = a.get(1) {
            match parse_int::<u16>(&p.text, 0, 65535) {
                Ok(v) => rs.port = Some(v),
                Err(e) => self.err(&p.loc, format!("real_server port: {e}")),
            }
        }
        for c in self.block(n) {
            self.at(pk, &c);
            match c.keyword() {
                "weight" => rs.weight = self.parsed::<RsWeight>(&c, "a weight in 0..=65535"),
                "lvs_method" | "lb_kind" => rs.lvs_method = self.method(&c),
                "uthreshold" => rs.uthreshold = self.u32_(&c),
                "lthreshold" => rs.lthreshold = self.u32_(&c),
                "inhibit_on_failure" => rs.inhibit_on_failure = self.flag(&c),
                "notify_up" => rs.notify_up = self.script(&c),
                "notify_down" => rs.notify_down = self.script(&c),
                "alpha" => rs.alpha = self.flag(&c),
                "retry" => rs.retry = self.u32_(&c),
                "delay_before_retry" => rs.delay_before_retry = self.secs(&c),
                "warmup" => rs.warmup = self.secs(&c),
                "connect_timeout" => rs.connect_timeout = self.secs(&c),
                "delay_loop" => rs.delay_loop = self.secs(&c),
                "smtp_alert" => rs.smtp_alert = self.flag(&c),
                "virtualhost" => rs.virtualhost = self.string(&c),
                kw => {
                    if let Some(kind) = CheckKind::from_keyword(kw) {
                        let cpk = pk.child_indexed("check", rs.checkers.len());
                        self.checker(&c, kind, &cpk, &mut rs.checkers);
                    } else {
                        self.other(&c, "real_server", keywords::REAL_SERVER)
                    }
                }
            }
        }
    }

    /// connect_ip ... bind_if, fwmark, connect_timeout: options of connecting checkers and
    /// of SMTP_CHECK's host blocks. Returns false when the keyword is not one of them.
    fn connect_option(&mut self, c: &Node, o: &mut ConnectOptions) -> bool {
        match c.keyword() {
            "connect_ip" => o.connect_ip = self.ip(c),
            "connect_port" => o.connect_port = self.port(c),
            "bindto" => o.bindto = self.ip(c),
            "bind_port" => o.bind_port = self.port(c),
            "bind_if" => o.bind_if = self.string(c),
            "fwmark" => o.fwmark = self.u32_(c),
            "connect_timeout" => o.connect_timeout = self.secs(c),
            _ => return false,
        }
        true
    }

    /// Read a checker block into a new element of `out` (built in place).
    fn checker(&mut self, n: &Node, kind: CheckKind, pk: &PathKey, out: &mut Vec<Checker>) {
        self.st.locs.insert_key(pk, n.loc);
        self.nargs(n, 0, 0, "no value before '{'");
        out.push(Checker::new(kind));
        let Some(ch) = out.last_mut() else { return };
        let mut conn = ConnectOptions::default();
        // keepalived accepts `TCP_CHECK` with no block: all defaults
        for c in n.children() {
            let c = &c;
            self.at(pk, c);
            let kw = c.keyword();
            if kind.connects() && self.connect_option(c, &mut conn) {
                continue;
            }
            let common = kind != CheckKind::File;
            match kw {
                "retry" if common => ch.retry = self.u32_(c),
                "nb_get_retry" if common => {
                    ch.retry = self.u32_(c);
                    if let Some(r) = ch.retry {
                        let note = if kind.is_http() {
                            ""
                        } else {
                            " (keepalived 2.x ignores it outside HTTP_GET and SSL_GET)"
                        };
                        self.d.warning(
                            &c.loc,
                            format!("'nb_get_retry' is the old name of 'retry': read as 'retry {r}'{note}"),
                        );
                    }
                }
                "delay_before_retry" if common => ch.delay_before_retry = self.secs(c),
                "warmup" if common => ch.warmup = self.secs(c),
                "delay_loop" if common => ch.delay_loop = self.secs(c),
                "alpha" if common => ch.alpha = self.flag(c),
                "log_all_failures" if common => ch.log_all_failures = self.flag(c),
                "url" if kind.is_http() => {
                    let upk = pk.child_indexed("url", ch.url.len());
                    if let Some(u) = self.url(c, &upk) {
                        ch.url.push(u)
                    }
                }
                "virtualhost" if kind.is_http() => ch.virtualhost = self.string(c),
                "http_protocol" if kind.is_http() => {
                    ch.http_protocol = self.one(c, "1.0, 1.0C or 1.1", parse_enum)
                }
                "enable_sni" if kind.is_http() => ch.enable_sni = self.flag(c),
                "sni_name" if kind.is_http() => ch.sni_name = self.string(c),
                "fast_recovery" if kind.is_http() => ch.fast_recovery = self.flag(c),
                "tls_compliant" if kind.is_http() => ch.tls_compliant = self.flag(c),
                "helo_name" if kind == CheckKind::Smtp => ch.helo_name = self.string(c),
                "host" if kind == CheckKind::Smtp => {
                    self.nargs(c, 0, 0, "no value before '{'");
                    let mut h = ConnectOptions::default();
                    for hc in self.block(c) {
                        if !self.connect_option(&hc, &mut h) {
                            self.other(&hc, "SMTP_CHECK host", &[]);
                        }
                    }
                    ch.host.push(h);
                }
                "misc_path" if kind == CheckKind::Misc => ch.misc_path = self.script(c),
                "misc_timeout" if kind == CheckKind::Misc => ch.misc_timeout = self.secs(c),
                "misc_dynamic" if kind == CheckKind::Misc => ch.misc_dynamic = self.flag(c),
                "user" if kind == CheckKind::Misc => ch.user = self.user(c),
                "type" if kind == CheckKind::Dns => {
                    ch.dns_type = self.one(c, "A, NS, CNAME, SOA, MX, TXT or AAAA", parse_enum)
                }
                "name" if kind == CheckKind::Dns => ch.dns_name = self.string(c),
                "payload" | "require_reply" if kind == CheckKind::Udp => {
                    // keepalived joins the words: `payload 01 02 0a0b`
                    self.no_block(c);
                    let pattern = c.keyword() == "require_reply";
                    let args = c.args();
                    if !pattern && !self.nargs(c, 1, usize::MAX, "hexadecimal bytes") {
                        continue;
                    }
                    let text: Vec<&str> = args.iter().map(|w| w.text.as_str()).collect();
                    match hex_string(&text.join(" "), pattern) {
                        Ok(v) if pattern => ch.require_reply = Some(v),
                        Ok(v) => ch.payload = Some(v),
                        Err(e) => self.err(&c.arg_loc(0).clone(), format!("{}: {e}", c.keyword())),
                    }
                }
                "min_reply_length" if kind == CheckKind::Udp => ch.min_reply_length = self.u32_(c),
                "max_reply_length" if kind == CheckKind::Udp => ch.max_reply_length = self.u32_(c),
                "track_file" if kind == CheckKind::File => ch.track_file = self.string(c),
                "weight" if kind == CheckKind::File => {
                    if let Some((w, r)) = self.weight_reverse(c) {
                        ch.weight = Some(w);
                        ch.weight_reverse = r;
                    }
                }
                _ => self.other(c, kind.keyword(), &[]),
            }
        }
        ch.connect_ip = conn.connect_ip;
        ch.connect_port = conn.connect_port;
        ch.bindto = conn.bindto;
        ch.bind_port = conn.bind_port;
        ch.bind_if = conn.bind_if;
        ch.fwmark = conn.fwmark;
        ch.connect_timeout = conn.connect_timeout;
    }

    fn url(&mut self, n: &Node, pk: &PathKey) -> Option<Url> {
        self.st.locs.insert_key(pk, n.loc);
        self.nargs(n, 0, 0, "no value before '{'");
        let mut u = Url::default();
        for c in self.block(n) {
            self.at(pk, &c);
            match c.keyword() {
                "path" => {
                    if let Some(p) = self.string(&c) {
                        u.path = p
                    }
                }
                "digest" => {
                    u.digest = self.one(&c, "an MD5 digest (32 hexadecimal digits)", |s| {
                        if s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
                            Ok(s.to_ascii_lowercase())
                        } else {
                            Err(format!(
                                "expected an MD5 digest (32 hexadecimal digits), found '{s}'"
                            ))
                        }
                    })
                }
                "status_code" => {
                    self.no_block(&c);
                    if self.nargs(&c, 1, 100, "status codes or ranges like 200 300-399") {
                        for w in c.args() {
                            match w.text.parse::<StatusRange>() {
                                Ok(r) => u.status_code.push(r),
                                Err(e) => self.err(&w.loc, format!("status_code: {e}")),
                            }
                        }
                    }
                }
                "virtualhost" => u.virtualhost = self.string(&c),
                "regex" => {
                    u.regex = self.one(&c, "a regular expression", |s| {
                        regex::bytes::Regex::new(s)
                            .map(|_| s.to_string())
                            .map_err(|e| format!("invalid regular expression: {e}"))
                    })
                }
                "regex_no_match" => self.set_flag(&c, &mut u.regex_no_match),
                "regex_options" => {
                    self.no_block(&c);
                    for w in c.args() {
                        u.regex_options.push(w.text.to_string());
                    }
                }
                "regex_min_offset" => u.regex_min_offset = self.u32_(&c),
                "regex_max_offset" => u.regex_max_offset = self.u32_(&c),
                _ => self.other(&c, "url", keywords::URL),
            }
        }
        if u.path.is_empty() {
            self.err(&n.loc, "url needs a 'path'");
            return None;
        }
        Some(u)
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
