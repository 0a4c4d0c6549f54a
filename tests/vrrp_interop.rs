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
    let c1 = conf(version, unicast, 150, 11, 12);
    let c2 = conf(version, unicast, 100, 12, 11);
    mixed_pair_with(tag, master, backup, version, &c1, &c2);
}

/// With the IPsec Authentication Header (VRRPv2, keepalived's `auth_type AH`).
fn ah_pair(tag: &str, master: Daemon, backup: Daemon, unicast: bool) {
    let ah = "authentication {\n    auth_type AH\n    auth_pass s3cr3t\n  }\n  virtual_ipaddress";
    let c1 = conf(2, unicast, 150, 11, 12).replace("virtual_ipaddress", ah);
    let c2 = conf(2, unicast, 100, 12, 11).replace("virtual_ipaddress", ah);
    mixed_pair_with(tag, master, backup, 2, &c1, &c2);
}

fn mixed_pair_with(tag: &str, master: Daemon, backup: Daemon, version: u8, c1: &str, c2: &str) {
    let mut lab = Lab::new(tag, 2);
    let (c1, c2) = (c1.to_string(), c2.to_string());
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

#[test]
fn ah_multicast_ldirector_master_keepalived_backup() {
    ah_pair("iaml", Ld, Ka, false);
}

#[test]
fn ah_multicast_keepalived_master_ldirector_backup() {
    ah_pair("iamk", Ka, Ld, false);
}

#[test]
fn ah_unicast_ldirector_master_keepalived_backup() {
    ah_pair("iaul", Ld, Ka, true);
}

#[test]
fn ah_unicast_keepalived_master_ldirector_backup() {
    ah_pair("iauk", Ka, Ld, true);
}

/// During a migration ldirector is reloaded beside a keepalived peer: reloads (one of them
/// adding an address) must cause no transition on either side, whichever role ldirector
/// has.
fn reloads_beside_keepalived(tag: &str, ldirector_master: bool) {
    let mut lab = Lab::new(tag, 2);
    let (lp, kp) = if ldirector_master {
        (150, 100)
    } else {
        (100, 150)
    };
    let lconf = conf(3, false, lp, 11, 12);
    let kconf = conf(3, false, kp, 12, 11);
    // the master first, so that the backup starts by hearing it
    let (l, k) = if ldirector_master {
        let l = lab.ldirector("d1", "ld", &lconf);
        assert!(wait_until(LONG, || holds(&lab, "d1")), "{}", lab.logs());
        (l, lab.keepalived("d2", "ka", &kconf))
    } else {
        let k = lab.keepalived("d2", "ka", &kconf);
        assert!(wait_until(LONG, || holds(&lab, "d2")), "{}", lab.logs());
        (lab.ldirector("d1", "ld", &lconf), k)
    };
    std::thread::sleep(Duration::from_secs(1));
    let masters = |lab: &mut Lab| {
        (
            lab.proc(l).log_text().matches("is now MASTER").count(),
            lab.proc(k)
                .log_text()
                .matches("Entering MASTER STATE")
                .count(),
        )
    };
    let before = masters(&mut lab);
    let run_dir = lab.path().join("ld.run").display().to_string();
    let bin = lab::ldirector_bin();
    for round in 0..4 {
        if round == 2 {
            // an address outside the adverts (keepalived discards adverts whose address
            // list differs from its own: a VIP added on one side only would be a change
            // of the VRRP group, not of one director)
            lab.file(
                "ld.conf",
                &lconf.replace(
                    "virtual_ipaddress { 192.0.2.100/24 }",
                    "virtual_ipaddress { 192.0.2.100/24 }\n  virtual_ipaddress_excluded { 192.0.2.101/24 }",
                ),
            );
        }
        let o = lab.exec("d1", &[&bin, "reload", "--run-dir", &run_dir]);
        assert!(o.status.success(), "{}", lab.logs());
    }
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        masters(&mut lab),
        before,
        "a reload caused a transition\n{}",
        lab.logs()
    );
    let (master, backup) = if ldirector_master {
        ("d1", "d2")
    } else {
        ("d2", "d1")
    };
    assert!(
        holds(&lab, master) && !holds(&lab, backup),
        "{}",
        lab.logs()
    );
    // the added VIP is on ldirector's side only when it is the master
    assert_eq!(
        lab.has_addr("d1", "eth0", "192.0.2.101"),
        ldirector_master,
        "{}",
        lab.logs()
    );
}

#[test]
fn reloads_beside_keepalived_as_master() {
    reloads_beside_keepalived("irm", true);
}

#[test]
fn reloads_beside_keepalived_as_backup() {
    reloads_beside_keepalived("irb", false);
}

