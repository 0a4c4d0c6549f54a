//! `ldirector upgrade` in a namespace lab: the running daemon hands over to the binary
//! on disk (here the same one) with no VRRP transition. ldirector is the master (VRRPv3,
//! advert_int 0.1), Debian's keepalived the backup watching it, a client probes the VIP
//! every 10 ms, and a watcher on the switch sees every advert and gratuitous ARP. Then the
//! refusals: a configuration the new binary rejects, a state it cannot read, a binary
//! that is gone — each leaves the running daemon as it was. Needs root, iproute2,
//! keepalived and python3.

mod lab;

use lab::{wait_until, Lab};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(20);
const VIP: &str = "192.0.2.100";
const WATCH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/lab/wire_watch.py");
const PROBE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/lab/icmp_probe.py");

/// A helper program in a namespace, talked to by lines.
struct Helper {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Helper {
    fn start(lab: &Lab, ns: &str, args: &[&str]) -> Helper {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &lab.ns(ns)])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start a helper");
        let out = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    return;
                }
            }
        });
        let h = Helper { child, lines };
        assert_eq!(h.line().as_deref(), Some("ready"), "{args:?} did not start");
        h
    }

    fn line(&self) -> Option<String> {
        self.lines.recv_timeout(LONG).ok()
    }

    /// "stop", then its JSON report.
    fn stop(mut self) -> serde_json::Value {
        if let Some(i) = self.child.stdin.as_mut() {
            let _ = writeln!(i, "stop");
        }
        let line = self.line().unwrap_or_default();
        let _ = self.child.kill();
        let _ = self.child.wait();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }
}

fn status(lab: &Lab, run: &str) -> serde_json::Value {
    let o = lab.exec(
        "d1",
        &[&lab::ldirector_bin(), "status", "--json", "--run-dir", run],
    );
    serde_json::from_slice(&o.stdout).unwrap_or_default()
}

fn upgrade(lab: &Lab, run: &str) -> std::process::Output {
    lab.exec("d1", &[&lab::ldirector_bin(), "upgrade", "--run-dir", run])
}

