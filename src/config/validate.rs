//! Checks across the model that no single value can make: names that must exist, VRIDs
//! that must not collide, families that must agree, options that must go together.
//! Host-independent; [`host`] adds the checks against this machine (`check --host`).

use super::diag::Diagnostics;
use super::model::*;
use super::types::Secs;
use super::Locations;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::HashMap;
use std::net::IpAddr;

struct V<'a> {
    locs: &'a Locations,
    d: &'a mut Diagnostics,
}

impl V<'_> {
    fn error(&mut self, path: &str, msg: impl Into<String>) {
        let loc = self.locs.at(path);
        self.d.error(&loc, msg);
    }
    fn warning(&mut self, path: &str, msg: impl Into<String>) {
        let loc = self.locs.at(path);
        self.d.warning(&loc, msg);
    }
}

pub fn validate(cfg: &Config, locs: &Locations, d: &mut Diagnostics) {
    let mut v = V { locs, d };
    global(cfg, &mut v);
    vrrp(cfg, &mut v);
    track_processes(cfg, &mut v);
    lvs(cfg, &mut v);
}

fn family(a: &IpAddr) -> &'static str {
    if a.is_ipv4() {
        "IPv4"
    } else {
        "IPv6"
    }
}

fn global(cfg: &Config, v: &mut V) {
    let g = &cfg.global_defs;
    // keepalived reads use_vmac in virtual_ipaddress only
    for a in cfg.static_ipaddress.iter().filter(|a| a.use_vmac) {
        v.error(
            "static_ipaddress",
            format!("{}: 'use_vmac' is for a vrrp_instance's addresses (a static address has no VRRP MAC)", a.address),
        );
    }
    if cfg.vrrp_instance.is_empty() && cfg.virtual_server.is_empty() {
        v.warning(
            "",
            "the configuration defines no vrrp_instance and no virtual_server: there is nothing to run",
        );
    }
    if let Some(s) = &g.lvs_sync_daemon {
        if !cfg.vrrp_instance.contains_key(&s.vrrp_instance) {
            v.error(
                "global_defs.lvs_sync_daemon",
                format!(
                    "lvs_sync_daemon follows vrrp_instance '{}', which is not defined",
                    s.vrrp_instance
                ),
            );
        }
    }
    let alerts = g.smtp_alert == Some(true)
        || g.smtp_alert_vrrp == Some(true)
        || g.smtp_alert_checker == Some(true)
        || cfg
            .vrrp_instance
            .values()
            .any(|i| i.smtp_alert == Some(true))
        || cfg
            .virtual_server
            .iter()
            .any(|s| s.smtp_alert == Some(true));
    if alerts && (g.smtp_server.is_none() || g.notification_email.is_empty()) {
        v.warning(
            "global_defs",
            "smtp_alert is on but global_defs lacks smtp_server or notification_email: no e-mail can be sent",
        );
    }
}

