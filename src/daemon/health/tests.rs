use super::*;
use crate::config::{load_str, Format};

fn cfg(text: &str) -> Config {
    let l = load_str("t.conf", text, Format::Keepalived, None);
    assert!(!l.diags.has_errors(), "{}", l.diags.render());
    l.config
}

/// One service: three real servers of weight 1, 2, 3; `extra` goes into the service.
fn service(extra: &str) -> Config {
    cfg(&format!(
        "virtual_server 192.0.2.10 80 {{
            protocol TCP
            {extra}
            real_server 198.51.100.1 80 {{
                weight 1
                TCP_CHECK {{
                }}
            }}
            real_server 198.51.100.2 80 {{
                weight 2
                TCP_CHECK {{
                }}
            }}
            real_server 198.51.100.3 80 {{
                weight 3
                TCP_CHECK {{
                }}
            }}
        }}"
    ))
}

fn all_up() -> Start {
    Start {
        down: Vec::new(),
        weights: Vec::new(),
        ..Start::default()
    }
}

fn down(rs: RsIndex) -> HealthChange {
    HealthChange {
        rs,
        up: false,
        weight: None,
    }
}

fn up(rs: RsIndex) -> HealthChange {
    HealthChange {
        rs,
        up: true,
        weight: None,
    }
}

fn quorum(ev: &[Event]) -> Vec<bool> {
    ev.iter()
        .filter_map(|e| match e {
            Event::Quorum { gained, .. } => Some(*gained),
            _ => None,
        })
        .collect()
}

#[test]
fn a_failed_server_leaves_and_comes_back_with_one_notification_each() {
    let c = service("");
    let mut out = Vec::new();
    let mut h = Health::start(&c, all_up(), &mut out);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(h.table()[0], (vec![Some(1), Some(2), Some(3)], None));

    h.change(&c, &down((0, 1)), &mut out);
    assert_eq!(
        out,
        vec![
            Event::RealServer {
                rs: (0, 1),
                up: false,
                why: Why::Check
            },
            Event::Desired {
                vs: 0,
                before: (vec![Some(1), Some(2), Some(3)], None),
                now: (vec![Some(1), None, Some(3)], None),
            }
        ]
    );
    assert!(!h.healthy((0, 1)));
    out.clear();
    // the same verdict again: nothing to say or do
    h.change(&c, &down((0, 1)), &mut out);
    assert!(out.is_empty(), "{out:?}");
    h.change(&c, &up((0, 1)), &mut out);
    assert_eq!(out.len(), 2, "{out:?}");
    assert_eq!(h.table()[0], (vec![Some(1), Some(2), Some(3)], None));
}

#[test]
fn quorum_is_lost_and_gained_with_hysteresis() {
    // live weight 6; lost below quorum - hysteresis = 3, gained at quorum + hysteresis = 5
    let c = service("quorum 4\nhysteresis 1");
    let mut out = Vec::new();
    let mut h = Health::start(&c, all_up(), &mut out);
    h.change(&c, &down((0, 2)), &mut out); // live 3: still held
    assert_eq!(quorum(&out), Vec::<bool>::new());
    assert!(h.has_quorum(0));
    h.change(&c, &down((0, 0)), &mut out); // live 2: lost
    assert_eq!(quorum(&out), vec![false]);
    assert!(!h.has_quorum(0));
    out.clear();
    h.change(&c, &up((0, 0)), &mut out); // live 3: not yet
    assert_eq!(quorum(&out), Vec::<bool>::new());
    h.change(&c, &up((0, 2)), &mut out); // live 6: gained
    assert_eq!(quorum(&out), vec![true]);
    assert!(h.has_quorum(0));
}

#[test]
fn the_sorry_server_takes_the_traffic_without_quorum_and_leaves_with_it() {
    let c = service("quorum 3\nsorry_server 203.0.113.9 80");
    let mut out = Vec::new();
    let mut h = Health::start(&c, all_up(), &mut out);
    assert_eq!(h.table()[0], (vec![Some(1), Some(2), Some(3)], None));
    h.change(&c, &down((0, 2)), &mut out); // live 3: held
    h.change(&c, &down((0, 1)), &mut out); // live 1: lost
    assert_eq!(quorum(&out), vec![false]);
    // the healthy server is taken out, the sorry server is in
    assert_eq!(h.table()[0], (vec![None, None, None], Some(1)));
    out.clear();
    h.change(&c, &up((0, 2)), &mut out); // live 4: back
    assert_eq!(quorum(&out), vec![true]);
    assert_eq!(h.table()[0], (vec![Some(1), None, Some(3)], None));
}