/// use_vmac: `master` (d1, 150) and `backup` (d2, 100) each put the VIP on a VMAC
/// (vrrp.51, MAC 00:00:5e:00:01:33). The client learns that MAC for the VIP, and keeps it
/// across a failover (a clean stop of the master: its VMAC is removed, its interface's
/// sysctls restored).
fn vmac_pair(tag: &str, master: Daemon, backup: Daemon, extra: &str) {
    const VMAC: &str = "00:00:5e:00:01:33";
    let mut lab = Lab::new(tag, 2);
    let with = format!("use_vmac\n  {extra}\n  virtual_ipaddress");
    let c1 = conf(3, false, 150, 11, 12).replace("virtual_ipaddress", &with);
    let c2 = conf(3, false, 100, 12, 11).replace("virtual_ipaddress", &with);
    let on_vmac = |lab: &Lab, d: &str| lab.has_addr(d, "vrrp.51", "192.0.2.100");
    let sysctl = |lab: &Lab, d: &str, dev: &str, k: &str| {
        let o = lab.exec(d, &["cat", &format!("/proc/sys/net/ipv4/conf/{dev}/{k}")]);
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    // keepalived leaves arp_announce alone: its director's ARP requests (a reply from the
    // VIP leaves through eth0) would teach the client eth0's MAC for the VIP. An operator
    // sets it; ldirector sets it itself
    for (d, who) in [("d1", master), ("d2", backup)] {
        if who == Ka {
            lab.exec(d, &["sysctl", "-qw", "net.ipv4.conf.eth0.arp_announce=2"]);
        }
    }
    let m = start(&mut lab, master, "d1", "m1", &c1);
    let _b = start(&mut lab, backup, "d2", "b1", &c2);
    assert!(wait_until(LONG, || on_vmac(&lab, "d1")), "{}", lab.logs());
    assert!(!holds(&lab, "d1"), "the VIP is on the VMAC, not on eth0");
    let link = String::from_utf8_lossy(
        &lab.exec("d1", &["ip", "-d", "link", "show", "vrrp.51"])
            .stdout,
    )
    .to_string();
    assert!(
        link.contains(VMAC) && link.contains("macvlan mode private"),
        "{link}"
    );
    // the base answers no ARP for the VIP
    assert_eq!(sysctl(&lab, "d1", "eth0", "arp_ignore"), "1");
    // the client reaches the VIP through the virtual MAC
    assert!(
        wait_until(LONG, || lab.ping("client", "192.0.2.100")),
        "{}",
        lab.logs()
    );
    assert_eq!(
        lab.neighbour("client", "192.0.2.100").as_deref(),
        Some(VMAC),
        "{}",
        lab.logs()
    );
    // the backup holds its VMAC, without the VIP
    assert!(!on_vmac(&lab, "d2"));

    // a clean stop of the master: the backup takes over on its own VMAC
    lab.proc(m).signal(Signal::SIGTERM);
    lab.proc(m).wait_exit(LONG);
    assert!(wait_until(LONG, || on_vmac(&lab, "d2")), "{}", lab.logs());
    assert!(
        wait_until(LONG, || lab.ping("client", "192.0.2.100")),
        "{}",
        lab.logs()
    );
    assert_eq!(
        lab.neighbour("client", "192.0.2.100").as_deref(),
        Some(VMAC),
        "the client's entry for the VIP kept its MAC"
    );
    // what the stopped one made is gone, its settings back
    let gone = lab.exec("d1", &["ip", "link", "show", "vrrp.51"]);
    assert!(!gone.status.success(), "{}", lab.logs());
    if master == Ld {
        // (keepalived 2.2.7 leaves arp_ignore at 1)
        assert_eq!(
            sysctl(&lab, "d1", "eth0", "arp_ignore"),
            "0",
            "{}",
            lab.logs()
        );
        assert_eq!(
            sysctl(&lab, "d1", "eth0", "arp_announce"),
            "0",
            "{}",
            lab.logs()
        );
    }
}

#[test]
fn vmac_ldirector_pair() {
    vmac_pair("vmll", Ld, Ld, "");
}

/// The same with the adverts sent and heard on the base interface (vmac_xmit_base).
#[test]
fn vmac_xmit_base_ldirector_and_keepalived() {
    vmac_pair("vmxb", Ld, Ka, "vmac_xmit_base");
}

#[test]
fn vmac_ldirector_master_keepalived_backup() {
    vmac_pair("vmlk", Ld, Ka, "");
}

#[test]
fn vmac_keepalived_master_ldirector_backup() {
    vmac_pair("vmkl", Ka, Ld, "");
}