fn vrrp(cfg: &Config, v: &mut V) {
    // (interface, family, vrid) -> instance name
    let mut vrids: HashMap<(String, bool, u8), String> = HashMap::new();
    let mut member_of: HashMap<&str, &str> = HashMap::new();
    for (gname, g) in &cfg.vrrp_sync_group {
        let p = format!("vrrp_sync_group.{gname}");
        if g.group.is_empty() {
            v.error(
                &format!("{p}.group"),
                format!("vrrp_sync_group '{gname}' has no members"),
            );
        }
        if g.group.len() == 1 {
            v.warning(
                &format!("{p}.group"),
                format!("vrrp_sync_group '{gname}' has only one member: it has no effect"),
            );
        }
        for m in &g.group {
            if !cfg.vrrp_instance.contains_key(m) {
                v.error(
                    &format!("{p}.group"),
                    format!(
                        "vrrp_sync_group '{gname}' names vrrp_instance '{m}', which is not defined"
                    ),
                );
            }
            if let Some(other) = member_of.insert(m, gname) {
                v.error(
                    &format!("{p}.group"),
                    format!("vrrp_instance '{m}' is in two sync groups, '{other}' and '{gname}'"),
                );
            }
        }
        let members: Vec<(&String, &VrrpInstance)> = g
            .group
            .iter()
            .filter_map(|m| cfg.vrrp_instance.get_key_value(m))
            .collect();
        let np: Vec<&str> = members
            .iter()
            .filter(|(_, i)| i.nopreempt)
            .map(|(n, _)| n.as_str())
            .collect();
        if !np.is_empty() && np.len() < members.len() {
            v.warning(
                &format!("{p}.group"),
                format!(
                    "vrrp_sync_group '{gname}': only {} set nopreempt; a member that preempts takes the whole group along",
                    np.join(", ")
                ),
            );
        }
        tracks(cfg, v, &p, &g.track_script, &g.track_file);
        processes(cfg, v, &p, &g.track_process);
        if g.notify.deleted.is_some() {
            v.error(
                &format!("{p}.notify_deleted"),
                "notify_deleted applies to vrrp_instance only",
            );
        }
    }
    for (name, i) in &cfg.vrrp_instance {
        let p = format!("vrrp_instance.{name}");
        let e = &i.effective;
        // unset (0); a value that was written but refused is already reported
        if i.virtual_router_id.get() == 0
            && v.locs
                .get_exact(&format!("{p}.virtual_router_id"))
                .is_none()
        {
            v.error(
                &p,
                format!("vrrp_instance '{name}' has no virtual_router_id (expected 1..=255)"),
            );
        }
        if e.interface.is_empty() {
            v.error(
                &p,
                format!("vrrp_instance '{name}' has no 'interface' (and global_defs has no default_interface)"),
            );
        }
        // address families: the advertised addresses are one family (an advert carries
        // one); the excluded ones are not advertised and may mix, as in keepalived
        {
            let (key, list) = ("virtual_ipaddress", &i.virtual_ipaddress);
            if let Some(first) = list.first() {
                if let Some(bad) = list
                    .iter()
                    .find(|x| x.address.is_ipv4() != first.address.is_ipv4())
                {
                    v.error(
                        &format!("{p}.{key}"),
                        format!(
                            "{key} mixes IPv4 and IPv6 ({} and {}): use one family per block",
                            first.address, bad.address
                        ),
                    );
                }
            }
        }
        for (key, a) in [
            ("unicast_src_ip", i.unicast_src_ip),
            ("mcast_src_ip", i.mcast_src_ip),
            ("mcast_dst_ip", i.mcast_dst_ip),
        ] {
            if let Some(a) = a {
                if a.is_ipv6() != e.ipv6 {
                    v.error(
                        &format!("{p}.{key}"),
                        format!(
                            "{key} {a} is {} but the instance is {} (from its first address)",
                            family(&a),
                            if e.ipv6 { "IPv6" } else { "IPv4" }
                        ),
                    );
                }
            }
        }
        if let Some(m) = i.mcast_dst_ip {
            if !m.is_multicast() {
                v.error(
                    &format!("{p}.mcast_dst_ip"),
                    format!("mcast_dst_ip {m} is not a multicast address"),
                );
            }
        }
        for peer in &i.unicast_peer {
            if peer.address.is_ipv6() != e.ipv6 {
                v.error(
                    &format!("{p}.unicast_peer"),
                    format!(
                        "unicast_peer {} is {} but the instance is {}",
                        peer.address,
                        family(&peer.address),
                        if e.ipv6 { "IPv6" } else { "IPv4" }
                    ),
                );
            }
            if let (Some(lo), Some(hi)) = (peer.min_ttl, peer.max_ttl) {
                if lo > hi {
                    v.error(
                        &format!("{p}.unicast_peer"),
                        format!(
                            "unicast_peer {}: min_ttl {lo} is above max_ttl {hi}",
                            peer.address
                        ),
                    );
                }
            }
        }
        if i.unicast_ttl.is_some() && i.unicast_peer.is_empty() {
            v.warning(
                &format!("{p}.unicast_ttl"),
                "unicast_ttl has no effect without unicast_peer",
            );
        }
        // version-dependent ranges
        let adv = i.advert_int;
        match e.version {
            VrrpVersion::V2 => {
                if e.ipv6 {
                    v.error(&p, format!("vrrp_instance '{name}' is IPv6, which VRRPv2 does not carry: set 'version 3'"));
                }
                if adv < Secs::from_secs(1) || adv > Secs::from_secs(255) {
                    v.error(&format!("{p}.advert_int"), format!("advert_int {adv} is outside VRRPv2's 1..=255 seconds (VRRPv3 allows 0.01 s)"));
                } else if adv != e.advert_int {
                    v.warning(
                        &format!("{p}.advert_int"),
                        format!(
                            "VRRPv2 advertises whole seconds: advert_int {adv} is sent as {}",
                            e.advert_int
                        ),
                    );
                }
            }
            VrrpVersion::V3 => {
                if adv < Secs::from_millis(10) || adv > Secs::from_millis(40_950) {
                    v.error(
                        &format!("{p}.advert_int"),
                        format!("advert_int {adv} is outside VRRPv3's 0.01..=40.95 seconds"),
                    );
                } else if adv != e.advert_int {
                    v.warning(
                        &format!("{p}.advert_int"),
                        format!(
                            "VRRPv3 advertises centiseconds: advert_int {adv} is sent as {}",
                            e.advert_int
                        ),
                    );
                }
                if i.authentication.is_some() {
                    v.error(
                        &format!("{p}.authentication"),
                        "VRRPv3 has no authentication (RFC 5798): remove it or use version 2",
                    );
                }
            }
        }
        if let Some(a) = &i.authentication {
            if a.auth_pass.len() > 8 {
                v.warning(
                    &format!("{p}.authentication"),
                    format!(
                        "auth_pass is longer than 8 bytes: only '{}' is sent, as keepalived does",
                        String::from_utf8_lossy(&a.auth_pass.as_bytes()[..8])
                    ),
                );
            }
        }
        if i.preempt_delay > Secs::from_secs(1000) {
            v.error(
                &format!("{p}.preempt_delay"),
                "preempt_delay must be at most 1000 seconds",
            );
        }
        if i.nopreempt && i.state == InitialState::Master {
            v.warning(&format!("{p}.nopreempt"), "nopreempt needs 'state BACKUP': this instance starts as BACKUP, as keepalived does");
        }
        if i.priority.get() == 255 && i.nopreempt {
            v.warning(
                &format!("{p}.nopreempt"),
                "priority 255 (address owner) always preempts: nopreempt has no effect",
            );
        }
        if e.strict {
            if !i.unicast_peer.is_empty() {
                v.error(
                    &format!("{p}.unicast_peer"),
                    "strict mode (vrrp_strict / strict_mode) does not allow unicast_peer",
                );
            }
            if i.authentication.is_some() {
                v.error(
                    &format!("{p}.authentication"),
                    "strict mode (vrrp_strict / strict_mode) does not allow authentication",
                );
            }
            if i.accept == Some(true) {
                v.warning(
                    &format!("{p}.accept"),
                    "'accept' overrides strict mode's no_accept for this instance",
                );
            }
        }
        if i.virtual_ipaddress.is_empty() {
            v.warning(
                &p,
                format!("vrrp_instance '{name}' has no virtual_ipaddress"),
            );
        }
        // VRID collisions on one interface and family
        let key = (e.interface.clone(), e.ipv6, i.virtual_router_id.get());
        if let Some(other) = vrids.get(&key) {
            v.error(
                &format!("{p}.virtual_router_id"),
                format!(
                    "virtual_router_id {} is already used by vrrp_instance '{other}' on interface {} ({})",
                    key.2,
                    if key.0.is_empty() { "(none)" } else { &key.0 },
                    if key.1 { "IPv6" } else { "IPv4" }
                ),
            );
        } else {
            vrids.insert(key, name.clone());
        }
        tracks(cfg, v, &p, &i.track_script, &i.track_file);
        processes(cfg, v, &p, &i.track_process);
    }
    for (name, s) in &cfg.vrrp_script {
        let p = format!("vrrp_script.{name}");
        if s.script.argv.is_empty() {
            v.error(&p, format!("vrrp_script '{name}' has no script"));
        }
        if s.interval.is_zero() {
            v.error(&format!("{p}.interval"), "interval must be more than 0");
        }
        if let Some(t) = s.timeout {
            if t.is_zero() {
                v.error(&format!("{p}.timeout"), "timeout must be more than 0");
            }
        }
        if s.weight_reverse && s.weight.get() == 0 {
            v.warning(
                &format!("{p}.weight"),
                "'reverse' with weight 0 has no effect",
            );
        }
    }
}

