//! Anycast with real routing daemons (root, iproute2, FRR and BIRD 2 from Debian): two
//! sites, each a router (FRR bgpd), a replica (ldirector + a routing daemon + a web
//! service answering its own name) and a client. The replicas announce 192.0.2.80/32 over
//! eBGP; which replica answers each client is asserted as health, reloads, restarts and
//! operator commands change what ldirector puts in the kernel.
//!
//! ```text
//!  c1 ── r1 (AS 65001) ──── r2 (AS 65002) ── c2
//!        │                  │
//!        a (AS 65101, BIRD) b (AS 65102, FRR)
//! ```
//! Replica A's BIRD maps the route's metric to AS-path prepends (>= 20: 2, >= 100: 5);
//! replica B's FRR prepends 2 when the metric is 50. Failover layout: A metric 10, B 50
//! (everyone on A while it is healthy). Load-sharing layout: both 10 (each site on its own).

mod lab;

use lab::{wait_until, Lab};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

const VIP: &str = "192.0.2.80";
const WAIT: Duration = Duration::from_secs(60);

/// The tools these tests need: a missing one is a failure (tests/run.sh installs them).
fn require() {
    for (tool, pkg) in [
        ("/usr/lib/frr/zebra", "frr"),
        ("/usr/lib/frr/bgpd", "frr"),
        ("/usr/sbin/bird", "bird2"),
        ("/usr/bin/python3", "python3"),
    ] {
        assert!(
            std::path::Path::new(tool).exists(),
            "{tool} is missing: install Debian's {pkg} (tests/run.sh does)"
        );
    }
}

struct Sites {
    lab: Lab,
    /// The web service of each replica (its process in the lab).
    services: std::collections::HashMap<String, usize>,
    /// Replica A's BIRD (its process in the lab).
    bird: usize,
    /// FRR's folders (FRR runs as user frr: outside the lab's private folder).
    frr_dirs: Vec<PathBuf>,
}

impl Drop for Sites {
    fn drop(&mut self) {
        for d in &self.frr_dirs {
            let _ = std::fs::remove_dir_all(d);
        }
        for n in ["r1", "r2", "a", "b"] {
            let _ = std::fs::remove_dir(format!("/var/run/frr/{}", self.lab.ns(n)));
        }
    }
}

fn bgp_router(asn: u32, id: &str, neighbors: &[(&str, u32)]) -> String {
    let mut s = format!(
        "router bgp {asn}\n bgp router-id {id}\n no bgp ebgp-requires-policy\n no bgp network import-check\n timers bgp 1 3\n"
    );
    for (n, a) in neighbors {
        s += &format!(" neighbor {n} remote-as {a}\n neighbor {n} timers connect 1\n");
    }
    s += " address-family ipv4 unicast\n  redistribute connected\n exit-address-family\n";
    s
}

/// The replicas' routing daemons: the shipped examples.
const BIRD_A: &str = include_str!("../conf/anycast/bird-bgp.conf");
const BGPD_B: &str = include_str!("../conf/anycast/frr-bgpd.conf");
const BIRD_OSPF_A: &str = include_str!("../conf/anycast/bird-ospf.conf");
const OSPFD_B: &str = include_str!("../conf/anycast/frr-ospfd.conf");
const RIPD_B: &str = include_str!("../conf/anycast/frr-ripd.conf");

/// How the sites route.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Routing {
    /// eBGP everywhere; A: BIRD, B: FRR; both `method route`.
    Bgp,
    /// The same, r1's session with A held 30 s and watched by BFD (100 ms x 3).
    BgpBfd,
    /// The same without a routing daemon on A (the benchmark puts another announcer
    /// there: ExaBGP, or FRR driven by a shell loop).
    BgpBare,
    /// OSPF area 0; A: BIRD with `method route` (E2 metric = the route's), B: FRR with
    /// `method address` (E2 metric 50).
    Ospf,
    /// RIPv2, the original scheme: both FRR ripd with `method address` (A metric 1, B 3).
    Rip,
    /// OSPF and RIP with B's metric equal to A's (the load-sharing layout, for the
    /// benchmark).
    OspfShared,
    RipShared,
}

/// A router's OSPF: point-to-point links with fast timers, connected routes out.
fn ospf_router(id: &str, links: &[(&str, &str)]) -> String {
    let mut s = String::new();
    for (dev, _) in links {
        s += &format!("interface {dev}\n ip ospf network point-to-point\n ip ospf hello-interval 1\n ip ospf dead-interval 3\n ip ospf retransmit-interval 1\n!\n");
    }
    s += &format!("router ospf\n ospf router-id {id}\n timers throttle spf 0 50 500\n redistribute connected\n");
    for (_, net) in links {
        s += &format!(" network {net} area 0\n");
    }
    s
}

/// A router's RIP: the site's links, connected routes out.
fn rip_router(nets: &[&str]) -> String {
    let mut s =
        "router rip\n version 2\n timers basic 5 15 10\n redistribute connected\n".to_string();
    for n in nets {
        s += &format!(" network {n}\n");
    }
    s
}
/// The shipped anycast block (metric 10).
const BLOCK: &str = include_str!("../conf/anycast/keepalived.conf");

/// The shipped block with `method address` (the address on lo while announced).
fn anycast_address() -> String {
    let b = BLOCK.replace("  method route\n  metric 10\n", "  method address\n");
    assert!(b.contains("method address"), "the example changed: {BLOCK}");
    b
}

/// The shipped anycast block with this metric and `extra` lines.
fn anycast(metric: u32, extra: &str) -> String {
    let b = BLOCK.replace("  metric 10\n", &format!("  metric {metric}\n  {extra}\n"));
    assert!(
        b.contains(&format!("metric {metric}")),
        "the example changed: {BLOCK}"
    );
    b
}

