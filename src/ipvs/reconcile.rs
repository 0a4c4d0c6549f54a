//! The reconciler, sans-IO: the desired table (config and health) against the kernel's
//! table (read back by a dump) gives the minimal ordered list of operations.
//!
//! - Only services ldirector owns are touched: those it wants now, and those a previous
//!   configuration wanted (removed by a reload). Other services in the kernel are left
//!   alone unless `flush_unowned` (keepalived's `lvs_flush`).
//! - A service is added before its destinations; deleting a service deletes its
//!   destinations with it in the kernel, so they are not deleted one by one.
//! - What can be changed in place is edited (scheduler, flags, persistence, weight,
//!   forwarding method, thresholds, tunnel): never deleted and re-added, which would drop
//!   the connections.
//! - Nothing changed gives no operation at all; an entry changed behind ldirector's back
//!   (ipvsadm) is put back as the configuration says.

use super::codec::Op;
use super::table::{ServiceKey, Table};
use std::collections::HashSet;

/// Operations turning `kernel` into `desired` for the services ldirector owns.
/// `previously_owned`: services an earlier configuration installed (deleted if no longer
/// desired).
#[must_use]
pub fn diff(
    desired: &Table,
    kernel: &Table,
    previously_owned: &HashSet<ServiceKey>,
    flush_unowned: bool,
) -> Vec<Op> {
    let mut ops = Vec::new();
    // services no longer wanted first: frees their addresses for anything re-added
    for k in kernel.services.keys() {
        if desired.services.contains_key(k) {
            continue;
        }
        if flush_unowned || previously_owned.contains(k) {
            ops.push(Op::DelService(*k));
        }
    }
    for (k, want) in &desired.services {
        match kernel.services.get(k) {
            None => {
                ops.push(Op::AddService(*k, want.service.clone()));
                for (dk, d) in &want.dests {
                    ops.push(Op::AddDest(*k, *dk, *d));
                }
            }
            Some(have) => {
                if have.service != want.service {
                    ops.push(Op::EditService(*k, want.service.clone()));
                }
                for dk in have.dests.keys() {
                    if !want.dests.contains_key(dk) {
                        ops.push(Op::DelDest(*k, *dk));
                    }
                }
                for (dk, d) in &want.dests {
                    match have.dests.get(dk) {
                        None => ops.push(Op::AddDest(*k, *dk, *d)),
                        Some(h) if h != d => ops.push(Op::EditDest(*k, *dk, *d)),
                        Some(_) => {}
                    }
                }
            }
        }
    }
    ops
}

