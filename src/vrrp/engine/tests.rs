//! The engine on a simulated link: two or three directors' engines exchange their packets
//! through a fake wire on a fake clock.

use super::*;
use crate::config::{load_str, Format};
use crate::vrrp::spec::{self, Host};

struct FakeHost(IpAddr);
impl Host for FakeHost {
    fn addresses(&self, _iface: &str) -> Vec<IpAddr> {
        vec![self.0]
    }
}

fn engine(conf: &str, addr: &str) -> Engine {
    let l = load_str("test.conf", conf, Format::Keepalived, None);
    assert!(l.is_valid(), "{}", l.diags.render());
    let host = FakeHost(addr.parse().unwrap());
    Engine::new(spec::build(&l.config, &host).unwrap())
}

fn two_instances(prio: u8, extra: &str) -> String {
    format!(
        "vrrp_sync_group G {{ group {{ FRONT BACK }}\n sync_group_tracking_weight }}
vrrp_script chk {{ script /bin/true\n weight -60 }}
vrrp_instance FRONT {{ interface lo\n virtual_router_id 51\n priority {prio}\n advert_int 1
  virtual_ipaddress {{ 192.0.2.100/24 }}\n {extra} }}
vrrp_instance BACK {{ interface lo\n virtual_router_id 52\n priority {prio}\n advert_int 1
  virtual_ipaddress {{ 198.51.100.1/24 }} }}\n"
    )
}

/// Directors on one link; `up[n]` false = node cut off (sends and hears nothing).
struct Lab {
    nodes: Vec<Engine>,
    up: Vec<bool>,
    now: Instant,
    log: Vec<(usize, Output)>,
}

impl Lab {
    fn new(nodes: Vec<Engine>) -> Lab {
        let n = nodes.len();
        Lab {
            nodes,
            up: vec![true; n],
            now: Instant::now(),
            log: Vec::new(),
        }
    }

    fn start(&mut self) {
        for n in 0..self.nodes.len() {
            let out = outs(|o| self.nodes[n].start(self.now, o));
            self.deliver(n, out);
        }
    }

    fn deliver(&mut self, from: usize, out: Vec<Output>) {
        let mut queue: Vec<(usize, Output)> = out.into_iter().map(|o| (from, o)).collect();
        while !queue.is_empty() {
            let (n, o) = queue.remove(0);
            if let Output::Send { inst, dst, payload } = &o {
                if self.up[n] {
                    let src = self.nodes[n].spec(*inst).unwrap().src;
                    for m in 0..self.nodes.len() {
                        if m != n && self.up[m] {
                            // AH adverts are whole IPv4 packets; others VRRP alone
                            let rx = if payload.first() == Some(&0x45) {
                                crate::vrrp::socket::parse_ipv4(payload).unwrap()
                            } else {
                                Received {
                                    src,
                                    dst: *dst,
                                    ttl: 255,
                                    ip_header: Vec::new(),
                                    payload: payload.clone(),
                                }
                            };
                            let ids: Vec<Id> = self.nodes[m].ids().collect();
                            for id in ids {
                                let mut more = Vec::new();
                                self.nodes[m].packet(id, &rx, self.now, &mut more);
                                queue.extend(more.into_iter().map(|o| (m, o)));
                            }
                        }
                    }
                }
            }
            self.log.push((n, o));
        }
    }

    /// Run the clock forward in steps of at most 10 ms until `t`.
    fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        loop {
            let next = self
                .nodes
                .iter()
                .filter_map(|e| e.next_timeout())
                .min()
                .unwrap_or(end)
                .min(end);
            self.now = next.max(self.now);
            for n in 0..self.nodes.len() {
                let out = outs(|o| self.nodes[n].poll(self.now, o));
                self.deliver(n, out);
            }
            if self.now >= end {
                break;
            }
        }
    }

    fn states(&self, n: usize) -> Vec<State> {
        self.nodes[n].views().map(|v| v.state).collect()
    }

    fn notifications(&self, n: usize) -> Vec<(&'static str, String, &'static str)> {
        self.log
            .iter()
            .filter(|(m, _)| *m == n)
            .filter_map(|(_, o)| match o {
                Output::Notify(x) => Some((x.subject.word(), x.name.clone(), x.change.word())),
                _ => None,
            })
            .collect()
    }
}

