//! keepalived.conf VRRP blocks: vrrp_script, track_file, vrrp_track_process,
//! vrrp_sync_group, vrrp_instance (keepalived's vrrp_parser.c).

use super::*;

impl Reader<'_> {
    pub(super) fn vrrp_script(&mut self, n: &Node) {
        let Some(Named { name, dup, pk, .. }) = self.named(n, "vrrp_script", |c| &c.vrrp_script)
        else {
            return;
        };
        let mut s = VrrpScript::default();
        for c in self.block(n) {
            self.at(&pk, &c);
            match c.keyword() {
                "script" => {
                    set(&mut s.script, self.script(&c));
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
                    set(&mut s.rise, self.at_least_one(&c));
                }
                "fall" => {
                    set(&mut s.fall, self.at_least_one(&c));
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
    pub(super) fn use_vmac(&mut self, c: &Node, v: &mut VrrpInstance) {
        self.no_block(c);
        let mut name = String::new();
        let a = c.args();
        let mut i = 0;
        while i < a.len() {
            let w = &a[i];
            match w.text.as_ref() {
                // ldirector sends the base interface's notification itself
                "netlink_notify_msg" => {}
                "group" => match a.get(i + 1) {
                    Some(g) => {
                        v.vmac_group = Some(g.text.to_string());
                        i += 1;
                    }
                    None => self.err(
                        &w.loc,
                        "use_vmac: 'group' needs a link group (a number, or a name in /etc/iproute2/group)",
                    ),
                },
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

    /// `use_ipvlan [[name] NAME] [ADDRESS] [bridge|private|vepa] [group G]`, in any order
    /// as keepalived reads it: `name` takes the next word whatever it is (an interface
    /// called `bridge`), a word that parses as an address (a prefix allowed) is the address.
    pub(super) fn use_ipvlan(&mut self, c: &Node, v: &mut VrrpInstance) {
        use crate::config::model::{Ipvlan, IpvlanMode};
        self.no_block(c);
        if v.use_ipvlan.is_some() {
            self.err(&c.loc, "use_ipvlan is already given for this instance");
            return;
        }
        let mut ipvlan = Ipvlan::default();
        let mut mode: Option<&str> = None;
        let a = c.args();
        let mut i = 0;
        while i < a.len() {
            let w = &a[i];
            let t: &str = w.text.as_ref();
            match t {
                "bridge" | "private" | "vepa" => match mode {
                    Some(m) => self.err(
                        &w.loc,
                        format!("use_ipvlan: the mode is already '{m}' (one of bridge, private, vepa)"),
                    ),
                    None => {
                        mode = Some(t);
                        ipvlan.mode = match t {
                            "private" => IpvlanMode::Private,
                            "vepa" => IpvlanMode::Vepa,
                            _ => IpvlanMode::Bridge,
                        };
                    }
                },
                "group" => match a.get(i + 1) {
                    Some(g) => {
                        ipvlan.group = Some(g.text.to_string());
                        i += 1;
                    }
                    None => self.err(
                        &w.loc,
                        "use_ipvlan: 'group' needs a link group (a number, or a name in /etc/iproute2/group)",
                    ),
                },
                _ => {
                    // after `name`, the next word is the name whatever it looks like
                    let named = t == "name";
                    let (w, t) = if named {
                        i += 1;
                        match a.get(i) {
                            Some(n) => (n, n.text.as_ref()),
                            None => {
                                self.err(&w.loc, "use_ipvlan: 'name' needs an interface name");
                                break;
                            }
                        }
                    } else {
                        (w, t)
                    };
                    let address = if named {
                        None
                    } else {
                        t.parse::<crate::config::addr::Prefixed>().ok()
                    };
                    if let Some(p) = address {
                        if ipvlan.address.is_some() {
                            self.err(&w.loc, "use_ipvlan: the address is already given");
                        } else {
                            ipvlan.address = Some(p);
                        }
                    } else if !ipvlan.name.is_empty() {
                        self.err(&w.loc, "use_ipvlan: the interface name is already given");
                    } else if t.is_empty() || t.len() > 15 || t.contains('/') || t.contains(char::is_whitespace) {
                        self.err(&w.loc, format!("use_ipvlan: '{t}' is neither an address nor an interface name (at most 15 bytes, no '/' or spaces)"));
                    } else {
                        ipvlan.name = t.to_string();
                    }
                }
            }
            i += 1;
        }
        v.use_ipvlan = Some(ipvlan);
    }

    /// keepalived's vrrp_track_process block.
    pub(super) fn track_process(&mut self, n: &Node) {
        let Some(Named {
            name,
            dup,
            path,
            pk,
        }) = self.named(n, "vrrp_track_process", |c| &c.vrrp_track_process)
        else {
            return;
        };
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
                    set(&mut t.fork_delay, delay(self, &c));
                }
                "terminate_delay" => {
                    set(&mut t.terminate_delay, delay(self, &c));
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

    pub(super) fn track_file(&mut self, n: &Node) {
        let Some(Named { name, dup, pk, .. }) = self.named(n, "track_file", |c| &c.track_file)
        else {
            return;
        };
        let mut t = TrackFile::default();
        for c in self.block(n) {
            self.at(&pk, &c);
            match c.keyword() {
                "file" => {
                    set(&mut t.file, self.string(&c));
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

    pub(super) fn notify(&mut self, c: &Node, notify: &mut Notify) -> bool {
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

    pub(super) fn sync_group(&mut self, n: &Node) {
        let Some(Named { name, dup, pk, .. }) =
            self.named(n, "vrrp_sync_group", |c| &c.vrrp_sync_group)
        else {
            return;
        };
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

    pub(super) fn vrrp_instance(&mut self, n: &Node) {
        let Some(Named { name, dup, pk, .. }) =
            self.named(n, "vrrp_instance", |c| &c.vrrp_instance)
        else {
            return;
        };
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
                "use_ipvlan" => self.use_ipvlan(&c, &mut v),
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
    pub(super) fn lvs_sync_daemon_interface(&mut self, c: &Node, instance: &str) {
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

    pub(super) fn unicast_peer(&mut self, l: &Node) -> Option<UnicastPeer> {
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

    pub(super) fn authentication(&mut self, n: &Node) -> Option<Authentication> {
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
}
