//! `ldirector run` between real network namespaces: elections, failovers, hand-overs,
//! tracking, sync groups and announcements, seen from the kernel (addresses on interfaces)
//! and from a client (its neighbour table and pings). Needs root and iproute2.

mod lab;

use lab::{wait_until, Lab};
use nix::sys::signal::Signal;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(15);

/// A director's config: a sync group moving the frontend VIP (clients' side) and the
/// backend VIP (the real servers' gateway) together.
fn pair_conf(prio: u8, advert: &str, version: u8, extra: &str) -> String {
    format!(
        "global_defs {{ vrrp_garp_master_delay 1 }}
vrrp_sync_group DIRECTOR {{ group {{ FRONT BACK }} }}
vrrp_instance FRONT {{
  interface eth0
  virtual_router_id 51
  version {version}
  priority {prio}
  advert_int {advert}
  virtual_ipaddress {{ 192.0.2.100/24 }}
  {extra}
}}
vrrp_instance BACK {{
  interface eth1
  virtual_router_id 52
  version {version}
  priority {prio}
  advert_int {advert}
  virtual_ipaddress {{ 198.51.100.1/24 }}
}}
"
    )
}

/// The pair's sync group counting its members' tracking weights (keepalived ignores them
/// otherwise).
fn weighted(conf: &str) -> String {
    conf.replace(
        "vrrp_sync_group DIRECTOR { group { FRONT BACK } }",
        "vrrp_sync_group DIRECTOR {\n  group { FRONT BACK }\n  sync_group_tracking_weight\n}",
    )
}

fn holds(lab: &Lab, d: &str) -> (bool, bool) {
    (
        lab.has_addr(d, "eth0", "192.0.2.100"),
        lab.has_addr(d, "eth1", "198.51.100.1"),
    )
}

fn wait_holds(lab: &Lab, d: &str, want: (bool, bool)) -> bool {
    wait_until(LONG, || holds(lab, d) == want)
}

/// The client reaches the frontend VIP through director `n` (its neighbour entry points
/// at n's MAC). Pings create the entry when there is none.
fn client_follows(lab: &Lab, n: usize) -> bool {
    let mac = Lab::mac(n, "eth0");
    wait_until(LONG, || {
        lab.ping("client", "192.0.2.100");
        lab.neighbour("client", "192.0.2.100").as_deref() == Some(mac.as_str())
    })
}

/// The client's existing neighbour entry for the VIP moves to director `n` while the
/// client sends nothing: only a gratuitous ARP can have done that.
fn client_hears_garp(lab: &Lab, n: usize) -> bool {
    let mac = Lab::mac(n, "eth0");
    wait_until(LONG, || {
        lab.neighbour("client", "192.0.2.100").as_deref() == Some(mac.as_str())
    })
}

#[test]
fn election_failover_on_kill_and_failback_with_preempt() {
    let mut lab = Lab::new("fk", 2);
    let d1 = lab.ldirector("d1", "ld1", &pair_conf(150, "0.1", 3, ""));
    let _d2 = lab.ldirector("d2", "ld2", &pair_conf(100, "0.1", 3, ""));
    assert!(wait_holds(&lab, "d1", (true, true)), "{}", lab.logs());
    assert!(wait_holds(&lab, "d2", (false, false)), "{}", lab.logs());
    assert!(client_follows(&lab, 1), "{}", lab.logs());

    // kill -9 the master: the backup takes both VIPs and the client follows its GARP
    lab.proc(d1).signal(Signal::SIGKILL);
    lab.proc(d1).wait_exit(LONG);
    assert!(wait_holds(&lab, "d2", (true, true)), "{}", lab.logs());
    assert!(client_hears_garp(&lab, 2), "{}", lab.logs());

    // d1 comes back (its leftover VIPs are taken over cleanly) and preempts
    let _d1 = lab.ldirector("d1", "ld1b", &pair_conf(150, "0.1", 3, ""));
    assert!(wait_holds(&lab, "d1", (true, true)), "{}", lab.logs());
    assert!(wait_holds(&lab, "d2", (false, false)), "{}", lab.logs());
    assert!(client_hears_garp(&lab, 1), "{}", lab.logs());
}

/// A notify script that appends its arguments to `log` (as root: the lab's folder).
fn notify_script(lab: &Lab, name: &str) -> (String, std::path::PathBuf) {
    let log = lab.path().join(format!("{name}.log"));
    let script = lab.file(
        &format!("{name}.sh"),
        &format!("#!/bin/sh\necho \"$*\" >> {}\n", log.display()),
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script.display().to_string(), log)
}

fn read(p: &std::path::Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

#[test]
fn clean_stop_hands_over_and_notifies() {
    let mut lab = Lab::new("st", 2);
    let (script, log) = notify_script(&lab, "n1");
    let extra = format!("notify {script}\n notify_master \"{script} master-only\"");
    let conf1 = pair_conf(150, "1", 2, &extra)
        .replace("global_defs {", "global_defs {\n script_user root\n");
    let d1 = lab.ldirector("d1", "ld1", &conf1);
    let _d2 = lab.ldirector("d2", "ld2", &pair_conf(100, "1", 2, ""));
    assert!(wait_holds(&lab, "d1", (true, true)), "{}", lab.logs());
    assert!(client_follows(&lab, 1), "{}", lab.logs());
    assert!(wait_until(LONG, || read(&log).contains("INSTANCE FRONT MASTER 150")));

    lab.proc(d1).signal(Signal::SIGTERM);
    assert_eq!(lab.proc(d1).wait_exit(LONG), Some(0), "{}", lab.logs());
    // the stopped master removed its VIPs; the backup took them on the priority-0 advert
    assert_eq!(holds(&lab, "d1"), (false, false));
    assert!(wait_holds(&lab, "d2", (true, true)), "{}", lab.logs());
    assert!(client_hears_garp(&lab, 2), "{}", lab.logs());
    let n = read(&log);
    // in order: the specific script before the generic one; STOP at the end
    let want = [
        "master-only",
        "INSTANCE FRONT MASTER 150",
        "INSTANCE FRONT STOP 150",
    ];
    let pos: Vec<usize> = want
        .iter()
        .map(|w| n.find(w).unwrap_or_else(|| panic!("{w:?} missing in {n}")))
        .collect();
    assert!(pos.windows(2).all(|p| p[0] < p[1]), "order: {n}");
}

#[test]
fn nopreempt_and_preempt_delay() {
    let mut lab = Lab::new("np", 2);
    let _d2 = lab.ldirector("d2", "ld2", &pair_conf(100, "0.1", 3, ""));
    assert!(wait_holds(&lab, "d2", (true, true)), "{}", lab.logs());
    // a higher priority with nopreempt joins: the master stays
    // (every member of a sync group needs it: a preempting member takes its group along)
    let both = |opt: &str| {
        pair_conf(150, "0.1", 3, "").replace("advert_int 0.1", &format!("advert_int 0.1\n  {opt}"))
    };
    let d1 = lab.ldirector("d1", "ld1", &both("nopreempt"));
    assert!(wait_until(LONG, || lab
        .proc(d1)
        .log_text()
        .contains("GROUP DIRECTOR is now BACKUP")));
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(holds(&lab, "d1"), (false, false), "{}", lab.logs());
    assert_eq!(holds(&lab, "d2"), (true, true));
    lab.proc(d1).signal(Signal::SIGTERM);
    lab.proc(d1).wait_exit(LONG);

    // with preempt_delay 3 it waits, then takes over
    let d1 = lab.ldirector("d1", "ld1b", &both("preempt_delay 3"));
    assert!(wait_until(LONG, || lab
        .proc(d1)
        .log_text()
        .contains("GROUP DIRECTOR is now BACKUP")));
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        holds(&lab, "d1"),
        (false, false),
        "preempted before the delay"
    );
    assert!(wait_holds(&lab, "d1", (true, true)), "{}", lab.logs());
    assert!(wait_holds(&lab, "d2", (false, false)), "{}", lab.logs());
}

