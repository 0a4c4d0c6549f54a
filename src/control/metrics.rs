//! `/metrics` in Prometheus' text exposition format (prometheus-client). Health-check
//! counters and latency histograms live for the daemon's lifetime (the checks thread
//! updates them); everything else — VRRP, real servers, the kernel's IPVS counters,
//! reloads — is read from the same status snapshot `ldirector status` prints, at each
//! scrape.

use super::status::{Status, Traffic};
use crate::check::stats::CheckStats;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

type Labels = Vec<(&'static str, String)>;

fn gauge(reg: &mut Registry, name: &str, help: &str) -> Family<Labels, Gauge<f64, AtomicU64>> {
    let f = Family::<Labels, Gauge<f64, AtomicU64>>::default();
    reg.register(name, help, f.clone());
    f
}

fn counter(reg: &mut Registry, name: &str, help: &str) -> Family<Labels, Counter> {
    let f = Family::<Labels, Counter>::default();
    reg.register(name, help, f.clone());
    f
}

/// The kernel's counters of a service or destination, under `labels`.
struct TrafficFamilies {
    connections: Family<Labels, Counter>,
    in_packets: Family<Labels, Counter>,
    out_packets: Family<Labels, Counter>,
    in_bytes: Family<Labels, Counter>,
    out_bytes: Family<Labels, Counter>,
}

impl TrafficFamilies {
    fn new(reg: &mut Registry, prefix: &str, what: &str) -> TrafficFamilies {
        let c = |reg: &mut Registry, n: &str, h: &str| {
            counter(
                reg,
                &format!("{prefix}_{n}"),
                &format!("{h} ({what}, IPVS)"),
            )
        };
        TrafficFamilies {
            connections: c(reg, "connections", "Connections scheduled"),
            in_packets: c(reg, "in_packets", "Packets in"),
            out_packets: c(reg, "out_packets", "Packets out"),
            in_bytes: c(reg, "in_bytes", "Bytes in"),
            out_bytes: c(reg, "out_bytes", "Bytes out"),
        }
    }

    fn set(&self, l: &Labels, t: &Traffic) {
        self.connections.get_or_create(l).inc_by(t.connections);
        self.in_packets.get_or_create(l).inc_by(t.in_packets);
        self.out_packets.get_or_create(l).inc_by(t.out_packets);
        self.in_bytes.get_or_create(l).inc_by(t.in_bytes);
        self.out_bytes.get_or_create(l).inc_by(t.out_bytes);
    }
}

/// The whole exposition for one scrape.
pub(crate) fn render(st: &Status, checks: &CheckStats) -> String {
    let mut reg = Registry::with_prefix("ldirector");
    let info = gauge(&mut reg, "build_info", "ldirector's version (always 1)");
    info.get_or_create(&vec![("version", st.version.clone())])
        .set(1.0);
    gauge(
        &mut reg,
        "uptime_seconds",
        "Seconds since the daemon started",
    )
    .get_or_create(&vec![])
    .set(st.uptime_s);
    let reloads = counter(&mut reg, "reloads", "Reloads, by result");
    reloads
        .get_or_create(&vec![("result", "applied".into())])
        .inc_by(st.reloads);
    reloads
        .get_or_create(&vec![("result", "refused".into())])
        .inc_by(st.reloads_refused);
    let upgrades = Counter::<u64>::default();
    upgrades.inc_by(st.upgrades);
    reg.register(
        "upgrades",
        "Hand-overs to a new binary in this process's life (ldirector upgrade)",
        upgrades,
    );
    let alerts = counter(&mut reg, "smtp_alerts", "smtp_alert e-mails, by result");
    alerts
        .get_or_create(&vec![("result", "sent".into())])
        .inc_by(st.alerts_sent);
    alerts
        .get_or_create(&vec![("result", "failed".into())])
        .inc_by(st.alerts_failed);

    // VRRP
    let state = gauge(
        &mut reg,
        "vrrp_state",
        "1 for the state each VRRP instance is in (INIT, BACKUP, MASTER, FAULT)",
    );
    let prio = gauge(&mut reg, "vrrp_priority", "Effective priority");
    let trans = counter(&mut reg, "vrrp_transitions", "State transitions");
    let master = counter(&mut reg, "vrrp_became_master", "Transitions to MASTER");
    let sent = counter(&mut reg, "vrrp_adverts_sent", "Adverts sent");
    let recv = counter(&mut reg, "vrrp_adverts_received", "Valid adverts received");
    let drops = counter(
        &mut reg,
        "vrrp_packets_dropped",
        "Packets dropped, by reason",
    );
    let other_vrid = counter(
        &mut reg,
        "vrrp_other_vrid",
        "Adverts of other virtual routers on the instance's link (not errors)",
    );
    let mismatch = counter(
        &mut reg,
        "vrrp_address_list_mismatch",
        "Adverts whose address list differs from the instance's (dropped in strict mode)",
    );
    let zero_sent = counter(
        &mut reg,
        "vrrp_priority_zero_sent",
        "Priority-0 adverts sent",
    );
    let zero_received = counter(
        &mut reg,
        "vrrp_priority_zero_received",
        "Priority-0 adverts received",
    );
    let announced = counter(
        &mut reg,
        "vrrp_announcements",
        "Rounds of gratuitous ARP / unsolicited NA",
    );
    for i in &st.vrrp {
        let l = vec![("vrrp_instance", i.name.clone())];
        for s in ["INIT", "BACKUP", "MASTER", "FAULT"] {
            let mut ls = l.clone();
            ls.push(("state", s.to_string()));
            state
                .get_or_create(&ls)
                .set(if i.state == s { 1.0 } else { 0.0 });
        }
        prio.get_or_create(&l).set(f64::from(i.priority));
        trans.get_or_create(&l).inc_by(i.transitions);
        master.get_or_create(&l).inc_by(i.became_master);
        sent.get_or_create(&l).inc_by(i.adverts_sent);
        recv.get_or_create(&l).inc_by(i.adverts_received);
        other_vrid.get_or_create(&l).inc_by(i.other_vrid);
        mismatch.get_or_create(&l).inc_by(i.address_list_mismatch);
        zero_sent.get_or_create(&l).inc_by(i.priority_zero_sent);
        zero_received
            .get_or_create(&l)
            .inc_by(i.priority_zero_received);
        announced.get_or_create(&l).inc_by(i.announcements);
        for (reason, n) in &i.dropped_by_reason {
            let mut ls = l.clone();
            ls.push(("reason", reason.clone()));
            drops.get_or_create(&ls).inc_by(*n);
        }
    }

    // health checks
    checks.register(&mut reg);

    // virtual and real servers
    let quorum = gauge(
        &mut reg,
        "virtual_server_quorum",
        "1 while the virtual server has its quorum",
    );
    let up = gauge(
        &mut reg,
        "real_server_up",
        "1 while the real server passes its checks",
    );
    let weight = gauge(
        &mut reg,
        "real_server_weight",
        "The weight IPVS holds for the real server (absent: not in IPVS)",
    );
    let active = gauge(
        &mut reg,
        "ipvs_real_server_active_connections",
        "Active connections (IPVS)",
    );
    let inactive = gauge(
        &mut reg,
        "ipvs_real_server_inactive_connections",
        "Inactive connections (IPVS)",
    );
    let vs_traffic = TrafficFamilies::new(&mut reg, "ipvs_virtual_server", "per virtual server");
    let rs_traffic = TrafficFamilies::new(&mut reg, "ipvs_real_server", "per real server");
    for s in &st.virtual_servers {
        let l = vec![("virtual_server", s.name.clone())];
        quorum
            .get_or_create(&l)
            .set(if s.quorum { 1.0 } else { 0.0 });
        if let Some(t) = &s.traffic {
            vs_traffic.set(&l, t);
        }
        let rows = s
            .real_servers
            .iter()
            .map(|r| (r, false))
            .chain(s.sorry_server.iter().map(|r| (r, true)));
        for (r, sorry) in rows {
            let mut l = l.clone();
            l.push(("real_server", r.address.clone()));
            if sorry {
                l.push(("sorry_server", "true".into()));
            }
            up.get_or_create(&l).set(if r.healthy { 1.0 } else { 0.0 });
            if let Some(w) = r.weight {
                weight.get_or_create(&l).set(f64::from(w));
            }
            if let Some(a) = r.active {
                active.get_or_create(&l).set(f64::from(a));
            }
            if let Some(a) = r.inactive {
                inactive.get_or_create(&l).set(f64::from(a));
            }
            if let Some(t) = &r.traffic {
                rs_traffic.set(&l, t);
            }
        }
    }
    // anycast
    let a_state = gauge(
        &mut reg,
        "anycast_state",
        "1 for what each anycast block announces (announced, lowered, withdrawn, draining, starting)",
    );
    let a_healthy = gauge(
        &mut reg,
        "anycast_healthy",
        "1 while every health input of the anycast block is up",
    );
    let a_metric = gauge(
        &mut reg,
        "anycast_metric",
        "The route metric announced (method route; absent: none)",
    );
    let a_changes = counter(
        &mut reg,
        "anycast_changes",
        "Changes of what the block announces",
    );
    let a_mode = gauge(
        &mut reg,
        "anycast_active_active",
        "1 for an active-active block (every healthy director announces)",
    );
    let a_conns = counter(
        &mut reg,
        "anycast_connections",
        "Connections this director scheduled for the block's virtual servers (IPVS, active-active)",
    );
    let a_active = gauge(
        &mut reg,
        "anycast_active_connections",
        "Active connections this director holds for the block's virtual servers (IPVS, active-active)",
    );
    for a in &st.anycast {
        let l = vec![("anycast", a.name.clone())];
        a_mode
            .get_or_create(&l)
            .set(if a.active_active { 1.0 } else { 0.0 });
        if a.active_active {
            let carried = || {
                st.virtual_servers
                    .iter()
                    .filter(|s| a.services.contains(&s.name))
            };
            let conns: u64 = carried()
                .filter_map(|s| s.traffic.as_ref())
                .map(|t| t.connections)
                .sum();
            let held: u64 = carried()
                .flat_map(|s| &s.real_servers)
                .filter_map(|r| r.active)
                .map(u64::from)
                .sum();
            a_conns.get_or_create(&l).inc_by(conns);
            a_active.get_or_create(&l).set(held as f64);
        }
        for s in [
            "announced",
            "lowered",
            "takeover",
            "withdrawn",
            "draining",
            "starting",
        ] {
            let mut ls = l.clone();
            ls.push(("state", s.to_string()));
            a_state
                .get_or_create(&ls)
                .set(if a.state == s { 1.0 } else { 0.0 });
        }
        a_healthy
            .get_or_create(&l)
            .set(if a.healthy { 1.0 } else { 0.0 });
        if let Some(m) = a.metric {
            a_metric.get_or_create(&l).set(f64::from(m));
        }
        a_changes.get_or_create(&l).inc_by(a.changes);
    }
    let mut out = String::new();
    if encode(&mut out, &reg).is_err() {
        return String::from("# encoding failed\n");
    }
    out
}

/// The same in Prometheus' classic text format (0.0.4), for clients that do not ask for
/// OpenMetrics (curl, `promtool check metrics`, older scrapers): a counter family's HELP
/// and TYPE name its `_total` samples; no `# UNIT`, no `# EOF`.
pub(crate) fn classic(openmetrics: &str) -> String {
    let mut counters = std::collections::HashSet::new();
    for l in openmetrics.lines() {
        if let Some(rest) = l.strip_prefix("# TYPE ") {
            if let Some(name) = rest.strip_suffix(" counter") {
                counters.insert(name.to_string());
            }
        }
    }
    let mut out = String::with_capacity(openmetrics.len());
    for l in openmetrics.lines() {
        if l == "# EOF" || l.starts_with("# UNIT ") {
            continue;
        }
        let meta = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|p| l.strip_prefix(p).map(|rest| (p, rest)));
        match meta {
            Some((p, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                if counters.contains(name) {
                    out.push_str(&format!("{p}{name}_total {tail}\n"));
                } else {
                    out.push_str(l);
                    out.push('\n');
                }
            }
            None => {
                out.push_str(l);
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::stats::{Kind, Outcome};
    use crate::control::status::{Instance, Real, Service};
    use std::time::Duration;

    #[test]
    fn exposition_names_and_values() {
        let checks = CheckStats::default();
        checks.probe(Kind::Tcp, Outcome::Up, Some(Duration::from_millis(2)));
        checks.probe(Kind::Tcp, Outcome::Timeout, None);
        checks.probe(Kind::Http, Outcome::Down, Some(Duration::from_millis(30)));
        let st = Status {
            version: "0.1.0".into(),
            uptime_s: 12.0,
            reloads: 3,
            upgrades: 2,
            vrrp: vec![Instance {
                name: "VI_1".into(),
                state: "MASTER".into(),
                priority: 150,
                adverts_sent: 42,
                transitions: 2,
                dropped_by_reason: [("bad_ttl".to_string(), 5)].into(),
                other_vrid: 9,
                address_list_mismatch: 4,
                ..Default::default()
            }],
            virtual_servers: vec![Service {
                name: "192.0.2.100:80/TCP".into(),
                quorum: true,
                traffic: Some(Traffic {
                    connections: 7,
                    ..Default::default()
                }),
                real_servers: vec![Real {
                    address: "198.51.100.10:80".into(),
                    healthy: true,
                    weight: Some(3),
                    active: Some(1),
                    inactive: Some(0),
                    traffic: Some(Traffic {
                        connections: 7,
                        in_bytes: 900,
                        ..Default::default()
                    }),
                }],
                sorry_server: None,
            }],
            ipvs: true,
            anycast: vec![
                crate::control::status::AnycastBlock {
                    name: "WEB".into(),
                    state: "lowered".into(),
                    healthy: false,
                    metric: Some(150),
                    changes: 2,
                    ..Default::default()
                },
                crate::control::status::AnycastBlock {
                    name: "AA".into(),
                    state: "announced".into(),
                    healthy: true,
                    active_active: true,
                    services: vec!["192.0.2.100:80/TCP".into()],
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let m = render(&st, &checks);
        for want in [
            "ldirector_vrrp_state{vrrp_instance=\"VI_1\",state=\"MASTER\"} 1",
            "ldirector_vrrp_state{vrrp_instance=\"VI_1\",state=\"BACKUP\"} 0",
            "ldirector_vrrp_adverts_sent_total{vrrp_instance=\"VI_1\"} 42",
            "ldirector_vrrp_transitions_total{vrrp_instance=\"VI_1\"} 2",
            "ldirector_vrrp_packets_dropped_total{vrrp_instance=\"VI_1\",reason=\"bad_ttl\"} 5",
            "ldirector_vrrp_other_vrid_total{vrrp_instance=\"VI_1\"} 9",
            "ldirector_vrrp_address_list_mismatch_total{vrrp_instance=\"VI_1\"} 4",
            "ldirector_checks_total{kind=\"tcp\",result=\"up\"} 1",
            "ldirector_checks_total{kind=\"tcp\",result=\"timeout\"} 1",
            "ldirector_checks_total{kind=\"http\",result=\"down\"} 1",
            "ldirector_check_duration_seconds_bucket{le=\"0.0025\",kind=\"tcp\"} 1",
            "ldirector_real_server_up{virtual_server=\"192.0.2.100:80/TCP\",real_server=\"198.51.100.10:80\"} 1",
            "ldirector_real_server_weight{virtual_server=\"192.0.2.100:80/TCP\",real_server=\"198.51.100.10:80\"} 3",
            "ldirector_ipvs_real_server_in_bytes_total{virtual_server=\"192.0.2.100:80/TCP\",real_server=\"198.51.100.10:80\"} 900",
            "ldirector_ipvs_virtual_server_connections_total{virtual_server=\"192.0.2.100:80/TCP\"} 7",
            "ldirector_reloads_total{result=\"applied\"} 3",
            "ldirector_upgrades_total 2",
            "ldirector_anycast_state{anycast=\"WEB\",state=\"lowered\"} 1",
            "ldirector_anycast_state{anycast=\"WEB\",state=\"announced\"} 0",
            "ldirector_anycast_healthy{anycast=\"WEB\"} 0",
            "ldirector_anycast_metric{anycast=\"WEB\"} 150",
            "ldirector_anycast_changes_total{anycast=\"WEB\"} 2",
            "ldirector_anycast_active_active{anycast=\"WEB\"} 0",
            "ldirector_anycast_active_active{anycast=\"AA\"} 1",
            "ldirector_anycast_connections_total{anycast=\"AA\"} 7",
            "ldirector_anycast_active_connections{anycast=\"AA\"} 1",
            "# EOF",
        ] {
            assert!(m.contains(want), "{want} missing in\n{m}");
        }
    }

    #[test]
    fn the_classic_format_names_counters_by_their_samples() {
        let om = "# HELP ldirector_reloads Reloads, by result.\n# TYPE ldirector_reloads counter\nldirector_reloads_total{result=\"applied\"} 3\n# HELP ldirector_uptime_seconds Seconds.\n# TYPE ldirector_uptime_seconds gauge\n# UNIT ldirector_uptime_seconds seconds\nldirector_uptime_seconds 2.5\n# EOF\n";
        assert_eq!(
            classic(om),
            "# HELP ldirector_reloads_total Reloads, by result.\n# TYPE ldirector_reloads_total counter\nldirector_reloads_total{result=\"applied\"} 3\n# HELP ldirector_uptime_seconds Seconds.\n# TYPE ldirector_uptime_seconds gauge\nldirector_uptime_seconds 2.5\n"
        );
    }
}
