//! Failover time, ldirector and keepalived side by side in the same lab (root, iproute2,
//! keepalived): `benches/failover.sh` builds and runs this in release mode.
//!
//! One run: two directors (priorities 150 and 100, a sync group with the frontend and
//! backend VIPs), a client probing the frontend VIP with an ICMP echo every millisecond.
//! At T0 the master dies: its switch ports are cut and its process group is killed with
//! SIGKILL (cutting it off is what makes the death visible: a killed daemon's kernel would
//! keep answering for the VIP). Failover = T0 until the first echo reply, which needs the
//! new master to hold the VIP and the client's neighbour entry to have followed its GARP.
//!
//! The crash comes either right after one of the master's adverts has reached the client's
//! segment (`--phase after-advert`, the default: the worst case, failover close to
//! Master_Down_Interval, and the same point of the cycle for both daemons) or at a random
//! point of the advert cycle (`--phase random`: what a real crash sees on average).
//!
//! usage: failover [--phase after-advert|random] [RUNS] [SETTING...]
//!        settings: v2-1 v3-0.1 v3-0.01 (default all)

#[path = "../tests/lab/mod.rs"]
mod lab;

use lab::{wait_until, Lab};
use nix::sys::signal::Signal;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn conf(prio: u8, version: u8, advert: &str) -> String {
    format!(
        "vrrp_sync_group DIRECTOR {{ group {{ FRONT BACK }} }}
vrrp_instance FRONT {{
  state BACKUP
  interface eth0
  virtual_router_id 51
  version {version}
  priority {prio}
  advert_int {advert}
  virtual_ipaddress {{ 192.0.2.100/24 }}
}}
vrrp_instance BACK {{
  state BACKUP
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

fn checksum(b: &[u8]) -> u16 {
    let mut s: u32 = 0;
    for c in b.chunks(2) {
        let w = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], 0])
        };
        s += u32::from(w);
    }
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// Echo requests every `every` from inside the client namespace; reply times recorded.
struct Prober {
    stop: Arc<AtomicBool>,
    replies: Arc<Mutex<Vec<Instant>>>,
    /// When adverts (IP protocol 112) from the master (192.0.2.11) were seen.
    adverts: Arc<Mutex<Vec<Instant>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Prober {
    fn start(ns: &str, target: Ipv4Addr, every: Duration) -> Prober {
        let stop = Arc::new(AtomicBool::new(false));
        let replies = Arc::new(Mutex::new(Vec::new()));
        let path = format!("/var/run/netns/{ns}");
        let enter = move || {
            let fd = std::fs::File::open(&path).expect("netns");
            nix::sched::setns(fd, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4)).expect("raw icmp");
            s.set_read_timeout(Some(Duration::from_millis(20))).ok();
            s
        };
        let (tx_ready, rx_ready) = std::sync::mpsc::channel();
        let (st, rp) = (stop.clone(), replies.clone());
        let e2 = enter.clone();
        let rx = std::thread::spawn(move || {
            let s = e2();
            let _ = tx_ready.send(s.try_clone().expect("clone"));
            let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 1500];
            while !st.load(Ordering::Relaxed) {
                if let Ok((n, _)) = s.recv_from(&mut buf) {
                    // SAFETY: recv_from initialised n bytes
                    let b: Vec<u8> = buf[..n]
                        .iter()
                        .map(|x| unsafe { x.assume_init() })
                        .collect();
                    let ihl = usize::from(b[0] & 0x0f) * 4;
                    if n >= ihl + 8 && b[ihl] == 0 && b[ihl + 4..ihl + 6] == [0x1d, 0xa5] {
                        rp.lock().unwrap().push(Instant::now());
                    }
                }
            }
        });
        let sock = rx_ready.recv().expect("prober socket");
        let adverts = Arc::new(Mutex::new(Vec::new()));
        let (st, ad) = (stop.clone(), adverts.clone());
        let path2 = format!("/var/run/netns/{ns}");
        let sniff = std::thread::spawn(move || {
            let fd = std::fs::File::open(&path2).expect("netns");
            nix::sched::setns(fd, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            let s =
                Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(112))).expect("raw vrrp");
            s.join_multicast_v4(&Ipv4Addr::new(224, 0, 0, 18), &Ipv4Addr::new(192, 0, 2, 50))
                .expect("join 224.0.0.18");
            s.set_read_timeout(Some(Duration::from_millis(20))).ok();
            let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 1500];
            while !st.load(Ordering::Relaxed) {
                if let Ok((n, _)) = s.recv_from(&mut buf) {
                    // SAFETY: recv_from initialised n bytes
                    let b: Vec<u8> = buf[..n]
                        .iter()
                        .map(|x| unsafe { x.assume_init() })
                        .collect();
                    if n >= 20 && b[12..16] == [192, 0, 2, 11] {
                        ad.lock().unwrap().push(Instant::now());
                    }
                }
            }
        });
        let st = stop.clone();
        let tx = std::thread::spawn(move || {
            let dst = SockAddr::from(SocketAddrV4::new(target, 0));
            let mut seq: u16 = 0;
            let mut next = Instant::now();
            while !st.load(Ordering::Relaxed) {
                let mut p = [8u8, 0, 0, 0, 0x1d, 0xa5, 0, 0];
                p[6..8].copy_from_slice(&seq.to_be_bytes());
                let c = checksum(&p);
                p[2..4].copy_from_slice(&c.to_be_bytes());
                let _ = sock.send_to(&p, &dst);
                seq = seq.wrapping_add(1);
                next += every;
                let now = Instant::now();
                if next > now {
                    std::thread::sleep(next - now);
                } else {
                    next = now;
                }
            }
        });
        Prober {
            stop,
            replies,
            adverts,
            threads: vec![rx, tx, sniff],
        }
    }

    fn advert_after(&self, t: Instant) -> bool {
        self.adverts.lock().unwrap().iter().any(|&a| a > t)
    }

    fn first_after(&self, t: Instant) -> Option<Instant> {
        self.replies
            .lock()
            .unwrap()
            .iter()
            .copied()
            .find(|&r| r > t)
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Daemon {
    Ldirector,
    Keepalived,
}

/// One failover: milliseconds from the crash, and from the master's last advert seen on the
/// wire before it (what the backup's timer measures: free of the crash's phase).
fn one(
    run: usize,
    who: Daemon,
    version: u8,
    advert: &str,
    after_advert: bool,
) -> Option<(f64, f64)> {
    let mut lab = Lab::new(&format!("fo{run}"), 2);
    let start = |lab: &mut Lab, d: &str, n: &str, c: &str| match who {
        Daemon::Ldirector => lab.ldirector(d, n, c),
        Daemon::Keepalived => lab.keepalived(d, n, c),
    };
    let m = start(&mut lab, "d1", "m", &conf(150, version, advert));
    let _b = start(&mut lab, "d2", "b", &conf(100, version, advert));
    let long = Duration::from_secs(20);
    if !wait_until(long, || lab.has_addr("d1", "eth0", "192.0.2.100")) {
        eprintln!("no master\n{}", lab.logs());
        return None;
    }
    // settle: the backup has heard the master for a while, garp_master_delay has passed
    let adv: f64 = advert.parse().unwrap_or(1.0);
    std::thread::sleep(Duration::from_secs_f64((adv * 5.0).max(6.0)));
    let prober = Prober::start(
        &lab.ns("client"),
        Ipv4Addr::new(192, 0, 2, 100),
        Duration::from_millis(1),
    );
    if !wait_until(long, || {
        prober
            .first_after(Instant::now() - Duration::from_millis(50))
            .is_some()
    }) {
        eprintln!("the client cannot reach the VIP");
        prober.stop();
        return None;
    }
    // the crash comes at a random point of the advert cycle (the settle time above is a
    // whole number of intervals after the takeover, which would always cut just after an advert)
    if after_advert {
        let since = Instant::now();
        if !wait_until(long, || prober.advert_after(since)) {
            eprintln!("no advert seen from the master");
            prober.stop();
            return None;
        }
    } else {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        std::thread::sleep(Duration::from_secs_f64(
            adv * f64::from(nanos % 1000) / 1000.0,
        ));
    }
    // T0 is when the cut is in place (the `ip` calls return); echoes answered before it
    // may still be on their way for a fraction of a millisecond: ignored
    lab.isolate("d1", true);
    let t0 = Instant::now();
    lab.proc(m).signal(Signal::SIGKILL);
    let after = t0 + Duration::from_millis(1);
    let ok = wait_until(long, || prober.first_after(after).is_some());
    let t = prober.first_after(after);
    if !ok {
        prober.stop();
        eprintln!("no failover\n{}", lab.logs());
        return None;
    }
    let last = prober
        .adverts
        .lock()
        .unwrap()
        .iter()
        .copied()
        .filter(|&a| a <= t0)
        .max();
    prober.stop();
    match (t, last) {
        (Some(t), Some(l)) => Some((
            (t - t0).as_secs_f64() * 1000.0,
            (t - l).as_secs_f64() * 1000.0,
        )),
        _ => None,
    }
}

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    let mut after_advert = true;
    if args.peek().map(String::as_str) == Some("--phase") {
        args.next();
        after_advert = args.next().as_deref() != Some("random");
    }
    println!(
        "phase: {}\n",
        if after_advert {
            "crash right after an advert"
        } else {
            "crash at a random point of the advert cycle"
        }
    );
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let mut settings: Vec<String> = args.collect();
    if settings.is_empty() {
        settings = vec!["v2-1".into(), "v3-0.1".into(), "v3-0.01".into()];
    }
    println!("| advert | daemon | runs | min ms | median ms | max ms | Master_Down ms | median / Master_Down | from last advert: median ms |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for s in &settings {
        let (v, adv) = s.split_once('-').expect("setting like v3-0.1");
        let version: u8 = v.trim_start_matches('v').parse().expect("version");
        let a: f64 = adv.parse().expect("advert_int");
        // Master_Down_Interval of the backup (priority 100)
        let skew = if version == 2 {
            (256.0 - 100.0) / 256.0
        } else {
            (256.0 - 100.0) / 256.0 * a
        };
        let mdi = (3.0 * a + skew) * 1000.0;
        for who in [Daemon::Ldirector, Daemon::Keepalived] {
            let both: Vec<(f64, f64)> = (0..runs)
                .filter_map(|r| one(r, who, version, adv, after_advert))
                .collect();
            let mut ms: Vec<f64> = both.iter().map(|x| x.0).collect();
            let mut from_adv: Vec<f64> = both.iter().map(|x| x.1).collect();
            ms.sort_by(|a, b| a.total_cmp(b));
            from_adv.sort_by(|a, b| a.total_cmp(b));
            let name = if who == Daemon::Ldirector {
                "ldirector"
            } else {
                "keepalived 2.2.7"
            };
            if ms.is_empty() {
                println!("| v{version} {adv} s | {name} | 0 | - | - | - | {mdi:.1} | - | - |");
                continue;
            }
            let med = ms[ms.len() / 2];
            println!(
                "| v{version} {adv} s | {name} | {} | {:.1} | {:.1} | {:.1} | {mdi:.1} | {:.2} | {:.1} |",
                ms.len(),
                ms[0],
                med,
                ms[ms.len() - 1],
                med / mdi,
                from_adv[from_adv.len() / 2]
            );
        }
    }
}