fn processes(cfg: &Config, v: &mut V, p: &str, names: &[Track]) {
    for t in names {
        if !cfg.vrrp_track_process.contains_key(&t.name) {
            v.error(
                &format!("{p}.track_process"),
                format!(
                    "track_process '{}' is not defined (expected a vrrp_track_process of that name)",
                    t.name
                ),
            );
        }
    }
}

/// The vrrp_track_process blocks: something to match, quorum within quorum_max, and a
/// process name that /proc/PID/comm can hold.
fn track_processes(cfg: &Config, v: &mut V) {
    for (name, t) in &cfg.vrrp_track_process {
        let p = format!("vrrp_track_process.{name}");
        if t.process.is_empty() {
            v.error(&p, "no 'process' to track (keepalived drops the block)");
            continue;
        }
        if let Some(max) = t.quorum_max {
            if max < t.quorum {
                v.error(
                    &format!("{p}.quorum_max"),
                    format!("quorum_max {max} is less than quorum {}: no count of processes could succeed", t.quorum),
                );
            }
        }
        let by_name = !t.full_command && t.params.is_empty() && t.param_match.is_none();
        // the kernel keeps 15 bytes of a process name
        if by_name && t.process.len() > 15 {
            v.error(
                &format!("{p}.process"),
                format!(
                    "'{}' is longer than a process name can be (15 bytes in /proc/PID/comm): it would never match (did you mean 'full_command', to match the command line?)",
                    t.process
                ),
            );
        }
    }
}