#[test]
fn a_service_starting_without_quorum_brings_its_sorry_server_at_once() {
    let c = service("sorry_server 203.0.113.9 80");
    let mut out = Vec::new();
    let start = Start {
        down: vec![(0, 0), (0, 1), (0, 2)],
        weights: Vec::new(),
        ..Start::default()
    };
    let h = Health::start(&c, start, &mut out);
    assert_eq!(quorum(&out), vec![false]);
    assert_eq!(h.table()[0], (vec![None, None, None], Some(1)));
    // alpha: servers that start down are not notified as failures
    assert!(!out.iter().any(|e| matches!(e, Event::RealServer { .. })));
}

#[test]
fn inhibit_keeps_failed_servers_at_weight_zero_and_the_idle_sorry_server_too() {
    let c = cfg("virtual_server 192.0.2.10 80 {
            protocol TCP
            sorry_server 203.0.113.9 80
            sorry_server_inhibit
            real_server 198.51.100.1 80 {
                weight 5
                inhibit_on_failure
                TCP_CHECK {
                }
            }
            real_server 198.51.100.2 80 {
                weight 5
                TCP_CHECK {
                }
            }
        }");
    let mut out = Vec::new();
    let mut h = Health::start(&c, all_up(), &mut out);
    assert_eq!(h.table()[0], (vec![Some(5), Some(5)], Some(0)));
    h.change(&c, &down((0, 0)), &mut out);
    h.change(&c, &down((0, 1)), &mut out);
    assert_eq!(h.table()[0], (vec![Some(0), None], Some(1)));
}

#[test]
fn weights_the_checks_set_are_what_ipvs_holds() {
    let c = service("");
    let mut out = Vec::new();
    let start = Start {
        down: Vec::new(),
        weights: vec![((0, 0), 7)],
        ..Start::default()
    };
    let mut h = Health::start(&c, start, &mut out);
    assert_eq!(h.table()[0].0[0], Some(7));
    h.change(
        &c,
        &HealthChange {
            rs: (0, 2),
            up: true,
            weight: Some(9),
        },
        &mut out,
    );
    assert_eq!(h.table()[0], (vec![Some(7), Some(2), Some(9)], None));
    // a weight is not a transition: no notification
    assert!(!out.iter().any(|e| matches!(e, Event::RealServer { .. })));
}

#[test]
fn omega_at_the_stop_reports_the_live_servers_down_and_the_quorum_lost() {
    let c = service("omega");
    let mut out = Vec::new();
    let mut h = Health::start(&c, all_up(), &mut out);
    h.change(&c, &down((0, 0)), &mut out);
    out.clear();
    h.stop(&c, &mut out);
    let downs: Vec<RsIndex> = out
        .iter()
        .filter_map(|e| match e {
            Event::RealServer {
                rs,
                up: false,
                why: Why::Shutdown,
            } => Some(*rs),
            _ => None,
        })
        .collect();
    assert_eq!(downs, vec![(0, 1), (0, 2)]);
    assert!(out.contains(&Event::Quorum {
        vs: 0,
        gained: false,
        stopping: true
    }));
    // without omega: nothing
    let c = service("");
    let h = Health::start(&c, all_up(), &mut Vec::new());
    out.clear();
    h.stop(&c, &mut out);
    assert!(out.is_empty());
}

#[test]
fn a_reload_reports_removed_live_servers_and_keeps_the_quorum_state() {
    let old = service("quorum 6\nsorry_server 203.0.113.9 80");
    let mut out = Vec::new();
    let mut h = Health::start(&old, all_up(), &mut out);
    h.change(&old, &down((0, 0)), &mut out); // live 5: lost
    assert_eq!(quorum(&out), vec![false]);
    out.clear();
    // the new configuration drops .1 (down: no report) and .2 (up: reported) and moves
    // the service behind a new one
    let new = cfg("virtual_server 192.0.2.20 80 {
            protocol TCP
            real_server 198.51.100.7 80 {
                TCP_CHECK {
                }
            }
        }
        virtual_server 192.0.2.10 80 {
            protocol TCP
            quorum 6
            sorry_server 203.0.113.9 80
            real_server 198.51.100.1 80 {
                weight 1
                TCP_CHECK {
                }
            }
            real_server 198.51.100.2 80 {
                weight 2
                TCP_CHECK {
                }
            }
        }");
    let start = Start {
        down: vec![(1, 0)],
        weights: Vec::new(),
        ..Start::default()
    };
    h.reload(&old, &new, start, &mut out);
    assert_eq!(
        out,
        vec![Event::RealServer {
            rs: (0, 2),
            up: false,
            why: Why::Removed
        }]
    );
    // the service kept its lost quorum (no event), at its new index
    assert!(!h.has_quorum(1));
    assert!(h.has_quorum(0));
    assert_eq!(h.table()[1], (vec![None, None], Some(1)));
}

#[test]
fn a_verdict_for_a_server_the_configuration_no_longer_has_is_not_notified() {
    let c = service("");
    let mut out = Vec::new();
    let mut h = Health::start(&c, all_up(), &mut out);
    h.change(&c, &down((3, 0)), &mut out);
    assert!(!out.iter().any(|e| matches!(e, Event::RealServer { .. })));
}