impl Sites {
    fn new(tag: &str) -> Sites {
        Sites::with(tag, Routing::Bgp)
    }

    fn with(tag: &str, routing: Routing) -> Sites {
        require();
        let mut lab = Lab::bare(tag);
        for n in ["r1", "r2", "a", "b", "c1", "c2"] {
            let ns = lab.add_ns(n);
            lab::sysctl(&ns, "net.ipv4.ip_forward", "1");
        }
        lab.link("c1", "198.18.1.2/24", "r1", "198.18.1.1/24");
        lab.link("r1", "198.18.12.1/24", "r2", "198.18.12.2/24");
        lab.link("c2", "198.18.2.2/24", "r2", "198.18.2.1/24");
        lab.link("a", "198.18.10.2/24", "r1", "198.18.10.1/24");
        lab.link("b", "198.18.20.2/24", "r2", "198.18.20.1/24");
        for (n, gw) in [
            ("c1", "198.18.1.1"),
            ("c2", "198.18.2.1"),
            ("a", "198.18.10.1"),
            ("b", "198.18.20.1"),
        ] {
            lab::ip(&["-n", &lab.ns(n), "route", "add", "default", "via", gw]);
        }
        let mut s = Sites {
            lab,
            services: Default::default(),
            bird: usize::MAX,
            frr_dirs: Vec::new(),
        };
        let bird_a = match routing {
            Routing::Bgp | Routing::BgpBfd | Routing::BgpBare => {
                let r1 = bgp_router(
                    65001,
                    "198.18.1.1",
                    &[("198.18.10.2", 65101), ("198.18.12.2", 65002)],
                );
                if routing == Routing::BgpBfd {
                    let r1 = r1.replace(
                        " neighbor 198.18.10.2 timers connect 1\n",
                        " neighbor 198.18.10.2 timers connect 1\n neighbor 198.18.10.2 timers 10 30\n neighbor 198.18.10.2 bfd\n",
                    );
                    let bfdd = "bfd\n peer 198.18.10.2\n  receive-interval 100\n  transmit-interval 100\n  detect-multiplier 3\n";
                    s.frr_daemons("r1", &[("bfdd", bfdd), ("bgpd", &r1)]);
                } else {
                    s.frr("r1", "bgpd", &r1);
                }
                s.frr(
                    "r2",
                    "bgpd",
                    &bgp_router(
                        65002,
                        "198.18.2.1",
                        &[("198.18.20.2", 65102), ("198.18.12.1", 65001)],
                    ),
                );
                s.frr("b", "bgpd", BGPD_B);
                if routing == Routing::BgpBare {
                    None
                } else {
                    Some(if routing == Routing::BgpBfd {
                        // BFD beside the BGP session, and the session held as long as r1's
                        BIRD_A
                        .replace(
                            "protocol bgp r1 {",
                            "protocol bfd { interface \"a-r1\" { interval 100 ms; multiplier 3; }; }\nprotocol bgp r1 {\n  bfd on;",
                        )
                        .replace("hold time 3; keepalive time 1;", "hold time 30; keepalive time 10;")
                    } else {
                        BIRD_A.to_string()
                    })
                }
            }
            Routing::Ospf | Routing::OspfShared => {
                let r1 = [("r1-a", "198.18.10.0/24"), ("r1-r2", "198.18.12.0/24")];
                let r2 = [("r2-b", "198.18.20.0/24"), ("r2-r1", "198.18.12.0/24")];
                s.frr("r1", "ospfd", &ospf_router("198.18.1.1", &r1));
                s.frr("r2", "ospfd", &ospf_router("198.18.2.1", &r2));
                if routing == Routing::OspfShared {
                    s.frr(
                        "b",
                        "ospfd",
                        &OSPFD_B.replace("set metric 50", "set metric 10"),
                    );
                } else {
                    s.frr("b", "ospfd", OSPFD_B);
                }
                Some(BIRD_OSPF_A.to_string())
            }
            Routing::Rip | Routing::RipShared => {
                s.frr(
                    "r1",
                    "ripd",
                    &rip_router(&["198.18.10.0/24", "198.18.12.0/24"]),
                );
                s.frr(
                    "r2",
                    "ripd",
                    &rip_router(&["198.18.20.0/24", "198.18.12.0/24"]),
                );
                if routing == Routing::RipShared {
                    s.frr("b", "ripd", &RIPD_B.replace("metric 3", "metric 1"));
                } else {
                    s.frr("b", "ripd", RIPD_B);
                }
                // the primary site: its own link, metric 1
                let a = RIPD_B
                    .replace("network 198.18.20.0/24", "network 198.18.10.0/24")
                    .replace("metric 3", "metric 1");
                s.frr("a", "ripd", &a);
                None
            }
        };
        if let Some(bird) = bird_a {
            s.bird_a(&bird);
        }
        for r in ["a", "b"] {
            s.service(r);
        }
        s
    }

    fn bird_a(&mut self, conf: &str) {
        let s = self;
        let conf = s.lab.file("bird-a.conf", conf);
        let ctl = s.lab.path().join("bird-a.ctl");
        s.bird = s.lab.spawn(
            "a",
            "bird-a",
            &[
                "bird",
                "-f",
                "-c",
                &conf.display().to_string(),
                "-s",
                &ctl.display().to_string(),
            ],
        );
        assert!(
            wait_until(Duration::from_secs(10), || ctl.exists()),
            "BIRD did not start:\n{}",
            s.lab.logs()
        );
    }

