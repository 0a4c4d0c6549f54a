//! `ldirector demo`: ldirector's main job on a built-in lab, in network namespaces of its
//! own (root and iproute2 needed; nothing outside the namespaces is touched). Two directors
//! share a frontend VIP (192.0.2.100, the clients' side) and a backend VIP (198.51.100.1, the
//! real servers' gateway) in one sync group; a client pings the frontend VIP. The demo
//! shows the election, a crash of the master (killed and cut off), the takeover seen by the
//! client, and the failback; then it removes everything it made.

use clap::Args;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// VRRP advertisement interval in seconds (VRRPv3)
    #[arg(long, default_value = "0.1")]
    pub advert_int: f64,
    /// Leave the lab running until Ctrl-C (inspect it with `ip netns exec ldemo-d1 ...`)
    #[arg(long)]
    pub keep: bool,
}

const PREFIX: &str = "ldemo-";
const NODES: [&str; 4] = ["sw", "d1", "d2", "client"];

fn ns(n: &str) -> String {
    format!("{PREFIX}{n}")
}

fn ip(args: &[&str]) -> Result<(), String> {
    let o = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip (iproute2): {e}"))?;
    if !o.status.success() {
        return Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr).trim()
        ));
    }
    Ok(())
}

fn in_ns(n: &str, args: &[&str]) -> String {
    Command::new("ip")
        .args(["netns", "exec", &ns(n)])
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

struct Lab {
    dir: PathBuf,
    daemons: Vec<(String, Child)>,
}

impl Lab {
    fn build() -> Result<Lab, String> {
        teardown_namespaces();
        let dir = std::env::temp_dir().join(format!("ldirector-demo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let lab = Lab {
            dir,
            daemons: Vec::new(),
        };
        for n in NODES {
            ip(&["netns", "add", &ns(n)])?;
            ip(&["-n", &ns(n), "link", "set", "lo", "up"])?;
        }
        let sw = ns("sw");
        for br in ["br0", "br1"] {
            ip(&["-n", &sw, "link", "add", br, "type", "bridge"])?;
            ip(&[
                "-n",
                &sw,
                "link",
                "set",
                br,
                "type",
                "bridge",
                "stp_state",
                "0",
                "forward_delay",
                "0",
            ])?;
            ip(&["-n", &sw, "link", "set", br, "up"])?;
        }
        let plug = |node: &str, dev: &str, br: &str, mac: &str, addr: &str| -> Result<(), String> {
            let port = format!("{node}{dev}");
            ip(&[
                "-n",
                &sw,
                "link",
                "add",
                &port,
                "type",
                "veth",
                "peer",
                "name",
                dev,
                "netns",
                &ns(node),
            ])?;
            ip(&["-n", &sw, "link", "set", &port, "master", br])?;
            ip(&["-n", &sw, "link", "set", &port, "up"])?;
            ip(&["-n", &ns(node), "link", "set", dev, "address", mac])?;
            ip(&["-n", &ns(node), "addr", "add", addr, "dev", dev])?;
            ip(&["-n", &ns(node), "link", "set", dev, "up"])
        };
        plug("d1", "eth0", "br0", "02:00:00:00:01:00", "192.0.2.11/24")?;
        plug("d1", "eth1", "br1", "02:00:00:00:01:01", "198.51.100.11/24")?;
        plug("d2", "eth0", "br0", "02:00:00:00:02:00", "192.0.2.12/24")?;
        plug("d2", "eth1", "br1", "02:00:00:00:02:01", "198.51.100.12/24")?;
        plug(
            "client",
            "eth0",
            "br0",
            "02:00:00:00:c0:00",
            "192.0.2.50/24",
        )?;
        Ok(lab)
    }

    fn config(&self, name: &str, prio: u8, advert: f64) -> Result<PathBuf, String> {
        let text = format!(
            "# ldirector demo: director {name}
vrrp_sync_group DIRECTOR {{
  group {{
    FRONT
    BACK
  }}
}}
vrrp_instance FRONT {{
  interface eth0
  virtual_router_id 51
  version 3
  priority {prio}
  advert_int {advert}
  virtual_ipaddress {{
    192.0.2.100/24
  }}
}}
vrrp_instance BACK {{
  interface eth1
  virtual_router_id 52
  version 3
  priority {prio}
  advert_int {advert}
  virtual_ipaddress {{
    198.51.100.1/24
  }}
}}
"
        );
        let p = self.dir.join(format!("{name}.conf"));
        std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
        Ok(p)
    }

    fn start(&mut self, node: &str, conf: &Path) -> Result<(), String> {
        let r = self.start_inner(node, conf);
        if let Some((_, c)) = self.daemons.last() {
            if let Ok(mut p) = PIDS.lock() {
                p.push(c.id());
            }
        }
        r
    }

    fn start_inner(&mut self, node: &str, conf: &Path) -> Result<(), String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let log = std::fs::File::create(self.dir.join(format!("{node}.log")))
            .map_err(|e| e.to_string())?;
        let child = Command::new("ip")
            .args(["netns", "exec", &ns(node)])
            .arg(exe)
            .args(["run", "-f"])
            .arg(conf)
            .arg("--run-dir")
            .arg(self.dir.join(format!("{node}.run")))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("start ldirector in {}: {e}", ns(node)))?;
        self.daemons.push((node.to_string(), child));
        Ok(())
    }

    fn kill(&mut self, node: &str) {
        for (n, c) in &mut self.daemons {
            if n == node {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        self.daemons.retain(|(n, _)| n != node);
    }

    fn holder(&self) -> Option<&'static str> {
        ["d1", "d2"].into_iter().find(|d| {
            in_ns(d, &["ip", "-br", "addr", "show", "dev", "eth0"]).contains("192.0.2.100/")
        })
    }

    fn client_mac(&self) -> Option<String> {
        let t = in_ns("client", &["ip", "neigh", "show", "192.0.2.100"]);
        let w: Vec<&str> = t.split_whitespace().collect();
        let i = w.iter().position(|x| *x == "lladdr")?;
        w.get(i + 1).map(|s| s.to_string())
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for (_, c) in &mut self.daemons {
            // SIGTERM: a clean hand-over and VIP removal
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(c.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        for (_, c) in &mut self.daemons {
            let end = Instant::now() + Duration::from_secs(3);
            while Instant::now() < end && matches!(c.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        teardown_namespaces();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Daemons started, for the Ctrl-C handler.
static PIDS: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

/// Ctrl-C (or SIGTERM) at any point: stop the daemons, remove the lab, exit 130.
fn cleanup_on_signal(dir: PathBuf) -> Result<(), String> {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    set.thread_block().map_err(|e| e.to_string())?;
    std::thread::spawn(move || {
        if set.wait().is_ok() {
            eprintln!("\ninterrupted: removing the lab");
            let pids = PIDS.lock().map(|p| p.clone()).unwrap_or_default();
            for p in &pids {
                let _ =
                    nix::sys::signal::kill(nix::unistd::Pid::from_raw(*p as i32), Signal::SIGTERM);
            }
            std::thread::sleep(Duration::from_secs(1));
            for p in &pids {
                let _ =
                    nix::sys::signal::kill(nix::unistd::Pid::from_raw(*p as i32), Signal::SIGKILL);
            }
            teardown_namespaces();
            let _ = std::fs::remove_dir_all(&dir);
            std::process::exit(130);
        }
    });
    Ok(())
}

fn teardown_namespaces() {
    for n in NODES.iter().rev() {
        let _ = Command::new("ip")
            .args(["netns", "del", &ns(n)])
            .stderr(Stdio::null())
            .status();
    }
}

fn wait(limit: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if f() {
            return Some(t0.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

fn who(mac: &str) -> &'static str {
    match mac {
        "02:00:00:00:01:00" => "d1",
        "02:00:00:00:02:00" => "d2",
        _ => "?",
    }
}

pub fn run(a: &DemoArgs) -> i32 {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("ldirector demo builds network namespaces: run it as root");
        return 1;
    }
    match demo(a) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("demo: {e}");
            1
        }
    }
}

fn demo(a: &DemoArgs) -> Result<(), String> {
    let adv = a.advert_int;
    let mdi = 3.0 * adv + (256.0 - 100.0) / 256.0 * adv;
    let long = Duration::from_secs(30);
    println!("building the lab: namespaces {PREFIX}{{sw,d1,d2,client}}");
    let mut lab = Lab::build()?;
    cleanup_on_signal(lab.dir.clone())?;
    let c1 = lab.config("d1", 150, adv)?;
    let c2 = lab.config("d2", 100, adv)?;
    println!("starting ldirector on d1 (priority 150) and d2 (priority 100), advert_int {adv} s");
    lab.start("d1", &c1)?;
    lab.start("d2", &c2)?;
    let t = wait(long, || lab.holder() == Some("d1")).ok_or("no director became master")?;
    println!(
        "  d1 is MASTER after {:.0} ms: it holds 192.0.2.100 and 198.51.100.1",
        t.as_secs_f64() * 1000.0
    );
    in_ns("client", &["ping", "-c", "1", "-W", "1", "192.0.2.100"]);
    println!(
        "  the client reaches 192.0.2.100 at {} ({})",
        lab.client_mac().unwrap_or_default(),
        lab.client_mac().as_deref().map(who).unwrap_or("?")
    );

    println!("\ncrash: d1 is killed (SIGKILL) and cut off the network");
    for dev in ["eth0", "eth1"] {
        ip(&["-n", &ns("sw"), "link", "set", &format!("d1{dev}"), "down"])?;
    }
    lab.kill("d1");
    let t = wait(long, || lab.holder_on("d2")).ok_or("d2 did not take over")?;
    println!(
        "  d2 is MASTER after {:.0} ms (Master_Down_Interval {:.0} ms)",
        t.as_secs_f64() * 1000.0,
        mdi * 1000.0
    );
    let t = wait(long, || {
        lab.client_mac().as_deref() == Some("02:00:00:00:02:00")
    })
    .ok_or("the client did not follow")?;
    println!(
        "  the client's neighbour entry moved to d2 (gratuitous ARP) {:.0} ms later",
        t.as_secs_f64() * 1000.0
    );

    println!("\nrecovery: d1 is reconnected and restarted; it preempts");
    for dev in ["eth0", "eth1"] {
        ip(&["-n", &ns("sw"), "link", "set", &format!("d1{dev}"), "up"])?;
    }
    lab.start("d1", &c1)?;
    wait(long, || lab.holder() == Some("d1") && !lab.holder_on("d2"))
        .ok_or("d1 did not take back")?;
    wait(long, || {
        lab.client_mac().as_deref() == Some("02:00:00:00:01:00")
    })
    .ok_or("the client did not come back")?;
    println!("  d1 is MASTER again, d2 BACKUP, the client is back on d1");
    if a.keep {
        println!("\nlogs: {}/d1.log, d2.log", lab.dir.display());
        println!("the lab stays up: try `ip netns exec {PREFIX}client ping 192.0.2.100`; Ctrl-C removes it");
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
    println!("removing the lab");
    drop(lab);
    Ok(())
}

impl Lab {
    fn holder_on(&self, d: &str) -> bool {
        in_ns(d, &["ip", "-br", "addr", "show", "dev", "eth0"]).contains("192.0.2.100/")
            && in_ns(d, &["ip", "-br", "addr", "show", "dev", "eth1"]).contains("198.51.100.1/")
    }
}