#[test]
fn failing_track_script_moves_mastership() {
    let mut lab = Lab::new("ts", 2);
    let flag = lab.path().join("down");
    let conf = weighted(&pair_conf(150, "0.1", 3, "track_script { chk }")).replace(
        "vrrp_sync_group",
        &format!(
            "global_defs {{ script_user root }}\nvrrp_script chk {{\n script \"/bin/sh -c '! test -e {}'\"\n interval 0.2\n weight -60\n fall 2\n rise 2\n}}\nvrrp_sync_group",
            flag.display()
        ),
    );
    let _d1 = lab.ldirector("d1", "ld1", &conf);
    let _d2 = lab.ldirector("d2", "ld2", &pair_conf(100, "0.1", 3, ""));
    assert!(wait_holds(&lab, "d1", (true, true)), "{}", lab.logs());
    std::fs::write(&flag, "").unwrap();
    // 150 - 60 = 90 < 100: d2 preempts; the backend VIP follows its group
    assert!(wait_holds(&lab, "d2", (true, true)), "{}", lab.logs());
    assert!(wait_holds(&lab, "d1", (false, false)), "{}", lab.logs());
    std::fs::remove_file(&flag).unwrap();
    assert!(wait_holds(&lab, "d1", (true, true)), "{}", lab.logs());
}

#[test]
fn link_down_faults_the_group() {
    let mut lab = Lab::new("ld", 2);
    let d1 = lab.ldirector("d1", "ld1", &pair_conf(150, "0.1", 3, ""));
    let _d2 = lab.ldirector("d2", "ld2", &pair_conf(100, "0.1", 3, ""));
    assert!(wait_holds(&lab, "d1", (true, true)), "{}", lab.logs());
    // the backend link of d1 goes down: BACK faults, FRONT faults with its group
    lab::ip(&["-n", &lab.ns("d1"), "link", "set", "eth1", "down"]);
    assert!(wait_holds(&lab, "d2", (true, true)), "{}", lab.logs());
    assert!(!lab.has_addr("d1", "eth0", "192.0.2.100"));
    assert!(lab
        .proc(d1)
        .log_text()
        .contains("GROUP DIRECTOR is now FAULT"));
    lab::ip(&["-n", &lab.ns("d1"), "link", "set", "eth1", "up"]);
    assert!(wait_holds(&lab, "d1", (true, true)), "{}", lab.logs());
}

#[test]
fn stopped_master_loses_and_preempts_after_sigcont() {
    let mut lab = Lab::new("ss", 2);
    let d1 = lab.ldirector("d1", "ld1", &pair_conf(150, "0.1", 3, ""));
    let _d2 = lab.ldirector("d2", "ld2", &pair_conf(100, "0.1", 3, ""));
    assert!(wait_holds(&lab, "d1", (true, true)), "{}", lab.logs());
    assert!(client_follows(&lab, 1), "{}", lab.logs());
    lab.proc(d1).signal(Signal::SIGSTOP);
    assert!(wait_holds(&lab, "d2", (true, true)), "{}", lab.logs());
    assert!(client_hears_garp(&lab, 2), "{}", lab.logs());
    lab.proc(d1).signal(Signal::SIGCONT);
    // two masters for a moment; the higher priority wins and the client comes back
    assert!(wait_holds(&lab, "d2", (false, false)), "{}", lab.logs());
    assert!(holds(&lab, "d1") == (true, true), "{}", lab.logs());
    assert!(client_hears_garp(&lab, 1), "{}", lab.logs());
}

#[test]
fn partition_heal_leaves_one_master_and_the_client_follows_it() {
    let mut lab = Lab::new("ph", 2);
    let _d1 = lab.ldirector("d1", "ld1", &pair_conf(150, "0.1", 3, ""));
    let _d2 = lab.ldirector("d2", "ld2", &pair_conf(100, "0.1", 3, ""));
    assert!(wait_holds(&lab, "d1", (true, true)), "{}", lab.logs());
    assert!(client_follows(&lab, 1), "{}", lab.logs());
    lab.isolate("d1", true);
    // d2 no longer hears d1: both are masters, the client follows d2's GARP
    assert!(wait_holds(&lab, "d2", (true, true)), "{}", lab.logs());
    assert!(client_hears_garp(&lab, 2), "{}", lab.logs());
    lab.isolate("d1", false);
    assert!(wait_holds(&lab, "d2", (false, false)), "{}", lab.logs());
    assert_eq!(holds(&lab, "d1"), (true, true));
    // without asking: the survivor re-announced, so the client is back on d1 at once
    assert!(client_hears_garp(&lab, 1), "{}", lab.logs());
}

#[test]
fn ipv6_instance_moves_with_unsolicited_na() {
    let mut lab = Lab::new("v6", 2);
    let conf = |prio: u8| {
        format!(
            "vrrp_instance V6 {{
  interface eth0
  virtual_router_id 61
  version 3
  priority {prio}
  advert_int 0.1
  virtual_ipaddress {{ 2001:db8::100/64 }}
}}"
        )
    };
    let d1 = lab.ldirector("d1", "ld1", &conf(150));
    let _d2 = lab.ldirector("d2", "ld2", &conf(100));
    assert!(
        wait_until(LONG, || lab.has_addr("d1", "eth0", "2001:db8::100")),
        "{}",
        lab.logs()
    );
    assert!(!lab.has_addr("d2", "eth0", "2001:db8::100"));
    let follows = |lab: &Lab, n: usize| {
        let mac = Lab::mac(n, "eth0");
        wait_until(LONG, || {
            lab.ping("client", "2001:db8::100");
            lab.neighbour("client", "2001:db8::100").as_deref() == Some(mac.as_str())
        })
    };
    assert!(follows(&lab, 1), "{}", lab.logs());
    lab.proc(d1).signal(Signal::SIGKILL);
    lab.proc(d1).wait_exit(LONG);
    assert!(
        wait_until(LONG, || lab.has_addr("d2", "eth0", "2001:db8::100")),
        "{}",
        lab.logs()
    );
    assert!(follows(&lab, 2), "{}", lab.logs());
}

#[test]
fn unicast_peers() {
    let mut lab = Lab::new("uc", 2);
    let conf = |prio: u8, me: u8, peer: u8| {
        format!(
            "vrrp_instance U {{
  interface eth0
  virtual_router_id 71
  version 3
  priority {prio}
  advert_int 0.1
  unicast_src_ip 192.0.2.{me}
  unicast_peer {{ 192.0.2.{peer} }}
  virtual_ipaddress {{ 192.0.2.100/24 }}
}}"
        )
    };
    let d1 = lab.ldirector("d1", "ld1", &conf(150, 11, 12));
    let _d2 = lab.ldirector("d2", "ld2", &conf(100, 12, 11));
    assert!(
        wait_until(LONG, || lab.has_addr("d1", "eth0", "192.0.2.100")),
        "{}",
        lab.logs()
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(!lab.has_addr("d2", "eth0", "192.0.2.100"), "{}", lab.logs());
    lab.proc(d1).signal(Signal::SIGKILL);
    lab.proc(d1).wait_exit(LONG);
    assert!(
        wait_until(LONG, || lab.has_addr("d2", "eth0", "192.0.2.100")),
        "{}",
        lab.logs()
    );
}

#[test]
fn a_second_daemon_on_the_same_run_directory_refuses_to_start() {
    let mut lab = Lab::new("rd", 1);
    let conf = pair_conf(150, "1", 2, "");
    let _a = lab.ldirector("d1", "same", &conf);
    assert!(wait_holds(&lab, "d1", (true, true)), "{}", lab.logs());
    let b = lab.ldirector("d1", "same", &conf);
    assert_eq!(lab.proc(b).wait_exit(LONG), Some(1), "{}", lab.logs());
    assert!(lab.proc(b).log_text().contains("another ldirector"));
    // its run directory deleted, a second daemon is still refused: the virtual routers
    // are claimed in the network namespace, not in a directory
    std::fs::remove_dir_all(lab.path().join("same.run")).unwrap();
    let c = lab.ldirector("d1", "same", &conf);
    assert_eq!(lab.proc(c).wait_exit(LONG), Some(1), "{}", lab.logs());
    assert!(
        lab.proc(c)
            .log_text()
            .contains("another ldirector already runs virtual router 51 on eth0 (IPv4)"),
        "{}",
        lab.logs()
    );
    // and so is one with a run directory of its own
    let d = lab.ldirector("d1", "other", &conf);
    assert_eq!(lab.proc(d).wait_exit(LONG), Some(1), "{}", lab.logs());
    assert!(wait_holds(&lab, "d1", (true, true)), "{}", lab.logs());
}