fn tracks(cfg: &Config, v: &mut V, p: &str, scripts: &[Track], files: &[Track]) {
    for t in scripts {
        if !cfg.vrrp_script.contains_key(&t.name) {
            v.error(
                &format!("{p}.track_script"),
                format!(
                    "track_script '{}' is not defined (expected a vrrp_script of that name)",
                    t.name
                ),
            );
        }
    }
    for t in files {
        if !cfg.track_file.contains_key(&t.name) {
            v.error(
                &format!("{p}.track_file"),
                format!(
                    "track_file '{}' is not defined (expected a track_file block of that name)",
                    t.name
                ),
            );
        }
    }
}

/// The identity of a virtual service, for duplicate detection.
#[derive(PartialEq, Eq, Hash)]
enum ServiceKey<'a> {
    Group(&'a str, Protocol),
    Fwmark(u32, Option<IpFamily>),
    Addr(Option<IpAddr>, Option<u16>, Protocol),
}

fn service_key(vs: &VirtualServer) -> ServiceKey<'_> {
    match (&vs.group, vs.fwmark) {
        (Some(g), _) => ServiceKey::Group(g, vs.protocol),
        (None, Some(m)) => ServiceKey::Fwmark(m, vs.ip_family),
        _ => ServiceKey::Addr(vs.ip, vs.port, vs.protocol),
    }
}

