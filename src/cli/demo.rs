//! `ldirector demo`: ldirector's main job on a built-in lab, in network namespaces of its
//! own (root and iproute2 needed; nothing outside the namespaces is touched). Two directors
//! run `conf/demo/d1.conf` and `d2.conf` (built into the binary): they share a frontend VIP
//! (192.0.2.100, the clients' side) and a backend VIP (198.51.100.1, the real servers'
//! gateway) in one sync group, and balance HTTP over two real servers (this binary's tiny
//! built-in HTTP server, one per namespace) that HTTP_GET checks. A client asks the VIP
//! five times a second. The demo shows the election, which real server answers, a real
//! server failing and coming back, a crash of the master (killed and cut off), the takeover
//! seen by the client, and the failback; then it removes everything it made. Where the
//! kernel has no IPVS it says so in one line and shows VRRP and the health checks.

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
    /// (internal) be the demo's real server NAME: answer HTTP on port 80
    #[arg(long, value_name = "NAME", hide = true)]
    pub serve: Option<String>,
}

const PREFIX: &str = "ldemo-";
const NODES: [&str; 6] = ["sw", "d1", "d2", "client", "rs1", "rs2"];
const D1_CONF: &str = include_str!("../../conf/demo/d1.conf");
const D2_CONF: &str = include_str!("../../conf/demo/d2.conf");

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
        plug(
            "rs1",
            "eth0",
            "br1",
            "02:00:00:00:21:00",
            "198.51.100.21/24",
        )?;
        plug(
            "rs2",
            "eth0",
            "br1",
            "02:00:00:00:22:00",
            "198.51.100.22/24",
        )?;
        for rs in ["rs1", "rs2"] {
            // NAT: the real servers answer through the backend VIP
            ip(&[
                "-n",
                &ns(rs),
                "route",
                "add",
                "default",
                "via",
                "198.51.100.1",
            ])?;
        }
        for d in ["d1", "d2"] {
            let o = Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &ns(d),
                    "sysctl",
                    "-qw",
                    "net.ipv4.ip_forward=1",
                ])
                .status();
            if !o.is_ok_and(|s| s.success()) {
                return Err(format!("cannot enable forwarding in {}", ns(d)));
            }
        }
        Ok(lab)
    }

    /// conf/demo's file for director `name`, with the advert interval asked for.
    fn config(&self, name: &str, advert: f64) -> Result<PathBuf, String> {
        let text = if name == "d1" { D1_CONF } else { D2_CONF };
        let text = text.replace("advert_int 0.1", &format!("advert_int {advert}"));
        let p = self.dir.join(format!("{name}.conf"));
        std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
        Ok(p)
    }

    fn start(&mut self, node: &str, conf: &Path) -> Result<(), String> {
        self.launch(node, Some(conf))
    }

    /// A real server: this binary's built-in HTTP server in the node's namespace.
    fn serve(&mut self, node: &str) -> Result<(), String> {
        self.launch(node, None)
    }

    fn run_dir(&self, node: &str) -> PathBuf {
        self.dir.join(format!("{node}.run"))
    }

    /// This binary in `node`'s namespace: the director with `conf`, else a real server.
    /// Its PID is recorded for the clean-up on a signal.
    fn launch(&mut self, node: &str, conf: Option<&Path>) -> Result<(), String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let log = std::fs::File::create(self.dir.join(format!("{node}.log")))
            .map_err(|e| e.to_string())?;
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &ns(node)]).arg(exe);
        match conf {
            Some(conf) => cmd
                .args(["run", "-f"])
                .arg(conf)
                .arg("--run-dir")
                .arg(self.run_dir(node)),
            None => cmd.args(["demo", "--serve", node]),
        };
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("start ldirector in {}: {e}", ns(node)))?;
        if let Ok(mut p) = PIDS.lock() {
            p.push(child.id());
        }
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
    if let Some(name) = &a.serve {
        return serve(name);
    }
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