/// VRRP runs on a thread of its own: a master whose main runtime is kept busy starting
/// hundreds of tracking scripts a second never misses adverts (advert_int 0.05 s, so a
/// stall of ~170 ms would make the backup take over).
#[test]
fn script_load_does_not_delay_adverts() {
    let mut lab = Lab::new("bz", 2);
    let mut scripts = String::from("global_defs { script_user root }\n");
    let mut tracks = String::from("track_script {\n");
    for i in 0..60 {
        scripts.push_str(&format!(
            "vrrp_script s{i} {{\n script \"/bin/sh -c 'i=0; while [ $i -lt 200 ]; do i=$((i+1)); done'\"\n interval 0.1\n weight 0\n}}\n"
        ));
        tracks.push_str(&format!("  s{i}\n"));
    }
    // one more that counts its runs, to show the load is real
    let count = lab.path().join("runs");
    scripts.push_str(&format!(
        "vrrp_script counter {{\n script \"/bin/sh -c 'echo x >> {}'\"\n interval 0.1\n weight 0\n}}\n",
        count.display()
    ));
    tracks.push_str("  counter\n}");
    let c1 = format!("{scripts}{}", lab::single_instance(150, "0.05", &tracks));
    let d1 = lab.ldirector("d1", "ld1", &c1);
    let d2 = lab.ldirector("d2", "ld2", &lab::single_instance(100, "0.05", ""));
    let before = settled(&mut lab, d1, d2);
    // ~600 script runs a second on the master, for five seconds at least and until the
    // counter ran 25 times (a starved machine runs fewer a second)
    let t0 = std::time::Instant::now();
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        wait_until(Duration::from_secs(60), || read(&count).lines().count()
            >= 25),
        "the scripts ran only {} times in {:?}",
        read(&count).lines().count(),
        t0.elapsed()
    );
    assert_eq!(
        transitions(&mut lab, d1, d2),
        before,
        "the backup took over: an advert was late\n{}",
        lab.logs()
    );
}

/// How often each director became MASTER so far.
fn transitions(lab: &mut Lab, d1: usize, d2: usize) -> (usize, usize) {
    let n = |lab: &mut Lab, d: usize| lab.proc(d).log_text().matches("now MASTER").count();
    (n(lab, d1), n(lab, d2))
}

/// Wait until the election has settled with d1 MASTER and d2 BACKUP (two directors that
/// start together may both be MASTER for a moment, as RFC 5798 allows: that is not a
/// takeover), then for one more second unchanged; the transitions so far.
fn settled(lab: &mut Lab, d1: usize, d2: usize) -> (usize, usize) {
    let backup_last = |lab: &mut Lab, d: usize| {
        let t = lab.proc(d).log_text();
        t.rfind("now BACKUP") > t.rfind("now MASTER")
    };
    let mut last = (0, 0);
    let ok = wait_until(LONG, || {
        if !(lab.has_addr("d1", "eth0", "192.0.2.100")
            && !lab.has_addr("d2", "eth0", "192.0.2.100")
            && backup_last(lab, d2))
        {
            return false;
        }
        let now = transitions(lab, d1, d2);
        let same = now == last;
        last = now;
        if !same {
            std::thread::sleep(Duration::from_secs(1));
        }
        same
    });
    assert!(ok, "the election did not settle: {}", lab.logs());
    last
}

/// The VRRP thread runs under SCHED_RR (by default, at priority 10), so CPU hogs at the
/// highest nice priority on the VRRP threads' CPU do not delay adverts (advert_int 0.01:
/// a stall of ~30 ms would make the backup take over).
#[test]
fn the_vrrp_thread_is_real_time_and_hogs_do_not_delay_adverts() {
    // alone: the other labs' packets, queued to ksoftirqd behind the nice -20 hogs, would
    // delay this lab's adverts too (a delay of the kernel's, not of the VRRP thread's)
    let mut lab = Lab::alone("rt", 2);
    let single = |prio: u8| {
        format!(
            "global_defs {{ vrrp_cpu_affinity 0 }}\n{}",
            lab::single_instance(prio, "0.01", "")
        )
    };
    let d1 = lab.ldirector("d1", "ld1", &single(150));
    let d2 = lab.ldirector("d2", "ld2", &single(100));
    let before = settled(&mut lab, d1, d2);
    // the thread named "vrrp" of each: policy 2 (SCHED_RR), priority 10, on CPU 0 only
    for d in [d1, d2] {
        let pid = lab.proc(d).pid();
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
        let vrrp: Vec<String> = tasks
            .flatten()
            .filter(|t| read(&t.path().join("comm")).trim() == "vrrp")
            .map(|t| read(&t.path().join("stat")))
            .collect();
        assert_eq!(vrrp.len(), 1, "{pid}: {vrrp:?}");
        let f: Vec<&str> = vrrp[0][vrrp[0].rfind(')').unwrap() + 2..]
            .split_whitespace()
            .collect();
        assert_eq!(
            (f[38], f[37]),
            ("2", "10"),
            "policy, rt priority: {}",
            vrrp[0]
        );
        assert!(lab
            .proc(d)
            .log_text()
            .contains("real-time scheduling (SCHED_RR 10)"));
    }
    // CPU hogs at nice -20 on CPU 0 for four seconds
    let hogs: Vec<std::process::Child> = (0..3)
        .map(|_| {
            std::process::Command::new("nice")
                .args(["-n", "-20", "taskset", "-c", "0", "timeout", "4"])
                .args(["sh", "-c", "while :; do :; done"])
                .spawn()
                .expect("nice, taskset, timeout")
        })
        .collect();
    for mut h in hogs {
        let _ = h.wait();
    }
    assert_eq!(
        transitions(&mut lab, d1, d2),
        before,
        "a director changed state under the hogs: an advert was late\n{}",
        lab.logs()
    );
}

fn show(lab: &Lab, d: &str, what: &[&str]) -> String {
    let mut args = vec!["ip"];
    args.extend_from_slice(what);
    String::from_utf8_lossy(&lab.exec(d, &args).stdout).into_owned()
}

/// (excluded address with label and scope, route, rule) present on director `d`.
fn master_state(lab: &Lab, d: &str) -> (bool, bool, bool) {
    (
        show(lab, d, &["addr", "show", "dev", "eth1"])
            .contains("203.0.113.1/32 scope host eth1:vip"),
        {
            let r = show(lab, d, &["route", "show"]);
            // and keepalived 1.x's `via A or B`: a multipath route
            r.contains("203.0.113.128/25 via 198.51.100.50 dev eth1")
                && r.contains("203.0.113.64/26")
                && r.contains("nexthop via 198.51.100.50 dev eth1 weight 1")
                && r.contains("nexthop via 198.51.100.51 dev eth1 weight 2")
                && r.contains("203.0.113.32/27")
                && r.contains("nexthop via 198.51.100.53 dev eth1 weight 1")
        },
        show(lab, d, &["rule", "show"]).contains("1000:\tfrom 192.0.2.100 lookup 100"),
    )
}

#[test]
fn routes_rules_and_address_options_follow_the_master() {
    let mut lab = Lab::new("rr", 2);
    let extra = "virtual_ipaddress_excluded { 203.0.113.1/32 dev eth1 label eth1:vip scope host }
  virtual_routes {
    203.0.113.128/25 via 198.51.100.50 dev eth1
    203.0.113.64/26 nexthop via 198.51.100.50 dev eth1 nexthop via 198.51.100.51 dev eth1 weight 2
    203.0.113.32/27 via 198.51.100.52 or 198.51.100.53 dev eth1
  }
  virtual_rules { from 192.0.2.100 table 100 priority 1000 }";
    let d1 = lab.ldirector("d1", "ld1", &pair_conf(150, "0.1", 3, extra));
    let _d2 = lab.ldirector("d2", "ld2", &pair_conf(100, "0.1", 3, extra));
    assert!(wait_holds(&lab, "d1", (true, true)), "{}", lab.logs());
    assert!(
        wait_until(LONG, || master_state(&lab, "d1") == (true, true, true)),
        "{}\n{}\n{}",
        show(&lab, "d1", &["addr"]),
        show(&lab, "d1", &["route"]),
        show(&lab, "d1", &["rule"])
    );
    assert_eq!(master_state(&lab, "d2"), (false, false, false));
    lab.proc(d1).signal(Signal::SIGTERM);
    lab.proc(d1).wait_exit(LONG);
    assert!(
        wait_until(LONG, || master_state(&lab, "d2") == (true, true, true)),
        "{}",
        lab.logs()
    );
    // a clean stop removed them all
    assert_eq!(master_state(&lab, "d1"), (false, false, false));
}