/// What an engine call put in the output buffer.
fn outs(f: impl FnOnce(&mut Vec<Output>)) -> Vec<Output> {
    let mut o = Vec::new();
    f(&mut o);
    o
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn election_failover_and_failback_move_the_group_together() {
    let mut lab = Lab::new(vec![
        engine(&two_instances(150, ""), "192.0.2.11"),
        engine(&two_instances(100, ""), "192.0.2.12"),
    ]);
    lab.start();
    lab.run_for(secs(5));
    assert_eq!(lab.states(0), vec![State::Master, State::Master]);
    assert_eq!(lab.states(1), vec![State::Backup, State::Backup]);
    assert!(lab
        .log
        .iter()
        .any(|(n, o)| *n == 0 && *o == Output::AddVips(Id(0))));
    assert!(lab
        .notifications(0)
        .contains(&("GROUP", "G".into(), "MASTER")));

    // the master is cut off: the backup takes over after Master_Down_Interval
    lab.up[0] = false;
    lab.log.clear();
    lab.run_for(Duration::from_millis(3500));
    assert_eq!(lab.states(1), vec![State::Master, State::Master]);
    let announces = lab
        .log
        .iter()
        .filter(|(n, o)| *n == 1 && matches!(o, Output::Announce(_)))
        .count();
    assert_eq!(announces, 10, "5 rounds per instance at takeover");

    // healed: the higher priority takes back both instances, the other releases both
    lab.up[0] = true;
    lab.log.clear();
    lab.run_for(secs(2));
    assert_eq!(lab.states(0), vec![State::Master, State::Master]);
    assert_eq!(lab.states(1), vec![State::Backup, State::Backup]);
    assert!(lab
        .log
        .iter()
        .any(|(n, o)| *n == 1 && *o == Output::RemoveVips(Id(1))));
}

#[test]
fn shutdown_hands_over_at_once() {
    let mut lab = Lab::new(vec![
        engine(&two_instances(150, ""), "192.0.2.11"),
        engine(&two_instances(100, ""), "192.0.2.12"),
    ]);
    lab.start();
    lab.run_for(secs(5));
    let out = outs(|o| lab.nodes[0].shutdown(lab.now, o));
    assert!(out.iter().any(|o| matches!(o, Output::RemoveVips(_))));
    lab.deliver(0, out);
    lab.up[0] = false;
    // Skew_Time of priority 100: (256 - 100) / 256 s = 609 ms
    lab.run_for(Duration::from_millis(700));
    assert_eq!(lab.states(1), vec![State::Master, State::Master]);
    assert_eq!(
        lab.nodes[0].view(Id(0)).unwrap().stats.priority_zero_sent,
        1
    );
    let stops: Vec<_> = lab
        .notifications(0)
        .into_iter()
        .filter(|n| n.2 == "STOP")
        .collect();
    assert_eq!(
        stops.len(),
        3,
        "two instances and their group report STOP: {stops:?}"
    );
}

#[test]
fn a_failing_script_moves_mastership_and_a_fault_takes_the_group() {
    let mut lab = Lab::new(vec![
        engine(&two_instances(150, "track_script { chk }"), "192.0.2.11"),
        engine(&two_instances(100, ""), "192.0.2.12"),
    ]);
    lab.start();
    lab.run_for(secs(5));
    assert_eq!(lab.states(0), vec![State::Master, State::Master]);
    // chk fails: FRONT drops to 90 and loses to 100; BACK follows its group
    let now = lab.now;
    let out = outs(|o| lab.nodes[0].set_tracked(Object::Script("chk".into()), false, now, o));
    lab.deliver(0, out);
    // the backup discards the lower-priority adverts and preempts when its timer runs out
    lab.run_for(secs(4));
    assert_eq!(lab.nodes[0].view(Id(0)).unwrap().priority, 90);
    assert_eq!(lab.states(0), vec![State::Backup, State::Backup]);
    assert_eq!(lab.states(1), vec![State::Master, State::Master]);

    // the primary interface goes down: both members of the group fault
    let out = outs(|o| lab.nodes[0].set_tracked(Object::Interface("lo".into()), false, lab.now, o));
    lab.deliver(0, out);
    assert_eq!(lab.states(0), vec![State::Fault, State::Fault]);
    assert!(lab
        .notifications(0)
        .contains(&("GROUP", "G".into(), "FAULT")));
    let out = outs(|o| lab.nodes[0].set_tracked(Object::Interface("lo".into()), true, lab.now, o));
    lab.deliver(0, out);
    assert_eq!(lab.states(0), vec![State::Backup, State::Backup]);
}

#[test]
fn split_brain_heal_leaves_one_master_and_reannounces() {
    let conf = "vrrp_instance V { interface lo\n virtual_router_id 7\n priority 100\n advert_int 1
      virtual_ipaddress { 192.0.2.100/24 } }";
    let conf_hi = conf.replace("priority 100", "priority 200");
    let mut lab = Lab::new(vec![
        engine(&conf_hi, "192.0.2.11"),
        engine(conf, "192.0.2.12"),
    ]);
    // partitioned from the start: both become master
    lab.up = vec![false, false];
    lab.start();
    lab.run_for(secs(5));
    assert_eq!(
        (lab.states(0), lab.states(1)),
        (vec![State::Master], vec![State::Master])
    );
    lab.up = vec![true, true];
    lab.log.clear();
    lab.run_for(secs(2));
    assert_eq!(
        (lab.states(0), lab.states(1)),
        (vec![State::Master], vec![State::Backup])
    );
    // the survivor re-announced its address: neighbours that followed the other one come back
    assert!(lab
        .log
        .iter()
        .any(|(n, o)| *n == 0 && matches!(o, Output::Announce(Id(0)))));
}

