//! The anycast engine on a fake clock.

use super::*;
use netlink_packet_route::route::{RouteAttribute, RouteMessage};

/// A distinct kernel object (a route with this metric).
fn obj(n: u32) -> Kernel {
    let mut m = RouteMessage::default();
    m.attributes.push(RouteAttribute::Priority(n));
    Kernel::Route(m)
}

const ACCEPT: u32 = 1;
const HEALTHY: u32 = 10;
const FAILED: u32 = 100;

fn spec(name: &str, failed: bool, hold: u64) -> Spec {
    Spec {
        name: name.into(),
        accept: vec![obj(ACCEPT)],
        healthy: vec![obj(HEALTHY)],
        failed: if failed {
            vec![obj(FAILED)]
        } else {
            Vec::new()
        },
        healthy_metric: Some(HEALTHY),
        failed_metric: failed.then_some(FAILED),
        inputs: vec![
            (Input::Checks(name.into()), true),
            (Input::Script("chk".into()), true),
        ],
        labels: HashMap::new(),
        peers: false,
        hold_down: Duration::from_secs(hold),
        drain_time: Duration::from_secs(2),
        grace: Duration::ZERO,
    }
}

fn checks(name: &str) -> Input {
    Input::Checks(name.into())
}

/// The kernel as the outputs leave it (objects by metric, all blocks), and the changes
/// seen.
#[derive(Default)]
struct Kern {
    objs: Vec<u32>,
    /// (block, object)
    by_block: Vec<(String, u32)>,
    changes: Vec<(Level, Level)>,
    /// Each Kernel output: (added, removed).
    ops: Vec<(Vec<u32>, Vec<u32>)>,
}

fn metric(k: &Kernel) -> u32 {
    match k {
        Kernel::Route(m) => m
            .attributes
            .iter()
            .find_map(|a| match a {
                RouteAttribute::Priority(p) => Some(*p),
                _ => None,
            })
            .unwrap_or(0),
        _ => 0,
    }
}

impl Kern {
    fn apply(&mut self, out: &mut Vec<Output>) {
        for o in out.drain(..) {
            match o {
                Output::Kernel { name, add, remove } => {
                    let a: Vec<u32> = add.iter().map(metric).collect();
                    let r: Vec<u32> = remove.iter().map(metric).collect();
                    for x in &a {
                        let o = (name.clone(), *x);
                        assert!(!self.by_block.contains(&o), "added twice: {o:?}");
                        self.by_block.push(o);
                    }
                    self.by_block.retain(|(n, x)| *n != name || !r.contains(x));
                    self.ops.push((a, r));
                }
                Output::Changed { from, to, .. } => self.changes.push((from, to)),
            }
        }
        self.objs = self.by_block.iter().map(|(_, x)| *x).collect();
        self.objs.sort_unstable();
    }
}

fn secs(n: f64) -> Duration {
    Duration::from_secs_f64(n)
}

#[test]
fn a_healthy_start_announces_after_the_accepting_routes_and_a_failed_one_does_not() {
    let t0 = Instant::now();
    let mut e = Engine::new(vec![spec("A", false, 5), spec("B", false, 5)]);
    let mut out = Vec::new();
    // before the start a verdict is only recorded
    e.set(&checks("B"), false, t0, &mut out);
    assert!(out.is_empty());
    e.start(t0, &[], &mut out);
    let mut k = Kern::default();
    let first = out.clone();
    k.apply(&mut out);
    // A: accept then healthy; B: accept only (withdrawn)
    assert!(
        matches!(&first[0], Output::Kernel { name, add, .. } if name == "A" && metric(&add[0]) == ACCEPT)
    );
    assert_eq!(k.objs, vec![ACCEPT, ACCEPT, HEALTHY]);
    assert_eq!(
        k.changes,
        vec![(Level::Off, Level::Healthy), (Level::Off, Level::Failed)]
    );
    let v: Vec<_> = e
        .views()
        .map(|v| (v.name.to_string(), v.level, v.metric))
        .collect();
    assert_eq!(
        v,
        vec![
            ("A".into(), Level::Healthy, Some(HEALTHY)),
            ("B".into(), Level::Failed, None)
        ]
    );
    assert_eq!(
        e.views().nth(1).map(|v| v.why.to_string()),
        Some("its checks failed".into())
    );
}