#[test]
fn track_file_weight_and_notify_fifo() {
    let mut lab = Lab::new("tf", 2);
    let file = lab.path().join("weight");
    let fifo = lab.path().join("fifo");
    let conf = weighted(&pair_conf(150, "0.1", 3, "track_file { tf weight -10 }")).replace(
        "vrrp_sync_group",
        &format!(
            "global_defs {{ vrrp_notify_fifo {}\n vrrp_notify_priority_changes }}\ntrack_file tf {{ file {}\n init_file 0 overwrite }}\nvrrp_sync_group",
            fifo.display(),
            file.display()
        ),
    );
    let conf = conf.replacen("global_defs { vrrp_garp_master_delay 1 }\n", "", 1);
    let _d1 = lab.ldirector("d1", "ld1", &conf);
    let _d2 = lab.ldirector("d2", "ld2", &pair_conf(100, "0.1", 3, ""));
    assert!(wait_holds(&lab, "d1", (true, true)), "{}", lab.logs());
    // read the FIFO from now on
    let reader = {
        let f = fifo.clone();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut s = String::new();
            let mut r = std::fs::File::open(&f).expect("open fifo");
            let mut buf = [0u8; 4096];
            let end = std::time::Instant::now() + Duration::from_secs(10);
            // instances and groups have queues of their own: wait for both lines
            while std::time::Instant::now() < end
                && (s.matches("GROUP \"DIRECTOR\" BACKUP 0").count() < 2
                    || !s.contains("INSTANCE \"FRONT\" BACKUP 90\n")
                    || !s.contains("INSTANCE \"FRONT\" MASTER_PRIORITY 90\n"))
            {
                match r.read(&mut buf) {
                    Ok(0) | Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    Ok(n) => s.push_str(&String::from_utf8_lossy(&buf[..n])),
                }
            }
            s
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    // 150 + 6 x -10 = 90 < 100: d2 takes over
    std::fs::write(&file, "6\n").unwrap();
    assert!(wait_holds(&lab, "d2", (true, true)), "{}", lab.logs());
    let lines = reader.join().unwrap();
    assert!(lines.contains("INSTANCE \"FRONT\" BACKUP 90\n"), "{lines}");
    // vrrp_notify_priority_changes: the drop to 90 while master, before the hand-over
    let changed = lines.find("INSTANCE \"FRONT\" MASTER_PRIORITY 90\n");
    assert!(
        changed.is_some_and(|at| Some(at) < lines.find("INSTANCE \"FRONT\" BACKUP 90\n")),
        "{lines}"
    );
    // keepalived's format; the group's priority is 0. Start-up (BACKUP), the election
    // (MASTER) and the lost priority (BACKUP again)
    for l in [
        "INSTANCE \"FRONT\" MASTER 150\n",
        "INSTANCE \"BACK\" MASTER 150\n",
        "GROUP \"DIRECTOR\" MASTER 0\n",
    ] {
        assert!(lines.contains(l), "{l} missing in {lines}");
    }
    assert_eq!(
        lines.matches("GROUP \"DIRECTOR\" BACKUP 0\n").count(),
        2,
        "{lines}"
    );
    std::fs::write(&file, "0\n").unwrap();
    assert!(wait_holds(&lab, "d1", (true, true)), "{}", lab.logs());
}

#[test]
fn insecure_scripts_are_refused_with_enable_script_security() {
    let mut lab = Lab::new("sc", 1);
    let (script, _) = notify_script(&lab, "n");
    // the lab folder is writable by its owner only, but the script itself is made
    // world-writable: refused, with the place in the file
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o777)).unwrap();
    let conf = pair_conf(150, "1", 2, &format!("notify {script}"))
        .replace("global_defs {", "global_defs {\n enable_script_security\n");
    let d = lab.ldirector("d1", "ld1", &conf);
    assert_eq!(lab.proc(d).wait_exit(LONG), Some(1), "{}", lab.logs());
    let log = lab.proc(d).log_text();
    assert!(
        log.contains("enable_script_security") && log.contains(".conf:"),
        "{log}"
    );
    assert_eq!(holds(&lab, "d1"), (false, false));
}

#[test]
fn no_accept_drops_packets_to_the_vips() {
    let mut lab = Lab::new("na", 1);
    let d = lab.ldirector("d1", "ld1", &pair_conf(150, "0.1", 3, "no_accept"));
    assert!(wait_holds(&lab, "d1", (true, true)), "{}", lab.logs());
    // the frontend VIP (no_accept) does not answer; the backend one (accept) does
    let client_ok = (0..3).any(|_| lab.ping("client", "192.0.2.100"));
    assert!(!client_ok, "a no_accept VIP answered");
    assert!(
        wait_until(LONG, || lab.ping("server", "198.51.100.1")),
        "{}",
        lab.logs()
    );
    let tables = |lab: &Lab| {
        String::from_utf8_lossy(&lab.exec("d1", &["nft", "list", "tables"]).stdout).into_owned()
    };
    assert!(tables(&lab).contains("inet ldirector"));
    lab.proc(d).signal(Signal::SIGTERM);
    assert_eq!(lab.proc(d).wait_exit(LONG), Some(0));
    assert!(
        !tables(&lab).contains("inet ldirector"),
        "table left behind"
    );
}

/// The README's quick start: the built-in demo runs, shows the takeover and removes its lab.
#[test]
fn demo_runs_and_cleans_up() {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_ldirector"))
        .args(["demo"])
        .output()
        .expect("ldirector demo");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for want in [
        "d1 is MASTER after",
        "HTTP_GET checks find rs1 (198.51.100.21) and rs2 (198.51.100.22) up",
        "finds rs2 down after",
        "rs2 is restarted: its check passes",
        "d2 is MASTER ",
        "moved to d2 (gratuitous ARP)",
        "d1 is MASTER again",
    ] {
        assert!(out.contains(want), "{want:?} missing:\n{out}");
    }
    // this kernel has no IPVS: said in one line (the VM test runs the demo with IPVS)
    let has_ipvs = std::path::Path::new("/proc/net/ip_vs").exists();
    assert_eq!(out.contains("this kernel has no IPVS"), !has_ipvs, "{out}");
    let ns = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&ns.stdout).contains("ldemo-"),
        "lab left behind"
    );
}

