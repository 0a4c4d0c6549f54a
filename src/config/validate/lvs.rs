//! IPVS blocks: virtual servers (keys, groups, families), real servers, checkers.

use super::{family, V};
use crate::config::diag::Diagnostics;
use crate::config::model::*;
use rustc_hash::{FxHashMap, FxHashSet};
use std::net::IpAddr;

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

pub(super) fn lvs(cfg: &Config, v: &mut V) {
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
    let (at, threads) = crate::config::parallel::half_of_the_servers(&cfg.virtual_server);
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
    let (a, b) = crate::config::parallel::in_halves(threads, (0, front), (split, back), check_part);
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

pub(super) fn checker(cfg: &Config, v: &mut V, p: &dyn Fn() -> String, ch: &Checker) {
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
