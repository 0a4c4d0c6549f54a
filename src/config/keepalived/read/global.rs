//! keepalived.conf `global_defs` (keepalived's global_parser.c).

use super::*;

impl Reader<'_> {
    pub(super) fn global(&mut self, n: &Node) {
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
                set(
                    &mut g.vrrp_version,
                    self.one(n, "2 or 3", VrrpVersion::parse),
                );
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
                set(&mut g.vrrp_garp_master_delay, self.secs(n));
            }
            "vrrp_garp_master_repeat" => {
                set(&mut g.vrrp_garp_master_repeat, self.at_least_one(n));
            }
            "vrrp_garp_master_refresh" => {
                set(&mut g.vrrp_garp_master_refresh, self.secs(n));
            }
            "vrrp_garp_master_refresh_repeat" => {
                set(&mut g.vrrp_garp_master_refresh_repeat, self.at_least_one(n));
            }
            "vrrp_garp_lower_prio_delay" => g.vrrp_garp_lower_prio_delay = self.secs(n),
            "vrrp_garp_lower_prio_repeat" => g.vrrp_garp_lower_prio_repeat = self.u32_(n),
            "vrrp_garp_interval" => {
                set(&mut g.vrrp_garp_interval, self.secs(n));
            }
            "vrrp_gna_interval" => {
                set(&mut g.vrrp_gna_interval, self.secs(n));
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
    pub(super) fn nice(&mut self, n: &Node) -> Option<i8> {
        self.one(n, "a nice value in -20..=19", |s| parse_int(s, -20, 19))
    }

    /// `*_rt_priority`: SCHED_RR 1..=99; keepalived moves a value outside into the range.
    pub(super) fn rt_priority(&mut self, n: &Node) -> Option<u8> {
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
    pub(super) fn rlimit_rttime(&mut self, n: &Node) -> Option<u32> {
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
    pub(super) fn cpus(&mut self, n: &Node) -> Vec<u16> {
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

    pub(super) fn fifo(&mut self, n: &Node, slot: &mut Option<NotifyFifo>) {
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
    pub(super) fn not_zero(&mut self, n: &Node, v: Secs) -> Secs {
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
    pub(super) fn at_least_one(&mut self, n: &Node) -> Option<u32> {
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
    pub(super) fn once_script(&mut self, n: &Node, slot: &mut Option<Script>) {
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
    pub(super) fn script_timeout(&mut self, n: &Node) -> Option<Secs> {
        self.one(n, "whole seconds in 1..=1000", |s| {
            parse_int::<u32>(s, 1, 1000)
                .map(|v| Secs::from_secs(u64::from(v)))
                .map_err(|e| format!("{e} (keepalived would ignore it and keep 10)"))
        })
    }

    pub(super) fn fifo_script(&mut self, n: &Node, fifo: &str, slot: &mut Option<NotifyFifo>) {
        let Some(s) = self.script(n) else { return };
        match slot {
            Some(f) => f.script = Some(s),
            None => self.err(
                &n.loc,
                format!("'{}' needs '{fifo}' set before it", n.keyword()),
            ),
        }
    }

    pub(super) fn lvs_sync_daemon(&mut self, n: &Node) -> Option<LvsSyncDaemon> {
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
        self.sync_options("lvs_sync_daemon", &a[2..], &mut s);
        Some(s)
    }

    /// The sync daemon's options (`id N`, `maxlen N`, `port N`, `ttl N`, `group ADDR`) from
    /// `a`, into `s`; errors named after `what`.
    pub(super) fn sync_options(&mut self, what: &str, a: &[Word], s: &mut LvsSyncDaemon) {
        let mut i = 0;
        while i < a.len() {
            let opt = a[i].text.as_str();
            let Some(v) = a.get(i + 1) else {
                self.err(&a[i].loc, format!("{what}: '{opt}' needs a value"));
                return;
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
                self.err(&v.loc, format!("{what}: {e}"));
            }
            i += 2;
        }
    }
}