/// keepalived #2159: a reload must never cost an advert or cause a transition. The master
/// carries 10,000 real servers (a long parse) and adverts every 50 ms with a backup
/// watching (it takes over after 180 ms of silence); both reload repeatedly through the
/// control socket, which answers once the reload is applied. One reload adds a VIP to the
/// frontend (the master adds and announces it), the next removes it again; then the
/// backup reloads with a higher priority and preempts: an operator's change does act.
#[test]
fn reloads_cause_no_transition_and_apply_vip_changes() {
    let mut lab = Lab::new("rl", 2);
    let mut servers = String::from("virtual_server 203.0.113.10 80 {\n  protocol TCP\n");
    for i in 0..10_000u32 {
        servers.push_str(&format!(
            "  real_server 10.{}.{}.{} 80 {{\n  }}\n",
            i / 65536,
            (i / 256) % 256,
            i % 256
        ));
    }
    servers.push_str("}\n");
    let (script, log) = notify_script(&lab, "n2");
    let conf = |prio: u8, vips: &str, extra: &str, rs: bool| {
        pair_conf(prio, "0.05", 3, extra).replace("192.0.2.100/24", vips)
            + if rs { servers.as_str() } else { "" }
    };
    let c1 = conf(150, "192.0.2.100/24", "", true);
    let b_extra = format!("notify {script}");
    let c2 = |prio: u8| {
        conf(prio, "192.0.2.100/24", &b_extra, false)
            .replace("global_defs {", "global_defs {\n script_user root\n")
    };
    // the master first, so that the backup starts by hearing it
    let d1 = lab.ldirector("d1", "ld1", &c1);
    assert!(wait_holds(&lab, "d1", (true, true)), "{}", lab.logs());
    let d2 = lab.ldirector("d2", "ld2", &c2(100));
    assert!(wait_until(LONG, || read(&log).contains("INSTANCE FRONT BACKUP")));
    assert!(wait_holds(&lab, "d2", (false, false)), "{}", lab.logs());
    let bin = lab::ldirector_bin();
    let reload = |lab: &Lab, d: &str, name: &str| {
        let run_dir = lab.path().join(format!("{name}.run")).display().to_string();
        let o = lab.exec(d, &[&bin, "reload", "--run-dir", &run_dir]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}{}",
            String::from_utf8_lossy(&o.stderr),
            lab.logs()
        );
    };
    for round in 0..3 {
        reload(&lab, "d1", "ld1");
        reload(&lab, "d2", "ld2");
        if round == 1 {
            lab.file(
                "ld1.conf",
                &conf(150, "192.0.2.100/24\n 192.0.2.101/24", "", true),
            );
            reload(&lab, "d1", "ld1");
            assert!(lab.has_addr("d1", "eth0", "192.0.2.101"), "{}", lab.logs());
            assert!(client_follows(&lab, 1));
            lab.file("ld1.conf", &c1);
            reload(&lab, "d1", "ld1");
            assert!(!lab.has_addr("d1", "eth0", "192.0.2.101"), "{}", lab.logs());
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let masters = |i: usize, lab: &mut Lab| {
        lab.proc(i)
            .log_text()
            .matches("INSTANCE FRONT is now MASTER")
            .count()
    };
    assert_eq!(masters(d1, &mut lab), 1, "{}", lab.logs());
    assert_eq!(
        masters(d2, &mut lab),
        0,
        "an advert was missed\n{}",
        lab.logs()
    );
    assert_eq!(holds(&lab, "d1"), (true, true));
    assert_eq!(
        read(&log).matches("INSTANCE FRONT").count(),
        1,
        "{}",
        read(&log)
    );
    // the backup's new priority takes effect: it preempts
    lab.file("ld2.conf", &c2(200));
    reload(&lab, "d2", "ld2");
    assert!(wait_holds(&lab, "d2", (true, true)), "{}", lab.logs());
    assert!(wait_holds(&lab, "d1", (false, false)), "{}", lab.logs());
    assert!(wait_until(LONG, || read(&log).contains("INSTANCE FRONT MASTER 200")));
}

/// A reload brings static addresses to the new list: the one gone is removed, the new one
/// added, the one kept untouched.
#[test]
fn a_reload_changes_static_addresses() {
    let mut lab = Lab::new("rs", 1);
    let conf = |a: &str| {
        format!("global_defs {{ default_interface eth0 }}\nstatic_ipaddress {{\n 203.0.113.1/32 dev eth0\n {a}/32 dev eth0\n}}\n")
    };
    let _d = lab.ldirector("d1", "ld", &conf("203.0.113.2"));
    assert!(
        wait_until(LONG, || lab.has_addr("d1", "eth0", "203.0.113.2")),
        "{}",
        lab.logs()
    );
    lab.file("ld.conf", &conf("203.0.113.3"));
    let run_dir = lab.path().join("ld.run").display().to_string();
    let o = lab.exec(
        "d1",
        &[&lab::ldirector_bin(), "reload", "--run-dir", &run_dir],
    );
    assert!(o.status.success(), "{}", lab.logs());
    assert!(lab.has_addr("d1", "eth0", "203.0.113.3"), "{}", lab.logs());
    assert!(!lab.has_addr("d1", "eth0", "203.0.113.2"), "{}", lab.logs());
    assert!(lab.has_addr("d1", "eth0", "203.0.113.1"), "{}", lab.logs());
    assert!(
        lab.logs()
            .contains("reload: static: added address 203.0.113.3/32"),
        "{}",
        lab.logs()
    );
}

/// The first VRRP instance in `ldirector status --json` of the daemon `name` on `d`
/// (null when it does not answer).
fn first_instance(lab: &Lab, d: &str, name: &str) -> serde_json::Value {
    let bin = lab::ldirector_bin();
    let rd = lab.path().join(format!("{name}.run")).display().to_string();
    let o = lab.exec(d, &[&bin, "status", "--json", "--run-dir", &rd]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    v["vrrp"][0].clone()
}

/// A backup that only receives adverts shows them in its status as they come (the VRRP
/// thread used to republish its counters only when the engine had something to do).
#[test]
fn a_backups_status_is_live() {
    let mut lab = Lab::new("st", 2);
    let d1 = lab.ldirector("d1", "ld1", &pair_conf(150, "0.1", 3, ""));
    let d2 = lab.ldirector("d2", "ld2", &pair_conf(100, "0.1", 3, ""));
    settled(&mut lab, d1, d2);
    let received = |lab: &Lab| -> (u64, String) {
        let front = first_instance(lab, "d2", "ld2");
        (
            front["adverts_received"].as_u64().unwrap_or(0),
            front["master"].as_str().unwrap_or("").to_string(),
        )
    };
    let (first, master) = received(&lab);
    assert_eq!(master, "192.0.2.11", "{}", lab.logs());
    // 2 s at 0.1 s adverts: about 20 more, each seen within 0.2 s
    std::thread::sleep(Duration::from_secs(2));
    let (then, _) = received(&lab);
    assert!(then >= first + 10, "{first} -> {then}\n{}", lab.logs());
}

/// A VIP removed by hand from the MASTER is put back at once (and said so in the log);
/// the master stays master and the backup never takes over.
#[test]
fn a_vip_removed_by_hand_is_put_back() {
    let mut lab = Lab::new("vb", 2);
    let d1 = lab.ldirector("d1", "ld1", &pair_conf(150, "0.1", 3, ""));
    let d2 = lab.ldirector("d2", "ld2", &pair_conf(100, "0.1", 3, ""));
    let before = settled(&mut lab, d1, d2);
    let ns = lab.ns("d1");
    lab::ip(&["-n", &ns, "addr", "del", "192.0.2.100/24", "dev", "eth0"]);
    assert!(
        wait_until(LONG, || lab.proc(d1).log_text().contains("added back")),
        "{}",
        lab.logs()
    );
    assert!(lab.has_addr("d1", "eth0", "192.0.2.100"), "{}", lab.logs());
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(transitions(&mut lab, d1, d2), before, "{}", lab.logs());
    assert!(!lab.has_addr("d2", "eth0", "192.0.2.100"));
}

/// An interface deleted and created again under a running MASTER (a veth re-plugged, a
/// VLAN re-made): the instance is in FAULT while it is gone, then opens its sockets again
/// on the new interface and its addresses follow the new index: the master takes its role
/// back, adverts flow, and the VIP is on one director only.
#[test]
fn an_interface_recreated_under_a_master_is_followed() {
    let mut lab = Lab::new("ir", 2);
    let d1 = lab.ldirector("d1", "ld1", &lab::single_instance(150, "0.1", ""));
    let d2 = lab.ldirector("d2", "ld2", &lab::single_instance(100, "0.1", ""));
    settled(&mut lab, d1, d2);
    let ns = lab.ns("d1");
    lab::ip(&["-n", &ns, "link", "del", "eth0"]);
    assert!(
        wait_until(LONG, || lab.has_addr("d2", "eth0", "192.0.2.100")),
        "{}",
        lab.logs()
    );
    lab.plug(&ns, "eth0", "br0", "02:00:00:00:01:00");
    lab.addr(&ns, "eth0", "192.0.2.11/24");
    // d1 (150) takes its role back on the new interface; d2 gives the VIP up
    assert!(
        wait_until(LONG, || lab.has_addr("d1", "eth0", "192.0.2.100")
            && !lab.has_addr("d2", "eth0", "192.0.2.100")),
        "{}",
        lab.logs()
    );
    let log = lab.proc(d1).log_text();
    assert!(log.contains("was re-created"), "{log}");
    assert!(log.contains("VRRP socket open again"), "{log}");
    // adverts from the new interface reach d2: it stays backup for a while
    let before = transitions(&mut lab, d1, d2);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(transitions(&mut lab, d1, d2), before, "{}", lab.logs());
    assert!(!lab.has_addr("d2", "eth0", "192.0.2.100"), "{}", lab.logs());
    // the failed adverts while it was gone were logged a few times, not ten a second
    let failed = lab.proc(d1).log_text().matches("failed so far").count();
    assert!(failed <= 12, "{failed} lines\n{}", lab.logs());
}

/// keepalived's `promote_secondaries` (set on the instance's interface while running,
/// restored at stop) and `vrrp_startup_delay` (the instances wait before they run).
#[test]
fn promote_secondaries_and_startup_delay() {
    let mut lab = Lab::new("ps", 1);
    let conf = "global_defs { vrrp_startup_delay 2 }
vrrp_instance FRONT {
  interface eth0
  virtual_router_id 51
  priority 150
  version 3
  advert_int 0.1
  promote_secondaries
  virtual_ipaddress { 192.0.2.100/24 }
}";
    let promote = |lab: &Lab| {
        String::from_utf8_lossy(
            &lab.exec(
                "d1",
                &["cat", "/proc/sys/net/ipv4/conf/eth0/promote_secondaries"],
            )
            .stdout,
        )
        .trim()
        .to_string()
    };
    assert_eq!(promote(&lab), "0");
    let d = lab.ldirector("d1", "ld", conf);
    assert!(
        wait_until(LONG, || lab
            .proc(d)
            .log_text()
            .contains("vrrp_startup_delay")),
        "{}",
        lab.logs()
    );
    // waiting: no state yet
    assert!(
        !lab.proc(d).log_text().contains("now BACKUP"),
        "{}",
        lab.logs()
    );
    assert!(
        wait_until(LONG, || lab.has_addr("d1", "eth0", "192.0.2.100")),
        "{}",
        lab.logs()
    );
    assert_eq!(promote(&lab), "1");
    lab.proc(d).signal(Signal::SIGTERM);
    lab.proc(d).wait_exit(LONG);
    assert_eq!(promote(&lab), "0", "restored at stop");
}

/// Any host on the segment can send lower-priority and priority-0 adverts (they are cheap
/// and pass every check): three seconds of them, thousands a second, make the master
/// answer about once a second, not once a packet, and re-announce a bounded number of
/// rounds; it stays master and nothing piles up.
#[test]
fn forged_lower_priority_adverts_do_not_make_the_master_flood() {
    let mut lab = Lab::new("fl", 2);
    let d1 = lab.ldirector("d1", "ld1", &pair_conf(150, "0.1", 3, ""));
    let d2 = lab.ldirector("d2", "ld2", &pair_conf(100, "0.1", 3, ""));
    let before = settled(&mut lab, d1, d2);
    let counters = |lab: &Lab| -> (u64, u64) {
        let f = first_instance(lab, "d1", "ld1");
        (
            f["announcements"].as_u64().unwrap_or(0),
            f["adverts_received"].as_u64().unwrap_or(0),
        )
    };
    let (announced, received) = counters(&lab);
    // VRRPv3 adverts for VRID 51 from the client, priority 50 and 0 in turn
    let forge = "import socket, struct, time
def csum(b):
    if len(b) % 2:
        b += b'\\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff
src = socket.inet_aton('192.0.2.50')
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, src)
end = time.time() + 3
n = 0
while time.time() < end:
    prio = 50 if n % 2 else 0
    body = struct.pack('!BBBBHH4s', 0x31, 51, prio, 1, 10, 0, socket.inet_aton('192.0.2.100'))
    pseudo = src + socket.inet_aton('224.0.0.18') + struct.pack('!BBH', 0, 112, len(body))
    body = body[:6] + struct.pack('!H', csum(pseudo + body)) + body[8:]
    s.sendto(body, ('224.0.0.18', 0))
    n += 1
print(n)
";
    let o = lab.exec("client", &["/usr/bin/python3", "-c", forge]);
    let sent: u64 = String::from_utf8_lossy(&o.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    assert!(sent >= 1000, "the flood was {sent} packets: {o:?}");
    std::thread::sleep(Duration::from_secs(1));
    let (announced2, received2) = counters(&lab);
    // they reached the master and passed its checks...
    assert!(received2 - received >= 1000, "{received} -> {received2}");
    // ...and it answered about once a second: a few sets of rounds, not one a packet
    // (5 rounds a set, three or four seconds, both instances of the group)
    assert!(
        announced2 - announced <= 60,
        "{announced} -> {announced2} rounds for {sent} packets"
    );
    assert_eq!(transitions(&mut lab, d1, d2), before, "{}", lab.logs());
}

/// keepalived's `startup_script` (before anything reaches the kernel; a hung one is killed
/// at its timeout and the start goes on) and `shutdown_script` (after everything was
/// released).
#[test]
fn startup_and_shutdown_scripts() {
    let mut lab = Lab::new("ss", 1);
    let dir = lab.path().display().to_string();
    let conf = format!(
        "global_defs {{
  startup_script \"/bin/sh -c 'ip -o addr show dev eth0 > {dir}/start.txt; touch {dir}/started; sleep 3; touch {dir}/not-killed'\"
  startup_script_timeout 1
  shutdown_script \"/bin/sh -c 'ip -o addr show dev eth0 > {dir}/stop.txt'\"
}}
static_ipaddress {{
  192.0.2.77/32 dev eth0
}}
vrrp_instance FRONT {{
  interface eth0
  virtual_router_id 51
  priority 150
  version 3
  advert_int 0.1
  virtual_ipaddress {{ 192.0.2.100/24 }}
}}"
    );
    let t0 = std::time::Instant::now();
    let d = lab.ldirector("d1", "ld", &conf);
    assert!(
        wait_until(LONG, || lab.has_addr("d1", "eth0", "192.0.2.100")),
        "{}",
        lab.logs()
    );
    let start = std::fs::read_to_string(lab.path().join("start.txt")).unwrap_or_default();
    assert!(lab.path().join("started").exists(), "{}", lab.logs());
    assert!(
        !start.contains("192.0.2.100") && !start.contains("192.0.2.77"),
        "the startup script ran after the kernel changes:\n{start}"
    );
    let log = lab.proc(d).log_text();
    assert!(
        log.contains("startup_script: timed out and was killed"),
        "{log}"
    );
    lab.proc(d).signal(Signal::SIGTERM);
    assert_eq!(lab.proc(d).wait_exit(LONG), Some(0), "{}", lab.logs());
    let stop = std::fs::read_to_string(lab.path().join("stop.txt")).unwrap_or_default();
    assert!(
        stop.contains("eth0"),
        "no shutdown script output\n{}",
        lab.logs()
    );
    assert!(
        !stop.contains("192.0.2.100") && !stop.contains("192.0.2.77"),
        "the shutdown script ran before the release:\n{stop}"
    );
    // had it not been killed at 1 s, it would have left its mark at 3 s
    std::thread::sleep(Duration::from_secs(4).saturating_sub(t0.elapsed()));
    assert!(
        !lab.path().join("not-killed").exists(),
        "the hung startup script outlived its timeout"
    );
}

