//! VRRP deadlines on a saturated machine, ldirector and keepalived side by side in the same
//! lab (root, iproute2, keepalived, tcpdump): `benches/saturated.sh` builds and runs this in
//! release mode.
//!
//! Two directors (priorities 150 and 100), one VRRPv3 instance at advert_int 0.01 s
//! (Master_Down_Interval 36 ms for the backup). The master also runs 10,000 TCP_CHECKs a
//! second (1,000 real servers, delay_loop 0.1, against one acceptor in the server
//! namespace), and 12 busy processes share the machine's cores for the whole run. Counted:
//! how often the backup took over (each puts the VIP on both directors) and the longest gap
//! between two of the master's adverts on the wire (tcpdump on the switch).
//!
//! keepalived's checker needs IPVS, which this kernel lacks: keepalived runs VRRP only and
//! the same 10,000 connections a second come from a separate process in the master's
//! namespace (keepalived's checker is a process of its own too).
//!
//! usage: saturated [SECONDS] [ldirector|keepalived|keepalived-rt ...]
//!        saturated --accept ADDR:PORT       (the acceptor, run in the server namespace)
//!        saturated --connect ADDR:PORT N    (N connections a second, for keepalived's run)

#[path = "../tests/lab/mod.rs"]
mod lab;

use lab::{wait_until, Lab};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

const SERVERS: usize = 1000;
const BUSY: usize = 12;

fn vrrp(prio: u8) -> String {
    lab::single_instance(prio, "0.01", "")
}

/// 1,000 real servers checked every 0.1 s: 10,000 TCP_CHECKs a second, all to :8080.
fn checks() -> String {
    let mut s = String::from("virtual_server 192.0.2.100 80 {\n  protocol TCP\n  delay_loop 0.1\n");
    for i in 0..SERVERS {
        s.push_str(&format!(
            "  real_server 198.51.100.50 {} {{\n    TCP_CHECK {{\n      connect_port 8080\n      connect_timeout 1\n    }}\n  }}\n",
            10_000 + i
        ));
    }
    s.push_str("}\n");
    s
}