/// The demo's real server: answers every HTTP request on port 80 with its name.
fn serve(name: &str) -> i32 {
    use std::io::{Read, Write};
    let l = match std::net::TcpListener::bind(("0.0.0.0", 80)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("demo real server {name}: port 80: {e}");
            return 1;
        }
    };
    let body = format!("{name}\n");
    for c in l.incoming() {
        let Ok(mut c) = c else { continue };
        let body = body.clone();
        std::thread::spawn(move || {
            let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = [0u8; 4096];
            let mut head = Vec::new();
            while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16384 {
                match c.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let _ = write!(
                c,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        });
    }
    0
}

/// One request from the client through the VIP: the real server's name, or None.
fn ask_vip() -> Option<String> {
    use std::io::{Read, Write};
    let addr: std::net::SocketAddr = "192.0.2.100:80".parse().ok()?;
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: demo\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    if !text.starts_with("HTTP/1.1 200") {
        return None;
    }
    text.rsplit("\r\n\r\n").next().map(|b| b.trim().to_string())
}

type Answers = std::sync::Arc<std::sync::Mutex<Vec<Option<String>>>>;

/// The client: a thread in the client's namespace asking the VIP five times a second.
struct Client {
    answers: Answers,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Client {
    fn start() -> Result<Client, String> {
        use std::sync::atomic::Ordering;
        let f = std::fs::File::open(format!("/run/netns/{}", ns("client")))
            .map_err(|e| format!("client namespace: {e}"))?;
        let answers: Answers = Default::default();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (a, s) = (answers.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            // this thread only: the rest of the demo stays in the host's namespace
            if nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET).is_err() {
                return;
            }
            while !s.load(Ordering::Relaxed) {
                let r = ask_vip();
                if let Ok(mut v) = a.lock() {
                    v.push(r);
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        Ok(Client {
            answers,
            stop,
            thread: Some(thread),
        })
    }

    /// How many answers so far (a mark for `since`).
    fn mark(&self) -> usize {
        self.answers.lock().map(|v| v.len()).unwrap_or(0)
    }

    fn seen(&self, name: &str) -> bool {
        self.answers
            .lock()
            .is_ok_and(|v| v.iter().any(|a| a.as_deref() == Some(name)))
    }

    /// The answers since `mark`: the last few names, and the counts.
    fn since(&self, mark: usize) -> String {
        let v = self
            .answers
            .lock()
            .map(|v| v[mark.min(v.len())..].to_vec())
            .unwrap_or_default();
        let failed = v.iter().filter(|a| a.is_none()).count();
        let last: Vec<&str> = v
            .iter()
            .rev()
            .take(8)
            .rev()
            .map(|a| a.as_deref().unwrap_or("-"))
            .collect();
        format!("{} ({} requests, {failed} failed)", last.join(" "), v.len())
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Whether director `d` sees real server `i` (0, 1) healthy (None: cannot tell).
fn healthy(lab: &Lab, d: &str, i: usize) -> Option<bool> {
    let st = crate::control::client::fetch_status(&lab.run_dir(d)).ok()?;
    st.virtual_servers
        .first()?
        .real_servers
        .get(i)
        .map(|r| r.healthy)
}

fn ms(t: Duration) -> String {
    format!("{:.0} ms", t.as_secs_f64() * 1000.0)
}

fn demo(a: &DemoArgs) -> Result<(), String> {
    let adv = a.advert_int;
    let mdi = 3.0 * adv + (256.0 - 100.0) / 256.0 * adv;
    let long = Duration::from_secs(30);
    println!("building the lab: namespaces {PREFIX}{{sw,d1,d2,client,rs1,rs2}}");
    let mut lab = Lab::build()?;
    cleanup_on_signal(lab.dir.clone())?;
    lab.serve("rs1")?;
    lab.serve("rs2")?;
    let c1 = lab.config("d1", adv)?;
    let c2 = lab.config("d2", adv)?;
    println!(
        "starting ldirector on d1 (priority 150) and d2 (priority 100) with conf/demo/, advert_int {adv} s"
    );
    lab.start("d1", &c1)?;
    lab.start("d2", &c2)?;
    let t = wait(long, || lab.holder() == Some("d1")).ok_or("no director became master")?;
    println!(
        "  d1 is MASTER after {}: it holds 192.0.2.100 and 198.51.100.1",
        ms(t)
    );
    wait(long, || {
        healthy(&lab, "d1", 0) == Some(true) && healthy(&lab, "d1", 1) == Some(true)
    })
    .ok_or("the health checks did not find the real servers up")?;
    println!("  its HTTP_GET checks find rs1 (198.51.100.21) and rs2 (198.51.100.22) up");
    let ipvs = crate::control::client::fetch_status(&lab.run_dir("d1"))
        .map(|s| s.ipvs)
        .unwrap_or(false);
    if !ipvs {
        println!("  this kernel has no IPVS (the ip_vs module): nothing is balanced through the VIP; VRRP and the health checks are shown without it");
    }
    let client = Client::start()?;
    if ipvs {
        let m = client.mark();
        wait(long, || client.seen("rs1") && client.seen("rs2"))
            .ok_or("the client got no answer from both real servers")?;
        println!(
            "  the client asks 192.0.2.100 five times a second: {}",
            client.since(m)
        );
    } else {
        in_ns("client", &["ping", "-c", "1", "-W", "1", "192.0.2.100"]);
    }
    println!(
        "  the client reaches 192.0.2.100 at {} ({})",
        lab.client_mac().unwrap_or_default(),
        lab.client_mac().as_deref().map(who).unwrap_or("?")
    );

    println!("\na real server fails: rs2's HTTP server is stopped");
    lab.kill("rs2");
    let t = wait(long, || healthy(&lab, "d1", 1) == Some(false))
        .ok_or("the health check did not see rs2 fail")?;
    println!(
        "  d1's HTTP_GET finds rs2 down after {} and takes it out of the pool",
        ms(t)
    );
    if ipvs {
        // the request under way when the pool changed (sent to rs2, or answered by it
        // before IPVS heard of the change) is not the new pool's: the window starts after
        // it, so every request counted was sent after the change
        let m0 = client.mark();
        let _ = wait(Duration::from_secs(3), || client.mark() > m0);
        let m = client.mark();
        std::thread::sleep(Duration::from_millis(1500));
        println!("  the client gets: {}", client.since(m));
    }
    lab.serve("rs2")?;
    let t = wait(long, || healthy(&lab, "d1", 1) == Some(true)).ok_or("rs2 did not come back")?;
    println!(
        "  rs2 is restarted: its check passes and it is back after {}",
        ms(t)
    );

    println!("\ncrash: d1 is killed (SIGKILL) and cut off the network");
    let m = client.mark();
    // counted from the moment d1 falls silent (its last advert was up to one interval
    // before: the takeover comes between Master_Down_Interval minus that and MDI)
    let t0 = Instant::now();
    for dev in ["eth0", "eth1"] {
        ip(&["-n", &ns("sw"), "link", "set", &format!("d1{dev}"), "down"])?;
    }
    lab.kill("d1");
    wait(long, || lab.holder_on("d2")).ok_or("d2 did not take over")?;
    println!(
        "  d2 is MASTER {} after d1 fell silent (Master_Down_Interval {:.0} ms, less the time since d1's last advert)",
        ms(t0.elapsed()),
        mdi * 1000.0
    );
    if !ipvs {
        in_ns("client", &["ping", "-c", "1", "-W", "1", "192.0.2.100"]);
    }
    let t = wait(long, || {
        lab.client_mac().as_deref() == Some("02:00:00:00:02:00")
    })
    .ok_or("the client did not follow")?;
    println!(
        "  the client's neighbour entry moved to d2 (gratuitous ARP) {} later",
        ms(t)
    );
    if ipvs {
        std::thread::sleep(Duration::from_millis(1500));
        println!("  the client, through d2: {}", client.since(m));
    }

    println!("\nrecovery: d1 is reconnected and restarted; it preempts");
    let m = client.mark();
    for dev in ["eth0", "eth1"] {
        ip(&["-n", &ns("sw"), "link", "set", &format!("d1{dev}"), "up"])?;
    }
    lab.start("d1", &c1)?;
    wait(long, || lab.holder() == Some("d1") && !lab.holder_on("d2"))
        .ok_or("d1 did not take back")?;
    if !ipvs {
        in_ns("client", &["ping", "-c", "1", "-W", "1", "192.0.2.100"]);
    }
    wait(long, || {
        lab.client_mac().as_deref() == Some("02:00:00:00:01:00")
    })
    .ok_or("the client did not come back")?;
    println!("  d1 is MASTER again, d2 BACKUP, the client is back on d1");
    if ipvs {
        std::thread::sleep(Duration::from_millis(1500));
        println!("  the client, through d1 again: {}", client.since(m));
    }
    drop(client);
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