/// keepalived's track_src_ip: while the configured source address is not on the
/// interface (missing at the start, or removed later) the instance, and with it its sync
/// group, is in FAULT; when the address is there it runs again.
#[test]
fn track_src_ip_faults_while_the_source_address_is_missing() {
    let mut lab = Lab::new("ts", 2);
    let conf = pair_conf(150, "0.1", 3, "mcast_src_ip 192.0.2.31\n  track_src_ip");
    let d1 = lab.ldirector("d1", "ld1", &conf);
    let _d2 = lab.ldirector("d2", "ld2", &pair_conf(100, "0.1", 3, ""));
    // missing at the start: d2 holds the VIPs, d1 says why
    assert!(wait_holds(&lab, "d2", (true, true)), "{}", lab.logs());
    assert!(
        wait_until(LONG, || lab
            .proc(d1)
            .log_text()
            .contains("track_src_ip: 192.0.2.31 is not on eth0")),
        "{}",
        lab.logs()
    );
    assert_eq!(holds(&lab, "d1"), (false, false));
    // the address comes: d1 (150) takes over
    lab.addr(&lab.ns("d1"), "eth0", "192.0.2.31/24");
    assert!(wait_holds(&lab, "d1", (true, true)), "{}", lab.logs());
    assert!(wait_holds(&lab, "d2", (false, false)), "{}", lab.logs());
    // and goes: FAULT, d2 again
    lab::ip(&[
        "-n",
        &lab.ns("d1"),
        "addr",
        "del",
        "192.0.2.31/24",
        "dev",
        "eth0",
    ]);
    assert!(wait_holds(&lab, "d2", (true, true)), "{}", lab.logs());
    assert!(wait_holds(&lab, "d1", (false, false)), "{}", lab.logs());
    assert!(
        lab.proc(d1)
            .log_text()
            .contains("track_src_ip: 192.0.2.31 was removed from eth0"),
        "{}",
        lab.logs()
    );
}