#[test]
fn received_packets_are_checked_and_drops_counted() {
    let conf = "vrrp_instance V { interface lo\n virtual_router_id 7\n advert_int 1
      authentication { auth_type PASS\n auth_pass secret }
      virtual_ipaddress { 192.0.2.100/24 } }";
    let mut a = engine(conf, "192.0.2.11");
    let mut b = engine(conf, "192.0.2.12");
    let now = Instant::now();
    let _ = outs(|o| a.start(now, o));
    let out = outs(|o| b.start(now, o));
    assert!(out.is_empty() || out.iter().all(|o| matches!(o, Output::Notify(_))));
    let adv = |prio: u8, int_cs: u16, pass: &str, addrs: Vec<IpAddr>| {
        packet::encode(
            &Advert {
                version: Version::V2,
                vrid: 7,
                priority: prio,
                advert_int_cs: int_cs,
                addrs,
                auth: packet::Auth::pass(pass),
            },
            "192.0.2.12".parse().unwrap(),
            "224.0.0.18".parse().unwrap(),
            false,
        )
    };
    let vip: IpAddr = "192.0.2.100".parse().unwrap();
    let rx = |payload: Vec<u8>, ttl: u8| Received {
        src: "192.0.2.12".parse().unwrap(),
        dst: "224.0.0.18".parse().unwrap(),
        ttl,
        ip_header: Vec::new(),
        payload,
    };
    let _ = outs(|o| a.packet(Id(0), &rx(adv(100, 100, "secret", vec![vip]), 254), now, o));
    let _ = outs(|o| a.packet(Id(0), &rx(adv(100, 100, "wrong", vec![vip]), 255), now, o));
    let _ = outs(|o| a.packet(Id(0), &rx(adv(100, 200, "secret", vec![vip]), 255), now, o));
    let _ = outs(|o| a.packet(Id(0), &rx(vec![0x21, 7, 100], 255), now, o));
    let _ = outs(|o| a.packet(Id(0), &rx(adv(100, 100, "secret", vec![]), 255), now, o));
    let _ = outs(|o| a.packet(Id(0), &rx(adv(100, 100, "secret", vec![vip]), 255), now, o));
    // from our own address: another daemon's, never taken for ours, counted
    let own = Received {
        src: "192.0.2.11".parse().unwrap(),
        ..rx(adv(100, 100, "secret", vec![vip]), 255)
    };
    let _ = outs(|o| a.packet(Id(0), &own, now, o));
    let st = a.view(Id(0)).unwrap().stats.clone();
    assert_eq!(st.dropped.get(Reason::OwnAddress), 1);
    assert_eq!(st.dropped.get(Reason::BadTtl), 1);
    assert_eq!(st.dropped.get(DropReason::AuthFailure.into()), 1);
    assert_eq!(st.dropped.get(Reason::IntervalMismatch), 1);
    assert_eq!(st.dropped.get(DropReason::TooShort.into()), 1);
    assert_eq!(st.address_list_mismatch, 1);
    assert_eq!(st.adverts_received, 2);
}