fn lvs(cfg: &Config, v: &mut V) {
    for (name, t) in &cfg.track_file {
        if t.file.is_empty() {
            v.error(
                &format!("track_file.{name}"),
                format!("track_file '{name}' has no file"),
            );
        }
    }
    let mut seen: FxHashMap<ServiceKey, usize> = FxHashMap::default();
    for (name, entries) in &cfg.virtual_server_group {
        let p = format!("virtual_server_group.{name}");
        if entries.is_empty() {
            v.warning(&p, format!("virtual_server_group '{name}' is empty"));
        }
    }
    for (idx, vs) in cfg.virtual_server.iter().enumerate() {
        let p = format!("virtual_server[{idx}]");
        let what = || vs.describe();
        if !well_named(vs) {
            v.error(&p, "a virtual_server is named by 'ip' and 'port', or 'fwmark', or 'group' (exactly one)");
            continue;
        }
        // "Virtual server %s has no real servers - ignoring"
        if vs.real_server.is_empty() {
            v.warning(
                &p,
                format!("virtual_server {} has no real_server: it is not put in IPVS, as keepalived ignores it", what()),
            );
        }
        if let Some(g) = &vs.group {
            if !cfg.virtual_server_group.contains_key(g) {
                v.error(&p, format!("virtual_server_group '{g}' is not defined"));
            }
        }
        let vs_v6 = is_ipv6(vs);
        if let (Some(ip), Some(f)) = (vs.ip, vs.ip_family) {
            if ip.is_ipv6() != (f == IpFamily::Inet6) {
                v.error(
                    &format!("{p}.ip_family"),
                    format!("ip_family {f:?} contradicts the address {ip}").to_lowercase(),
                );
            }
        }
        if let Some(first) = seen.insert(service_key(vs), idx) {
            let at =
                v.d.describe(&v.locs.at(&format!("virtual_server[{first}]")));
            v.error(
                &p,
                format!("virtual_server {} is defined twice (first at {at})", what()),
            );
        }
        for f in &vs.sched_flags {
            let ok = match f {
                SchedFlag::ShFallback | SchedFlag::ShPort => vs.lvs_sched == Scheduler::Sh,
                SchedFlag::MhFallback | SchedFlag::MhPort => vs.lvs_sched == Scheduler::Mh,
                _ => true,
            };
            if !ok {
                let name = serde_json::to_string(f).unwrap_or_default();
                v.error(
                    &format!("{p}.{}", name.trim_matches('"')),
                    format!(
                        "{} applies only to the {} scheduler, not {}",
                        name.trim_matches('"'),
                        &name.trim_matches('"')[..2],
                        vs.lvs_sched.name()
                    ),
                );
            }
        }
        if vs.persistence_granularity.is_some() && vs.persistence_timeout.is_none() {
            v.warning(
                &format!("{p}.persistence_granularity"),
                "persistence_granularity has no effect without persistence_timeout",
            );
        }
        if let (Some(g), Some(six)) = (&vs.persistence_granularity, vs_v6) {
            if six == g.contains('.') {
                v.error(
                    &format!("{p}.persistence_granularity"),
                    "persistence_granularity is a netmask for IPv4 and a prefix length for IPv6",
                );
            }
        }
        if let Some(s) = &vs.sorry_server {
            if let Some(six) = vs_v6 {
                if s.ip.is_ipv6() != six
                    && !matches!(s.lvs_method.unwrap_or(vs.lvs_method), LvsMethod::Tun { .. })
                {
                    v.error(
                        &format!("{p}.sorry_server"),
                        format!(
                            "sorry_server {} is not in the virtual server's address family",
                            s.ip
                        ),
                    );
                }
            }
        }
        if vs.quorum_up.is_some() || vs.quorum_down.is_some() || vs.quorum > 1 {
            let total: u64 = vs
                .real_server
                .iter()
                .map(|r| u64::from(r.effective.weight.get()))
                .sum();
            if u64::from(vs.quorum) > total && !vs.real_server.is_empty() {
                v.warning(&format!("{p}.quorum"), format!("quorum {} is more than the total weight {total} of the real servers: the quorum can never be met", vs.quorum));
            }
        }
    }
    // the real servers and their checkers (the bulk of a large configuration): two halves
    // on two threads
    let (at, threads) = super::parallel::half_of_the_servers(&cfg.virtual_server);
    let (front, back) = cfg.virtual_server.split_at(at);
    let split = front.len();
    let check_part = |(base, part): (usize, &[VirtualServer])| {
        let mut d = Diagnostics::default();
        let mut pv = V {
            locs: v.locs,
            d: &mut d,
        };
        for (i, vs) in part.iter().enumerate() {
            real_servers(cfg, &mut pv, base + i, vs);
        }
        d
    };
    let (a, b) = super::parallel::in_halves(threads, (0, front), (split, back), check_part);
    v.d.absorb(a);
    v.d.absorb(b);
}

/// A virtual server's family, when its address or ip_family says (IPv6: true).
fn is_ipv6(vs: &VirtualServer) -> Option<bool> {
    vs.ip
        .map(|a| a.is_ipv6())
        .or(vs.ip_family.map(|f| f == IpFamily::Inet6))
}

/// A virtual server's own checks passed the shape check (one of ip+port, fwmark, group).
fn well_named(vs: &VirtualServer) -> bool {
    let keys = usize::from(vs.ip.is_some() || vs.port.is_some())
        + usize::from(vs.fwmark.is_some())
        + usize::from(vs.group.is_some());
    keys == 1 && vs.ip.is_some() == vs.port.is_some()
}

