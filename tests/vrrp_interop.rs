//! ldirector and Debian's keepalived in one VRRP group, in both roles, VRRPv2 and v3,
//! multicast and unicast: election, failover (kill -9 of the master's process group) and
//! failback, seen from the addresses each director holds. Needs root, iproute2 and
//! keepalived.

mod lab;

use lab::{wait_until, Lab};
use nix::sys::signal::Signal;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(20);

#[derive(Clone, Copy, PartialEq)]
enum Daemon {
    Ldirector,
    Keepalived,
}

fn conf(version: u8, unicast: bool, prio: u8, me: u8, peer: u8) -> String {
    let advert = if version == 2 { "1" } else { "0.1" };
    let uc = if unicast {
        format!("unicast_src_ip 192.0.2.{me}\n  unicast_peer {{ 192.0.2.{peer} }}")
    } else {
        String::new()
    };
    format!(
        "vrrp_instance FRONT {{
  state BACKUP
  interface eth0
  virtual_router_id 51
  version {version}
  priority {prio}
  advert_int {advert}
  {uc}
  virtual_ipaddress {{ 192.0.2.100/24 }}
}}
"
    )
}

fn start(lab: &mut Lab, who: Daemon, d: &str, name: &str, text: &str) -> usize {
    match who {
        Daemon::Ldirector => lab.ldirector(d, name, text),
        Daemon::Keepalived => lab.keepalived(d, name, text),
    }
}

fn holds(lab: &Lab, d: &str) -> bool {
    lab.has_addr(d, "eth0", "192.0.2.100")
}

/// `master` on d1 (priority 150) and `backup` on d2 (priority 100).
fn mixed_pair(tag: &str, master: Daemon, backup: Daemon, version: u8, unicast: bool) {
    let mut lab = Lab::new(tag, 2);
    let c1 = conf(version, unicast, 150, 11, 12);
    let c2 = conf(version, unicast, 100, 12, 11);
    let m = start(&mut lab, master, "d1", "m1", &c1);
    let _b = start(&mut lab, backup, "d2", "b1", &c2);
    let advert = if version == 2 {
        Duration::from_secs(1)
    } else {
        Duration::from_millis(100)
    };

    // election: the higher priority is master, the other stays backup
    assert!(wait_until(LONG, || holds(&lab, "d1")), "{}", lab.logs());
    std::thread::sleep(advert * 5);
    assert!(holds(&lab, "d1") && !holds(&lab, "d2"), "{}", lab.logs());

    // failover: the master's whole process group is killed
    lab.proc(m).signal(Signal::SIGKILL);
    lab.proc(m).wait_exit(LONG);
    lab::ip(&[
        "-n",
        &lab.ns("d1"),
        "addr",
        "flush",
        "dev",
        "eth0",
        "to",
        "192.0.2.100/32",
    ]);
    assert!(wait_until(LONG, || holds(&lab, "d2")), "{}", lab.logs());

    // failback: the master restarts and preempts; the backup gives the VIP up
    let _m2 = start(&mut lab, master, "d1", "m2", &c1);
    assert!(wait_until(LONG, || holds(&lab, "d1")), "{}", lab.logs());
    assert!(wait_until(LONG, || !holds(&lab, "d2")), "{}", lab.logs());
    std::thread::sleep(advert * 5);
    assert!(holds(&lab, "d1") && !holds(&lab, "d2"), "{}", lab.logs());
    // every advert keepalived sent was accepted by ldirector (the logs are at debug level)
    let logs = lab.logs();
    assert!(!logs.contains("dropped"), "{logs}");
    if std::env::var_os("SHOW_LOGS").is_some() {
        eprintln!("{logs}");
    }
}

use Daemon::{Keepalived as Ka, Ldirector as Ld};

#[test]
fn v2_multicast_ldirector_master_keepalived_backup() {
    mixed_pair("i2ml", Ld, Ka, 2, false);
}

#[test]
fn v2_multicast_keepalived_master_ldirector_backup() {
    mixed_pair("i2mk", Ka, Ld, 2, false);
}

#[test]
fn v3_multicast_ldirector_master_keepalived_backup() {
    mixed_pair("i3ml", Ld, Ka, 3, false);
}

#[test]
fn v3_multicast_keepalived_master_ldirector_backup() {
    mixed_pair("i3mk", Ka, Ld, 3, false);
}

#[test]
fn v2_unicast_ldirector_master_keepalived_backup() {
    mixed_pair("i2ul", Ld, Ka, 2, true);
}

#[test]
fn v2_unicast_keepalived_master_ldirector_backup() {
    mixed_pair("i2uk", Ka, Ld, 2, true);
}

#[test]
fn v3_unicast_ldirector_master_keepalived_backup() {
    mixed_pair("i3ul", Ld, Ka, 3, true);
}

#[test]
fn v3_unicast_keepalived_master_ldirector_backup() {
    mixed_pair("i3uk", Ka, Ld, 3, true);
}