/// keepalived's `net_namespace NAME`: started in the host's namespace, the daemon works in
/// NAME (VIPs, adverts), keeps its control socket in a run folder of its own, and refuses
/// a reload that would move it.
#[test]
fn net_namespace_runs_the_daemon_in_the_named_namespace() {
    let mut lab = Lab::new("nn", 1);
    let ns = lab.ns("d1");
    let conf = format!(
        "net_namespace {ns}\n{}",
        lab::single_instance(150, "0.1", "")
    );
    let path = lab.file("ld.conf", &conf);
    let run_dir = lab.path().join("ld.run");
    let bin = lab::ldirector_bin();
    let (p, r) = (path.display().to_string(), run_dir.display().to_string());
    let d = lab.spawn_here("ld", &bin, &["run", "-f", &p, "--run-dir", &r]);
    assert!(
        wait_until(LONG, || lab.has_addr("d1", "eth0", "192.0.2.100")),
        "{}",
        lab.logs()
    );
    // the control socket lives in <run-dir>/<namespace>
    let own = run_dir.join(&ns).display().to_string();
    let st = std::process::Command::new(&bin)
        .args(["status", "--json", "--run-dir", &own])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&st.stdout).unwrap_or_default();
    assert_eq!(v["vrrp"][0]["state"], "MASTER", "{v}\n{}", lab.logs());
    // a reload cannot move it
    std::fs::write(&path, conf.replace(&format!("net_namespace {ns}"), "")).unwrap();
    let o = std::process::Command::new(&bin)
        .args(["reload", "--run-dir", &own])
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!o.status.success(), "{said}");
    assert!(said.contains("net_namespace cannot change"), "{said}");
    assert!(lab.has_addr("d1", "eth0", "192.0.2.100"));
    lab.proc(d).signal(Signal::SIGTERM);
    assert_eq!(lab.proc(d).wait_exit(LONG), Some(0), "{}", lab.logs());
    assert!(!lab.has_addr("d1", "eth0", "192.0.2.100"));
    // a namespace that does not exist: a located error, nothing started
    let bad = lab.file("bad.conf", &conf.replace(&ns, "ldirector-no-such-ns"));
    let o = std::process::Command::new(&bin)
        .args(["check", "--host", "-f"])
        .arg(&bad)
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("bad.conf:1:1: error: network namespace 'ldirector-no-such-ns' does not exist"),
        "{e}"
    );
}

/// keepalived's vrrp_track_process: a real process starting and stopping moves mastership
/// (weight -60: 150 drops below the peer's 100 while the process does not run), followed
/// through the kernel's process events where the daemon may read them (the host's first
/// network namespace), else by reading /proc every second.
#[test]
fn a_tracked_process_moves_mastership() {
    let mut lab = Lab::new("tp", 2);
    // a command line no other process has: sleep for this test's pid + 10^6 seconds
    let secs = (1_000_000 + std::process::id()).to_string();
    let conf = format!(
        "vrrp_track_process web {{\n  process sleep {secs}\n  weight -60\n}}\n{}",
        lab::single_instance(150, "0.1", "track_process { web }")
    );
    let vip = |lab: &Lab, d: &str| lab.has_addr(d, "eth0", "192.0.2.100");
    let d1 = lab.ldirector("d1", "ld1", &conf);
    let _d2 = lab.ldirector("d2", "ld2", &lab::single_instance(100, "0.1", ""));
    // not running: d1 at 90, d2 holds the VIP
    assert!(
        wait_until(LONG, || vip(&lab, "d2") && !vip(&lab, "d1")),
        "{}",
        lab.logs()
    );
    // killed when the test ends, however it ends
    struct Web(std::process::Child);
    impl Drop for Web {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let web = Web(std::process::Command::new("sleep")
        .arg(&secs)
        .spawn()
        .expect("sleep"));
    assert!(
        wait_until(LONG, || vip(&lab, "d1") && !vip(&lab, "d2")),
        "{}",
        lab.logs()
    );
    assert!(
        lab.proc(d1)
            .log_text()
            .contains("vrrp_track_process web: quorum runs"),
        "{}",
        lab.logs()
    );
    drop(web);
    assert!(
        wait_until(LONG, || vip(&lab, "d2") && !vip(&lab, "d1")),
        "{}",
        lab.logs()
    );
    let log = lab.proc(d1).log_text();
    assert!(
        log.rfind("web: quorum lost") > log.rfind("web: quorum runs"),
        "{}",
        lab.logs()
    );
}

/// use_vmac on IPv6 instances: the VIP goes on the VMAC (00:00:5e:00:02:VRID), the adverts
/// leave from the base's link-local address, and the client keeps the VMAC as the VIP's
/// neighbour across a failover.
#[test]
fn ipv6_vmac_keeps_the_clients_neighbour_entry() {
    const VMAC: &str = "00:00:5e:00:02:33";
    let mut lab = Lab::new("v6m", 2);
    let conf = |prio: u8| {
        lab::single_instance(prio, "0.1", "use_vmac")
            .replace("192.0.2.100/24", "2001:db8::100/64 nodad")
    };
    let on_vmac = |lab: &Lab, d: &str| lab.has_addr(d, "vrrp.51", "2001:db8::100");
    // the client reaches the VIP, through the virtual MAC
    let reaches_vmac = |lab: &Lab| {
        assert!(
            wait_until(LONG, || lab.ping("client", "2001:db8::100")),
            "{}",
            lab.logs()
        );
        assert_eq!(
            lab.neighbour("client", "2001:db8::100").as_deref(),
            Some(VMAC)
        );
    };
    let d1 = lab.ldirector("d1", "ld1", &conf(150));
    let _d2 = lab.ldirector("d2", "ld2", &conf(100));
    assert!(wait_until(LONG, || on_vmac(&lab, "d1")), "{}", lab.logs());
    // the backup's VMAC carries no address at all (nothing to answer for)
    let v = String::from_utf8_lossy(
        &lab.exec("d2", &["ip", "-6", "addr", "show", "dev", "vrrp.51"])
            .stdout,
    )
    .to_string();
    assert!(!v.contains("inet6"), "{v}");
    reaches_vmac(&lab);
    lab.proc(d1).signal(Signal::SIGTERM);
    lab.proc(d1).wait_exit(LONG);
    assert!(wait_until(LONG, || on_vmac(&lab, "d2")), "{}", lab.logs());
    reaches_vmac(&lab);
}

/// use_vmac's link group: by default the base interface's (keepalived's rule), or the one
/// `group` names (a number, or a name in iproute2's group file); an unknown name is an
/// error at its line.
#[test]
fn the_vmac_takes_its_link_group_from_the_base_or_the_group_option() {
    let mut lab = Lab::new("vg", 1);
    lab::ip(&["-n", &lab.ns("d1"), "link", "set", "eth0", "group", "5"]);
    for (tag, opt, want) in [("base", "", "group 5"), ("given", "group 7", "group 7")] {
        let d = lab.ldirector(
            "d1",
            tag,
            &lab::single_instance(150, "0.1", &format!("use_vmac {opt}")),
        );
        assert!(
            wait_until(LONG, || lab.has_addr("d1", "vrrp.51", "192.0.2.100")),
            "{tag}\n{}",
            lab.logs()
        );
        let link = String::from_utf8_lossy(
            &lab.exec("d1", &["ip", "-d", "link", "show", "vrrp.51"])
                .stdout,
        )
        .to_string();
        assert!(link.contains(want), "{tag}: {link}");
        lab.proc(d).signal(Signal::SIGTERM);
        assert_eq!(lab.proc(d).wait_exit(LONG), Some(0), "{}", lab.logs());
    }
    let bad = lab.ldirector(
        "d1",
        "bad",
        &lab::single_instance(150, "0.1", "use_vmac group no-such-group"),
    );
    assert_eq!(lab.proc(bad).wait_exit(LONG), Some(1), "{}", lab.logs());
    assert!(
        lab.proc(bad)
            .log_text()
            .contains("link group 'no-such-group'"),
        "{}",
        lab.logs()
    );
}

/// keepalived's per-address `use_vmac` and `use_vmac_addr`: an address on another
/// interface gets a VMAC of its own there (named vrrp1.VRID after the instance's
/// vrrp.VRID); all of them go at stop.
#[test]
fn addresses_on_other_interfaces_get_vmacs_of_their_own() {
    let mut lab = Lab::new("va", 1);
    let conf = |extra: &str, opt: &str| {
        format!(
            "vrrp_instance FRONT {{
  interface eth0
  virtual_router_id 51
  version 3
  priority 150
  advert_int 0.1
  use_vmac
  {extra}
  virtual_ipaddress {{
    192.0.2.100/24
    198.51.100.1/24 dev eth1 {opt}
  }}
}}
"
        )
    };
    for (tag, extra, opt) in [
        ("per-address", "", "use_vmac"),
        ("use_vmac_addr", "use_vmac_addr", ""),
    ] {
        let d = lab.ldirector("d1", tag, &conf(extra, opt));
        assert!(
            wait_until(LONG, || lab.has_addr("d1", "vrrp.51", "192.0.2.100")
                && lab.has_addr("d1", "vrrp1.51", "198.51.100.1")),
            "{tag}\n{}",
            lab.logs()
        );
        let link = String::from_utf8_lossy(
            &lab.exec("d1", &["ip", "-d", "link", "show", "vrrp1.51"])
                .stdout,
        )
        .to_string();
        assert!(
            link.contains("vrrp1.51@eth1") && link.contains("00:00:5e:00:01:33"),
            "{link}"
        );
        lab.proc(d).signal(Signal::SIGTERM);
        assert_eq!(lab.proc(d).wait_exit(LONG), Some(0), "{}", lab.logs());
        for v in ["vrrp.51", "vrrp1.51"] {
            assert!(
                !lab.exec("d1", &["ip", "link", "show", v]).status.success(),
                "{tag}: {v} left behind"
            );
        }
    }
}

