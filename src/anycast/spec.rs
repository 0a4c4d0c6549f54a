//! An anycast block's kernel objects and inputs, built from the configuration once (every
//! word checked before anything is announced).
//!
//! - accept: `local ADDR dev DEVICE table local proto P metric 1` per address: the address
//!   is served whatever is announced (checks of the service address, connections being
//!   drained); with method route it is also why the address need not be on the device,
//!   where FRR's zebra would prefer the connected /32 to our route.
//! - healthy: the address on the device (method address), or `ADDR dev DEVICE proto P
//!   metric M table T` (method route).
//! - failed: the same route with the `on_failure` metric, or nothing (withdrawn).

use super::engine::{Input, Spec};
use crate::config::addr::{Route, VirtualIp};
use crate::config::model::{
    names_service, Anycast, AnycastMethod, CheckKind, Config, OnFailure, Watch,
};
use crate::net::addr;
use crate::net::kernel::Kernel;
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

/// What the inputs say when the block starts (or a reload adds an input).
#[derive(Debug, Default)]
pub(crate) struct Verdicts {
    /// Blocks whose checkers start down (alpha).
    pub checks_down: Vec<String>,
    pub scripts: HashMap<String, bool>,
    pub files: HashMap<String, i64>,
    /// Virtual servers (by index) without quorum.
    pub no_quorum: Vec<usize>,
}

/// Every block of `cfg`, its inputs up until [`verdicts`] says otherwise; the errors
/// name the block.
pub(crate) fn build(cfg: &Config) -> Result<Vec<Spec>, Vec<String>> {
    let mut specs = Vec::new();
    let mut errors = Vec::new();
    for (name, a) in &cfg.anycast {
        match block(cfg, name, a) {
            Ok(s) => specs.push(s),
            Err(e) => errors.push(format!("anycast {name}: {e}")),
        }
    }
    if errors.is_empty() {
        Ok(specs)
    } else {
        Err(errors)
    }
}

fn host(ip: IpAddr) -> String {
    let len = if ip.is_ipv4() { 32 } else { 128 };
    format!("{ip}/{len}")
}

fn route(words: &[&str], dev: &str) -> Result<Kernel, String> {
    let r = Route::parse_words(words)?;
    addr::route(&r, dev)
}

/// The inputs' verdicts now, as the blocks start from them.
pub(crate) fn verdicts(specs: &mut [Spec], now: &Verdicts) {
    for s in specs {
        for (input, up) in &mut s.inputs {
            *up = match input {
                Input::Checks(name) => !now.checks_down.contains(name),
                Input::Script(n) => now.scripts.get(n).copied().unwrap_or(true),
                Input::File(n) => now.files.get(n).copied().unwrap_or(0) == 0,
                Input::Quorum(i) => !now.no_quorum.contains(i),
            };
        }
    }
}

