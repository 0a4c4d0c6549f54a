//! IPVS against a real kernel. This machine's kernel has no IPVS, so the one test that runs
//! normally boots Debian's kernel under qemu (virtme-ng, software emulation) once, with the
//! host's filesystem as the guest's root, and runs this same test binary inside it with
//! `--ignored`: the `#[ignore]`d tests below are the IPVS tests, each in a network namespace
//! of its own (IPVS tables are per namespace). A missing VM prerequisite fails the run.

use ldirector::ipvs::codec::{Daemon, Op, Timeouts};
use ldirector::ipvs::netlink::Ipvs;
use ldirector::ipvs::reconcile::{apply, diff};
use ldirector::ipvs::table::*;
use std::collections::HashSet;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const IN_VM: &str = "LDIRECTOR_IN_VM";

fn in_vm() -> bool {
    std::env::var_os(IN_VM).is_some()
}

/// Debian's kernel image (with IPVS modules), newest first.
fn kernel() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/boot")
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("vmlinuz-"))
        })
        .filter(|p| {
            let ver = p.file_name().and_then(|n| n.to_str()).unwrap_or("")["vmlinuz-".len()..]
                .to_string();
            PathBuf::from(format!("/lib/modules/{ver}/kernel/net/netfilter/ipvs")).is_dir()
        })
        .collect();
    found.sort();
    found.pop()
}

const SCHEDULERS: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "mh", "fo", "ovf",
];

#[test]
fn ipvs_kernel_tests_in_a_vm() {
    if in_vm() {
        return;
    }
    let vng = which("vng").expect(
        "vng (pip install virtme-ng) is needed for the IPVS tests; tests/run.sh installs it",
    );
    let k = kernel().expect(
        "a kernel with IPVS modules (apt-get install linux-image-amd64) is needed; tests/run.sh installs it",
    );
    let exe = std::env::current_exe().expect("test binary");
    let modules: Vec<String> = std::iter::once("ip_vs".to_string())
        .chain(SCHEDULERS.iter().map(|s| format!("ip_vs_{s}")))
        .chain(["ip_vs_pe_sip".to_string()])
        .collect();
    let script = format!(
        "for m in {}; do modprobe $m || echo \"modprobe $m failed\"; done; \
         {IN_VM}=1 LDIRECTOR_BIN={} {} --ignored --test-threads=1 2>&1",
        modules.join(" "),
        env!("CARGO_BIN_EXE_ldirector"),
        exe.display()
    );
    let t0 = Instant::now();
    let out = Command::new(&vng)
        .args([
            "--disable-kvm",
            "--memory",
            "2G",
            "--cpus",
            "2",
            "--user",
            "root",
            "--run",
        ])
        .arg(&k)
        .args(["--exec", &script])
        .stdin(Stdio::null())
        .output()
        .expect("run vng");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("--- guest ({} s) ---\n{text}", t0.elapsed().as_secs());
    assert!(out.status.success(), "the IPVS tests failed in the VM");
    assert!(
        text.contains("test result: ok"),
        "no test result from the VM"
    );
    assert!(!text.contains(" 0 passed"), "no IPVS test ran in the VM");
}

fn which(cmd: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    // pip installs scripts here when run as root
    dirs.push("/usr/local/bin".into());
    if let Some(h) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(h).join(".local/bin"));
    }
    dirs.into_iter().map(|d| d.join(cmd)).find(|p| p.is_file())
}

/// A fresh network namespace for one test, entered by the calling thread (each test runs
/// on its own thread) and removed at the end.
struct Netns(String);