#[test]
fn unicast_drops_strangers() {
    let conf = "vrrp_instance V { interface lo\n virtual_router_id 7\n version 3\n advert_int 0.1
      unicast_src_ip 192.0.2.11\n unicast_peer { 192.0.2.12 }
      virtual_ipaddress { 192.0.2.100/24 } }";
    let mut a = engine(conf, "192.0.2.11");
    let now = Instant::now();
    let _ = outs(|o| a.start(now, o));
    let payload = packet::encode(
        &Advert {
            version: Version::V3,
            vrid: 7,
            priority: 100,
            advert_int_cs: 10,
            addrs: vec!["192.0.2.100".parse().unwrap()],
            auth: packet::Auth::None,
        },
        "192.0.2.13".parse().unwrap(),
        "192.0.2.11".parse().unwrap(),
        false,
    );
    let rx = Received {
        src: "192.0.2.13".parse().unwrap(),
        dst: "192.0.2.11".parse().unwrap(),
        ttl: 64,
        ip_header: Vec::new(),
        payload,
    };
    let _ = outs(|o| a.packet(Id(0), &rx, now, o));
    assert_eq!(
        a.view(Id(0))
            .unwrap()
            .stats
            .dropped
            .get(Reason::UnknownPeer),
        1
    );
    // adverts go to every peer, unicast
    let out = outs(|o| a.poll(now + secs(1), o));
    assert!(out.iter().any(
        |o| matches!(o, Output::Send { dst, .. } if *dst == "192.0.2.12".parse::<IpAddr>().unwrap())
    ));
}

/// Hostile input: random and truncated packets, forged fields, never a panic; every one
/// counted as dropped (or as another router's) and the instance unmoved.
#[test]
fn garbage_is_counted_never_fatal() {
    let conf = "vrrp_instance V { interface lo\n virtual_router_id 7\n advert_int 1
      virtual_ipaddress { 192.0.2.100/24 } }";
    let mut a = engine(conf, "192.0.2.11");
    let t0 = Instant::now();
    let _ = outs(|o| a.start(t0, o));
    let good = packet::encode(
        &Advert {
            version: Version::V2,
            vrid: 7,
            priority: 200,
            advert_int_cs: 100,
            addrs: vec!["192.0.2.100".parse().unwrap()],
            auth: packet::Auth::None,
        },
        "192.0.2.12".parse().unwrap(),
        "224.0.0.18".parse().unwrap(),
        false,
    );
    // a deterministic xorshift: the same 20,000 packets every run
    let mut x: u64 = 0x9e3779b97f4a7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut sent = 0u64;
    for _ in 0..20_000 {
        let mut p = good.clone();
        match next() % 4 {
            0 => p.truncate((next() % 30) as usize),
            1 => {
                let i = (next() as usize) % p.len();
                p[i] ^= (next() % 255 + 1) as u8;
            }
            2 => p = (0..(next() % 80)).map(|_| next() as u8).collect(),
            _ => p.extend((0..(next() % 40)).map(|_| next() as u8)),
        }
        let rx = Received {
            src: "192.0.2.12".parse().unwrap(),
            dst: "224.0.0.18".parse().unwrap(),
            ttl: 255,
            ip_header: Vec::new(),
            payload: p,
        };
        let _ = outs(|o| a.packet(Id(0), &rx, t0, o));
        sent += 1;
    }
    let st = a.view(Id(0)).unwrap().stats.clone();
    let dropped: u64 = st.dropped.total();
    assert_eq!(
        dropped + st.other_vrid + st.adverts_received,
        sent,
        "every packet accounted for: {st:?}"
    );
    // trailing bytes after the addresses are tolerated (as padding): those count as adverts
    assert!(dropped + st.other_vrid > 12_000, "{st:?}");
    assert!(
        st.dropped.iter().count() >= 5,
        "several reasons seen: {st:?}"
    );
    assert_eq!(a.view(Id(0)).unwrap().state, State::Backup);
}

fn specs(conf: &str, addr: &str) -> Specs {
    let l = load_str("test.conf", conf, Format::Keepalived, None);
    assert!(l.is_valid(), "{}", l.diags.render());
    spec::build(&l.config, &FakeHost(addr.parse().unwrap())).unwrap()
}

impl Lab {
    /// Node `n` reloads `conf`; returns what it was asked to do (retire, then replace).
    fn reload(&mut self, n: usize, conf: &str, addr: &str) -> (Vec<Id>, Vec<Output>) {
        let new = specs(conf, addr);
        let first = outs(|o| self.nodes[n].retire(&new, self.now, o));
        let mut all = first.clone();
        self.deliver(n, first);
        let mut out = Vec::new();
        let ids = self.nodes[n].replace(new, self.now, &mut out);
        all.extend(out.clone());
        self.deliver(n, out);
        (ids, all)
    }

