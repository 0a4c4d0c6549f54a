//! IPVS apply benchmark, ldirector's side (run inside the VM by `benches/ipvs_vm.sh`).
//!
//!   ipvs_apply gen SERVICES DESTS PREFIX   write PREFIX.conf (keepalived.conf, no checkers),
//!                                          PREFIX-10.conf (10% of weights changed) and
//!                                          PREFIX.rules (ipvsadm -R input)
//!   ipvs_apply run PREFIX.conf PREFIX-10.conf
//!                                          in the current network namespace: initial
//!                                          apply, 10% reload, unchanged reload, stop;
//!                                          prints one markdown row fragment
//!
//! The code path is the daemon's: config -> desired table -> dump + diff -> pipelined apply.

use ldirector::config::{load, LoadOptions};
use ldirector::ipvs::codec::Op;
use ldirector::ipvs::netlink::Ipvs;
use ldirector::ipvs::reconcile::diff;
use ldirector::ipvs::{desired, table::Table};
use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

fn gen(services: usize, dests: usize, prefix: &str) {
    assert!(services < 8192 && dests < 120_000, "beyond 198.18.0.0/15");
    let per = dests / services;
    let extra = dests % services;
    let (mut conf, mut conf10, mut rules) = (String::new(), String::new(), String::new());
    let mut n = 0usize;
    for s in 0..services {
        // 198.18.0.0/15, the benchmarking range (131,072 addresses): services from
        // 198.18.0.1, real servers from 198.18.32.0
        let base = u32::from(std::net::Ipv4Addr::new(198, 18, 0, 0));
        let vip = std::net::Ipv4Addr::from(base + 1 + s as u32);
        let head =
            format!("virtual_server {vip} 80 {{\n  lb_algo wrr\n  lb_kind NAT\n  protocol TCP\n");
        conf.push_str(&head);
        conf10.push_str(&head);
        let _ = writeln!(rules, "-A -t {vip}:80 -s wrr");
        for _ in 0..per + usize::from(s < extra) {
            let rs = std::net::Ipv4Addr::from(base + 8192 + n as u32);
            let changed = n % 10 == 0;
            let _ = writeln!(conf, "  real_server {rs} 80 {{\n    weight 1\n  }}");
            let _ = writeln!(
                conf10,
                "  real_server {rs} 80 {{\n    weight {}\n  }}",
                if changed { 5 } else { 1 }
            );
            let _ = writeln!(rules, "-a -t {vip}:80 -r {rs}:80 -m -w 1");
            n += 1;
        }
        conf.push_str("}\n");
        conf10.push_str("}\n");
    }
    std::fs::write(format!("{prefix}.conf"), conf).expect("write conf");
    std::fs::write(format!("{prefix}-10.conf"), conf10).expect("write conf");
    std::fs::write(format!("{prefix}.rules"), rules).expect("write rules");
}

fn table_of(path: &str) -> Table {
    let l = load(Path::new(path), &LoadOptions::default());
    assert!(l.is_valid(), "{}", l.diags.render());
    desired::table(&l.config, &|_, _| true)
}

fn run(conf: &str, conf10: &str) {
    let want = table_of(conf);
    let want10 = table_of(conf10);
    let mut ipvs = Ipvs::open().expect("IPVS");
    let none = HashSet::new();
    let t0 = Instant::now();
    let have = ipvs.table().expect("dump");
    let ops = diff(&want, &have, &none, false);
    let failed = ipvs.apply(&ops).expect("apply");
    let initial = t0.elapsed();
    assert!(failed.is_empty(), "{} refused", failed.len());
    let owned: HashSet<_> = want.services.keys().copied().collect();
    let t0 = Instant::now();
    let have = ipvs.table().expect("dump");
    let ops10 = diff(&want10, &have, &owned, false);
    ipvs.apply(&ops10).expect("apply");
    let reload = t0.elapsed();
    let t0 = Instant::now();
    let have = ipvs.table().expect("dump");
    let unchanged = diff(&want10, &have, &owned, false).len();
    let unchanged_t = t0.elapsed();
    let t0 = Instant::now();
    let del: Vec<Op> = owned.iter().map(|k| Op::DelService(*k)).collect();
    ipvs.apply(&del).expect("stop");
    let stop = t0.elapsed();
    let left = ipvs.table().expect("dump").dest_count();
    println!(
        "ldirector: initial {:.2} s ({} ops) | reload 10% {:.2} s ({} ops) | unchanged {} writes ({:.2} s) | stop {:.2} s, {} left",
        initial.as_secs_f64(),
        ops.len(),
        reload.as_secs_f64(),
        ops10.len(),
        unchanged,
        unchanged_t.as_secs_f64(),
        stop.as_secs_f64(),
        left
    );
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    match a.get(1).map(String::as_str) {
        Some("gen") => gen(
            a[2].parse().expect("services"),
            a[3].parse().expect("dests"),
            &a[4],
        ),
        Some("run") => run(&a[2], &a[3]),
        _ => eprintln!("usage: ipvs_apply gen S D PREFIX | run A.conf B.conf"),
    }
}
