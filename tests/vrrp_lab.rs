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
/// at n's MAC).
fn client_follows(lab: &Lab, n: usize) -> bool {
    let mac = Lab::mac(n, "eth0");
    wait_until(LONG, || {
        lab.ping("client", "192.0.2.100");
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
    assert!(client_follows(&lab, 2), "{}", lab.logs());

    // d1 comes back (its leftover VIPs are taken over cleanly) and preempts
    let _d1 = lab.ldirector("d1", "ld1b", &pair_conf(150, "0.1", 3, ""));
    assert!(wait_holds(&lab, "d1", (true, true)), "{}", lab.logs());
    assert!(wait_holds(&lab, "d2", (false, false)), "{}", lab.logs());
    assert!(client_follows(&lab, 1), "{}", lab.logs());
}