    fn transitions(&self, n: usize) -> usize {
        self.notifications(n).len()
    }
}

#[test]
fn a_reload_that_changes_nothing_keeps_state_timers_and_counters() {
    let mut lab = Lab::new(vec![
        engine(&two_instances(150, ""), "192.0.2.11"),
        engine(&two_instances(100, ""), "192.0.2.12"),
    ]);
    lab.start();
    lab.run_for(Duration::from_millis(5500));
    let (m_before, b_before) = (lab.transitions(0), lab.transitions(1));
    let next = lab.nodes[0].next_timeout();
    let sent = lab.nodes[0].view(Id(0)).unwrap().stats.adverts_sent;
    let (kept, out) = lab.reload(0, &two_instances(150, ""), "192.0.2.11");
    assert_eq!(kept, vec![Id(0), Id(1)], "both continue, under their ids");
    assert!(out.is_empty(), "nothing to do: {out:?}");
    let (_, out) = lab.reload(1, &two_instances(100, ""), "192.0.2.12");
    assert!(out.is_empty(), "nothing to do: {out:?}");
    assert_eq!(
        lab.nodes[0].next_timeout(),
        next,
        "the advert timer runs on"
    );
    assert_eq!(lab.nodes[0].view(Id(0)).unwrap().stats.adverts_sent, sent);
    lab.run_for(secs(10));
    assert_eq!(
        (lab.transitions(0), lab.transitions(1)),
        (m_before, b_before)
    );
    assert_eq!(lab.states(0), vec![State::Master, State::Master]);
    assert_eq!(
        lab.nodes[0].view(Id(0)).unwrap().stats.adverts_sent,
        sent + 10
    );
}

#[test]
fn a_reload_changes_addresses_whatever_the_state() {
    let mut lab = Lab::new(vec![
        engine(&two_instances(150, ""), "192.0.2.11"),
        engine(&two_instances(100, ""), "192.0.2.12"),
    ]);
    lab.start();
    lab.run_for(secs(5));
    let more = two_instances(150, "").replace(
        "virtual_ipaddress { 192.0.2.100/24 }",
        "virtual_ipaddress { 192.0.2.101/24 }",
    );
    let (_, out) = lab.reload(0, &more, "192.0.2.11");
    let change = out.iter().find_map(|o| match o {
        Output::ChangeVips { inst, remove, add } => Some((*inst, remove.len(), add.len())),
        _ => None,
    });
    assert_eq!(
        change,
        Some((Id(0), 1, 1)),
        "the master swaps the address: {out:?}"
    );
    lab.run_for(Duration::from_millis(10));
    assert!(
        lab.log
            .iter()
            .any(|(n, o)| *n == 0 && matches!(o, Output::Announce(Id(0)))),
        "the new address is announced"
    );
    // the backup removes what is no longer configured (in case it is there), adds nothing
    let less = two_instances(100, "").replace("virtual_ipaddress { 192.0.2.100/24 }", "");
    let (_, out) = lab.reload(1, &less, "192.0.2.12");
    let change = out.iter().find_map(|o| match o {
        Output::ChangeVips { inst, remove, add } => Some((*inst, remove.len(), add.len())),
        _ => None,
    });
    assert_eq!(change, Some((Id(0), 1, 0)), "{out:?}");
    assert_eq!(lab.states(0), vec![State::Master, State::Master]);
    assert_eq!(lab.states(1), vec![State::Backup, State::Backup]);
}

