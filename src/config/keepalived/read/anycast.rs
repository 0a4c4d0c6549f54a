//! The `anycast NAME { }` block (ldirector's own: keepalived has none; its checker, track
//! and notify words are reused).

use super::*;

impl Reader<'_> {
    pub(super) fn anycast(&mut self, n: &Node) {
        let Some(Named { name, dup, pk, .. }) = self.named(n, "anycast", |c| &c.anycast) else {
            return;
        };
        let mut a = Anycast::default();
        for c in self.block(n) {
            self.at(&pk, &c);
            match c.keyword() {
                "address" => self.anycast_addresses(&c, &mut a.address),
                "active_active" => self.set_flag(&c, &mut a.active_active),
                "sync_daemon" => a.sync_daemon = self.shared_sync(&c),
                "device" => set(&mut a.device, self.string(&c)),
                "method" => set(&mut a.method, self.one(&c, "address or route", parse_enum)),
                "metric" => set(&mut a.metric, self.u32_(&c)),
                "on_failure" => set(&mut a.on_failure, self.on_failure(&c)),
                "watch" => set(&mut a.watch, self.one(&c, "self or peers", parse_enum)),
                "hold_down" => set(&mut a.hold_down, self.secs(&c)),
                "drain_time" => set(&mut a.drain_time, self.secs(&c)),
                "route_protocol" => set(&mut a.route_protocol, self.string(&c)),
                "route_table" => set(&mut a.route_table, self.string(&c)),
                "port" => a.port = self.port(&c),
                "delay_loop" => a.delay_loop = self.secs(&c),
                "connect_timeout" => a.connect_timeout = self.secs(&c),
                "retry" => a.retry = self.u32_(&c),
                "delay_before_retry" => a.delay_before_retry = self.secs(&c),
                "warmup" => a.warmup = self.secs(&c),
                "alpha" => self.set_flag(&c, &mut a.alpha),
                "track_script" => a.track_script = self.names(&c),
                "track_file" => a.track_file = self.names(&c),
                "track_virtual_server" => a.track_virtual_server = self.services(&c),
                "notify_up" => a.notify_up = self.script(&c),
                "notify_down" => a.notify_down = self.script(&c),
                "notify" => a.notify = self.script(&c),
                "smtp_alert" => a.smtp_alert = self.flag(&c),
                kw => match CheckKind::from_keyword(kw) {
                    Some(kind) => {
                        let cpk = pk.child_indexed("check", a.checkers.len());
                        self.checker(&c, kind, &cpk, &mut a.checkers);
                    }
                    None => self.other(&c, "anycast", &[]),
                },
            }
        }
        if !dup {
            self.st.cfg.anycast.insert(name, a);
        }
    }

    /// `sync_daemon INTERFACE [id N] [maxlen N] [port N] [ttl N] [group ADDR]`.
    fn shared_sync(&mut self, n: &Node) -> Option<SharedSync> {
        self.no_block(n);
        let a = n.args();
        let Some(ifname) = a.first() else {
            self.err(
                &n.loc,
                "sync_daemon: an interface is needed (then id, maxlen, port, ttl, group)",
            );
            return None;
        };
        let mut s = SharedSync {
            interface: ifname.text.to_string(),
            ..SharedSync::default()
        }
        .settings();
        self.sync_options("sync_daemon", &a[1..], &mut s);
        Some(SharedSync {
            interface: s.interface,
            id: s.id,
            maxlen: s.maxlen,
            port: s.port,
            ttl: s.ttl,
            group: s.group,
        })
    }

    /// `address A [B ...]` or `address { A B ... }`: host addresses, a /32 or /128 prefix
    /// allowed.
    fn anycast_addresses(&mut self, n: &Node, out: &mut Vec<IpAddr>) {
        let mut words: Vec<Word> = n.args().to_vec();
        if n.block.is_some() {
            for line in self.value_lines(n, 0) {
                words.extend(line.words.iter().cloned());
            }
        } else if words.is_empty() {
            self.nargs(n, 1, usize::MAX, "one or more host addresses");
        }
        for w in words {
            match host_address(&w.text) {
                Ok(a) => out.push(a),
                Err(e) => self.err(&w.loc, format!("address: {e}")),
            }
        }
    }

    /// `on_failure withdraw` or `on_failure metric N`.
    fn on_failure(&mut self, n: &Node) -> Option<OnFailure> {
        self.no_block(n);
        if !self.nargs(n, 1, 2, "withdraw, or metric and a number") {
            return None;
        }
        let a = n.args();
        match (a[0].text.as_str(), a.get(1)) {
            ("withdraw", None) => Some(OnFailure::Withdraw),
            ("metric", Some(w)) => {
                let w = w.clone();
                self.parse_word(n, &w, |s| parse_int(s, 0, u32::MAX))
                    .map(OnFailure::Metric)
            }
            ("metric", None) => {
                let loc = n.end_loc();
                self.err(&loc, "on_failure metric: needs the metric (a number)");
                None
            }
            (other, _) => {
                let hint = keywords::closest(other, ["withdraw", "metric"])
                    .map(|k| format!(" (did you mean '{k}'?)"))
                    .unwrap_or_default();
                self.err(
                    &a[0].loc,
                    format!("on_failure: expected 'withdraw' or 'metric N', found '{other}'{hint}"),
                );
                None
            }
        }
    }

    /// A `{ name ... }` block of names (one or more per line).
    fn names(&mut self, n: &Node) -> Vec<String> {
        let mut out = Vec::new();
        for line in self.value_lines(n, 0) {
            out.extend(line.words.iter().map(|w| w.text.to_string()));
        }
        out
    }

    /// `track_virtual_server { IP PORT [TCP|UDP|SCTP] | fwmark N | group NAME }`: each as
    /// `ldirector status` names the virtual server.
    fn services(&mut self, n: &Node) -> Vec<String> {
        let mut out = Vec::new();
        for line in self.value_lines(n, 0) {
            let w = Self::words(&line);
            match service_name(&w) {
                Ok(s) => out.push(s),
                Err(e) => self.err(&line.loc, format!("track_virtual_server: {e}")),
            }
        }
        out
    }
}

