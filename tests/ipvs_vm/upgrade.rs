//! `ldirector upgrade` with IPVS (in the VM): a director with a VRRP instance and 1,000 real
//! servers under HTTP_GET (50 of them failing: their URL answers 503) and a service of
//! three holding long-lived connections. The running daemon hands over to the binary on
//! disk: the same process goes on, the IPVS table is byte for byte what it was (`ipvsadm
//! -Sn`), no real server changes state, the quorum is unchanged, nothing is written to
//! IPVS, a real server draining after a reload goes on draining, the sync daemon stays
//! master, and the held connections keep working.

use super::*;
use std::io::{BufRead, Write};

const UP_VIP: &str = "192.0.2.100";
const REALS: usize = 1000;
const FAILING: usize = 50;

/// The i-th real server's address (198.18.0.0/15).
fn real(i: usize) -> String {
    format!("198.18.{}.{}", 1 + i / 250, 1 + i % 250)
}

/// `without`: a real server of the port-7000 service left out (a reload drains it).
fn config_without(without: Option<usize>) -> String {
    let full = config();
    match without {
        Some(i) => full.replace(
            &format!(
                "  real_server {} 7000 {{
    TCP_CHECK {{
      connect_timeout 2
    }}
  }}
",
                real(i)
            ),
            "",
        ),
        None => full,
    }
}

fn config() -> String {
    let mut c = format!(
        "global_defs {{
  lvs_sync_daemon eth0 VI id 90
}}
vrrp_instance VI {{
  interface eth0
  virtual_router_id 90
  priority 150
  advert_int 1
  virtual_ipaddress {{ {UP_VIP}/24 }}
}}
virtual_server {UP_VIP} 80 {{
  delay_loop 10
  lb_algo wrr
  lb_kind NAT
  protocol TCP
  quorum 900
  hysteresis 10
"
    );
    for i in 0..REALS {
        let path = if i < FAILING { "/down" } else { "/" };
        c += &format!(
            "  real_server {} 80 {{
    HTTP_GET {{
      url {{
        path {path}
        status_code 200
      }}
      connect_timeout 3
      retry 0
    }}
  }}
",
            real(i)
        );
    }
    c += &format!(
        "}}
virtual_server {UP_VIP} 7000 {{
  delay_loop 2
  lb_algo rr
  lb_kind NAT
  protocol TCP
"
    );
    for i in 0..3 {
        c += &format!(
            "  real_server {} 7000 {{
    TCP_CHECK {{
      connect_timeout 2
    }}
  }}
",
            real(i + FAILING)
        );
    }
    c + "}\n"
}