#[test]
fn a_reload_removing_an_instance_hands_it_over_and_a_new_one_starts() {
    let one = |prio: u8, vrid: u8| {
        format!(
            "vrrp_instance A {{ interface lo\n virtual_router_id {vrid}\n priority {prio}\n advert_int 1
  virtual_ipaddress {{ 192.0.2.100/24 }} }}
vrrp_instance B {{ interface lo\n virtual_router_id 60\n priority {prio}\n advert_int 1
  virtual_ipaddress {{ 192.0.2.110/24 }} }}\n"
        )
    };
    let mut lab = Lab::new(vec![
        engine(&one(150, 50), "192.0.2.11"),
        engine(&one(100, 50), "192.0.2.12"),
    ]);
    lab.start();
    lab.run_for(secs(5));
    // the master drops B and renumbers A's VRID (another router: stopped, started again)
    let only_a =
        "vrrp_instance A { interface lo\n virtual_router_id 51\n priority 150\n advert_int 1
  virtual_ipaddress { 192.0.2.100/24 } }\n";
    let (kept, out) = lab.reload(0, only_a, "192.0.2.11");
    assert_eq!(kept, vec![Id(2)], "A on VRID 51 is a new router: a new id");
    let deleted: Vec<_> = out
        .iter()
        .filter_map(|o| match o {
            Output::Notify(n) if n.change == Change::Deleted => Some(n.name.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(deleted, vec!["A".to_string(), "B".to_string()]);
    assert_eq!(
        out.iter()
            .filter(|o| matches!(o, Output::RemoveVips(_)))
            .count(),
        2,
        "both masters gave their addresses up"
    );
    // the peer took over at once (priority 0 heard: Skew_Time)
    lab.run_for(Duration::from_millis(700));
    assert_eq!(lab.states(1), vec![State::Master, State::Master]);
    assert_eq!(lab.nodes[0].ids().count(), 1);
    // the new router A (VRID 51) has no peer: it becomes master after Master_Down_Interval
    lab.run_for(secs(4));
    assert_eq!(lab.states(0), vec![State::Master]);
}

#[test]
fn a_reload_raising_the_priority_preempts_and_a_new_group_member_follows() {
    let mut lab = Lab::new(vec![
        engine(&two_instances(150, ""), "192.0.2.11"),
        engine(&two_instances(100, ""), "192.0.2.12"),
    ]);
    lab.start();
    lab.run_for(secs(5));
    let before = lab.transitions(0);
    let (_, out) = lab.reload(1, &two_instances(200, ""), "192.0.2.12");
    assert!(
        out.iter().all(|o| !matches!(o, Output::Notify(_))),
        "no transition at the reload itself: {out:?}"
    );
    // the master's adverts are now ignored: the backup takes over at Master_Down_Interval
    lab.run_for(secs(5));
    assert_eq!(lab.states(1), vec![State::Master, State::Master]);
    assert_eq!(lab.states(0), vec![State::Backup, State::Backup]);
    assert!(lab.transitions(0) > before);
    // a third instance joins the group on the master: it follows the group to Master
    let three = two_instances(200, "").replace(
        "vrrp_sync_group G { group { FRONT BACK }",
        "vrrp_sync_group G { group { FRONT BACK THIRD }",
    )
        + "vrrp_instance THIRD { interface lo\n virtual_router_id 53\n priority 200\n advert_int 1
  virtual_ipaddress { 203.0.113.1/24 } }\n";
    let (kept, _) = lab.reload(1, &three, "192.0.2.12");
    assert_eq!(kept, vec![Id(0), Id(1), Id(2)]);
    assert_eq!(
        lab.states(1),
        vec![State::Master, State::Master, State::Master]
    );
}

#[test]
fn a_reload_that_drops_and_reorders_instances_keeps_the_others_ids_and_refreshes() {
    // two independent masters, each refreshing its gratuitous ARP every 2 s
    let inst = |name: &str, vrid: u8, vip: &str| {
        format!(
            "vrrp_instance {name} {{ interface lo\n virtual_router_id {vrid}\n priority 150
  advert_int 1\n garp_master_refresh 2\n virtual_ipaddress {{ {vip}/24 }} }}\n"
        )
    };
    let a = inst("A", 51, "192.0.2.100");
    let b = inst("B", 52, "198.51.100.1");
    let c = inst("C", 53, "203.0.113.1");
    let mut lab = Lab::new(vec![engine(&format!("{a}{b}"), "192.0.2.11")]);
    lab.start();
    lab.run_for(secs(5));
    assert_eq!(lab.states(0), vec![State::Master, State::Master]);
    // A goes, C comes first: B keeps its id (1), C gets a new one (2)
    let (ids, _) = lab.reload(0, &format!("{c}{b}"), "192.0.2.11");
    assert_eq!(ids, vec![Id(2), Id(1)]);
    lab.log.clear();
    lab.run_for(secs(10));
    let rounds = |id| {
        lab.log
            .iter()
            .filter(|(_, o)| *o == Output::Announce(id))
            .count()
    };
    // B's refreshes go on under its id, C's start; A's id is never used again
    assert!(rounds(Id(1)) >= 4, "{:?}", lab.log);
    assert!(rounds(Id(2)) >= 4, "{:?}", lab.log);
    assert_eq!(rounds(Id(0)), 0);
    assert!(lab.nodes[0].view(Id(0)).is_none());
    assert_eq!(lab.nodes[0].view(Id(1)).map(|v| v.name), Some("B"));
}

