//! keepalived.conf IPVS blocks: SSL, virtual_server_group, virtual_server, real_server
//! (keepalived's check_parser.c, its LVS half).

use super::*;

impl Reader<'_> {
    pub(super) fn ssl(&mut self, n: &Node) {
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

    pub(super) fn vs_group(&mut self, n: &Node) {
        let Some(Named { name, dup, .. }) =
            self.named(n, "virtual_server_group", |c| &c.virtual_server_group)
        else {
            return;
        };
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

    pub(super) fn virtual_server(&mut self, n: &Node) {
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

    pub(super) fn method(&mut self, c: &Node) -> Option<LvsMethod> {
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
    pub(super) fn real_server(&mut self, n: &Node, pk: &PathKey, out: &mut Vec<RealServer>) {
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
}