#[test]
fn a_failure_withdraws_at_once_and_the_recovery_waits_out_the_hold_down() {
    let t0 = Instant::now();
    let mut e = Engine::new(vec![spec("A", false, 5)]);
    let (mut out, mut k) = (Vec::new(), Kern::default());
    e.start(t0, &[], &mut out);
    k.apply(&mut out);
    e.set(
        &Input::Script("chk".into()),
        false,
        t0 + secs(1.0),
        &mut out,
    );
    k.apply(&mut out);
    assert_eq!(k.objs, vec![ACCEPT], "withdrawn at once");
    assert_eq!(e.poll_timeout(), None);
    // back up at 2 s: not before 7 s
    e.set(&Input::Script("chk".into()), true, t0 + secs(2.0), &mut out);
    assert!(out.is_empty());
    assert_eq!(e.poll_timeout(), Some(t0 + secs(7.0)));
    assert_eq!(
        e.views().next().and_then(|v| v.back_at),
        Some(t0 + secs(7.0))
    );
    // a flap at 4 s starts the hold-down again
    e.set(
        &Input::Script("chk".into()),
        false,
        t0 + secs(4.0),
        &mut out,
    );
    e.set(&Input::Script("chk".into()), true, t0 + secs(4.5), &mut out);
    k.apply(&mut out);
    assert_eq!(k.objs, vec![ACCEPT]);
    e.poll(t0 + secs(7.0), &mut out);
    assert!(out.is_empty(), "the flap restarted the hold-down");
    assert_eq!(e.poll_timeout(), Some(t0 + secs(9.5)));
    e.poll(t0 + secs(9.5), &mut out);
    k.apply(&mut out);
    assert_eq!(k.objs, vec![ACCEPT, HEALTHY]);
    assert_eq!(e.poll_timeout(), None);
    assert_eq!(
        k.changes,
        vec![
            (Level::Off, Level::Healthy),
            (Level::Healthy, Level::Failed),
            (Level::Failed, Level::Healthy)
        ],
        "the flap during the hold-down moved nothing"
    );
}

#[test]
fn a_metric_change_adds_the_new_route_before_it_removes_the_old_one() {
    let t0 = Instant::now();
    let mut e = Engine::new(vec![spec("A", true, 0)]);
    let (mut out, mut k) = (Vec::new(), Kern::default());
    e.start(t0, &[], &mut out);
    k.apply(&mut out);
    e.set(&checks("A"), false, t0, &mut out);
    k.apply(&mut out);
    assert_eq!(
        k.ops.last(),
        Some(&(vec![FAILED], vec![HEALTHY])),
        "one step: add, then remove"
    );
    assert_eq!(e.views().next().map(|v| v.metric), Some(Some(FAILED)));
    // hold_down 0: back at once
    e.set(&checks("A"), true, t0 + secs(0.1), &mut out);
    k.apply(&mut out);
    assert_eq!(k.ops.last(), Some(&(vec![HEALTHY], vec![FAILED])));
    assert_eq!(k.objs, vec![ACCEPT, HEALTHY]);
}

#[test]
fn a_drained_block_stays_withdrawn_until_resumed_whatever_its_health_says() {
    let t0 = Instant::now();
    let mut e = Engine::new(vec![spec("A", true, 5), spec("B", false, 5)]);
    let (mut out, mut k) = (Vec::new(), Kern::default());
    e.start(t0, &[], &mut out);
    k.apply(&mut out);
    assert_eq!(e.drain(Some("A"), t0, &mut out), 1);
    k.apply(&mut out);
    assert_eq!(
        k.objs,
        vec![ACCEPT, ACCEPT, HEALTHY],
        "A withdrawn, still served"
    );
    e.set(&checks("A"), false, t0 + secs(1.0), &mut out);
    e.set(&checks("A"), true, t0 + secs(2.0), &mut out);
    assert!(out.is_empty());
    assert_eq!(e.poll_timeout(), None);
    // resumed: no hold-down, the operator decided
    assert_eq!(e.resume(None, t0 + secs(3.0), &mut out), 1);
    k.apply(&mut out);
    assert_eq!(k.objs, vec![ACCEPT, ACCEPT, HEALTHY, HEALTHY]);
    assert_eq!(e.drain(Some("nope"), t0, &mut out), 0);
}

#[test]
fn the_stop_withdraws_then_the_release_stops_serving() {
    let t0 = Instant::now();
    let mut a = spec("A", false, 5);
    a.drain_time = Duration::from_secs(3);
    let mut e = Engine::new(vec![a, spec("B", false, 5)]);
    let (mut out, mut k) = (Vec::new(), Kern::default());
    e.set(&checks("B"), false, t0, &mut out);
    e.start(t0, &[], &mut out);
    k.apply(&mut out);
    // B was withdrawn already: only A's drain time counts
    assert_eq!(e.stop(t0, &mut out), Duration::from_secs(3));
    k.apply(&mut out);
    assert_eq!(k.objs, vec![ACCEPT, ACCEPT]);
    // a verdict during the drain announces nothing
    e.set(&checks("B"), true, t0 + secs(1.0), &mut out);
    assert!(out.is_empty());
    e.release(&mut out);
    k.apply(&mut out);
    assert!(k.objs.is_empty());
}

