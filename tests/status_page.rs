//! The status page (`GET /` on the HTTP endpoint) in a real browser: Debian's headless
//! Chromium loads it from a daemon running in a network namespace, and the DOM it renders
//! (each element carries the state it shows in data-* attributes) must say what
//! `ldirector status --json` says — at the start, after a real server goes down, after a
//! failover, after a refused reload — and at the scale of 2,000 virtual servers and 37,000
//! real servers it must render (how fast is measured in benches/status_page.sh, not
//! asserted here). A screenshot is kept in target/tmp for people to look at. Needs root,
//! iproute2, python3 and chromium (tests/run.sh installs them).

mod lab;

use lab::*;
use ldirector::control::status::Status;
use std::time::{Duration, Instant};

const LISTEN: &str = "127.0.0.1:9090";
const URL: &str = "http://127.0.0.1:9090/";

/// Headless Chromium in namespace `short`, with a profile of its own (two at once would
/// fight over one), bounded in time.
fn chromium(lab: &Lab, short: &str, args: &[&str]) -> std::process::Output {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let profile = format!("--user-data-dir={}/chromium{n}", lab.path().display());
    let mut all = vec![
        "timeout",
        "-k",
        "5",
        "120",
        "chromium",
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--hide-scrollbars",
        &profile,
    ];
    all.extend_from_slice(args);
    let o = lab.exec(short, &all);
    assert!(
        o.status.success(),
        "chromium (apt-get install chromium; tests/run.sh installs it): {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// The page as the browser rendered it, once its first answer from /status is drawn.
fn dom(lab: &Lab, short: &str) -> String {
    let mut last = String::new();
    for _ in 0..5 {
        let o = chromium(
            lab,
            short,
            &["--dump-dom", "--virtual-time-budget=10000", URL],
        );
        last = String::from_utf8_lossy(&o.stdout).into_owned();
        if last.contains("data-rendered=\"1\"") {
            return last;
        }
    }
    panic!("the page never drew /status:\n{last}");
}

/// `status --json`, or None while the daemon does not answer yet.
fn try_status(lab: &Lab, short: &str, run_dir: &str) -> Option<Status> {
    let o = lab.exec(
        short,
        &[&ldirector_bin(), "status", "--json", "--run-dir", run_dir],
    );
    serde_json::from_slice(&o.stdout).ok()
}

fn status(lab: &Lab, short: &str, run_dir: &str) -> Status {
    let o = lab.exec(
        short,
        &[&ldirector_bin(), "status", "--json", "--run-dir", run_dir],
    );
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "status --json: {e}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// What the page must show for `st`, as the attributes it writes.
fn expected(st: &Status) -> Vec<String> {
    let mut want = Vec::new();
    for i in &st.vrrp {
        want.push(format!(
            "data-instance=\"{}\" data-state=\"{}\"",
            i.name, i.state
        ));
    }
    for g in &st.sync_groups {
        want.push(format!(
            "data-group=\"{}\" data-state=\"{}\"",
            g.name, g.state
        ));
    }
    for s in &st.virtual_servers {
        want.push(format!(
            "data-vs=\"{}\" data-quorum=\"{}\"",
            s.name,
            if s.quorum { "yes" } else { "no" }
        ));
        for r in &s.real_servers {
            want.push(format!(
                "data-rs=\"{}\" data-vs=\"{}\" data-health=\"{}\"",
                r.address,
                s.name,
                if r.healthy { "up" } else { "down" }
            ));
        }
    }
    if let Some(r) = &st.last_reload {
        want.push(format!(
            "data-reload=\"{}\"",
            if r.applied { "applied" } else { "refused" }
        ));
    }
    want
}

/// The page and `status --json` agree (retried a few times: a state may change between
/// the two readings, though the callers wait for settled ones).
fn agree(lab: &Lab, short: &str, run_dir: &str) -> String {
    let mut report = String::new();
    for _ in 0..4 {
        let st = status(lab, short, run_dir);
        let page = dom(lab, short);
        let missing: Vec<String> = expected(&st)
            .into_iter()
            .filter(|w| !page.contains(w.as_str()))
            .collect();
        if missing.is_empty() {
            return page;
        }
        report = format!("missing from the page: {missing:?}\nstatus: {st:?}\npage:\n{page}");
    }
    panic!("{report}");
}

fn wait(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

fn director(prio: u8) -> String {
    format!(
        "vrrp_sync_group G {{
  group {{
    FRONT
    BACK
  }}
}}
vrrp_instance FRONT {{
  interface eth0
  virtual_router_id 51
  priority {prio}
  advert_int 0.5
  version 3
  virtual_ipaddress {{ 192.0.2.100/24 }}
}}
vrrp_instance BACK {{
  interface eth1
  virtual_router_id 52
  priority {prio}
  advert_int 0.5
  version 3
  virtual_ipaddress {{ 198.51.100.1/24 }}
}}
virtual_server 192.0.2.100 80 {{
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 198.51.100.50 8080 {{
    TCP_CHECK {{
      connect_timeout 1
      retry 0
    }}
  }}
  real_server 198.51.100.50 8081 {{
    TCP_CHECK {{
      connect_timeout 1
      retry 0
    }}
  }}
}}
"
    )
}

/// A pair of directors with a sync group and a virtual server of two real servers (two
/// python3 http.servers): the page of each agrees with its status through a real server
/// going down, a failover and a refused reload.
#[test]
fn the_status_page_shows_what_status_says() {
    let mut lab = Lab::new("pg", 2);
    let web = |lab: &mut Lab, port: &str| {
        lab.spawn(
            "server",
            &format!("web{port}"),
            &[
                "python3",
                "-m",
                "http.server",
                "--bind",
                "198.51.100.50",
                port,
            ],
        )
    };
    web(&mut lab, "8080");
    let second = web(&mut lab, "8081");
    let d1 = lab.ldirector_with("d1", "d1", &director(150), &["--http-listen", LISTEN]);
    let rd1 = lab.path().join("d1.run").display().to_string();
    let rd2 = lab.path().join("d2.run").display().to_string();
    let settled = |lab: &Lab, short: &str, rd: &str, master: bool, up: usize| {
        let Some(st) = try_status(lab, short, rd) else {
            return false;
        };
        let state = if master { "MASTER" } else { "BACKUP" };
        st.vrrp.len() == 2
            && st.vrrp.iter().all(|i| i.state == state)
            && st.sync_groups.iter().all(|g| g.state == state)
            && st.virtual_servers[0]
                .real_servers
                .iter()
                .filter(|r| r.healthy)
                .count()
                == up
    };
    assert!(
        wait(Duration::from_secs(30), || settled(
            &lab, "d1", &rd1, true, 2
        )),
        "{}",
        lab.logs()
    );
    lab.ldirector_with("d2", "d2", &director(100), &["--http-listen", LISTEN]);
    assert!(
        wait(Duration::from_secs(30), || settled(
            &lab, "d2", &rd2, false, 2
        )),
        "{}",
        lab.logs()
    );
    let page = agree(&lab, "d1", &rd1);
    assert!(page.contains("data-rs-count=\"2\""), "{page}");
    assert!(page.contains("data-kind=\"vrrp\" data-subject=\"FRONT\" data-state=\"MASTER\""));
    agree(&lab, "d2", &rd2);

    // a screenshot for people to look at
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("status-page.png");
    let _ = std::fs::remove_file(&shot);
    chromium(
        &lab,
        "d1",
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1100,900",
            "--virtual-time-budget=10000",
            URL,
        ],
    );
    let png = std::fs::read(&shot).expect("the screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    eprintln!("screenshot: {}", shot.display());

    // a real server goes down
    lab.proc(second).signal(nix::sys::signal::Signal::SIGKILL);
    assert!(
        wait(Duration::from_secs(30), || settled(
            &lab, "d1", &rd1, true, 1
        )),
        "{}",
        lab.logs()
    );
    let page = agree(&lab, "d1", &rd1);
    assert!(page.contains("data-rs-down=\"1\""), "{page}");
    assert!(
        page.contains("data-kind=\"real_server\" data-subject=\"198.51.100.50:8081 of 192.0.2.100:80/TCP\" data-state=\"DOWN\""),
        "{page}"
    );

    // d1 stops: d2 takes over, and its page says so
    lab.proc(d1).signal(nix::sys::signal::Signal::SIGTERM);
    assert!(
        wait(Duration::from_secs(30), || settled(
            &lab, "d2", &rd2, true, 1
        )),
        "{}",
        lab.logs()
    );
    let page = agree(&lab, "d2", &rd2);
    assert!(page.contains("data-kind=\"sync_group\" data-subject=\"G\" data-state=\"MASTER\""));

    // a reload that is refused keeps the running configuration, and the page says why
    std::fs::write(
        lab.path().join("d2.conf"),
        "vrrp_instance FRONT {\n  priorty 100\n}\n",
    )
    .unwrap();
    let o = lab.exec("d2", &[&ldirector_bin(), "reload", "--run-dir", &rd2]);
    assert!(!o.status.success(), "the reload is refused");
    let page = agree(&lab, "d2", &rd2);
    assert!(page.contains("data-reload=\"refused\""), "{page}");
    assert!(page.contains("priorty"), "the error is shown: {page}");
}

/// 2,000 virtual servers and 37,000 real servers (a few down): the page renders, paged,
/// with the totals and the services with problems first in view.
#[test]
fn the_status_page_renders_37000_real_servers() {
    let mut lab = Lab::bare("pgs");
    let ns = lab.add_ns("d1");
    for c in [
        vec!["ip", "-n", &ns, "link", "set", "lo", "up"],
        vec![
            "ip",
            "-n",
            &ns,
            "route",
            "add",
            "local",
            "198.18.0.0/15",
            "dev",
            "lo",
        ],
    ] {
        assert!(std::process::Command::new(c[0])
            .args(&c[1..])
            .status()
            .unwrap()
            .success());
    }
    let conf = scale_conf(2000, 37000);
    lab.ldirector_with("d1", "d1", &conf, &["--http-listen", LISTEN]);
    let rd = lab.path().join("d1.run").display().to_string();
    // every 1,000th real server is checked on a port nothing listens on: down
    assert!(
        wait(Duration::from_secs(120), || {
            try_status(&lab, "d1", &rd).is_some_and(|st| {
                st.virtual_servers
                    .iter()
                    .flat_map(|s| &s.real_servers)
                    .filter(|r| !r.healthy)
                    .count()
                    == 37
            })
        }),
        "{}",
        lab.logs()
    );
    let page = dom(&lab, "d1");
    assert!(
        page.contains("data-vs-count=\"2000\""),
        "{}",
        &page[..page.len().min(4000)]
    );
    assert!(page.contains("data-rs-count=\"37000\""));
    assert!(page.contains("data-rs-down=\"37\""));
    // one page of services drawn, not 2,000; the first services (each with a real server
    // down) are open with their real servers
    assert_eq!(page.matches("<details class=\"vs\"").count(), 50);
    assert!(page.contains("data-health=\"down\""));
    assert!(page.matches("data-rs=").count() < 2000);
}

/// keepalived.conf with `services` virtual servers and `reals` real servers in all, from
/// 198.18.0.0/15; every 1,000th real server has a TCP_CHECK of a closed port.
fn scale_conf(services: usize, reals: usize) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let mut n = 0;
    for v in 0..services {
        let _ = writeln!(
            s,
            "virtual_server 198.18.{}.{} 80 {{\n  delay_loop 5\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP",
            v / 250,
            v % 250 + 1
        );
        let k = reals / services + usize::from(v < reals % services);
        for _ in 0..k {
            let addr = format!("198.19.{}.{}", n / 250, n % 250 + 1);
            if n % 1000 == 0 {
                let _ = writeln!(
                    s,
                    "  real_server {addr} 9 {{\n    TCP_CHECK {{\n      connect_timeout 1\n      retry 0\n    }}\n  }}"
                );
            } else {
                let _ = writeln!(s, "  real_server {addr} 80 {{\n  }}");
            }
            n += 1;
        }
        s.push_str("}\n");
    }
    s
}
