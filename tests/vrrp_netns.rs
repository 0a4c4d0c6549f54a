//! VRRP between real network namespaces (needs root and iproute2; keepalived as the peer).
//! Each test builds its own namespaces with unique names and removes them, whatever happens.

use ldirector::vrrp::packet::{decode, encode, Advert, Auth, Expect, Version};
use ldirector::vrrp::socket::VrrpSocket;
use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

fn ip(args: &[&str]) {
    let o = Command::new("ip")
        .args(args)
        .output()
        .expect("run ip (iproute2)");
    assert!(
        o.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Two namespaces joined by a veth pair: `<tag>a` (192.0.2.1 on va) and `<tag>b`
/// (192.0.2.2 on vb). Removed on drop.
struct Pair {
    a: String,
    b: String,
}

impl Pair {
    fn new(tag: &str) -> Pair {
        let a = format!("ld{}{tag}a", std::process::id());
        let b = format!("ld{}{tag}b", std::process::id());
        let p = Pair { a, b };
        ip(&["netns", "add", &p.a]);
        ip(&["netns", "add", &p.b]);
        ip(&[
            "-n", &p.a, "link", "add", "dev", "va", "type", "veth", "peer", "name", "vb", "netns",
            &p.b,
        ]);
        for (ns, dev, addr, ll) in [
            (&p.a, "va", "192.0.2.1/24", "fe80::1/64"),
            (&p.b, "vb", "192.0.2.2/24", "fe80::2/64"),
        ] {
            ip(&["-n", ns, "link", "set", "lo", "up"]);
            ip(&["-n", ns, "addr", "add", addr, "dev", dev]);
            ip(&["-n", ns, "addr", "add", ll, "dev", dev, "nodad"]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
        }
        p
    }

    /// Wait (at most 5 s) until both ends have IPv6 addresses that are no longer tentative:
    /// until then the kernel does not deliver IPv6 multicast to sockets.
    fn wait_ipv6_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        for (ns, dev) in [(&self.a, "va"), (&self.b, "vb")] {
            loop {
                let o = Command::new("ip")
                    .args(["-n", ns, "-6", "addr", "show", "dev", dev])
                    .output()
                    .expect("ip addr show");
                let text = String::from_utf8_lossy(&o.stdout);
                if text.contains("inet6") && !text.contains("tentative") {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "IPv6 on {ns}/{dev} not ready: {text}"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// Run `f` on a thread inside namespace `ns`.
    fn run<T: Send + 'static>(
        ns: &str,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> std::thread::JoinHandle<T> {
        let path = format!("/var/run/netns/{ns}");
        std::thread::spawn(move || {
            let fd = std::fs::File::open(&path).expect("open netns");
            nix::sched::setns(fd, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            f()
        })
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// Wait until the interface has finished duplicate address detection and carrier.
fn settle() {
    std::thread::sleep(Duration::from_millis(300));
}

/// Send `advert` five times from namespace a to `group`, receive it in b, and check the
/// addresses, the TTL / hop limit of 255 and that it decodes to what was sent.
fn exchange(
    pair: &Pair,
    open: fn(&str, IpAddr, IpAddr) -> VrrpSocket,
    addrs: [IpAddr; 2],
    group: IpAddr,
    advert: Advert,
) {
    let [a_addr, b_addr] = addrs;
    let rx = Pair::run(&pair.b, move || {
        let s = open("vb", b_addr, group);
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.recv()
    });
    std::thread::sleep(Duration::from_millis(200));
    let sent = advert.clone();
    Pair::run(&pair.a, move || {
        let s = open("va", a_addr, group);
        // a few sends: the receiver may join a moment after the first
        for _ in 0..5 {
            let b = encode(&sent, s.source(), group, false);
            s.send(&b, group).expect("send");
            std::thread::sleep(Duration::from_millis(100));
        }
    })
    .join()
    .unwrap();
    let got = rx.join().unwrap().expect("received an advert");
    assert_eq!(got.src, a_addr);
    assert_eq!(got.dst, group);
    assert_eq!(got.ttl, 255, "TTL / hop limit");
    let none = Auth::None;
    let e = Expect {
        version: Version::V3,
        ipv6: group.is_ipv6(),
        auth: &none,
        v3_checksum_as_v2: false,
    };
    assert_eq!(decode(&got.payload, got.src, got.dst, &e).unwrap(), advert);
}

#[test]
fn advert_crosses_namespaces_with_ttl_255() {
    let pair = Pair::new("x");
    settle();
    let open = |dev: &str, src: IpAddr, group: IpAddr| match (src, group) {
        (IpAddr::V4(s), IpAddr::V4(g)) => {
            VrrpSocket::open_v4(dev, s, Some(g), false).expect("IPv4 socket")
        }
        _ => unreachable!("IPv4 test"),
    };
    let advert = Advert {
        version: Version::V3,
        vrid: 51,
        priority: 150,
        advert_int_cs: 100,
        addrs: vec!["192.0.2.100".parse().unwrap()],
        auth: Auth::None,
    };
    let addrs = ["192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap()];
    exchange(&pair, open, addrs, "224.0.0.18".parse().unwrap(), advert);
}

#[test]
fn ipv6_advert_crosses_namespaces_with_hop_limit_255() {
    let pair = Pair::new("6");
    pair.wait_ipv6_ready();
    let open = |dev: &str, src: IpAddr, group: IpAddr| match (src, group) {
        (IpAddr::V6(s), IpAddr::V6(g)) => {
            VrrpSocket::open_v6(dev, s, Some(g)).expect("IPv6 socket")
        }
        _ => unreachable!("IPv6 test"),
    };
    let advert = Advert {
        version: Version::V3,
        vrid: 60,
        priority: 200,
        advert_int_cs: 5,
        addrs: vec!["2001:db8::100".parse().unwrap()],
        auth: Auth::None,
    };
    let addrs = ["fe80::1".parse().unwrap(), "fe80::2".parse().unwrap()];
    exchange(&pair, open, addrs, "ff02::12".parse().unwrap(), advert);
}

/// keepalived runs in a process group of its own (parent and VRRP child); stopped as a
/// group: SIGTERM, then SIGKILL if it has not gone within two seconds.
struct Keepalived(Child);
impl Drop for Keepalived {
    fn drop(&mut self) {
        use nix::sys::signal::{killpg, Signal};
        use nix::unistd::Pid;
        let pg = Pid::from_raw(self.0.id() as i32);
        let _ = killpg(pg, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = killpg(pg, Signal::SIGKILL);
        let _ = self.0.wait();
    }
}

/// keepalived in one namespace, ldirector's socket and decoder in the other.
#[test]
fn keepalived_adverts_are_received_and_decoded() {
    let pair = Pair::new("k");
    settle();
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("keepalived.conf");
    std::fs::write(
        &conf,
        "vrrp_instance K {\n interface va\n version 3\n virtual_router_id 77\n priority 200\n advert_int 0.1\n virtual_ipaddress { 192.0.2.177/24 }\n}\n",
    )
    .unwrap();
    let pid = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    let child = Command::new("ip")
        .args([
            "netns",
            "exec",
            &pair.a,
            "keepalived",
            "-n",
            "-l",
            "-D",
            "-G",
            "-P",
            "-f",
        ])
        .arg(&conf)
        .args([
            "-p",
            &pid("k.pid"),
            "-r",
            &pid("v.pid"),
            "-c",
            &pid("c.pid"),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .expect("keepalived (apt-get install keepalived)");
    let _k = Keepalived(child);
    let rx = Pair::run(&pair.b, move || {
        let s = VrrpSocket::open_v4(
            "vb",
            Ipv4Addr::new(192, 0, 2, 2),
            Some(Ipv4Addr::new(224, 0, 0, 18)),
            false,
        )
        .expect("socket in b");
        s.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let none = Auth::None;
        let e = Expect {
            version: Version::V3,
            ipv6: false,
            auth: &none,
            v3_checksum_as_v2: false,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut adverts = Vec::new();
        while Instant::now() < deadline && adverts.len() < 5 {
            if let Ok(r) = s.recv() {
                if let Ok(a) = decode(&r.payload, r.src, r.dst, &e) {
                    adverts.push((r.ttl, a));
                }
            }
        }
        adverts
    });
    let adverts = rx.join().unwrap();
    assert!(
        adverts.len() >= 5,
        "keepalived's adverts received and decoded: {adverts:?}"
    );
    for (ttl, a) in adverts {
        assert_eq!(ttl, 255);
        assert_eq!((a.vrid, a.priority, a.advert_int_cs), (77, 200, 10));
        assert_eq!(a.addrs, vec![IpAddr::from([192, 0, 2, 177])]);
    }
}