#[test]
#[ignore = "runs inside the IPVS VM"]
fn an_upgrade_keeps_the_ipvs_table_health_and_connections() {
    let t = "up";
    remove_namespaces(t);
    let mut p = Pair {
        t,
        dir: tempfile::tempdir().unwrap(),
        procs: Vec::new(),
    };
    let addrs: String = (0..REALS)
        .map(|i| format!("addr add {}/15 dev eth0\n", real(i)))
        .collect();
    let batch = p.dir.path().join("addrs.batch");
    std::fs::write(&batch, addrs).unwrap();
    let setup = format!(
        "set -e
for n in dir client rs; do ip netns add {t}$n; ip -n {t}$n link set lo up; done
ip -n {t}dir link add eth0 type veth peer name eth0 netns {t}client
ip -n {t}dir link add eth1 type veth peer name eth0 netns {t}rs
for n in dir client rs; do ip -n {t}$n link set eth0 up; done
ip -n {t}dir link set eth1 up
ip -n {t}dir addr add 192.0.2.1/24 dev eth0
ip -n {t}client addr add 192.0.2.50/24 dev eth0
ip -n {t}dir addr add 198.18.0.1/15 dev eth1
ip -n {t}rs -batch {batch}
ip -n {t}rs route add default via 198.18.0.1
ip netns exec {t}dir sysctl -qw net.ipv4.ip_forward=1
",
        batch = batch.display()
    );
    assert!(sh(&setup), "lab setup");
    // nginx answers every address: 200 on /, 503 on /down
    let d = p.dir.path().join("nginx");
    std::fs::create_dir_all(&d).unwrap();
    let nd = d.display();
    let nconf = format!(
        "daemon off;\nuser root;\npid {nd}/nginx.pid;\nerror_log {nd}/error.log;\nworker_processes 1;\nevents {{ worker_connections 2048; }}\nhttp {{\n  access_log off;\n  client_body_temp_path {nd}/body;\n  proxy_temp_path {nd}/proxy;\n  fastcgi_temp_path {nd}/fastcgi;\n  uwsgi_temp_path {nd}/uwsgi;\n  scgi_temp_path {nd}/scgi;\n  server {{\n    listen 80;\n    location /down {{ return 503; }}\n    location / {{ return 200 \"ok\\n\"; }}\n  }}\n}}\n"
    );
    std::fs::write(d.join("nginx.conf"), nconf).unwrap();
    let nfile = d.join("nginx.conf").display().to_string();
    p.spawn("nginx", "rs", &["nginx", "-c", &nfile]);
    p.spawn("peer", "rs", &["python3", PEER, "serve", "rs", "7000"]);
    let conf = p.dir.path().join("ld.conf");
    std::fs::write(&conf, config()).unwrap();
    let run = p.dir.path().join("ld.run");
    let (c, r) = (conf.display().to_string(), run.display().to_string());
    p.spawn(
        "ld",
        "dir",
        &[
            env!("CARGO_BIN_EXE_ldirector"),
            "run",
            "-f",
            &c,
            "--run-dir",
            &r,
        ],
    );
    let status = || -> Option<ldirector::control::status::Status> {
        let o = Command::new(env!("CARGO_BIN_EXE_ldirector"))
            .args(["status", "--json", "--run-dir", &r])
            .output()
            .ok()?;
        serde_json::from_slice(&o.stdout).ok()
    };
    // settled: MASTER, every real server checked (950 up, 50 down), the small service up
    let settled = |s: &ldirector::control::status::Status| {
        let big = &s.virtual_servers[0].real_servers;
        s.vrrp.first().is_some_and(|i| i.state == "MASTER")
            && big.iter().filter(|r| !r.healthy).count() == FAILING
            && s.virtual_servers[1].real_servers.iter().all(|r| r.healthy)
            && s.virtual_servers[0]
                .real_servers
                .iter()
                .filter(|r| r.weight.is_some())
                .count()
                == REALS - FAILING
    };
    assert!(
        wait_for(Duration::from_secs(180), || status()
            .is_some_and(|s| settled(&s))),
        "not settled: {:?}\n{}",
        status().map(|s| (
            s.vrrp.first().map(|i| i.state.clone()),
            s.virtual_servers[0]
                .real_servers
                .iter()
                .filter(|r| !r.healthy)
                .count()
        )),
        p.log("ld")
    );
    // long-lived connections through the VIP (port 7000)
    let (mut client, mut out) = held_client(&format!("{t}client"), UP_VIP, 7000, 6);
    let mut report = |client: &mut std::process::Child| -> serde_json::Value {
        writeln!(client.stdin.as_mut().unwrap(), "report").unwrap();
        let mut l = String::new();
        out.read_line(&mut l).unwrap();
        serde_json::from_str(&l).unwrap()
    };
    // a reload drops the third server of port 7000, which holds two of the connections:
    // it drains (weight 0) through the upgrade
    let dropped = real(FAILING + 2);
    std::fs::write(&conf, config_without(Some(FAILING + 2))).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_ldirector"))
        .args(["reload", "--run-dir", &r])
        .output()
        .unwrap();
    assert!(o.status.success(), "reload: {o:?}");
    let table = || sh_out(&format!("ip netns exec {t}dir ipvsadm -Sn"));
    assert!(
        wait_for(Duration::from_secs(20), || table()
            .contains(&format!("-r {dropped}:7000 -m -w 0"))),
        "the dropped server drains at weight 0:\n{}",
        table()
    );
    let health = |s: &ldirector::control::status::Status| -> Vec<(String, bool, Option<u32>)> {
        s.virtual_servers
            .iter()
            .flat_map(|v| v.real_servers.iter())
            .map(|r| (r.address.clone(), r.healthy, r.weight))
            .collect()
    };
    let before = status().unwrap();
    assert!(
        before
            .sync_daemon
            .as_deref()
            .is_some_and(|d| d.starts_with("master")),
        "{:?}",
        before.sync_daemon
    );
    let table_before = table();
    // two services, the 950 healthy of the first, the 3 of the second (one draining)
    assert_eq!(
        table_before.lines().count(),
        2 + REALS - FAILING + 3,
        "{table_before}"
    );
    let log_before = p.log("ld").len();

    let o = Command::new(env!("CARGO_BIN_EXE_ldirector"))
        .args(["upgrade", "--run-dir", &r])
        .output()
        .unwrap();
    assert!(o.status.success(), "upgrade: {o:?}\n{}", p.log("ld"));
    eprintln!("{}", String::from_utf8_lossy(&o.stdout));
    let after = status().unwrap();
    assert_eq!(after.pid, before.pid, "the same process");
    assert_eq!(after.upgrades, 1);
    assert_eq!(table(), table_before, "the IPVS table changed");
    assert_eq!(
        health(&after),
        health(&before),
        "a real server changed state"
    );
    let quorum = |s: &ldirector::control::status::Status| -> Vec<bool> {
        s.virtual_servers.iter().map(|v| v.quorum).collect()
    };
    assert_eq!(quorum(&after), quorum(&before));
    assert_eq!(after.vrrp[0].state, "MASTER");
    // the sync daemon goes on as master with its instance
    let daemons = sh_out(&format!("ip netns exec {t}dir ipvsadm -L --daemon"));
    assert!(
        daemons.contains("master sync daemon") && !daemons.contains("backup sync daemon"),
        "{daemons}"
    );
    assert_eq!(after.sync_daemon, before.sync_daemon);
    // a check round later (delay_loop 10): still the same, nothing changed state
    std::thread::sleep(Duration::from_secs(12));
    let later = status().unwrap();
    assert_eq!(
        table(),
        table_before,
        "the IPVS table changed after a check round"
    );
    assert_eq!(health(&later), health(&before));
    let log = p.log("ld");
    let since = &log[log_before.min(log.len())..];
    if let Some(l) = since.lines().find(|l| l.contains("handed over")) {
        eprintln!("{l}");
    }
    assert!(
        since.contains("carry on from the previous binary, 0 new"),
        "every checker carried on:\n{since}"
    );
    assert!(
        since.contains("0 change(s) written"),
        "the new binary wrote nothing to IPVS:\n{since}"
    );
    assert!(
        since.contains("1 real server(s) go on draining"),
        "the drain goes on:\n{since}"
    );
    for word in [
        "is healthy",
        "is failed",
        "quorum",
        "is now MASTER",
        "is now BACKUP",
    ] {
        assert!(
            !since.contains(word),
            "'{word}' after the upgrade:\n{since}"
        );
    }
    let r = report(&mut client);
    assert_eq!(r["held"], 6, "{r}");
    assert_eq!(r["broken"], 0, "a held connection broke: {r}");
    let n = r["requests"].as_u64().unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let r = report(&mut client);
    assert!(
        r["requests"].as_u64().unwrap() > n,
        "the connections still answer: {r}"
    );
    let _ = writeln!(client.stdin.as_mut().unwrap(), "quit");
    let _ = client.wait();
    drop(p);
    remove_namespaces(t);
}