fn real_servers(cfg: &Config, v: &mut V, idx: usize, vs: &VirtualServer) {
    if !well_named(vs) {
        return;
    }
    let p = format!("virtual_server[{idx}]");
    let what = || vs.describe();
    let vs_v6 = is_ipv6(vs);
    let mut rs_seen: FxHashSet<(IpAddr, Option<u16>)> =
        FxHashSet::with_capacity_and_hasher(vs.real_server.len(), Default::default());
    let mut fam = vs_v6;
    for (ri, rs) in vs.real_server.iter().enumerate() {
        let rp = || format!("{p}.real_server[{ri}]");
        if rs.ip.is_unspecified() {
            v.error(&rp(), "real_server needs an address ('ip')");
        }
        if !rs_seen.insert((rs.ip, rs.port)) {
            v.error(
                &rp(),
                format!("real_server {} appears twice in {}", rs.ip, what()),
            );
        }
        if vs.fwmark.is_none() && vs.group.is_none() && rs.port.is_none() {
            v.error(&rp(), format!("real_server {} needs a port", rs.ip));
        }
        let tun = matches!(rs.effective.lvs_method, LvsMethod::Tun { .. });
        match fam {
            Some(six) if six != rs.ip.is_ipv6() && !tun => v.error(
                &rp(),
                format!(
                    "real_server {} is {} but {} is not (only TUN forwards across families)",
                    rs.ip,
                    family(&rs.ip),
                    what()
                ),
            ),
            None => fam = Some(rs.ip.is_ipv6()),
            _ => {}
        }
        if let (Some(u), Some(l)) = (rs.uthreshold, rs.lthreshold) {
            if l > u {
                v.error(
                    &format!("{}.lthreshold", rp()),
                    format!("lthreshold {l} is above uthreshold {u}"),
                );
            }
        }
        for (ci, ch) in rs.checkers.iter().enumerate() {
            checker(cfg, v, &|| format!("{}.check[{ci}]", rp()), ch);
        }
    }
}