    /// zebra and one routing daemon (bgpd, ospfd, ripd) with this configuration in
    /// namespace `short`, in the foreground (stopped with the lab).
    fn frr(&mut self, short: &str, daemon: &str, conf: &str) {
        self.frr_daemons(short, &[(daemon, conf)]);
    }

    /// zebra and these daemons (bgpd, ospfd, ripd, bfdd) with their configurations.
    fn frr_daemons(&mut self, short: &str, daemons: &[(&str, &str)]) {
        let ns = self.lab.ns(short);
        let dir = PathBuf::from(format!("/tmp/ldirector-frr-{ns}"));
        let _ = std::fs::remove_dir_all(&dir);
        for d in [dir.display().to_string(), format!("/var/run/frr/{ns}")] {
            let ok = Command::new("install")
                .args(["-d", "-o", "frr", "-g", "frr", &d])
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "install -d {d} (user frr)");
        }
        self.frr_dirs.push(dir.clone());
        let file = |name: &str, text: &str| {
            let p = dir.join(name);
            std::fs::write(&p, text).expect("FRR config");
            let _ = Command::new("chown")
                .args(["frr:frr", &p.display().to_string()])
                .status();
            p.display().to_string()
        };
        let zconf = file("zebra.conf", &format!("hostname {short}\n"));
        let d = dir.display().to_string();
        let api = format!("{d}/zserv.api");
        let args = |prog: &str, conf: &str| -> Vec<String> {
            [
                prog,
                "-N",
                &ns,
                "-f",
                conf,
                "-i",
                &format!("{d}/{}.pid", prog.rsplit('/').next().unwrap_or("frr")),
                "-z",
                &api,
                "--vty_socket",
                &d,
                "-P",
                "0",
                "--log",
                "stdout",
            ]
            .iter()
            .map(|x| x.to_string())
            .collect()
        };
        let z = args("/usr/lib/frr/zebra", &zconf);
        let z: Vec<&str> = z.iter().map(String::as_str).collect();
        self.lab.spawn(short, &format!("zebra-{short}"), &z);
        assert!(
            wait_until(Duration::from_secs(10), || std::path::Path::new(&api)
                .exists()),
            "zebra in {short} did not start:\n{}",
            self.lab.logs()
        );
        for (daemon, conf) in daemons {
            let dconf = file(
                &format!("{daemon}.conf"),
                &format!("hostname {short}\n{conf}"),
            );
            let mut b = args(&format!("/usr/lib/frr/{daemon}"), &dconf);
            if *daemon == "bfdd" {
                b.extend(["--bfdctl".to_string(), format!("{d}/bfdd.sock")]);
            }
            let b: Vec<&str> = b.iter().map(String::as_str).collect();
            self.lab.spawn(short, &format!("{daemon}-{short}"), &b);
        }
    }

    /// Stop the replica's web service (by its process: other tests run theirs too).
    fn stop_service(&mut self, short: &str) {
        let p = self.services[short];
        self.lab.proc(p).signal(nix::sys::signal::Signal::SIGKILL);
        let _ = self.lab.proc(p).wait_exit(Duration::from_secs(5));
    }

    /// The replica's web service: answers its own name.
    fn service(&mut self, short: &str) {
        let www = self.lab.path().join(format!("www-{short}"));
        let _ = std::fs::create_dir_all(&www);
        std::fs::write(www.join("index.html"), format!("{short}\n")).expect("index.html");
        let w = www.display().to_string();
        let p = self.lab.spawn(
            short,
            &format!("http-{short}"),
            &[
                "python3",
                "-m",
                "http.server",
                "8080",
                "--bind",
                "0.0.0.0",
                "--directory",
                &w,
            ],
        );
        self.services.insert(short.to_string(), p);
    }

    fn ldirector(&mut self, short: &str, conf: &str) -> usize {
        self.lab.ldirector(short, &format!("ld-{short}"), conf)
    }

    /// `ldirector CMD... --run-dir` of replica `short`'s daemon.
    fn ctl(&self, short: &str, args: &[&str]) -> std::process::Output {
        let run = self.lab.path().join(format!("ld-{short}.run"));
        let bin = lab::ldirector_bin();
        let mut all = vec![bin.as_str()];
        all.extend_from_slice(args);
        let r = run.display().to_string();
        all.extend_from_slice(&["--run-dir", &r]);
        self.lab.exec(short, &all)
    }

    /// The anycast block's status on replica `short`.
    fn block(&self, short: &str) -> serde_json::Value {
        let o = self.ctl(short, &["status", "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        v["anycast"][0].clone()
    }

    /// Which replica answers the client (None: nobody).
    fn who(&self, client: &str) -> Option<String> {
        let o = self.lab.exec(
            client,
            &[
                "python3",
                "-c",
                &format!("import urllib.request;print(urllib.request.urlopen('http://{VIP}:8080/',timeout=1).read().decode().strip())"),
            ],
        );
        o.status
            .success()
            .then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
    }

    /// Wait until client `c` is answered by `replica`.
    fn reaches(&self, c: &str, replica: &str) {
        assert!(
            wait_until(WAIT, || self.who(c).as_deref() == Some(replica)),
            "{c} never reached {replica} (answers {:?})\nr1: {}\nr2: {}\nBIRD: {}\n{}",
            self.who(c),
            self.bgp("r1"),
            self.bgp("r2"),
            self.birdc(&["show", "protocols", "all"]),
            self.lab.logs()
        );
    }

    /// `birdc ARGS` against replica A's BIRD (when it runs one).
    fn birdc(&self, args: &[&str]) -> String {
        let ctl = self.lab.path().join("bird-a.ctl");
        let o = Command::new("birdc")
            .arg("-s")
            .arg(&ctl)
            .args(args)
            .output();
        o.map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    fn bgp(&self, router: &str) -> String {
        let d = format!("/tmp/ldirector-frr-{}", self.lab.ns(router));
        let o = Command::new("vtysh")
            .args(["--vty_socket", &d, "-c", &format!("show ip route {VIP}/32")])
            .output();
        o.map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    /// ldirector's routes in replica `short` (`ip route show proto 201`, main and local).
    fn routes(&self, short: &str) -> String {
        let mut s = String::new();
        for t in ["main", "local"] {
            let o = self
                .lab
                .exec(short, &["ip", "route", "show", "table", t, "proto", "201"]);
            s += &String::from_utf8_lossy(&o.stdout);
        }
        s
    }

    /// A client probing the service every 50 ms, each answer (or `-`) a line of `file`
    /// (2 s to answer: a loaded test machine is not a lost probe).
    fn prober(&mut self, client: &str) -> (usize, PathBuf) {
        let out = self.lab.path().join(format!("probe-{client}.txt"));
        let script = self.lab.file(
            "probe.py",
            "import sys, time, urllib.request\nf = open(sys.argv[2], 'a', buffering=1)\nwhile True:\n    try:\n        a = urllib.request.urlopen(sys.argv[1], timeout=2).read().decode().strip()\n    except Exception:\n        a = '-'\n    f.write(a + '\\n')\n    time.sleep(0.05)\n",
        );
        let url = format!("http://{VIP}:8080/");
        let p = self.lab.spawn(
            client,
            &format!("probe-{client}"),
            &[
                "python3",
                &script.display().to_string(),
                &url,
                &out.display().to_string(),
            ],
        );
        (p, out)
    }
}

fn answers(file: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn failover_layout_moves_both_sites_to_the_backup_and_back_after_the_hold_down() {
    let mut s = Sites::new("anyfo");
    s.ldirector("a", &anycast(10, ""));
    s.ldirector("b", &anycast(50, ""));
    // A healthy: both sites on A (B's path is longer by its prepends)
    s.reaches("c1", "a");
    s.reaches("c2", "a");
    assert_eq!(s.block("a")["state"], "announced", "{}", s.lab.logs());
    // A's service stops: A withdraws, both sites on B
    s.stop_service("a");
    s.reaches("c1", "b");
    s.reaches("c2", "b");
    assert_eq!(s.block("a")["state"], "withdrawn");
    assert!(
        !s.routes("a").contains("192.0.2.80 dev lo proto"),
        "{}",
        s.routes("a")
    );
    // A's service is back: healthy at once, announced only after its hold-down
    s.service("a");
    let mut held = false;
    assert!(
        wait_until(WAIT, || {
            let b = s.block("a");
            if b["healthy"] == true && b["state"] == "withdrawn" && b["back_in_s"].is_number() {
                held = true;
            }
            b["state"] == "announced"
        }),
        "A never came back: {}",
        s.lab.logs()
    );
    assert!(held, "A came back without its hold-down");
    s.reaches("c1", "a");
    s.reaches("c2", "a");
}

#[test]
fn load_sharing_keeps_the_healthy_site_on_its_replica_and_a_failure_lowers_the_metric() {
    let mut s = Sites::new("anyls");
    // equal metrics: each site on its own replica; A's failure announces metric 150
    // (5 prepends) instead of withdrawing
    // A's generic notify script records every change
    let notes = s.lab.path().join("notes.txt");
    let script = s.lab.file(
        "notes.sh",
        &format!("#!/bin/sh\necho \"$@\" >> {}\n", notes.display()),
    );
    let _ = Command::new("chmod")
        .args(["755", &script.display().to_string()])
        .status();
    let extra = format!(
        "on_failure metric 150\n  notify {}\n  smtp_alert",
        script.display()
    );
    // and its e-mails go to a mail server on the replica (a maildir)
    let maildir = s.lab.path().join("maildir");
    s.lab.spawn(
        "a",
        "mailbox",
        &[
            "/usr/bin/python3",
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            "127.0.0.1:2525",
            "-c",
            "aiosmtpd.handlers.Mailbox",
            &maildir.display().to_string(),
        ],
    );
    assert!(wait_until(WAIT, || !s
        .lab
        .exec("a", &["ss", "-Hlnt", "sport = :2525"])
        .stdout
        .is_empty()));
    let globals = "global_defs {\n  router_id site-a\n  notification_email {\n    ops@example.com\n  }\n  smtp_server 127.0.0.1 2525\n}\n";
    s.ldirector("a", &format!("{globals}{}", anycast(10, &extra)));
    s.ldirector("b", &anycast(10, ""));
    s.reaches("c1", "a");
    s.reaches("c2", "b");
    let (probe, file) = s.prober("c2");
    assert!(wait_until(WAIT, || answers(&file).len() >= 5));
    s.stop_service("a");
    s.reaches("c1", "b");
    let b = s.block("a");
    assert_eq!(
        (b["state"].as_str(), b["metric"].as_u64()),
        (Some("lowered"), Some(150)),
        "{b}"
    );
    assert!(
        s.routes("a").contains("metric 150") && !s.routes("a").contains("metric 10 "),
        "the lowered route replaced the healthy one: {}",
        s.routes("a")
    );
    // the healthy site never noticed: every probe answered by B
    s.service("a");
    s.reaches("c1", "a");
    s.lab.proc(probe).signal(nix::sys::signal::Signal::SIGTERM);
    let seen = answers(&file);
    assert!(seen.len() > 20, "{seen:?}");
    assert!(
        seen.iter().all(|a| a == "b"),
        "c2 lost probes or left its site: {:?}",
        seen.iter().filter(|a| *a != "b").count()
    );
    let want = [
        "ANYCAST WEB ANNOUNCED 10",
        "ANYCAST WEB LOWERED 150",
        "ANYCAST WEB ANNOUNCED 10",
    ];
    let read = || std::fs::read_to_string(&notes).unwrap_or_default();
    assert!(
        wait_until(WAIT, || read().lines().count() >= 3),
        "{}",
        read()
    );
    assert_eq!(read().lines().collect::<Vec<_>>(), want);
    let mails = || -> String {
        let mut all = String::new();
        for d in ["new", "cur"] {
            if let Ok(rd) = std::fs::read_dir(maildir.join(d)) {
                for e in rd.flatten() {
                    all += &std::fs::read_to_string(e.path()).unwrap_or_default();
                }
            }
        }
        all
    };
    assert!(
        wait_until(WAIT, || mails()
            .contains("Subject: [site-a] Anycast WEB - LOWERED")),
        "{}",
        mails()
    );
    assert!(mails().contains("=> its checks failed <="), "{}", mails());
}

#[test]
fn a_restart_a_reload_a_drain_and_a_stop_as_an_operator_uses_them() {
    let mut s = Sites::new("anyop");
    let d = s.ldirector("a", &anycast(10, ""));
    s.ldirector("b", &anycast(50, ""));
    s.reaches("c1", "a");
    s.reaches("c2", "a");
    // a crash and a restart: the route stays in the kernel, nothing moves
    s.lab.proc(d).signal(nix::sys::signal::Signal::SIGKILL);
    let _ = s.lab.proc(d).wait_exit(Duration::from_secs(5));
    let monitor = s.lab.spawn("a", "monitor-a", &["ip", "monitor", "route"]);
    std::thread::sleep(Duration::from_millis(200));
    let d2 = s.lab.ldirector("a", "ld-a", &anycast(10, ""));
    assert!(
        wait_until(WAIT, || s.block("a")["state"] == "announced"),
        "{}",
        s.lab.logs()
    );
    assert!(s
        .lab
        .proc(d2)
        .log_text()
        .contains("in the kernel already: kept"));
    s.lab
        .proc(monitor)
        .signal(nix::sys::signal::Signal::SIGTERM);
    let events = s.lab.proc(monitor).log_text();
    assert!(
        !events.contains("192.0.2.80"),
        "the restart moved the route:\n{events}"
    );
    s.reaches("c2", "a");
    // a reload with a worse metric: both sites on B (5 prepends against 2)
    s.lab.file("ld-a.conf", &anycast(150, ""));
    let o = s.ctl("a", &["reload"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    s.reaches("c1", "b");
    s.reaches("c2", "b");
    assert_eq!(s.block("a")["metric"], 150);
    // back to 10, then drained: withdrawn, still serving locally; resumed: back
    s.lab.file("ld-a.conf", &anycast(10, ""));
    assert!(s.ctl("a", &["reload"]).status.success());
    s.reaches("c1", "a");
    let o = s.ctl("a", &["anycast", "drain", "WEB"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    s.reaches("c1", "b");
    s.reaches("c2", "b");
    assert_eq!(s.block("a")["state"], "draining");
    let local = s.lab.exec(
        "a",
        &["python3", "-c", &format!("import urllib.request;print(urllib.request.urlopen('http://{VIP}:8080/',timeout=2).read().decode())")],
    );
    assert!(
        local.status.success(),
        "a drained replica still serves the address"
    );
    assert!(!s.ctl("a", &["anycast", "drain", "NOPE"]).status.success());
    assert!(s.ctl("a", &["anycast", "resume"]).status.success());
    s.reaches("c1", "a");
    s.reaches("c2", "a");
    // SIGTERM: withdrawn first (the sites move), then the daemon ends and leaves nothing
    s.lab.proc(d2).signal(nix::sys::signal::Signal::SIGTERM);
    s.reaches("c1", "b");
    assert!(s.lab.proc(d2).wait_exit(Duration::from_secs(20)).is_some());
    assert_eq!(s.routes("a"), "", "routes left behind");
}

/// A's service fails and recovers: both sites on B meanwhile, back on A after its
/// hold-down.
fn failover_and_back(s: &mut Sites) {
    s.reaches("c1", "a");
    s.reaches("c2", "a");
    s.stop_service("a");
    s.reaches("c1", "b");
    s.reaches("c2", "b");
    s.service("a");
    s.reaches("c1", "a");
    s.reaches("c2", "a");
}

#[test]
fn ospf_failover_with_a_bird_route_at_one_site_and_an_frr_address_at_the_other() {
    let mut s = Sites::with("anyospf", Routing::Ospf);
    s.ldirector("a", &anycast(10, ""));
    s.ldirector("b", &anycast_address());
    s.reaches("c1", "a");
    // B's address is on lo while B announces (method address)
    let o = s.lab.exec("b", &["ip", "-br", "addr", "show", "dev", "lo"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("192.0.2.80/32"));
    failover_and_back(&mut s);
}

#[test]
fn rip_as_in_the_original_scheme() {
    let mut s = Sites::with("anyrip", Routing::Rip);
    s.ldirector("a", &anycast_address());
    s.ldirector("b", &anycast_address());
    failover_and_back(&mut s);
    // a withdrawn address is gone from lo, and served still through the local route
    s.stop_service("a");
    assert!(wait_until(WAIT, || s.block("a")["state"] == "withdrawn"));
    let o = s.lab.exec("a", &["ip", "-br", "addr", "show", "dev", "lo"]);
    assert!(!String::from_utf8_lossy(&o.stdout).contains("192.0.2.80"));
    assert!(
        s.routes("a").contains("local 192.0.2.80 dev lo"),
        "{}",
        s.routes("a")
    );
}

#[test]
fn a_replica_whose_routing_daemon_dies_is_routed_around() {
    let mut s = Sites::new("anykill");
    s.ldirector("a", &anycast(10, ""));
    s.ldirector("b", &anycast(50, ""));
    s.reaches("c1", "a");
    s.reaches("c2", "a");
    // nothing withdrawn: the kernel closes BIRD's BGP session, r1 drops A's routes
    let bird = s.bird;
    s.lab.proc(bird).signal(nix::sys::signal::Signal::SIGKILL);
    s.reaches("c1", "b");
    s.reaches("c2", "b");
    assert_eq!(
        s.block("a")["state"],
        "announced",
        "ldirector saw nothing wrong"
    );
}

#[test]
fn bfd_detects_a_replica_that_goes_silent_long_before_bgp_would() {
    let mut s = Sites::with("anybfd", Routing::BgpBfd);
    s.ldirector("a", &anycast(10, ""));
    s.ldirector("b", &anycast(50, ""));
    s.reaches("c1", "a");
    s.reaches("c2", "a");
    let d = format!("/tmp/ldirector-frr-{}", s.lab.ns("r1"));
    let peers = || {
        let o = Command::new("vtysh")
            .args(["--vty_socket", &d, "-c", "show bfd peers brief"])
            .output();
        o.map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    assert!(
        wait_until(WAIT, || peers().contains(" up ")),
        "no BFD session: {}",
        peers()
    );
    // A goes silent (everything in and out dropped; no link goes down, nothing closes)
    let nft = "table inet silent {\n chain i { type filter hook input priority 0; policy drop; }\n chain o { type filter hook output priority 0; policy drop; }\n}\n";
    let rules = s.lab.file("silent.nft", nft);
    let o = s
        .lab
        .exec("a", &["nft", "-f", &rules.display().to_string()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // BGP holds the session 30 s; BFD ends it: both sites on B
    s.reaches("c1", "b");
    s.reaches("c2", "b");
    let why = Command::new("vtysh")
        .args(["--vty_socket", &d, "-c", "show bgp neighbors 198.18.10.2"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let reset = why
        .lines()
        .find(|l| l.contains("Last reset"))
        .unwrap_or_default()
        .to_string();
    assert!(
        reset.contains("BFD"),
        "the session did not end by BFD: {reset}\n{why}"
    );
}

// ---------------------------------------------------------------------------------------
// Benchmark (benches/anycast_failover.sh; docs/benchmarks.md): the load-sharing layout,
// A's service killed and restarted TRIALS times; c1 (A's site) measures failover and
// failback, c2 (the healthy site) counts lost probes. Side by side: ldirector with BIRD
// (BGP, withdraw or metric change; OSPF), with FRR ripd (RIP), ExaBGP's healthcheck, and a
// shell loop driving FRR through vtysh. Every announcer checks every 0.3 s, fails on the
// first failed check where it can, and comes back after 3 s (ldirector's hold_down; the
// others: their rise).

const TRIALS: usize = 5;

/// Seconds since the epoch.
fn epoch() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// (time, answer) per probe of a timestamped prober's file.
fn timed(file: &std::path::Path) -> Vec<(f64, String)> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (t, a) = l.split_once(' ')?;
            Some((t.parse().ok()?, a.to_string()))
        })
        .collect()
}

/// When ldirector logged `what` for the first time after `after` (its RFC 3339 stamps).
fn logged(log: &str, what: &str, after: f64) -> Option<f64> {
    log.lines().filter(|l| l.contains(what)).find_map(|l| {
        let stamp = l.split_whitespace().next()?;
        let t = chrono_like(stamp)?;
        (t >= after).then_some(t)
    })
}

/// `2026-12-03T19:26:19.697440Z` as seconds since the epoch (UTC).
fn chrono_like(s: &str) -> Option<f64> {
    let (date, time) = s.trim_end_matches('Z').split_once('T')?;
    let d: Vec<i64> = date
        .split('-')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let t: Vec<i64> = hms
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let (y, m, day) = (d[0], d[1], d[2]);
    // days from the civil date (Howard Hinnant's algorithm)
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2];
    Some(secs as f64 + format!("0.{frac}").parse::<f64>().ok()?)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Announcer {
    /// ldirector with BIRD, BGP, withdraw.
    BgpWithdraw,
    /// ldirector with BIRD, BGP, `on_failure metric 150`.
    BgpMetric,
    /// ldirector with BIRD, OSPF.
    Ospf,
    /// ldirector with FRR ripd (method address).
    Rip,
    /// ExaBGP's healthcheck, speaking BGP to r1 itself.
    ExaBgp,
    /// A shell loop: curl, then `vtysh ... [no] network` on FRR bgpd.
    VtyshLoop,
}

struct Trial {
    failover: f64,
    detect: Option<f64>,
    failback: f64,
}

impl Sites {
    /// A timestamped prober: `TIME ANSWER` lines.
    fn timed_prober(&mut self, client: &str) -> PathBuf {
        let out = self.lab.path().join(format!("tprobe-{client}.txt"));
        let script = self.lab.file(
            "tprobe.py",
            "import sys, time, urllib.request\nf = open(sys.argv[2], 'a', buffering=1)\nwhile True:\n    t = time.time()\n    try:\n        a = urllib.request.urlopen(sys.argv[1], timeout=0.3).read().decode().strip()\n    except Exception:\n        a = '-'\n    f.write('%.3f %s\\n' % (t, a))\n    time.sleep(0.02)\n",
        );
        let url = format!("http://{VIP}:8080/");
        self.lab.spawn(
            client,
            &format!("tprobe-{client}"),
            &[
                "python3",
                &script.display().to_string(),
                &url,
                &out.display().to_string(),
            ],
        );
        out
    }

    /// Replica A announced by `who` (B by ldirector, metric 10: load sharing).
    fn announcer(&mut self, who: Announcer) {
        let check = "curl -sf -m 1 -o /dev/null http://192.0.2.80:8080/";
        match who {
            Announcer::BgpWithdraw | Announcer::Ospf => {
                self.ldirector("a", &bench_block(""));
            }
            Announcer::BgpMetric => {
                self.ldirector("a", &bench_block("on_failure metric 150"));
            }
            Announcer::Rip => {
                self.ldirector(
                    "a",
                    &bench_block("").replace("  method route\n  metric 10\n", "  method address\n"),
                );
            }
            Announcer::ExaBgp => {
                lab::ip(&[
                    "-n",
                    &self.lab.ns("a"),
                    "addr",
                    "add",
                    "192.0.2.80/32",
                    "dev",
                    "lo",
                ]);
                let conf = format!(
                    "process watch {{\n  run /usr/bin/python3 -m exabgp healthcheck --no-syslog --interval 0.3 --fast-interval 0.3 --rise 10 --fall 1 --timeout 1 --ip 192.0.2.80/32 --no-ip-setup --withdraw-on-down --next-hop 198.18.10.2 --cmd \"{check}\";\n  encoder text;\n}}\nneighbor 198.18.10.1 {{\n  router-id 198.18.10.2;\n  local-address 198.18.10.2;\n  local-as 65101;\n  peer-as 65001;\n  hold-time 3;\n  family {{ ipv4 unicast; }}\n  api {{ processes [ watch ]; }}\n}}\n"
                );
                let f = self.lab.file("exabgp.conf", &conf);
                self.lab.spawn(
                    "a",
                    "exabgp-a",
                    &[
                        "env",
                        "exabgp.daemon.user=root",
                        "exabgp.api.cli=false",
                        "exabgp.log.destination=stdout",
                        "exabgp",
                        &f.display().to_string(),
                    ],
                );
            }
            Announcer::VtyshLoop => {
                lab::ip(&[
                    "-n",
                    &self.lab.ns("a"),
                    "addr",
                    "add",
                    "192.0.2.80/32",
                    "dev",
                    "lo",
                ]);
                self.frr(
                    "a",
                    "bgpd",
                    "router bgp 65101\n bgp router-id 198.18.10.2\n no bgp ebgp-requires-policy\n no bgp network import-check\n timers bgp 1 3\n neighbor 198.18.10.1 remote-as 65001\n neighbor 198.18.10.1 timers connect 1\n",
                );
                let d = format!("/tmp/ldirector-frr-{}", self.lab.ns("a"));
                // fall 1, rise after 10 good checks (3 s, as the others' hold-down)
                let script = format!(
                    "have=0; good=0\nwhile true; do\n  if {check}; then good=$((good+1)); else good=0; fi\n  if [ $good -ge 10 ]; then want=1; elif [ $good -eq 0 ]; then want=0; else want=$have; fi\n  if [ $want != $have ]; then\n    no=; [ $want = 0 ] && no='no '\n    vtysh --vty_socket {d} -c 'conf t' -c 'router bgp 65101' -c 'address-family ipv4 unicast' -c \"${{no}}network 192.0.2.80/32\"\n    have=$want\n  fi\n  sleep 0.3\ndone\n"
                );
                let f = self.lab.file("loop.sh", &script);
                self.lab
                    .spawn("a", "loop-a", &["bash", &f.display().to_string()]);
            }
        }
    }
}

/// The benchmark's anycast block: checks every 0.3 s, down at the first failure.
fn bench_block(extra: &str) -> String {
    anycast(10, extra)
}

fn bench(who: Announcer) -> (Vec<Trial>, usize, usize) {
    let routing = match who {
        Announcer::BgpWithdraw | Announcer::BgpMetric => Routing::Bgp,
        Announcer::Ospf => Routing::OspfShared,
        Announcer::Rip => Routing::RipShared,
        Announcer::ExaBgp | Announcer::VtyshLoop => Routing::BgpBare,
    };
    let mut s = Sites::with("anybench", routing);
    s.announcer(who);
    // B: method route for BGP (its FRR redistributes the kernel route), address otherwise
    let b = match routing {
        Routing::Bgp | Routing::BgpBare | Routing::BgpBfd => anycast(10, ""),
        _ => anycast_address(),
    };
    s.ldirector("b", &b);
    s.reaches("c1", "a");
    s.reaches("c2", "b");
    let p1 = s.timed_prober("c1");
    let p2 = s.timed_prober("c2");
    assert!(wait_until(WAIT, || timed(&p2).len() > 10));
    let mut trials = Vec::new();
    for _ in 0..TRIALS {
        std::thread::sleep(Duration::from_secs(1));
        let t_kill = epoch();
        s.stop_service("a");
        s.reaches("c1", "b");
        std::thread::sleep(Duration::from_secs(1));
        s.service("a");
        // from the moment the service answers (its own start is not the announcer's)
        let url = format!("http://{VIP}:8080/");
        assert!(wait_until(WAIT, || s
            .lab
            .exec("a", &["curl", "-sf", "-m", "0.2", "-o", "/dev/null", &url])
            .status
            .success()));
        let t_up = epoch();
        s.reaches("c1", "a");
        std::thread::sleep(Duration::from_millis(500));
        let seen = timed(&p1);
        let moved = seen
            .iter()
            .find(|(t, a)| *t > t_kill && a == "b")
            .map_or(f64::NAN, |(t, _)| t - t_kill);
        let back = seen
            .iter()
            .find(|(t, a)| *t > t_up && a == "a")
            .map_or(f64::NAN, |(t, _)| t - t_up);
        let log = s.lab.logs();
        let detect = match who {
            Announcer::BgpMetric => logged(&log, "anycast WEB: lowered", t_kill),
            Announcer::ExaBgp | Announcer::VtyshLoop => None,
            _ => logged(&log, "anycast WEB: withdrawn", t_kill),
        }
        .map(|t| t - t_kill);
        trials.push(Trial {
            failover: moved,
            detect,
            failback: back,
        });
    }
    let healthy = timed(&p2);
    let lost = healthy.iter().filter(|(_, a)| a != "b").count();
    (trials, lost, healthy.len())
}

fn median_max(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    let med = v.get(v.len() / 2).copied().unwrap_or(f64::NAN);
    (med, v.last().copied().unwrap_or(f64::NAN))
}

#[test]
#[ignore = "a benchmark: benches/anycast_failover.sh runs it"]
fn bench_anycast_failover() {
    let only = std::env::var("ANYCAST_BENCH").unwrap_or_default();
    println!("| announcer | failover median / worst (s) | of which detection | routing | failback − hold-down median / worst (s) | lost on the healthy site |");
    println!("|---|---|---|---|---|---|");
    for who in [
        Announcer::BgpWithdraw,
        Announcer::BgpMetric,
        Announcer::Ospf,
        Announcer::Rip,
        Announcer::ExaBgp,
        Announcer::VtyshLoop,
    ] {
        if !only.is_empty() && !format!("{who:?}").eq_ignore_ascii_case(&only) {
            continue;
        }
        let (trials, lost, probes) = bench(who);
        let f = median_max(trials.iter().map(|t| t.failover).collect());
        let d: Vec<f64> = trials.iter().filter_map(|t| t.detect).collect();
        let r: Vec<f64> = trials
            .iter()
            .filter_map(|t| t.detect.map(|d| t.failover - d))
            .collect();
        let b = median_max(trials.iter().map(|t| t.failback - 3.0).collect());
        let pair = |v: Vec<f64>| {
            if v.is_empty() {
                "-".to_string()
            } else {
                let (m, w) = median_max(v);
                format!("{m:.2} / {w:.2}")
            }
        };
        println!(
            "| {who:?} | {:.2} / {:.2} | {} | {} | {:.2} / {:.2} | {lost} of {probes} |",
            f.0,
            f.1,
            pair(d),
            pair(r),
            b.0,
            b.1
        );
    }
}

#[test]
fn watching_peers_pulls_a_failed_peers_traffic_and_shows_the_black_hole_caveat() {
    let mut s = Sites::new("anypeer");
    // A stands by (metric 50: two prepends) and watches B's service; B announces with no
    // health input of its own
    let watch = "anycast WEB {
  address 192.0.2.80
  method route
  metric 50
  on_failure metric 5
  watch peers
  hold_down 3
  port 8080
  TCP_CHECK {
    connect_ip 198.18.20.2
    connect_timeout 1
    delay_loop 0.3
    retry 0
  }
}
";
    s.ldirector("a", watch);
    s.ldirector(
        "b",
        "anycast WEB {\n  address 192.0.2.80\n  method route\n  metric 10\n}\n",
    );
    s.reaches("c1", "b");
    s.reaches("c2", "b");
    assert_eq!(s.block("a")["state"], "announced");
    // B's service fails: A's route takes the better metric and pulls its site's traffic
    s.stop_service("b");
    s.reaches("c1", "a");
    let b = s.block("a");
    assert_eq!(
        (b["state"].as_str(), b["metric"].as_u64()),
        (Some("takeover"), Some(5)),
        "{b}"
    );
    assert!(
        b["why"]
            .as_str()
            .unwrap_or_default()
            .contains("a peer failed"),
        "{b}"
    );
    // the caveat: B still announces, so its own site is a black hole
    assert_eq!(s.who("c2"), None);
    // B recovers: after the hold-down A stands by again
    s.service("b");
    s.reaches("c1", "b");
}

#[test]
fn a_replica_that_is_a_director_withdraws_when_its_virtual_server_loses_quorum() {
    let mut s = Sites::new("anyvs");
    // A's health is its virtual server's quorum (its real server: the local service);
    // this kernel has no IPVS: the checks and the quorum run all the same
    let a = format!(
        "virtual_server {VIP} 8080 {{
  protocol TCP
  delay_loop 0.3
  real_server 198.18.10.2 8080 {{
    TCP_CHECK {{
      connect_timeout 1
      retry 0
    }}
  }}
}}
anycast WEB {{
  address {VIP}
  method route
  metric 10
  hold_down 3
  track_virtual_server {{
    {VIP} 8080 TCP
  }}
}}
"
    );
    s.ldirector("a", &a);
    s.ldirector("b", &anycast(50, ""));
    s.reaches("c1", "a");
    s.reaches("c2", "a");
    s.stop_service("a");
    s.reaches("c1", "b");
    let b = s.block("a");
    assert_eq!(b["state"], "withdrawn", "{b}");
    assert!(
        b["why"].as_str().unwrap_or_default().contains("quorum"),
        "{b}"
    );
    s.service("a");
    s.reaches("c1", "a");
}