#[test]
fn twenty_upgrades_beside_a_keepalived_backup_cause_no_transition() {
    // alone: the advert gaps are timed, and 30 other labs' veth traffic in parallel would
    // delay this lab's packets in the kernel (see vrrp_lab's real-time test)
    let mut lab = Lab::alone("upg", 2);
    // systemd's side of Type=notify: what the daemon tells it across the upgrades
    let notify_path = lab.path().join("notify.sock");
    let notify = std::os::unix::net::UnixDatagram::bind(&notify_path).expect("notify socket");
    notify
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let (told, heard) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        loop {
            match notify.recv(&mut buf) {
                Ok(n) => {
                    if told
                        .send(String::from_utf8_lossy(&buf[..n]).into_owned())
                        .is_err()
                    {
                        return;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
    });
    let notify_env = format!("NOTIFY_SOCKET={}", notify_path.display());
    let conf = lab.file("ld.conf", &lab::single_instance(150, "0.1", ""));
    let run_dir = lab.path().join("ld.run");
    let (bin, c, r) = (
        lab::ldirector_bin(),
        conf.display().to_string(),
        run_dir.display().to_string(),
    );
    let l = lab.spawn(
        "d1",
        "ld",
        &["env", &notify_env, &bin, "run", "-f", &c, "--run-dir", &r],
    );
    assert!(
        wait_until(LONG, || lab.has_addr("d1", "eth0", VIP)),
        "{}",
        lab.logs()
    );
    let k = lab.keepalived("d2", "ka", &lab::single_instance(100, "0.1", ""));
    assert!(
        wait_until(LONG, || lab
            .proc(k)
            .log_text()
            .contains("Entering BACKUP STATE")),
        "{}",
        lab.logs()
    );
    std::thread::sleep(Duration::from_secs(1));
    let run = lab.path().join("ld.run").display().to_string();
    let before = status(&lab, &run);
    let pid = before["pid"].as_u64().expect("pid");
    assert_eq!(
        pid,
        lab.proc(l).pid() as u64,
        "status names the daemon's pid"
    );

    let watch = Helper::start(&lab, "sw", &["python3", WATCH, "br0"]);
    let probe = Helper::start(&lab, "client", &["python3", PROBE, VIP]);
    for n in 1..=20u64 {
        let o = upgrade(&lab, &run);
        let said = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success() && said.contains("upgraded"),
            "upgrade {n}: {o:?}\n{}",
            lab.logs()
        );
        let s = status(&lab, &run);
        assert_eq!(s["upgrades"], n, "{s}");
        assert_eq!(s["pid"], pid, "the same process");
        assert_eq!(s["vrrp"][0]["state"], "MASTER", "{s}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let probed = probe.stop();
    let wire = watch.stop();
    eprintln!("probes: {probed}\nwire: {wire}");
    assert_eq!(probed["lost"], 0, "probes lost: {probed}\n{}", lab.logs());
    assert!(probed["sent"].as_u64().unwrap_or(0) > 500, "{probed}");
    // the backup never spoke: no advert, no gratuitous ARP from d2
    assert!(
        wire["adverts"].get("192.0.2.12").is_none(),
        "the keepalived backup sent adverts: {wire}\n{}",
        lab.logs()
    );
    assert!(
        wire["garp"].get(Lab::mac(2, "eth0")).is_none(),
        "the keepalived backup sent gratuitous ARP: {wire}"
    );
    // the master's adverts kept their pace: below one interval + 50 ms
    let gap = wire["max_gap_ms"]["192.0.2.11"]
        .as_f64()
        .unwrap_or(f64::MAX);
    assert!(
        gap < 150.0,
        "an advert gap of {gap} ms: {wire}\n{}",
        lab.logs()
    );
    // and none was skipped: one each 0.1 s of the probes' time (10 ms each)
    let seen = wire["adverts"]["192.0.2.11"].as_u64().unwrap_or(0);
    let due = probed["sent"].as_u64().unwrap_or(0) / 10;
    assert!(seen + 5 >= due, "{seen} adverts in {due} intervals: {wire}");
    let ka = lab.proc(k).log_text();
    assert!(
        !ka.contains("Entering MASTER STATE"),
        "keepalived took over\n{ka}"
    );
    // one MASTER transition in the whole life (the start), whichever binary logged
    let ld = lab.proc(l).log_text();
    assert_eq!(ld.matches("is now MASTER").count(), 1, "{ld}");
    assert!(
        ld.contains("continue where the previous binary left off"),
        "{ld}"
    );
    assert!(lab.has_addr("d1", "eth0", VIP));
    // systemd heard READY at the start, then RELOADING and READY around each upgrade
    let said: Vec<String> = heard.try_iter().collect();
    let count = |w: &str| said.iter().filter(|m| m.lines().any(|l| l == w)).count();
    assert_eq!(count("READY=1"), 21, "{said:?}");
    assert_eq!(count("RELOADING=1"), 20, "{said:?}");
    assert!(
        said.iter()
            .filter(|m| m.contains("RELOADING=1"))
            .all(|m| m.contains("MONOTONIC_USEC=")),
        "{said:?}"
    );
    // and a plain stop still hands over (priority 0): keepalived takes over at once
    lab.proc(l).signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(lab.proc(l).wait_exit(LONG), Some(0), "{}", lab.logs());
    assert!(
        wait_until(LONG, || lab.has_addr("d2", "eth0", VIP)),
        "{}",
        lab.logs()
    );
}

/// Each refusal: exit 1 with the reason; the daemon goes on as it was (same pid, still
/// MASTER, no transition), status says why.
fn refused(lab: &mut Lab, l: usize, run: &str, want: &str, nth: u64) {
    let pid = lab.proc(l).pid() as u64;
    let o = upgrade(lab, run);
    let said = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "{o:?}\n{}", lab.logs());
    assert!(said.contains(want), "expected '{want}' in: {said}");
    let s = status(lab, run);
    assert_eq!(s["pid"], pid);
    assert_eq!(s["upgrades"], 0);
    assert_eq!(s["upgrades_refused"], nth, "{s}");
    assert_eq!(s["vrrp"][0]["state"], "MASTER", "{s}");
    assert!(
        s["upgrade_error"]
            .as_str()
            .is_some_and(|e| e.contains(want)),
        "{s}"
    );
    let log = lab.proc(l).log_text();
    assert_eq!(log.matches("is now MASTER").count(), 1, "{log}");
    assert!(lab.has_addr("d1", "eth0", VIP));
    assert!(!lab.path().join("ld.run/handover.json").exists());
}

#[test]
fn refused_upgrades_leave_the_daemon_running() {
    let mut lab = Lab::new("upr", 1);
    // a copy of the binary, to take away later
    let bin = lab.path().join("ldirector");
    std::fs::copy(lab::ldirector_bin(), &bin).expect("copy the binary");
    let conf_text = lab::single_instance(150, "0.1", "");
    let conf = lab.file("ld.conf", &conf_text);
    let run = lab.path().join("ld.run").display().to_string();
    let (b, c) = (bin.display().to_string(), conf.display().to_string());
    let l = lab.spawn(
        "d1",
        "ld",
        &[
            "env",
            "LDIRECTOR_FAIL_AT=handover-format",
            &b,
            "run",
            "-f",
            &c,
            "--run-dir",
            &run,
        ],
    );
    assert!(
        wait_until(LONG, || lab.has_addr("d1", "eth0", VIP)),
        "{}",
        lab.logs()
    );
    // a state this binary's successor cannot read (debug builds: a future format)
    refused(&mut lab, l, &run, "from a newer ldirector", 1);
    // a configuration the new binary refuses
    lab.file(
        "ld.conf",
        &conf_text.replace("priority 150", "priority 150 151"),
    );
    refused(&mut lab, l, &run, "refuses to take over", 2);
    lab.file("ld.conf", &conf_text);
    // the binary is gone
    std::fs::remove_file(&bin).expect("remove the binary");
    refused(&mut lab, l, &run, "is missing", 3);
}

/// The numbers of docs/benchmarks.md (benches/upgrade.sh; skipped in the test run): 20
/// rounds each of `ldirector upgrade`, of a restart of ldirector (SIGTERM, then the same
/// command again, as `systemctl restart`), and of a restart of keepalived (the master of a
/// keepalived pair), each with a backup watching, the client probing every 10 ms and the
/// watcher on the switch: probes lost, the longest time without an advert from any master,
/// MASTER transitions on both sides, gratuitous ARP frames.
#[test]
#[ignore = "benchmark: benches/upgrade.sh"]
fn bench_upgrade_and_restarts() {
    const ROUNDS: u64 = 20;
    println!();
    println!("| 20 rounds of | probes lost (of sent) | longest advert gap | MASTER transitions | gratuitous ARP frames | time per round | VRRP frozen (longest) |");
    println!("|---|---|---|---|---|---|---|");
    for mode in [
        "ldirector upgrade",
        "ldirector upgrade, 1,000 real servers configured",
        "ldirector restart",
        "keepalived restart",
    ] {
        let mut lab = Lab::new("upb", 2);
        let mut conf = lab::single_instance(150, "0.1", "");
        if mode.contains("1,000") {
            // the new binary reads and checks this before VRRP goes on (no IPVS in this
            // kernel: the checks run, the table is not written)
            conf += "virtual_server 198.51.100.100 80 {\n  delay_loop 30\n  lb_kind NAT\n";
            for i in 0..1000 {
                conf += &format!(
                    "  real_server 198.18.{}.{} 80 {{ TCP_CHECK {{ connect_timeout 1 }} }}\n",
                    1 + i / 250,
                    1 + i % 250
                );
            }
            conf += "}\n";
        }
        let backup = lab::single_instance(100, "0.1", "");
        let master = |lab: &mut Lab| -> usize {
            if mode.starts_with("keepalived") {
                lab.keepalived("d1", "m", &conf)
            } else {
                lab.ldirector("d1", "m", &conf)
            }
        };
        let mut m = master(&mut lab);
        assert!(wait_until(LONG, || lab.has_addr("d1", "eth0", VIP)));
        let k = lab.keepalived("d2", "b", &backup);
        assert!(wait_until(LONG, || lab
            .proc(k)
            .log_text()
            .contains("Entering BACKUP STATE")));
        std::thread::sleep(Duration::from_secs(1));
        let masters = |lab: &mut Lab, procs: &[usize]| -> usize {
            procs
                .iter()
                .map(|&p| {
                    let t = lab.proc(p).log_text();
                    t.matches("is now MASTER").count() + t.matches("Entering MASTER STATE").count()
                })
                .sum()
        };
        let mut procs = [m, k];
        let before = masters(&mut lab, &procs);
        let run = lab.path().join("m.run").display().to_string();
        let watch = Helper::start(&lab, "sw", &["python3", WATCH, "br0"]);
        let probe = Helper::start(&lab, "client", &["python3", PROBE, VIP]);
        let t0 = std::time::Instant::now();
        for _ in 0..ROUNDS {
            match mode {
                m if m.starts_with("ldirector upgrade") => {
                    assert!(upgrade(&lab, &run).status.success(), "{}", lab.logs());
                }
                _ => {
                    // a restart: stop (the backup takes over), start, and the master is
                    // back once it has preempted
                    let n = masters(&mut lab, &procs);
                    lab.proc(m).signal(nix::sys::signal::Signal::SIGTERM);
                    assert!(lab.proc(m).wait_exit(LONG).is_some());
                    m = master(&mut lab);
                    // (the same log file, appended: the newest process reads it all)
                    procs[0] = m;
                    assert!(
                        wait_until(LONG, || masters(&mut lab, &procs) >= n + 2
                            && lab.has_addr("d1", "eth0", VIP)),
                        "{}",
                        lab.logs()
                    );
                }
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        let per_round = t0.elapsed().as_secs_f64() / ROUNDS as f64;
        let probed = probe.stop();
        let wire = watch.stop();
        let transitions = masters(&mut lab, &procs) - before;
        let garp: u64 = wire["garp"]
            .as_object()
            .map(|g| g.values().filter_map(|v| v.as_u64()).sum())
            .unwrap_or(0);
        // from the freeze of VRRP in the old binary to the new one running (its log)
        let frozen = lab
            .proc(procs[0])
            .log_text()
            .lines()
            .filter_map(|l| {
                let (_, t) = l.split_once("handed over ")?;
                t.split_once(" ms ago")?.0.parse::<u64>().ok()
            })
            .max()
            .map_or("-".to_string(), |ms| format!("{ms} ms"));
        println!(
            "| {mode} | {} (of {}) | {} ms | {transitions} | {garp} | {per_round:.2} s | {frozen} |",
            probed["lost"], probed["sent"], wire["max_gap_ms"]["any"]
        );
    }
}

/// Anycast across an upgrade: an announced block stays announced, a block the operator
/// drained stays drained until `ldirector anycast resume`.
#[test]
fn anycast_blocks_keep_their_announcement_and_drain_across_an_upgrade() {
    let mut lab = Lab::new("upa", 1);
    let conf = "anycast WEB {
  address 192.0.2.80
  method route
  hold_down 0
}
anycast DNS {
  address 192.0.2.53
  method route
  hold_down 0
}
";
    let l = lab.ldirector("d1", "ld", conf);
    let run = lab.path().join("ld.run").display().to_string();
    let routed = |lab: &Lab, a: &str| {
        let o = lab.exec("d1", &["ip", "route", "show", "proto", "201"]);
        String::from_utf8_lossy(&o.stdout).contains(a)
    };
    assert!(
        wait_until(LONG, || routed(&lab, "192.0.2.80")
            && routed(&lab, "192.0.2.53")),
        "{}",
        lab.logs()
    );
    let bin = lab::ldirector_bin();
    let o = lab.exec("d1", &[&bin, "anycast", "drain", "DNS", "--run-dir", &run]);
    assert!(o.status.success(), "{o:?}");
    assert!(wait_until(LONG, || !routed(&lab, "192.0.2.53")));
    let o = upgrade(&lab, &run);
    assert!(o.status.success(), "{o:?}\n{}", lab.logs());
    std::thread::sleep(Duration::from_secs(2));
    assert!(routed(&lab, "192.0.2.80"), "WEB still announced");
    assert!(
        !routed(&lab, "192.0.2.53"),
        "DNS stays drained\n{}",
        lab.logs()
    );
    let s = status(&lab, &run);
    assert_eq!(s["upgrades"], 1, "{s}");
    let log = lab.proc(l).log_text();
    assert!(log.contains("anycast DNS: stays drained"), "{log}");
    // WEB went on: no change of its announcement after the upgrade
    let after = &log[log.find("continuing ldirector").unwrap_or(0)..];
    assert!(
        after.contains("anycast WEB: announced (metric 1) (continued from the previous binary)")
            && !after.contains("WEB: withdrawn")
            && !after.contains("DNS: announced"),
        "{after}"
    );
    let o = lab.exec("d1", &[&bin, "anycast", "resume", "DNS", "--run-dir", &run]);
    assert!(o.status.success(), "{o:?}");
    assert!(wait_until(LONG, || routed(&lab, "192.0.2.53")));
    // SIGUSR2 does what `ldirector upgrade` does
    let pid = lab.proc(l).pid();
    lab.proc(l).signal(nix::sys::signal::Signal::SIGUSR2);
    assert!(
        wait_until(LONG, || status(&lab, &run)["upgrades"] == 2),
        "{}",
        lab.logs()
    );
    assert_eq!(status(&lab, &run)["pid"], pid as u64);
    assert!(routed(&lab, "192.0.2.80") && routed(&lab, "192.0.2.53"));
}

/// The backup's side: ldirector BACKUP (advert_int 0.1) following a keepalived MASTER;
/// ten upgrades in a row: ldirector never takes over (its master-down timer and the master
/// it follows carry on), keepalived never leaves MASTER.
#[test]
fn upgrades_of_a_backup_never_take_over() {
    let mut lab = Lab::alone("upk", 2);
    let k = lab.keepalived("d2", "ka", &lab::single_instance(150, "0.1", ""));
    assert!(
        wait_until(LONG, || lab.has_addr("d2", "eth0", VIP)),
        "{}",
        lab.logs()
    );
    let l = lab.ldirector("d1", "ld", &lab::single_instance(100, "0.1", ""));
    let run = lab.path().join("ld.run").display().to_string();
    assert!(
        wait_until(LONG, || status(&lab, &run)["vrrp"][0]["state"] == "BACKUP"),
        "{}",
        lab.logs()
    );
    std::thread::sleep(Duration::from_secs(1));
    for n in 1..=10u64 {
        let o = upgrade(&lab, &run);
        assert!(o.status.success(), "upgrade {n}: {o:?}\n{}", lab.logs());
        let s = status(&lab, &run);
        assert_eq!(s["vrrp"][0]["state"], "BACKUP", "{s}");
        assert_eq!(s["vrrp"][0]["master"], "192.0.2.12", "{s}");
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(1));
    let ld = lab.proc(l).log_text();
    assert!(!ld.contains("is now MASTER"), "ldirector took over\n{ld}");
    let ka = lab.proc(k).log_text();
    assert_eq!(ka.matches("Entering MASTER STATE").count(), 1, "{ka}");
    assert!(!lab.has_addr("d1", "eth0", VIP));
}