fn ah_pair(prio: u8, pass: &str) -> String {
    format!(
        "vrrp_instance V {{ interface lo\n virtual_router_id 9\n priority {prio}\n advert_int 1
  authentication {{ auth_type AH\n auth_pass {pass} }}
  virtual_ipaddress {{ 192.0.2.100/24 }} }}\n"
    )
}

#[test]
fn ah_elects_fails_over_heals_and_refuses_replays_and_other_keys() {
    let mut lab = Lab::new(vec![
        engine(&ah_pair(150, "s3cret"), "192.0.2.11"),
        engine(&ah_pair(100, "s3cret"), "192.0.2.12"),
    ]);
    lab.start();
    lab.run_for(secs(5));
    assert_eq!(lab.states(0), vec![State::Master]);
    assert_eq!(lab.states(1), vec![State::Backup]);
    let heard = lab.nodes[1].view(Id(0)).unwrap().stats.clone();
    assert!(heard.adverts_received >= 2, "{heard:?}");
    assert_eq!(heard.dropped.total(), 0, "{heard:?}");
    // the adverts are AH packets: protocol 51, sequence numbers rising by one
    let seqs: Vec<u32> = lab
        .log
        .iter()
        .filter_map(|(n, o)| match o {
            Output::Send { payload, .. } if *n == 0 => {
                assert_eq!(payload[9], ah::PROTO_AH);
                Some(u32::from_be_bytes([
                    payload[28],
                    payload[29],
                    payload[30],
                    payload[31],
                ]))
            }
            _ => None,
        })
        .collect();
    assert!(
        seqs.len() >= 2 && seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "{seqs:?}"
    );

    // a captured advert sent again is a replay
    let last = lab
        .log
        .iter()
        .rev()
        .find_map(|(n, o)| match o {
            Output::Send { payload, .. } if *n == 0 => Some(payload.clone()),
            _ => None,
        })
        .unwrap();
    let rx = crate::vrrp::socket::parse_ipv4(&last).unwrap();
    let _ = outs(|o| lab.nodes[1].packet(Id(0), &rx, lab.now, o));
    assert_eq!(
        lab.nodes[1]
            .view(Id(0))
            .unwrap()
            .stats
            .dropped
            .get(DropReason::AhReplay.into()),
        1
    );

    // the master is cut off: the backup takes over, going on above the numbers it heard
    lab.up[0] = false;
    lab.log.clear();
    lab.run_for(Duration::from_millis(3500));
    assert_eq!(lab.states(1), vec![State::Master]);
    // healed: node 0 hears the higher numbers, answers above them, and takes back the role
    lab.up[0] = true;
    lab.run_for(secs(3));
    assert_eq!(lab.states(0), vec![State::Master]);
    assert_eq!(lab.states(1), vec![State::Backup]);

    // another key: every advert fails the ICV, so each side is master alone
    let mut lab = Lab::new(vec![
        engine(&ah_pair(150, "s3cret"), "192.0.2.11"),
        engine(&ah_pair(100, "other"), "192.0.2.12"),
    ]);
    lab.start();
    lab.run_for(secs(5));
    assert_eq!(lab.states(1), vec![State::Master]);
    let st = &lab.nodes[1].view(Id(0)).unwrap().stats;
    assert!(
        st.dropped.get(DropReason::AuthFailure.into()) >= 2,
        "{st:?}"
    );
    assert_eq!(st.adverts_received, 0);
}

/// keepalived's unicast_fault_no_peer: with no unicast_peer the instance (and its sync
/// group) stays in Fault whatever its tracking says; with a peer it runs.
#[test]
fn unicast_fault_no_peer_keeps_the_instance_in_fault() {
    let conf = two_instances(150, "unicast_fault_no_peer");
    let mut lab = Lab::new(vec![engine(&conf, "192.0.2.1")]);
    lab.start();
    lab.run_for(secs(5));
    assert_eq!(lab.states(0), vec![State::Fault, State::Fault]);
    let out = outs(|o| lab.nodes[0].set_tracked(Object::Interface("lo".into()), true, lab.now, o));
    lab.deliver(0, out);
    assert_eq!(lab.states(0), vec![State::Fault, State::Fault]);
    let conf = two_instances(150, "unicast_fault_no_peer\n unicast_peer { 192.0.2.2 }");
    let mut lab = Lab::new(vec![engine(&conf, "192.0.2.1")]);
    lab.start();
    lab.run_for(secs(5));
    assert_eq!(lab.states(0), vec![State::Master, State::Master]);
}