fn block(cfg: &Config, name: &str, a: &Anycast) -> Result<Spec, String> {
    let dev = a.device.as_str();
    addr::ifindex(dev)?;
    let proto = a.route_protocol.as_str();
    let mut accept = Vec::new();
    let mut healthy = Vec::new();
    let mut failed = Vec::new();
    for &ip in &a.address {
        let h = host(ip);
        accept.push(route(
            &[
                "local", &h, "dev", dev, "table", "local", "protocol", proto, "metric", "1",
            ],
            dev,
        )?);
        let announced = |metric: u32| {
            let m = metric.to_string();
            let table = a.route_table.as_str();
            route(
                &[
                    &h, "dev", dev, "table", table, "protocol", proto, "metric", &m,
                ],
                dev,
            )
        };
        match a.method {
            AnycastMethod::Address => {
                let v = VirtualIp::parse_words(&[&h, "dev", dev])?;
                healthy.push(addr::address(&v, dev)?);
            }
            AnycastMethod::Route => healthy.push(announced(a.metric)?),
        }
        if let (AnycastMethod::Route, OnFailure::Metric(m)) = (a.method, a.on_failure) {
            failed.push(announced(m)?);
        }
    }
    let mut inputs = Vec::new();
    if !a.checkers.is_empty() {
        inputs.push((Input::Checks(name.to_string()), true));
    }
    for s in &a.track_script {
        inputs.push((Input::Script(s.clone()), true));
    }
    for f in &a.track_file {
        inputs.push((Input::File(f.clone()), true));
    }
    let mut labels = HashMap::new();
    // the services it tracks, and an active-active block's own (each once)
    let mut quorums: Vec<usize> = a.active_services(cfg);
    for t in &a.track_virtual_server {
        for (i, vs) in cfg.virtual_server.iter().enumerate() {
            if names_service(t, vs) && !quorums.contains(&i) {
                quorums.push(i);
            }
        }
    }
    for i in quorums {
        inputs.push((Input::Quorum(i), true));
        labels.insert(
            Input::Quorum(i),
            format!(
                "the quorum of virtual_server {}",
                cfg.virtual_server[i].describe()
            ),
        );
    }
    // the checkers' first verdicts: the first probe within the warmup, answered within
    // its timeout
    let grace = a
        .checkers
        .iter()
        .map(|c| {
            let e = &c.effective;
            let took = match c.misc_timeout {
                Some(t) => t.as_duration(),
                None if c.kind == CheckKind::Misc => e.delay_loop.as_duration(),
                None => e.connect_timeout.as_duration(),
            };
            e.warmup.as_duration() + took + Duration::from_secs(1)
        })
        .max()
        .unwrap_or_default();
    let metric = |m: u32| (a.method == AnycastMethod::Route).then_some(m);
    Ok(Spec {
        name: name.to_string(),
        accept,
        healthy,
        failed,
        healthy_metric: metric(a.metric),
        failed_metric: match a.on_failure {
            OnFailure::Metric(m) => metric(m),
            OnFailure::Withdraw => None,
        },
        inputs,
        labels,
        peers: a.watch == Watch::Peers,
        hold_down: a.hold_down.as_duration(),
        drain_time: a.drain_time.as_duration(),
        grace,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_str, Format};
    use netlink_packet_route::route::{RouteAttribute, RouteMessage, RouteType};
    use netlink_packet_route::AddressFamily;

    fn route(k: &Kernel) -> &RouteMessage {
        match k {
            Kernel::Route(m) => m,
            other => panic!("not a route: {other}"),
        }
    }

    fn metric(m: &RouteMessage) -> Option<u32> {
        m.attributes.iter().find_map(|a| match a {
            RouteAttribute::Priority(p) => Some(*p),
            _ => None,
        })
    }

    #[test]
    fn each_address_gets_its_local_route_and_its_announced_routes_in_its_family() {
        let conf = "vrrp_script chk {\n script /bin/true\n}
anycast DNS {\n address 192.0.2.53 2001:db8::53\n method route\n metric 10\n on_failure metric 100\n track_script {\n chk\n }\n}
anycast WEB {\n address 192.0.2.80\n}\n";
        let l = load_str("t.conf", conf, Format::Keepalived, None);
        assert!(l.is_valid(), "{}", l.diags.render());
        let specs = build(&l.config).expect("lo exists");
        let dns = &specs[0];
        assert_eq!(
            (dns.accept.len(), dns.healthy.len(), dns.failed.len()),
            (2, 2, 2)
        );
        for (i, (family, len)) in [(AddressFamily::Inet, 32), (AddressFamily::Inet6, 128)]
            .into_iter()
            .enumerate()
        {
            let a = route(&dns.accept[i]);
            assert_eq!(a.header.kind, RouteType::Local);
            assert_eq!(
                (a.header.address_family, a.header.destination_prefix_length),
                (family, len)
            );
            assert_eq!(u8::from(a.header.protocol), 201);
            let (h, f) = (route(&dns.healthy[i]), route(&dns.failed[i]));
            assert_eq!(h.header.kind, RouteType::Unicast);
            assert_eq!(h.header.address_family, family);
            assert_eq!((metric(h), metric(f)), (Some(10), Some(100)));
        }
        assert_eq!(
            (dns.healthy_metric, dns.failed_metric),
            (Some(10), Some(100))
        );
        assert_eq!(dns.inputs, vec![(Input::Script("chk".into()), true)]);
        // method address: the address on the device, nothing announced when failed
        let web = &specs[1];
        assert!(matches!(web.healthy[0], Kernel::Address(_)));
        assert!(web.failed.is_empty());
        assert_eq!((web.healthy_metric, web.failed_metric), (None, None));
        // the verdicts the blocks start from
        let mut specs = specs;
        let now = Verdicts {
            scripts: [("chk".to_string(), false)].into(),
            ..Verdicts::default()
        };
        verdicts(&mut specs, &now);
        assert_eq!(specs[0].inputs, vec![(Input::Script("chk".into()), false)]);
    }
}