#[test]
fn a_reload_continues_blocks_by_name_and_diffs_their_objects() {
    let t0 = Instant::now();
    let mut e = Engine::new(vec![spec("A", true, 5), spec("GONE", false, 5)]);
    let (mut out, mut k) = (Vec::new(), Kern::default());
    e.start(t0, &[], &mut out);
    k.apply(&mut out);
    e.set(&checks("A"), false, t0, &mut out);
    k.apply(&mut out);
    assert_eq!(k.objs, vec![ACCEPT, ACCEPT, HEALTHY, FAILED]);
    // A: another failed metric; GONE removed; NEW added (its inputs fail at first)
    let mut a = spec("A", true, 5);
    a.failed = vec![obj(200)];
    a.failed_metric = Some(200);
    let mut new = spec("NEW", false, 5);
    new.accept = vec![obj(2)];
    new.healthy = vec![obj(20)];
    new.inputs[0].1 = false;
    e.replace(vec![a, new], t0 + secs(1.0), &mut out);
    k.apply(&mut out);
    assert_eq!(
        k.objs,
        vec![ACCEPT, 2, 200],
        "A keeps its failure (its checks' verdict carried)"
    );
    let v: Vec<_> = e.views().map(|v| (v.name.to_string(), v.level)).collect();
    assert_eq!(
        v,
        vec![("A".into(), Level::Failed), ("NEW".into(), Level::Failed)]
    );
    assert_eq!(
        k.changes.len(),
        4,
        "no change for A at the reload: {:?}",
        k.changes
    );
}

#[test]
fn watching_peers_says_so() {
    let t0 = Instant::now();
    let mut s = spec("A", true, 0);
    s.peers = true;
    let mut e = Engine::new(vec![s]);
    let mut out = Vec::new();
    e.start(t0, &[], &mut out);
    e.set(&checks("A"), false, t0, &mut out);
    let why: Vec<String> = out
        .iter()
        .filter_map(|o| match o {
            Output::Changed { why, .. } => Some(why.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        why,
        vec![
            "the peers are healthy".to_string(),
            "a peer failed (its checks)".into()
        ]
    );
}

#[test]
fn a_start_waits_for_the_first_checks_and_keeps_what_a_run_that_died_announced() {
    let t0 = Instant::now();
    let grace = |name: &str| {
        let mut s = spec(name, false, 5);
        s.grace = Duration::from_secs(3);
        s.inputs[0].1 = false; // the checkers start down (alpha)
        s
    };
    // A: fresh; B: its route is still in the kernel (adopted)
    let mut e = Engine::new(vec![grace("A"), grace("B")]);
    let (mut out, mut k) = (Vec::new(), Kern::default());
    e.start(t0, &[false, true], &mut out);
    k.apply(&mut out);
    assert_eq!(
        k.objs,
        vec![ACCEPT, ACCEPT, HEALTHY],
        "A waits unannounced, B keeps its route"
    );
    assert!(e.views().all(|v| v.starting));
    assert_eq!(e.poll_timeout(), Some(t0 + secs(3.0)));
    // A's first check passes: announced at once (no hold-down at a start)
    e.set(&checks("A"), true, t0 + secs(1.0), &mut out);
    k.apply(&mut out);
    assert_eq!(k.objs, vec![ACCEPT, ACCEPT, HEALTHY, HEALTHY]);
    // B's never does: withdrawn when the grace ends
    e.poll(t0 + secs(3.0), &mut out);
    k.apply(&mut out);
    assert_eq!(k.objs, vec![ACCEPT, ACCEPT, HEALTHY]);
    let v: Vec<_> = e.views().map(|v| (v.level, v.starting)).collect();
    assert_eq!(v, vec![(Level::Healthy, false), (Level::Failed, false)]);
}

/// `ldirector upgrade`: a block drained in the binary this one continues starts drained —
/// its accepting route only, no announcement, no change — and comes back on `resume`.
#[test]
fn a_block_drained_before_an_upgrade_starts_drained() {
    let t0 = Instant::now();
    let mut e = Engine::new(vec![spec("A", false, 5), spec("B", false, 5)]);
    e.drained_before(&["B".to_string()]);
    let mut out = Vec::new();
    e.start(t0, &[true, false], &mut out);
    let mut k = Kern::default();
    k.apply(&mut out);
    assert_eq!(
        k.by_block,
        vec![
            ("A".to_string(), ACCEPT),
            ("A".to_string(), HEALTHY),
            ("B".to_string(), ACCEPT)
        ]
    );
    assert_eq!(k.changes, vec![(Level::Off, Level::Healthy)], "A only");
    assert!(e.views().nth(1).is_some_and(|v| v.draining));
    assert_eq!(e.resume(Some("B"), t0 + secs(1.0), &mut out), 1);
    k.apply(&mut out);
    assert!(k.by_block.contains(&("B".to_string(), HEALTHY)));
}