/// keepalived's notify_priority_changes: a tracked priority change notifies
/// MASTER_PRIORITY / BACKUP_PRIORITY with the new priority; without it, nothing.
#[test]
fn priority_changes_are_notified_when_asked() {
    for (extra, expected) in [
        ("track_script { chk }\n notify_priority_changes", true),
        ("track_script { chk }", false),
    ] {
        let conf = two_instances(150, extra);
        let mut lab = Lab::new(vec![engine(&conf, "192.0.2.1")]);
        lab.start();
        lab.run_for(secs(5));
        assert_eq!(lab.states(0), vec![State::Master, State::Master]);
        let now = lab.now;
        let out = outs(|o| lab.nodes[0].set_tracked(Object::Script("chk".into()), false, now, o));
        let got: Vec<(String, &str, u8)> = out
            .iter()
            .filter_map(|o| match o {
                Output::Notify(n) => Some((n.name.clone(), n.change.word(), n.priority)),
                _ => None,
            })
            .collect();
        lab.deliver(0, out);
        if expected {
            assert_eq!(got, vec![("FRONT".to_string(), "MASTER_PRIORITY", 90)]);
        } else {
            assert!(got.is_empty(), "{got:?}");
        }
        // a reload that changes the configured priority: 140 - 60 = 80
        let (_, out) = lab.reload(
            0,
            &conf.replacen("priority 150", "priority 140", 1),
            "192.0.2.1",
        );
        let got = out
            .iter()
            .filter(|o| matches!(o, Output::Notify(n) if n.change == Change::MasterPriority && n.priority == 80))
            .count();
        assert_eq!(got, usize::from(expected));
    }
}

/// `ldirector upgrade`: each director in turn is frozen for a while (nothing sent or
/// heard), saved, and continued by a new engine. No transition, advert or announcement
/// comes from the resume itself; the master's addresses are adopted; the pair goes on as
/// before, sync group included.
#[test]
fn a_resumed_engine_goes_on_without_a_transition() {
    let conf = |prio| two_instances(prio, "");
    let mut lab = Lab::new(vec![
        engine(&conf(150), "192.0.2.11"),
        engine(&conf(100), "192.0.2.12"),
    ]);
    lab.start();
    lab.run_for(secs(5));
    for (n, addr, prio, frozen) in [
        (0, "192.0.2.11", 150, Duration::from_millis(40)),
        (1, "192.0.2.12", 100, Duration::from_millis(900)),
    ] {
        let saved = lab.nodes[n].save(lab.now);
        assert_eq!(saved.len(), 2);
        lab.up[n] = false;
        lab.run_for(frozen);
        lab.log.clear();
        let mut next = engine(&conf(prio), addr);
        let out = outs(|o| {
            let masters = next.resume(&saved, lab.now, frozen, o);
            assert_eq!(masters.len(), if n == 0 { 2 } else { 0 });
        });
        assert!(
            out.iter().all(|o| matches!(o, Output::AddVips(_))),
            "the resume itself does nothing but adopt: {out:?}"
        );
        assert_eq!(out.len(), if n == 0 { 2 } else { 0 });
        lab.nodes[n] = next;
        lab.up[n] = true;
        lab.run_for(secs(5));
        assert_eq!(lab.states(0), vec![State::Master, State::Master]);
        assert_eq!(lab.states(1), vec![State::Backup, State::Backup]);
        assert!(
            lab.notifications(0).is_empty() && lab.notifications(1).is_empty(),
            "{:?} {:?}",
            lab.notifications(0),
            lab.notifications(1)
        );
        assert!(
            !lab.log
                .iter()
                .any(|(_, o)| matches!(o, Output::Announce(_))),
            "no gratuitous ARP"
        );
    }
    // the resumed master still hands over at a stop, and the group moves together
    let out = outs(|o| lab.nodes[0].shutdown(lab.now, o));
    lab.deliver(0, out);
    lab.up[0] = false;
    lab.run_for(secs(1));
    assert_eq!(lab.states(1), vec![State::Master, State::Master]);
    assert!(lab
        .notifications(1)
        .contains(&("GROUP", "G".into(), "MASTER")));
}