/// An anycast address: a host address, written with or without its /32 (/128).
fn host_address(s: &str) -> Result<IpAddr, String> {
    let (a, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let ip = parse_ip(a)?;
    let host = if ip.is_ipv4() { "32" } else { "128" };
    match len {
        None => Ok(ip),
        Some(l) if l == host => Ok(ip),
        Some(_) => Err(format!(
            "an anycast address is one host address (/{host}), not the prefix '{s}'"
        )),
    }
}

/// A virtual server's name as `VirtualServer::describe` writes it.
fn service_name(w: &[&str]) -> Result<String, String> {
    let expected = "expected 'IP PORT [TCP|UDP|SCTP]', 'fwmark N' or 'group NAME'";
    let mut vs = VirtualServer::default();
    match w {
        ["fwmark", m] => vs.fwmark = Some(parse_int(m, 1, u32::MAX)?),
        ["group", g] => vs.group = Some(g.to_string()),
        [ip, port, rest @ ..] if rest.len() <= 1 => {
            vs.ip = Some(parse_ip(ip)?);
            vs.port = Some(parse_int(port, 0, 65535)?);
            match rest.first() {
                Some(p) => vs.protocol = parse_enum(&p.to_ascii_uppercase())?,
                // any protocol (`Anycast::tracks`)
                None => {
                    return Ok(vs
                        .describe()
                        .rsplit_once('/')
                        .map_or_else(String::new, |(a, _)| a.to_string()))
                }
            }
        }
        _ => return Err(expected.into()),
    }
    Ok(vs.describe())
}

#[cfg(test)]
mod tests {
    use crate::config::model::*;
    use crate::config::{load_str, toml_format, Format};

    const CONF: &str = "vrrp_script chk {\n script /bin/true\n}
virtual_server 192.0.2.1 80 {\n protocol TCP\n real_server 198.51.100.2 80 {\n }\n}
anycast DNS {
  address 192.0.2.53 2001:db8::53/128
  device dummy0
  method route
  metric 10
  on_failure metric 100
  hold_down 3
  drain_time 0.5
  port 53
  delay_loop 1
  retry 2
  TCP_CHECK {\n connect_timeout 1\n }
  track_script {\n chk\n }
  track_virtual_server {\n 192.0.2.1 80 TCP\n }
}\n";

    #[test]
    fn the_block_is_read_resolved_and_round_trips_through_toml() {
        let l = load_str("t.conf", CONF, Format::Keepalived, None);
        assert!(l.is_valid(), "{}", l.diags.render());
        let a = &l.config.anycast["DNS"];
        assert_eq!(
            a.address,
            vec![
                "192.0.2.53".parse::<std::net::IpAddr>().unwrap(),
                "2001:db8::53".parse().unwrap()
            ]
        );
        assert_eq!(
            (a.device.as_str(), a.method),
            ("dummy0", AnycastMethod::Route)
        );
        assert_eq!((a.metric, a.on_failure), (10, OnFailure::Metric(100)));
        assert_eq!(a.track_virtual_server, vec!["192.0.2.1:80/TCP".to_string()]);
        // the checker's timers come from the block, its target is the first address
        let e = &a.checkers[0].effective;
        assert_eq!(e.delay_loop.as_duration().as_secs(), 1);
        assert_eq!(e.retry, 2);
        assert_eq!(e.connect_ip, Some(a.address[0]));
        assert_eq!(e.connect_port, Some(53));
        let toml = toml_format::write(&l.config).unwrap();
        let t = load_str("t.toml", &toml, Format::Toml, None);
        assert!(t.is_valid(), "{}", t.diags.render());
        assert_eq!(t.config.anycast, l.config.anycast);
    }

    #[test]
    fn what_cannot_run_is_refused_where_it_is_written() {
        let bad = [
            (
                "address 192.0.2.0/24",
                "2:10: error: address: an anycast address is one host address (/32)",
            ),
            (
                "address 192.0.2.9\n on_failure metric 5",
                "3:2: error: on_failure metric 5 needs 'method route'",
            ),
            (
                "address 192.0.2.9\n method rout",
                "3:9: error: method: unknown variant 'rout'",
            ),
            (
                "address 192.0.2.9\n watch peers",
                "3:2: error: watch peers needs 'on_failure metric N'",
            ),
            (
                "address 192.0.2.9\n TCP_CHECK {\n }",
                "3:2: error: TCP_CHECK needs a port",
            ),
            (
                "address 192.0.2.9\n track_file {\n f\n }",
                "3:2: error: track_file 'f' is not defined",
            ),
            (
                "address 192.0.2.9\n metrik 4",
                "3:2: error: unknown keyword 'metrik' in anycast (did you mean 'metric'?)",
            ),
        ];
        for (body, want) in bad {
            let conf = format!("anycast A {{\n {body}\n}}\n");
            let l = load_str("t.conf", &conf, Format::Keepalived, None);
            let text = l.diags.render();
            assert!(text.contains(want), "{body}: {text}");
        }
        let dup = "anycast A {\n address 192.0.2.9\n}\nanycast B {\n address 192.0.2.9\n}\n";
        let l = load_str("t.conf", dup, Format::Keepalived, None);
        assert!(l
            .diags
            .render()
            .contains("192.0.2.9 is announced by anycast 'A' already"));
    }
}