/// Accept and drop connections; print the running total every second.
fn accept(addr: &str) {
    use std::sync::atomic::{AtomicU64, Ordering};
    let l = std::sync::Arc::new(TcpListener::bind(addr).expect("bind"));
    let n = std::sync::Arc::new(AtomicU64::new(0));
    for _ in 0..2 {
        let (l, n) = (l.clone(), n.clone());
        std::thread::spawn(move || loop {
            if l.accept().is_ok() {
                n.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    loop {
        std::thread::sleep(Duration::from_secs(1));
        println!("accepted {}", n.load(Ordering::Relaxed));
    }
}

/// Connections accepted during the last `seconds`, a second.
fn accept_rate(log: &str, seconds: u64) -> u64 {
    let totals: Vec<u64> = log
        .lines()
        .filter_map(|l| l.strip_prefix("accepted ")?.parse().ok())
        .collect();
    let n = seconds as usize;
    if totals.len() <= n {
        return 0;
    }
    (totals[totals.len() - 1] - totals[totals.len() - 1 - n]) / seconds
}

/// `rate` connections a second from 16 threads (a checker has many probes in flight).
fn connect(addr: &str, rate: u64) {
    const THREADS: u64 = 16;
    let to: SocketAddr = addr.parse().expect("ADDR:PORT");
    let each = (rate / THREADS).max(1);
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            std::thread::spawn(move || {
                let start = Instant::now();
                let mut n: u64 = 0;
                loop {
                    let due = start + Duration::from_micros(n * 1_000_000 / each);
                    let now = Instant::now();
                    if due > now {
                        std::thread::sleep(due - now);
                    }
                    let _ = TcpStream::connect_timeout(&to, Duration::from_secs(1));
                    n += 1;
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
}

struct Row {
    daemon: &'static str,
    seconds: u64,
    takeovers: usize,
    adverts: usize,
    worst_gap_ms: f64,
    checks: u64,
}

fn run(daemon: &'static str, seconds: u64) -> Row {
    let mut lab = Lab::new("sat", 2);
    let me = std::env::current_exe()
        .expect("own path")
        .display()
        .to_string();
    let acceptor = lab.spawn(
        "server",
        "acceptor",
        &[&me, "--accept", "198.51.100.50:8080"],
    );
    let (d1, d2) = match daemon {
        "ldirector" => {
            let bin = lab::ldirector_bin();
            let start = |lab: &mut Lab, d: &str, name: &str, conf: &str| {
                let path = lab
                    .file(&format!("{name}.conf"), conf)
                    .display()
                    .to_string();
                let run_dir = lab
                    .dir
                    .path()
                    .join(format!("{name}.run"))
                    .display()
                    .to_string();
                lab.spawn(
                    d,
                    name,
                    &[
                        "env",
                        "LDIRECTOR_LOG=info",
                        &bin,
                        "run",
                        "-f",
                        &path,
                        "--run-dir",
                        &run_dir,
                    ],
                )
            };
            let d2 = start(&mut lab, "d2", "b", &vrrp(100));
            let d1 = start(&mut lab, "d1", "m", &format!("{}{}", vrrp(150), checks()));
            (d1, d2)
        }
        _ => {
            let g = if daemon == "keepalived-rt" {
                "global_defs {\n  vrrp_rt_priority 50\n}\n"
            } else {
                ""
            };
            let d2 = lab.keepalived("d2", "b", &format!("{g}{}", vrrp(100)));
            let d1 = lab.keepalived("d1", "m", &format!("{g}{}", vrrp(150)));
            lab.spawn(
                "d1",
                "checks",
                &[&me, "--connect", "198.51.100.50:8080", "10000"],
            );
            (d1, d2)
        }
    };
    let master_word = if daemon == "ldirector" {
        "now MASTER"
    } else {
        "Entering MASTER STATE"
    };
    // settled: d1 holds the VIP, d2 not, nothing changes for two seconds
    let count = |lab: &mut Lab, d: usize| lab.proc(d).log_text().matches(master_word).count();
    let settled = wait_until(Duration::from_secs(60), || {
        lab.has_addr("d1", "eth0", "192.0.2.100") && !lab.has_addr("d2", "eth0", "192.0.2.100")
    });
    assert!(settled, "no master: {}", lab.logs());
    std::thread::sleep(Duration::from_secs(2));
    let before = count(&mut lab, d2);
    let dump = lab.spawn(
        "sw",
        "tcpdump",
        &[
            "tcpdump",
            "-i",
            "br0",
            "-n",
            "-tt",
            "-l",
            "ip proto 112 and src host 192.0.2.11",
        ],
    );
    std::thread::sleep(Duration::from_secs(1));
    let mut busy: Vec<std::process::Child> = (0..BUSY)
        .map(|_| {
            std::process::Command::new("sh")
                .args(["-c", "while :; do :; done"])
                .spawn()
                .expect("sh")
        })
        .collect();
    std::thread::sleep(Duration::from_secs(seconds));
    for b in &mut busy {
        let _ = b.kill();
        let _ = b.wait();
    }
    let takeovers = count(&mut lab, d2) - before;
    let checks = accept_rate(&lab.proc(acceptor).log_text(), seconds.min(60));
    lab.proc(dump).signal(nix::sys::signal::Signal::SIGTERM);
    std::thread::sleep(Duration::from_millis(500));
    let times: Vec<f64> = lab
        .proc(dump)
        .log_text()
        .lines()
        .filter(|l| l.contains("VRRP"))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    let worst = times.windows(2).map(|w| w[1] - w[0]).fold(0.0f64, f64::max);
    let _ = d1;
    Row {
        daemon,
        seconds,
        takeovers,
        adverts: times.len(),
        worst_gap_ms: worst * 1000.0,
        checks,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--accept") => return accept(&args[1]),
        Some("--connect") => return connect(&args[1], args[2].parse().expect("rate")),
        _ => {}
    }
    let seconds: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(300);
    let mut daemons: Vec<&'static str> = args
        .iter()
        .filter_map(|a| match a.as_str() {
            "ldirector" => Some("ldirector"),
            "keepalived" => Some("keepalived"),
            "keepalived-rt" => Some("keepalived-rt"),
            _ => None,
        })
        .collect();
    if daemons.is_empty() {
        daemons = vec!["ldirector", "keepalived", "keepalived-rt"];
    }
    println!("| daemon | seconds | takeovers | adverts seen | worst advert gap ms | checks/s |");
    println!("|---|---|---|---|---|---|");
    for d in daemons {
        let r = run(d, seconds);
        let name = match r.daemon {
            "keepalived-rt" => "keepalived 2.2.7, vrrp_rt_priority 50",
            "keepalived" => "keepalived 2.2.7 (default)",
            _ => "ldirector (default)",
        };
        println!(
            "| {name} | {} | {} | {} | {:.1} | {} |",
            r.seconds, r.takeovers, r.adverts, r.worst_gap_ms, r.checks
        );
    }
}