/// What a director holds in the kernel: addresses, links, routes, rules, nftables.
fn host_state(lab: &Lab, ns: &str) -> String {
    let cmds: [&[&str]; 7] = [
        &["ip", "-o", "addr"],
        &["ip", "-o", "link"],
        &["ip", "route", "show", "table", "all"],
        &["ip", "-6", "route", "show", "table", "all"],
        &["ip", "rule"],
        &["ip", "-6", "rule"],
        &["nft", "list", "ruleset"],
    ];
    cmds.iter()
        .map(|c| {
            let o = lab.exec(ns, c);
            format!("$ {}\n{}", c.join(" "), String::from_utf8_lossy(&o.stdout))
        })
        .collect()
}

/// A configuration that adds something of every kind: a VMAC with the VIP, a static
/// address, route and rule, the no_accept table (vrrp_strict), a virtual server (IPVS:
/// missing from this kernel, so refused).
fn everything_conf(global: &str) -> String {
    format!(
        "global_defs {{
  vrrp_strict
  {global}
}}
static_ipaddress {{
  192.0.2.77/32 dev eth0
}}
static_routes {{
  203.0.113.0/24 via 192.0.2.254 dev eth0
}}
static_rules {{
  from 203.0.113.0/24 table 100 priority 100
}}
virtual_server 192.0.2.100 80 {{
  protocol TCP
  real_server 198.51.100.50 80 {{
    TCP_CHECK {{
    }}
  }}
}}
{}",
        lab::single_instance(150, "0.1", "use_vmac")
    )
}

/// Every way the start can fail leaves the host as it was: the run directory locked by
/// another daemon, another daemon on the same virtual routers, a notify FIFO that turns
/// out unusable, and (through the debug builds' fail points) a failure after the VMACs,
/// after the static objects, after IPVS. A start that only degrades (IPVS refused, the
/// control socket unusable) runs, and its stop leaves the host as it was too.
#[test]
fn every_failed_start_leaves_the_host_as_it_was() {
    let mut lab = Lab::new("fl", 1);
    let before = host_state(&lab, "d1");
    let bin = lab::ldirector_bin();
    let conf = lab.file("all.conf", &everything_conf(""));
    let conf = conf.display().to_string();
    let same = |lab: &Lab, what: &str| {
        let after = host_state(lab, "d1");
        assert_eq!(before, after, "{what}: the host changed\n{}", lab.logs());
    };

    // fail points: each after something reached the kernel
    for point in ["vmacs", "statics", "ipvs"] {
        let run_dir = lab
            .path()
            .join(format!("{point}.run"))
            .display()
            .to_string();
        let fail = format!("LDIRECTOR_FAIL_AT={point}");
        let args = [
            "env",
            fail.as_str(),
            bin.as_str(),
            "run",
            "-f",
            conf.as_str(),
            "--run-dir",
            run_dir.as_str(),
        ];
        let d = lab.spawn("d1", point, &args);
        assert_eq!(
            lab.proc(d).wait_exit(LONG),
            Some(1),
            "{point}\n{}",
            lab.logs()
        );
        assert!(
            lab.proc(d).log_text().contains("the start fails here"),
            "{}",
            lab.logs()
        );
        same(&lab, point);
    }

    // the notify FIFO, fine at the host check, replaced by a regular file by the
    // startup_script before the daemon opens it
    let fifo = lab.path().join("fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let f = fifo.display();
    let global = format!("notify_fifo {f}\n  startup_script \"/bin/sh -c 'rm -f {f}; touch {f}'\"");
    let d = lab.ldirector("d1", "fifo", &everything_conf(&global));
    assert_eq!(lab.proc(d).wait_exit(LONG), Some(1), "{}", lab.logs());
    same(&lab, "fifo");

    // the run directory locked (by flock(1), as another daemon would hold it)
    let locked = lab.path().join("locked.run");
    std::fs::create_dir_all(&locked).unwrap();
    let pid_file = locked.join("ldirector.pid").display().to_string();
    let holder = lab.spawn("d1", "flock", &["flock", &pid_file, "sleep", "60"]);
    assert!(wait_until(LONG, || lab
        .exec("d1", &["flock", "-n", &pid_file, "true"])
        .status
        .code()
        == Some(1)));
    let d = lab.ldirector("d1", "locked", &everything_conf(""));
    assert_eq!(lab.proc(d).wait_exit(LONG), Some(1), "{}", lab.logs());
    assert!(
        lab.proc(d).log_text().contains("another ldirector"),
        "{}",
        lab.logs()
    );
    same(&lab, "run directory locked");
    lab.proc(holder).signal(Signal::SIGKILL);

    // degraded (no IPVS in this kernel; the control socket's path is a folder): it runs,
    // and its stop releases all it added
    let run_dir = lab.path().join("degraded.run");
    std::fs::create_dir_all(run_dir.join("ldirector.sock").join("x")).unwrap();
    let r = run_dir.display().to_string();
    let args = [
        "env",
        "LDIRECTOR_LOG=debug",
        bin.as_str(),
        "run",
        "-f",
        conf.as_str(),
        "--run-dir",
        r.as_str(),
    ];
    let d = lab.spawn("d1", "degraded", &args);
    assert!(
        wait_until(LONG, || lab.has_addr("d1", "vrrp.51", "192.0.2.100")
            && lab.has_addr("d1", "eth0", "192.0.2.77")),
        "{}",
        lab.logs()
    );
    let log = lab.proc(d).log_text();
    assert!(log.contains("control socket in"), "{log}");
    assert!(log.contains("IPVS:"), "{log}");
    let running = host_state(&lab, "d1");
    assert!(running.contains("inet ldirector"), "{running}");
    // a second daemon for the same virtual router (another run directory) is refused
    // and leaves the first one's objects as they are
    let other = lab.ldirector("d1", "other", &everything_conf(""));
    assert_eq!(lab.proc(other).wait_exit(LONG), Some(1), "{}", lab.logs());
    assert_eq!(running, host_state(&lab, "d1"), "{}", lab.logs());
    lab.proc(d).signal(Signal::SIGTERM);
    assert_eq!(lab.proc(d).wait_exit(LONG), Some(0), "{}", lab.logs());
    same(&lab, "a degraded run and its stop");
}
