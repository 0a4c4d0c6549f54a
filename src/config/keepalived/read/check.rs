//! keepalived.conf checkers inside a real_server (keepalived's check_parser.c and the
//! check_*.c parsers).

use super::*;

impl Reader<'_> {
    /// connect_ip ... bind_if, fwmark, connect_timeout: options of connecting checkers and
    /// of SMTP_CHECK's host blocks. Returns false when the keyword is not one of them.
    pub(super) fn connect_option(&mut self, c: &Node, o: &mut ConnectOptions) -> bool {
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
    pub(super) fn checker(
        &mut self,
        n: &Node,
        kind: CheckKind,
        pk: &PathKey,
        out: &mut Vec<Checker>,
    ) {
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

    pub(super) fn url(&mut self, n: &Node, pk: &PathKey) -> Option<Url> {
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