/// The kernel table after `ops` succeed (for tests and for keeping a cached view).
pub fn apply(kernel: &mut Table, ops: &[Op]) {
    use super::table::ServiceEntry;
    for op in ops {
        match op {
            Op::AddService(k, s) => {
                kernel.services.insert(
                    *k,
                    ServiceEntry {
                        service: s.clone(),
                        dests: Default::default(),
                    },
                );
            }
            Op::EditService(k, s) => {
                if let Some(e) = kernel.services.get_mut(k) {
                    e.service = s.clone();
                }
            }
            Op::DelService(k) => {
                kernel.services.shift_remove(k);
            }
            Op::AddDest(k, dk, d) | Op::EditDest(k, dk, d) => {
                if let Some(e) = kernel.services.get_mut(k) {
                    e.dests.insert(*dk, *d);
                }
            }
            Op::DelDest(k, dk) => {
                if let Some(e) = kernel.services.get_mut(k) {
                    e.dests.shift_remove(dk);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::table::*;

    fn key(port: u16) -> ServiceKey {
        ServiceKey::Addr {
            protocol: IPPROTO_TCP,
            addr: "192.0.2.1".parse().unwrap(),
            port,
        }
    }

    fn dk(last: u8) -> DestKey {
        DestKey {
            addr: format!("198.51.100.{last}").parse().unwrap(),
            port: 80,
        }
    }

    fn entry(sched: &str, dests: &[(u8, i32)]) -> ServiceEntry {
        ServiceEntry {
            service: Service {
                sched: sched.into(),
                flags: 0,
                timeout: 0,
                netmask: 0xffff_ffff,
                pe_name: None,
            },
            dests: dests
                .iter()
                .map(|&(l, w)| (dk(l), Dest::new(Fwd::Nat, w)))
                .collect(),
        }
    }

    fn table(entries: Vec<(ServiceKey, ServiceEntry)>) -> Table {
        Table {
            services: entries.into_iter().collect(),
        }
    }

    fn none() -> HashSet<ServiceKey> {
        HashSet::new()
    }

    #[test]
    fn unchanged_writes_nothing() {
        let t = table(vec![(key(80), entry("wrr", &[(10, 1), (11, 2)]))]);
        assert!(diff(&t, &t, &none(), false).is_empty());
    }

    #[test]
    fn fresh_start_adds_services_before_their_destinations() {
        let want = table(vec![
            (key(80), entry("wrr", &[(10, 1), (11, 2)])),
            (key(443), entry("rr", &[(10, 1)])),
        ]);
        let ops = diff(&want, &Table::default(), &none(), false);
        let kinds: Vec<String> = ops.iter().map(|o| o.to_string()).collect();
        assert_eq!(
            kinds,
            vec![
                "add service TCP 192.0.2.1:80 (wrr)",
                "add 198.51.100.10:80 to TCP 192.0.2.1:80 (weight 1)",
                "add 198.51.100.11:80 to TCP 192.0.2.1:80 (weight 2)",
                "add service TCP 192.0.2.1:443 (rr)",
                "add 198.51.100.10:80 to TCP 192.0.2.1:443 (weight 1)",
            ]
        );
        let mut k = Table::default();
        apply(&mut k, &ops);
        assert_eq!(k, want);
    }

    #[test]
    fn edits_in_place() {
        let have = table(vec![(key(80), entry("wrr", &[(10, 1), (11, 2)]))]);
        let mut want = have.clone();
        want.services[0].service.sched = "lc".into();
        want.services[0].dests[1].weight = 0; // inhibited
        let ops = diff(&want, &have, &none(), false);
        assert_eq!(ops.len(), 2);
        assert!(matches!(ops[0], Op::EditService(..)));
        assert!(matches!(ops[1], Op::EditDest(_, d, x) if d == dk(11) && x.weight == 0));
    }

    #[test]
    fn unowned_left_alone_unless_flushing_and_removed_services_deleted() {
        let foreign = key(8080);
        let have = table(vec![
            (key(80), entry("wrr", &[(10, 1)])),
            (foreign, entry("rr", &[(12, 1)])),
            (key(443), entry("rr", &[(10, 1)])),
        ]);
        let want = table(vec![(key(80), entry("wrr", &[(10, 1)]))]);
        // 443 was ours (the previous config), 8080 never was
        let prev: HashSet<ServiceKey> = [key(80), key(443)].into_iter().collect();
        let ops = diff(&want, &have, &prev, false);
        assert_eq!(ops, vec![Op::DelService(key(443))]);
        let ops = diff(&want, &have, &prev, true);
        assert_eq!(ops, vec![Op::DelService(foreign), Op::DelService(key(443))]);
    }

    #[test]
    fn drift_is_repaired() {
        let want = table(vec![(key(80), entry("wrr", &[(10, 1), (11, 2)]))]);
        // someone ran ipvsadm: a destination deleted, one added, a weight changed
        let have = table(vec![(key(80), entry("wrr", &[(10, 5), (99, 1)]))]);
        let ops = diff(&want, &have, &none(), false);
        let mut k = have.clone();
        apply(&mut k, &ops);
        assert_eq!(k.services[0].dests.len(), 2);
        assert_eq!(k.services[0].dests[&dk(10)].weight, 1);
        assert_eq!(k.services[0].dests[&dk(11)].weight, 2);
        assert!(diff(&want, &k, &none(), false).is_empty());
        assert_eq!(ops.len(), 3);
    }
}