fn checker(cfg: &Config, v: &mut V, p: &dyn Fn() -> String, ch: &Checker) {
    // the path is formatted only for a message
    let at = |k: &str| {
        if k.is_empty() {
            p()
        } else {
            format!("{}.{k}", p())
        }
    };
    use CheckKind::*;
    let k = ch.kind;
    let name = k.keyword();
    // options that belong to other checker types
    let http = &[HttpGet, SslGet][..];
    let fields: &[(&str, bool, &[CheckKind])] = &[
        ("url", !ch.url.is_empty(), http),
        ("virtualhost", ch.virtualhost.is_some(), http),
        ("http_protocol", ch.http_protocol.is_some(), http),
        ("enable_sni", ch.enable_sni.is_some(), &[SslGet]),
        ("sni_name", ch.sni_name.is_some(), &[SslGet]),
        ("fast_recovery", ch.fast_recovery.is_some(), http),
        ("tls_compliant", ch.tls_compliant.is_some(), http),
        ("ssl", ch.ssl.is_some(), &[SslGet]),
        ("helo_name", ch.helo_name.is_some(), &[Smtp]),
        ("host", !ch.host.is_empty(), &[Smtp]),
        ("misc_path", ch.misc_path.is_some(), &[Misc]),
        ("misc_timeout", ch.misc_timeout.is_some(), &[Misc]),
        ("misc_dynamic", ch.misc_dynamic.is_some(), &[Misc]),
        ("user", ch.user.is_some(), &[Misc]),
        ("dns_type", ch.dns_type.is_some(), &[Dns]),
        ("dns_name", ch.dns_name.is_some(), &[Dns]),
        ("payload", ch.payload.is_some(), &[Udp]),
        ("require_reply", ch.require_reply.is_some(), &[Udp]),
        ("min_reply_length", ch.min_reply_length.is_some(), &[Udp]),
        ("max_reply_length", ch.max_reply_length.is_some(), &[Udp]),
        ("track_file", ch.track_file.is_some(), &[File]),
        ("weight", ch.weight.is_some(), &[File]),
    ];
    for (f, set, kinds) in fields {
        if *set && !kinds.contains(&k) {
            v.error(&at(f), format!("'{f}' does not apply to {name}"));
        }
    }
    let conn_set = ch.connect_ip.is_some()
        || ch.connect_port.is_some()
        || ch.bindto.is_some()
        || ch.bind_port.is_some()
        || ch.bind_if.is_some()
        || ch.fwmark.is_some()
        || ch.connect_timeout.is_some();
    if conn_set && !k.connects() {
        v.error(&at(""), format!("connection options (connect_ip, connect_port, bindto, bind_port, bind_if, fwmark, connect_timeout) do not apply to {name}"));
    }
    if k == File
        && (ch.delay_loop.is_some()
            || ch.retry.is_some()
            || ch.delay_before_retry.is_some()
            || ch.warmup.is_some()
            || ch.alpha.is_some())
    {
        v.error(&at(""), "FILE_CHECK takes only track_file and weight");
    }
    if let (Some(a), Some(b)) = (ch.connect_ip, ch.bindto) {
        if a.is_ipv4() != b.is_ipv4() {
            v.error(
                &at("bindto"),
                format!("bindto {b} and connect_ip {a} are of different families"),
            );
        }
    }
    match k {
        HttpGet | SslGet if ch.url.is_empty() => v.error(
            &at(""),
            format!("{name} needs at least one url {{ path ... }}"),
        ),
        Misc if ch.misc_path.is_none() => v.error(&at(""), "MISC_CHECK needs misc_path"),
        File => match &ch.track_file {
            None => v.error(&at(""), "FILE_CHECK needs track_file"),
            Some(t) if !cfg.track_file.contains_key(t) => v.error(
                &at("track_file"),
                format!(
                    "track_file '{t}' is not defined (expected a track_file block of that name)"
                ),
            ),
            _ => {}
        },
        _ => {}
    }
    if let Some(s) = &ch.ssl {
        if !cfg.ssl.contains_key(s) {
            v.error(&at("ssl"), format!("SSL block '{s}' is not defined"));
        }
    }
    for (key, val, wild) in [
        ("payload", &ch.payload, false),
        ("require_reply", &ch.require_reply, true),
    ] {
        if let Some(h) = val {
            let ok = h.len() % 2 == 0
                && h.bytes()
                    .all(|b| b.is_ascii_hexdigit() || (wild && b == b'?'))
                && (wild || !h.is_empty());
            if !ok {
                v.error(
                    &at(key),
                    format!(
                        "{key} '{h}': expected pairs of hexadecimal digits{}",
                        if wild { " ('?' for any)" } else { "" }
                    ),
                );
            }
        }
    }
    if let (Some(lo), Some(hi)) = (ch.min_reply_length, ch.max_reply_length) {
        if lo > hi {
            v.error(
                &at(""),
                format!("min_reply_length {lo} is above max_reply_length {hi}"),
            );
        }
    }
    if ch.effective.delay_loop.is_zero() {
        v.error(&at(""), "delay_loop must be more than 0");
    }
    if k.connects() && ch.effective.connect_timeout.is_zero() {
        v.error(&at(""), "connect_timeout must be more than 0");
    }
}