impl Netns {
    fn enter(name: &str) -> Netns {
        assert!(
            in_vm(),
            "IPVS tests run inside the VM: cargo test --test ipvs_vm"
        );
        let _ = Command::new("ip")
            .args(["netns", "del", name])
            .stderr(Stdio::null())
            .status();
        assert!(Command::new("ip")
            .args(["netns", "add", name])
            .status()
            .unwrap()
            .success());
        let f = std::fs::File::open(format!("/var/run/netns/{name}")).unwrap();
        nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let _ = Command::new("ip")
            .args(["link", "set", "lo", "up"])
            .status();
        Netns(name.into())
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn tcp(addr: &str, port: u16) -> ServiceKey {
    ServiceKey::Addr {
        protocol: IPPROTO_TCP,
        addr: addr.parse().unwrap(),
        port,
    }
}

fn svc(sched: &str) -> Service {
    Service {
        sched: sched.into(),
        flags: 0,
        timeout: 0,
        netmask: u32::MAX,
        pe_name: None,
    }
}

fn dk(addr: &str, port: u16) -> DestKey {
    DestKey {
        addr: addr.parse().unwrap(),
        port,
    }
}

fn ipvsadm() -> String {
    let o = Command::new("ipvsadm")
        .args(["-Ln"])
        .output()
        .expect("ipvsadm");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
#[ignore = "runs inside the IPVS VM"]
fn info_and_empty_table() {
    let _ns = Netns::enter("info");
    let mut ipvs = Ipvs::open().expect("IPVS");
    let (version, size) = ipvs.info().unwrap();
    assert_eq!(version, 0x010201);
    assert!(size > 0);
    assert!(ipvs.table().unwrap().services.is_empty());
}

/// Everything the config can ask for, written and read back identical.
#[test]
#[ignore = "runs inside the IPVS VM"]
fn every_kind_of_service_and_destination_round_trips() {
    let _ns = Netns::enter("kinds");
    let mut ipvs = Ipvs::open().unwrap();
    let mut want = Table::default();
    for (i, s) in SCHEDULERS.iter().enumerate() {
        let mut d = indexmap::IndexMap::new();
        d.insert(dk("198.51.100.10", 80), Dest::new(Fwd::Nat, 1 + i as i32));
        let mut dr = Dest::new(Fwd::Direct, 2);
        dr.u_thresh = 100;
        dr.l_thresh = 10;
        d.insert(dk("198.51.100.11", 80), dr);
        want.services.insert(
            tcp("192.0.2.1", 1000 + i as u16),
            ServiceEntry {
                service: svc(s),
                dests: d,
            },
        );
    }
    let mut tun = indexmap::IndexMap::new();
    for (n, (t, port, fl)) in [
        (TunType::Ipip, 0, 0),
        (TunType::Gue, 6080, 1),
        (TunType::Gre, 0, 2),
    ]
    .into_iter()
    .enumerate()
    {
        let mut d = Dest::new(Fwd::Tunnel, 1);
        d.tun_type = t;
        d.tun_port = port;
        d.tun_flags = fl;
        tun.insert(dk(&format!("203.0.113.{}", 10 + n), 0), d);
    }
    let persist = Service {
        flags: flags::PERSISTENT | flags::SCHED2,
        timeout: 600,
        netmask: 0xffff_ff00,
        ..svc("sh")
    };
    want.services.insert(
        ServiceKey::Fwmark {
            af: AF_INET,
            mark: 7,
        },
        ServiceEntry {
            service: persist,
            dests: tun,
        },
    );
    want.services.insert(
        ServiceKey::Fwmark {
            af: AF_INET6,
            mark: 8,
        },
        ServiceEntry {
            service: Service {
                netmask: 64,
                timeout: 60,
                flags: flags::PERSISTENT,
                ..svc("wlc")
            },
            dests: Default::default(),
        },
    );
    let mut v6 = indexmap::IndexMap::new();
    v6.insert(dk("2001:db8::10", 443), Dest::new(Fwd::Nat, 5));
    // an IPv6 service's persistence mask is a prefix length
    want.services.insert(
        tcp("2001:db8::1", 443),
        ServiceEntry {
            service: Service {
                netmask: 128,
                ..svc("wrr")
            },
            dests: v6,
        },
    );
    for (p, proto) in [(53u16, IPPROTO_UDP), (9999, IPPROTO_SCTP)] {
        want.services.insert(
            ServiceKey::Addr {
                protocol: proto,
                addr: "192.0.2.2".parse().unwrap(),
                port: p,
            },
            ServiceEntry {
                service: svc("rr"),
                dests: Default::default(),
            },
        );
    }
    want.services.insert(
        ServiceKey::Addr {
            protocol: IPPROTO_UDP,
            addr: "192.0.2.3".parse().unwrap(),
            port: 5060,
        },
        ServiceEntry {
            service: Service {
                pe_name: Some("sip".into()),
                flags: flags::PERSISTENT | flags::ONEPACKET,
                timeout: 30,
                ..svc("rr")
            },
            dests: Default::default(),
        },
    );

    let ops = diff(&want, &Table::default(), &HashSet::new(), false);
    let failed = ipvs.apply(&ops).unwrap();
    assert!(
        failed.is_empty(),
        "{}",
        failed
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
    let got = ipvs.table().unwrap();
    for (k, e) in &want.services {
        assert_eq!(got.services.get(k), Some(e), "{k}\n{}", ipvsadm());
    }
    assert_eq!(got.services.len(), want.services.len());
    // nothing left to do
    assert!(diff(&want, &got, &HashSet::new(), false).is_empty());
    assert!(
        ipvsadm().contains("FWM  7 sh (sh-port) persistent 600 mask 255.255.255.0"),
        "{}",
        ipvsadm()
    );
}

#[test]
#[ignore = "runs inside the IPVS VM"]
fn reconcile_adopts_edits_in_place_repairs_drift_and_leaves_others_alone() {
    let _ns = Netns::enter("recon");
    let mut ipvs = Ipvs::open().unwrap();
    // a service ldirector does not own, made by hand
    assert!(Command::new("ipvsadm")
        .args(["-A", "-t", "192.0.2.9:80", "-s", "rr"])
        .status()
        .unwrap()
        .success());
    let mut want = Table::default();
    let mut d = indexmap::IndexMap::new();
    d.insert(dk("198.51.100.10", 80), Dest::new(Fwd::Nat, 1));
    d.insert(dk("198.51.100.11", 80), Dest::new(Fwd::Nat, 2));
    want.services.insert(
        tcp("192.0.2.1", 80),
        ServiceEntry {
            service: svc("wrr"),
            dests: d,
        },
    );
    let ops = diff(&want, &ipvs.table().unwrap(), &HashSet::new(), false);
    assert!(ipvs.apply(&ops).unwrap().is_empty());
    // a restart finds everything in place: nothing to write
    assert!(diff(&want, &ipvs.table().unwrap(), &HashSet::new(), false).is_empty());
    // edits in place: a weight and the scheduler
    let mut want2 = want.clone();
    want2.services[0].service.sched = "lc".into();
    want2.services[0].dests[1].weight = 0;
    let ops = diff(&want2, &ipvs.table().unwrap(), &HashSet::new(), false);
    assert_eq!(ops.len(), 2);
    assert!(ops
        .iter()
        .all(|o| matches!(o, Op::EditService(..) | Op::EditDest(..))));
    assert!(ipvs.apply(&ops).unwrap().is_empty());
    // drift: someone deletes a destination and changes a weight with ipvsadm
    for args in [
        vec!["-d", "-t", "192.0.2.1:80", "-r", "198.51.100.10:80"],
        vec![
            "-e",
            "-t",
            "192.0.2.1:80",
            "-r",
            "198.51.100.11:80",
            "-m",
            "-w",
            "9",
        ],
    ] {
        assert!(Command::new("ipvsadm")
            .args(&args)
            .status()
            .unwrap()
            .success());
    }
    let ops = diff(&want2, &ipvs.table().unwrap(), &HashSet::new(), false);
    assert_eq!(ops.len(), 2, "{ops:?}");
    assert!(ipvs.apply(&ops).unwrap().is_empty());
    let now = ipvs.table().unwrap();
    assert_eq!(now.services[&tcp("192.0.2.1", 80)], want2.services[0]);
    // the hand-made service is still there
    assert!(now.services.contains_key(&tcp("192.0.2.9", 80)));
}

#[test]
#[ignore = "runs inside the IPVS VM"]
fn kernel_errors_name_their_object() {
    let _ns = Netns::enter("errors");
    let mut ipvs = Ipvs::open().unwrap();
    let ops = vec![
        Op::AddService(tcp("192.0.2.1", 80), svc("nosuchsched")),
        Op::AddDest(
            tcp("192.0.2.1", 80),
            dk("198.51.100.10", 80),
            Dest::new(Fwd::Nat, 1),
        ),
        Op::AddService(tcp("192.0.2.1", 81), svc("rr")),
    ];
    let failed = ipvs.apply(&ops).unwrap();
    let msgs: Vec<String> = failed.iter().map(|f| f.to_string()).collect();
    assert_eq!(failed.len(), 2, "{msgs:?}");
    assert!(
        msgs[0].contains("scheduler 'nosuchsched' is not available"),
        "{msgs:?}"
    );
    assert!(
        msgs[1].contains("198.51.100.10:80") && msgs[1].contains("does not exist"),
        "{msgs:?}"
    );
    assert!(ipvs
        .table()
        .unwrap()
        .services
        .contains_key(&tcp("192.0.2.1", 81)));
}

#[test]
#[ignore = "runs inside the IPVS VM"]
fn large_tables_dump_in_many_parts() {
    let _ns = Netns::enter("large");
    let mut ipvs = Ipvs::open().unwrap();
    let mut want = Table::default();
    for s in 0..200u16 {
        let mut d = indexmap::IndexMap::new();
        for r in 0..25u16 {
            d.insert(
                DestKey {
                    addr: format!("198.51.{}.{}", 100 + r / 250, 1 + r % 250)
                        .parse()
                        .unwrap(),
                    port: 80,
                },
                Dest::new(Fwd::Nat, 1),
            );
        }
        want.services.insert(
            tcp("192.0.2.1", 1000 + s),
            ServiceEntry {
                service: svc("wrr"),
                dests: d,
            },
        );
    }
    let ops = diff(&want, &Table::default(), &HashSet::new(), false);
    assert_eq!(ops.len(), 200 * 26);
    let t0 = Instant::now();
    assert!(ipvs.apply(&ops).unwrap().is_empty());
    eprintln!("applied {} operations in {:?}", ops.len(), t0.elapsed());
    let got = ipvs.table().unwrap();
    assert_eq!(got.dest_count(), 5000);
    let mut k = Table::default();
    apply(&mut k, &ops);
    assert_eq!(got, k);
}

#[test]
#[ignore = "runs inside the IPVS VM"]
fn timeouts_and_sync_daemon() {
    let _ns = Netns::enter("sync");
    let mut ipvs = Ipvs::open().unwrap();
    let t = Timeouts {
        tcp: 900,
        tcp_fin: 120,
        udp: 300,
    };
    ipvs.set_timeouts(&t).unwrap();
    assert_eq!(ipvs.timeouts().unwrap(), t);
    let _ = Command::new("ip")
        .args(["link", "add", "sync0", "type", "dummy"])
        .status();
    let _ = Command::new("ip")
        .args(["link", "set", "sync0", "up", "multicast", "on"])
        .status();
    let _ = Command::new("ip")
        .args(["addr", "add", "192.0.2.1/24", "dev", "sync0"])
        .status();
    let d = Daemon {
        state: 1,
        ifname: "sync0".into(),
        sync_id: 7,
        maxlen: None,
        group: None,
        port: None,
        ttl: None,
    };
    ipvs.start_daemon(&d).unwrap();
    let ds = ipvs.daemons().unwrap();
    assert_eq!(ds.len(), 1, "{ds:?}");
    assert_eq!(
        (ds[0].state, ds[0].ifname.as_str(), ds[0].sync_id),
        (1, "sync0", 7)
    );
    ipvs.stop_daemon(1).unwrap();
    assert!(ipvs.daemons().unwrap().is_empty());
    let _ = Duration::ZERO;
}

fn sh(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", cmd])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn sh_out(cmd: &str) -> String {
    Command::new("sh")
        .args(["-c", cmd])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// `ldirector run` programs a NAT service between real namespaces and real traffic flows
/// through it: a client fetches from two real servers (python's http.server) in turn; a
/// SIGHUP with one real server removed leaves only the other; a stop removes the service.
#[test]
#[ignore = "runs inside the IPVS VM"]
fn ldirector_run_balances_real_traffic_and_reloads() {
    assert!(in_vm());
    let t = "rt";
    let ns = |n: &str| format!("{t}{n}");
    let cleanup = || {
        for n in ["dir", "client", "rs1", "rs2"] {
            let _ = sh(&format!(
                "ip netns pids {0} 2>/dev/null | xargs -r kill -9; ip netns del {0} 2>/dev/null",
                ns(n)
            ));
        }
    };
    cleanup();
    let dir = tempfile::tempdir().unwrap();
    let setup = format!(
        "set -e
for n in dir client rs1 rs2; do ip netns add {t}$n; ip -n {t}$n link set lo up; done
ip -n {t}dir link add eth0 type veth peer name eth0 netns {t}client
ip -n {t}dir link add br1 type bridge
ip -n {t}dir link set br1 up
for r in rs1 rs2; do
  ip -n {t}dir link add $r type veth peer name eth0 netns {t}$r
  ip -n {t}dir link set $r master br1
  ip -n {t}dir link set $r up
  ip -n {t}$r link set eth0 up
done
ip -n {t}dir addr add 198.51.100.1/24 dev br1
ip -n {t}dir link set eth0 up
ip -n {t}dir addr add 192.0.2.1/24 dev eth0
ip -n {t}client link set eth0 up
ip -n {t}client addr add 192.0.2.50/24 dev eth0
ip -n {t}rs1 addr add 198.51.100.10/24 dev eth0
ip -n {t}rs2 addr add 198.51.100.11/24 dev eth0
ip -n {t}rs1 route add default via 198.51.100.1
ip -n {t}rs2 route add default via 198.51.100.1
ip netns exec {t}dir sysctl -qw net.ipv4.ip_forward=1
"
    );
    assert!(sh(&setup), "lab setup");
    let mut servers = Vec::new();
    for (r, name) in [("rs1", "one"), ("rs2", "two")] {
        let d = dir.path().join(r);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("index.html"), name).unwrap();
        servers.push(
            Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &ns(r),
                    "python3",
                    "-m",
                    "http.server",
                    "80",
                    "--bind",
                    "0.0.0.0",
                    "--directory",
                ])
                .arg(&d)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
    }
    let conf = |both: bool| {
        format!(
            "static_ipaddress {{\n 192.0.2.100/24 dev eth0\n}}\nvirtual_server 192.0.2.100 80 {{\n lb_algo rr\n lb_kind NAT\n protocol TCP\n real_server 198.51.100.10 80 {{\n }}\n{}}}\n",
            if both { " real_server 198.51.100.11 80 {\n }\n" } else { "" }
        )
    };
    let cfile = dir.path().join("ld.conf");
    std::fs::write(&cfile, conf(true)).unwrap();
    let log = dir.path().join("ld.log");
    let mut ld = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns("dir"),
            env!("CARGO_BIN_EXE_ldirector"),
            "run",
            "-f",
        ])
        .arg(&cfile)
        .arg("--run-dir")
        .arg(dir.path().join("run"))
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let fetch = || {
        sh_out(&format!(
            "ip netns exec {} python3 -c \"import urllib.request as u; print(u.urlopen('http://192.0.2.100/', timeout=5).read().decode())\"",
            ns("client")
        ))
        .trim()
        .to_string()
    };
    // the servers and the service come up
    let mut seen = Vec::new();
    let end = Instant::now() + Duration::from_secs(60);
    while Instant::now() < end
        && !(seen.contains(&"one".to_string()) && seen.contains(&"two".to_string()))
    {
        let r = fetch();
        if !r.is_empty() {
            seen.push(r);
        }
    }
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        seen.contains(&"one".into()) && seen.contains(&"two".into()),
        "{seen:?}\n{text}\n{}",
        sh_out(&format!("ip netns exec {} ipvsadm -Ln", ns("dir")))
    );
    // round robin: consecutive requests alternate
    let four: Vec<String> = (0..4).map(|_| fetch()).collect();
    assert!(four.windows(2).all(|w| w[0] != w[1]), "{four:?}");

    // reload without the second real server
    std::fs::write(&cfile, conf(false)).unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(ld.id() as i32),
        nix::sys::signal::Signal::SIGHUP,
    )
    .unwrap();
    let end = Instant::now() + Duration::from_secs(30);
    while Instant::now() < end
        && sh_out(&format!("ip netns exec {} ipvsadm -Ln", ns("dir"))).contains("198.51.100.11")
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    let after: Vec<String> = (0..4).map(|_| fetch()).collect();
    assert!(after.iter().all(|r| r == "one"), "{after:?}");

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(ld.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let _ = ld.wait();
    let table = sh_out(&format!("ip netns exec {} ipvsadm -Ln", ns("dir")));
    assert!(
        !table.contains("192.0.2.100:80"),
        "service left at stop: {table}"
    );
    for mut s in servers {
        let _ = s.kill();
        let _ = s.wait();
    }
    cleanup();
}