/// Checks against this machine: interfaces exist, scripts exist and are executable, and
/// with enable_script_security, scripts are safe to run as root.
pub fn host(cfg: &Config, locs: &Locations, d: &mut Diagnostics) {
    let mut v = V { locs, d };
    // by index, not /sys/class/net: sysfs shows the namespace it was mounted in, which is
    // not ours under net_namespace
    let have_if = |name: &str| nix::net::if_::if_nametoindex(name).is_ok();
    for (name, i) in &cfg.vrrp_instance {
        let p = format!("vrrp_instance.{name}");
        let e = &i.effective;
        if !e.interface.is_empty() && !have_if(&e.interface) {
            v.error(
                &format!("{p}.interface"),
                format!("interface '{}' does not exist on this host", e.interface),
            );
        }
        for t in &i.track_interface {
            if !have_if(&t.name) {
                v.warning(&format!("{p}.track_interface"), format!("tracked interface '{}' does not exist on this host (the instance will be in FAULT)", t.name));
            }
        }
        for vip in &i.virtual_ipaddress {
            if let Some(dev) = &vip.dev {
                if !have_if(dev) {
                    v.error(
                        &format!("{p}.virtual_ipaddress"),
                        format!(
                            "interface '{dev}' of {} does not exist on this host",
                            vip.address
                        ),
                    );
                }
            }
        }
    }
    // notify FIFOs: one that cannot be made or opened would fail the start late
    let g = &cfg.global_defs;
    for (key, fifo) in [
        ("notify_fifo", &g.notify_fifo),
        ("vrrp_notify_fifo", &g.vrrp_notify_fifo),
        ("lvs_notify_fifo", &g.lvs_notify_fifo),
    ] {
        if let Some(msg) = fifo.as_ref().and_then(|f| fifo_problem(&f.path)) {
            v.error(&format!("global_defs.{key}"), format!("{key}: {msg}"));
        }
    }
    let secure = cfg.global_defs.enable_script_security;
    let mut scripts: Vec<(String, &super::types::Script)> = Vec::new();
    for (name, s) in &cfg.vrrp_script {
        scripts.push((format!("vrrp_script.{name}.script"), &s.script));
    }
    for (name, i) in &cfg.vrrp_instance {
        for s in notify_scripts(&i.notify) {
            scripts.push((format!("vrrp_instance.{name}"), s));
        }
    }
    for (name, g) in &cfg.vrrp_sync_group {
        for s in notify_scripts(&g.notify) {
            scripts.push((format!("vrrp_sync_group.{name}"), s));
        }
    }
    for (idx, vs) in cfg.virtual_server.iter().enumerate() {
        let p = format!("virtual_server[{idx}]");
        for s in vs.quorum_up.iter().chain(vs.quorum_down.iter()) {
            scripts.push((p.clone(), s));
        }
        for (ri, rs) in vs.real_server.iter().enumerate() {
            let rp = format!("{p}.real_server[{ri}]");
            for s in rs.notify_up.iter().chain(rs.notify_down.iter()) {
                scripts.push((rp.clone(), s));
            }
            for (ci, ch) in rs.checkers.iter().enumerate() {
                if let Some(s) = &ch.misc_path {
                    scripts.push((format!("{rp}.check[{ci}].misc_path"), s));
                }
            }
        }
    }
    for (path, s) in scripts {
        let Some(prog) = s.argv.first() else { continue };
        if let Some(msg) = script_problem(prog, secure) {
            v.error(&path, msg);
        }
    }
}

/// Why a notify FIFO cannot be used, if it cannot: something else in its place, or no
/// folder to make it in.
fn fifo_problem(path: &str) -> Option<String> {
    use std::os::unix::fs::FileTypeExt;
    let p = std::path::Path::new(path);
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.file_type().is_fifo() => None,
        Ok(_) => Some(format!("'{path}' exists and is not a FIFO")),
        Err(_) => {
            let dir = match p.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => std::path::Path::new("."),
            };
            if dir.is_dir() {
                None
            } else {
                Some(format!(
                    "'{path}' cannot be made: its folder '{}' does not exist",
                    dir.display()
                ))
            }
        }
    }
}

fn notify_scripts(n: &Notify) -> impl Iterator<Item = &super::types::Script> {
    [&n.all, &n.master, &n.backup, &n.fault, &n.stop, &n.deleted]
        .into_iter()
        .flatten()
}

/// Why a script cannot (or must not) be run, if it cannot.
pub fn script_problem(prog: &str, secure: bool) -> Option<String> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let path = if prog.contains('/') {
        std::path::PathBuf::from(prog)
    } else {
        let found = std::env::var_os("PATH").and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(prog))
                .find(|c| c.is_file())
        });
        match found {
            Some(f) => f,
            None => return Some(format!("script '{prog}' is not found in PATH")),
        }
    };
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) => return Some(format!("script '{}': {e}", path.display())),
    };
    if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
        return Some(format!(
            "script '{}' is not an executable file",
            path.display()
        ));
    }
    if secure {
        // Every directory up to / and the file itself must be unwritable by non-root.
        let mut p = Some(path.as_path());
        while let Some(cur) = p {
            if let Ok(m) = std::fs::metadata(cur) {
                if m.uid() != 0 || m.mode() & 0o022 != 0 {
                    return Some(format!(
                        "enable_script_security: '{}' is writable by a user other than root, so '{}' is unsafe to run",
                        cur.display(),
                        path.display()
                    ));
                }
            }
            p = cur.parent();
        }
    }
    None
}
