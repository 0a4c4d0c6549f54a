//! A reusable lab of network namespaces (root and iproute2 needed): a switch namespace with
//! one bridge per segment, directors with a leg on each, a client on the frontend. All
//! addresses are documentation ranges; every name carries the test's tag and the process
//! id, and everything (namespaces, processes) is removed on drop, by name and by PID.
//!
//! ```text
//!  client 192.0.2.50 ──┐ br0 (frontend 192.0.2.0/24, 2001:db8::/64)
//!  dN eth0 192.0.2.1N ─┘
//!  dN eth1 198.51.100.1N ─┐ br1 (backend 198.51.100.0/24)
//!  server 198.51.100.50 ──┘
//! ```
#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn ip(args: &[&str]) {
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

/// Poll `f` every 10 ms until it is true or `limit` has passed; whether it became true.
pub fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub struct Lab {
    pub tag: String,
    namespaces: Vec<String>,
    pub dir: tempfile::TempDir,
    procs: Vec<Proc>,
    /// Held for the lab's life: shared by most labs, exclusive for [`Lab::alone`].
    _gate: Gate,
}

/// Labs in one test binary run in parallel, except one made with [`Lab::alone`]: it waits
/// for the running labs to end and keeps new ones waiting until it is dropped (a test whose
/// verdict depends on the machine's load, e.g. CPU hogs against real-time threads, where
/// the other labs' packets would queue softirq work behind the hogs).
static GATE: std::sync::RwLock<()> = std::sync::RwLock::new(());

enum Gate {
    Shared(#[allow(dead_code)] std::sync::RwLockReadGuard<'static, ()>),
    Alone(#[allow(dead_code)] std::sync::RwLockWriteGuard<'static, ()>),
}

impl Gate {
    fn shared() -> Gate {
        Gate::Shared(GATE.read().unwrap_or_else(|e| e.into_inner()))
    }

    fn alone() -> Gate {
        Gate::Alone(GATE.write().unwrap_or_else(|e| e.into_inner()))
    }
}

/// A process started in a namespace, in a process group of its own.
pub struct Proc {
    pub child: Child,
    pub name: String,
    pub log: PathBuf,
}

impl Proc {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Signal the whole process group.
    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(self.pid()), sig);
    }

    /// Wait at most `limit` for the process to exit; its exit code.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st.code().unwrap_or(-1));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn stop(&mut self) {
        use nix::sys::signal::Signal;
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        self.signal(Signal::SIGCONT);
        self.signal(Signal::SIGTERM);
        if self.wait_exit(Duration::from_secs(3)).is_none() {
            self.signal(Signal::SIGKILL);
            let _ = self.child.wait();
        }
    }
}

pub const FRONT_PREFIX: &str = "192.0.2";
pub const BACK_PREFIX: &str = "198.51.100";

impl Lab {
    /// A switch, `directors` directors (d1, d2...), a client and a backend server.
    pub fn new(tag: &str, directors: usize) -> Lab {
        Lab::build(tag, directors, Gate::shared())
    }

    /// [`Lab::new`], with no other lab of this test binary running at the same time.
    #[allow(dead_code)]
    pub fn alone(tag: &str, directors: usize) -> Lab {
        Lab::build(tag, directors, Gate::alone())
    }

    fn build(tag: &str, directors: usize, gate: Gate) -> Lab {
        // unique in this process even when two tests pick the same tag (a namespace of
        // the same name would be deleted under the other test)
        static LABS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = LABS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tag = format!("{tag}{}n{n}", std::process::id());
        let mut lab = Lab {
            tag,
            namespaces: Vec::new(),
            dir: tempfile::tempdir().expect("temp dir"),
            procs: Vec::new(),
            _gate: gate,
        };
        let sw = lab.add_ns("sw");
        for br in ["br0", "br1"] {
            ip(&["-n", &sw, "link", "add", br, "type", "bridge"]);
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
                "mcast_snooping",
                "0",
            ]);
            ip(&["-n", &sw, "link", "set", br, "up"]);
        }
        for n in 1..=directors {
            let d = lab.add_ns(&format!("d{n}"));
            lab.plug(&d, "eth0", "br0", &format!("02:00:00:00:0{n}:00"));
            lab.plug(&d, "eth1", "br1", &format!("02:00:00:00:0{n}:01"));
            lab.addr(&d, "eth0", &format!("{FRONT_PREFIX}.1{n}/24"));
            lab.addr(&d, "eth1", &format!("{BACK_PREFIX}.1{n}/24"));
            lab.addr(&d, "eth0", &format!("fe80::1{n}/64"));
            lab.addr(&d, "eth0", &format!("2001:db8::1{n}/64"));
            sysctl(&d, "net.ipv4.ip_forward", "1");
        }
        let c = lab.add_ns("client");
        lab.plug(&c, "eth0", "br0", "02:00:00:00:c0:00");
        lab.addr(&c, "eth0", &format!("{FRONT_PREFIX}.50/24"));
        lab.addr(&c, "eth0", "fe80::50/64");
        lab.addr(&c, "eth0", "2001:db8::50/64");
        let s = lab.add_ns("server");
        lab.plug(&s, "eth0", "br1", "02:00:00:00:5e:00");
        lab.addr(&s, "eth0", &format!("{BACK_PREFIX}.50/24"));
        lab
    }

    /// No namespace yet (a routed topology built with [`Lab::add_ns`] and [`Lab::link`]).
    pub fn bare(tag: &str) -> Lab {
        static LABS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = LABS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Lab {
            tag: format!("{tag}{}b{n}", std::process::id()),
            namespaces: Vec::new(),
            dir: tempfile::tempdir().expect("temp dir"),
            procs: Vec::new(),
            _gate: Gate::shared(),
        }
    }

    /// A point-to-point link: `a` gets interface `a-b` with address `a_addr`, `b` gets
    /// `b-a` with `b_addr` (short names, prefixed addresses).
    pub fn link(&self, a: &str, a_addr: &str, b: &str, b_addr: &str) {
        let (na, nb) = (self.ns(a), self.ns(b));
        let (da, db) = (format!("{a}-{b}"), format!("{b}-{a}"));
        ip(&[
            "link", "add", &da, "netns", &na, "type", "veth", "peer", "name", &db, "netns", &nb,
        ]);
        ip(&["-n", &na, "link", "set", &da, "up"]);
        ip(&["-n", &nb, "link", "set", &db, "up"]);
        self.addr(&na, &da, a_addr);
        self.addr(&nb, &db, b_addr);
    }

    pub fn add_ns(&mut self, short: &str) -> String {
        let name = format!("{}{short}", self.tag);
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(Stdio::null())
            .status();
        ip(&["netns", "add", &name]);
        ip(&["-n", &name, "link", "set", "lo", "up"]);
        for k in [
            "net.ipv4.conf.all.rp_filter",
            "net.ipv4.conf.default.rp_filter",
        ] {
            sysctl(&name, k, "0");
        }
        // no duplicate address detection: addresses usable at once
        sysctl(&name, "net.ipv6.conf.default.accept_dad", "0");
        sysctl(&name, "net.ipv6.conf.all.accept_dad", "0");
        self.namespaces.push(name.clone());
        name
    }

    /// The full namespace name of a short one ("d1", "client", "sw").
    pub fn ns(&self, short: &str) -> String {
        format!("{}{short}", self.tag)
    }

    /// A veth pair from `dev` in namespace `ns` (full name) to a port of `bridge`.
    pub fn plug(&self, ns: &str, dev: &str, bridge: &str, mac: &str) {
        let sw = self.ns("sw");
        let port = format!("{}{}", &ns[self.tag.len()..], dev);
        ip(&[
            "-n", &sw, "link", "add", &port, "type", "veth", "peer", "name", dev, "netns", ns,
        ]);
        ip(&["-n", ns, "link", "set", dev, "address", mac]);
        ip(&["-n", &sw, "link", "set", &port, "master", bridge]);
        ip(&["-n", &sw, "link", "set", &port, "up"]);
        ip(&["-n", ns, "link", "set", dev, "up"]);
    }

    /// Add address `a` to `dev` in namespace `ns` (full name).
    pub fn addr(&self, ns: &str, dev: &str, a: &str) {
        let mut args = vec!["-n", ns, "addr", "add", a, "dev", dev];
        if a.contains(':') {
            args.push("nodad");
        }
        ip(&args);
    }

    /// The switch port of a namespace's interface (to cut a node off without it knowing).
    pub fn port(&self, short: &str, dev: &str) -> String {
        format!("{short}{dev}")
    }

    /// Cut a node off the network (its switch ports down) or reconnect it.
    pub fn isolate(&self, short: &str, cut: bool) {
        let sw = self.ns("sw");
        for dev in ["eth0", "eth1"] {
            let port = self.port(short, dev);
            if self
                .exec("sw", &["ip", "link", "show", &port])
                .status
                .success()
            {
                ip(&[
                    "-n",
                    &sw,
                    "link",
                    "set",
                    &port,
                    if cut { "down" } else { "up" },
                ]);
            }
        }
    }

    pub fn exec(&self, short: &str, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.ns(short)])
            .args(args)
            .output()
            .expect("ip netns exec")
    }

    /// Start a program in a namespace (stdout and stderr to a log file).
    pub fn spawn(&mut self, short: &str, name: &str, args: &[&str]) -> usize {
        let ns = self.ns(short);
        let mut all = vec!["netns", "exec", &ns];
        all.extend_from_slice(args);
        self.spawn_here(name, "ip", &all)
    }

    /// Start a program in this (the host's) namespace, logged and stopped as the others.
    #[allow(dead_code)]
    pub fn spawn_here(&mut self, name: &str, prog: &str, args: &[&str]) -> usize {
        let log = self.dir.path().join(format!("{name}.log"));
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("log file");
        let err = out.try_clone().expect("log file");
        let child = Command::new(prog)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("start {args:?}: {e}"));
        self.procs.push(Proc {
            child,
            name: name.to_string(),
            log,
        });
        self.procs.len() - 1
    }

    pub fn proc(&mut self, i: usize) -> &mut Proc {
        &mut self.procs[i]
    }

    /// Write a file in the lab's folder; its path.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).expect("write lab file");
        p
    }

    /// Start ldirector in a director namespace with this keepalived.conf text.
    pub fn ldirector(&mut self, short: &str, name: &str, conf: &str) -> usize {
        self.ldirector_with(short, name, conf, &[])
    }

    /// The same with more `run` arguments.
    pub fn ldirector_with(&mut self, short: &str, name: &str, conf: &str, more: &[&str]) -> usize {
        let path = self.file(&format!("{name}.conf"), conf);
        let run_dir = self.dir.path().join(format!("{name}.run"));
        let bin = ldirector_bin();
        let bin = bin.as_str();
        let p = path.display().to_string();
        let r = run_dir.display().to_string();
        let mut args = vec![
            "env",
            "LDIRECTOR_LOG=debug",
            bin,
            "run",
            "-f",
            &p,
            "--run-dir",
            &r,
        ];
        args.extend_from_slice(more);
        self.spawn(short, name, &args)
    }

    /// Start Debian's keepalived (VRRP only: this kernel may lack IPVS) with this config.
    pub fn keepalived(&mut self, short: &str, name: &str, conf: &str) -> usize {
        let path = self.file(&format!("{name}.conf"), conf);
        let pid = |n: &str| self.dir.path().join(format!("{name}.{n}.pid"));
        let (p, r, c) = (pid("main"), pid("vrrp"), pid("check"));
        let args: Vec<String> = [
            "keepalived",
            "-n",
            "-l",
            "-D",
            "-G",
            "-P",
            "-f",
            &path.display().to_string(),
            "-p",
            &p.display().to_string(),
            "-r",
            &r.display().to_string(),
            "-c",
            &c.display().to_string(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        self.spawn(short, name, &a)
    }

    /// Addresses on a namespace's interface, as `ip -br addr` prints them.
    pub fn addrs(&self, short: &str, dev: &str) -> String {
        let o = self.exec(short, &["ip", "-br", "addr", "show", "dev", dev]);
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    pub fn has_addr(&self, short: &str, dev: &str, addr: &str) -> bool {
        self.addrs(short, dev)
            .split_whitespace()
            .any(|w| w.split('/').next() == Some(addr))
    }

    /// The MAC the client's neighbour table holds for `addr` (None if no usable entry).
    pub fn neighbour(&self, short: &str, addr: &str) -> Option<String> {
        let o = self.exec(short, &["ip", "neigh", "show", addr]);
        let t = String::from_utf8_lossy(&o.stdout);
        let w: Vec<&str> = t.split_whitespace().collect();
        let i = w.iter().position(|x| *x == "lladdr")?;
        if t.contains("FAILED") || t.contains("INCOMPLETE") {
            return None;
        }
        w.get(i + 1).map(|s| s.to_string())
    }

    /// One ping from a namespace; whether it was answered.
    pub fn ping(&self, short: &str, addr: &str) -> bool {
        self.exec(short, &["ping", "-c", "1", "-W", "1", "-q", addr])
            .status
            .success()
    }

    /// The MAC of a director's interface (as set by the lab).
    pub fn mac(n: usize, dev: &str) -> String {
        let d = if dev == "eth0" { "00" } else { "01" };
        format!("02:00:00:00:0{n}:{d}")
    }

    /// Logs of every process started, for assertion messages.
    pub fn logs(&self) -> String {
        let mut s = String::new();
        for p in &self.procs {
            s.push_str(&format!("--- {} ---\n{}\n", p.name, p.log_text()));
        }
        s
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// The ldirector binary: Cargo's for integration tests, else the one beside the running
/// example (target/<profile>/examples/ -> target/<profile>/ldirector).
/// One VRRPv3 instance FRONT (VRID 51, VIP 192.0.2.100/24 on eth0) at `advert` seconds,
/// with `extra` lines in the instance.
pub fn single_instance(prio: u8, advert: &str, extra: &str) -> String {
    format!(
        "vrrp_instance FRONT {{
  interface eth0
  virtual_router_id 51
  version 3
  priority {prio}
  advert_int {advert}
  virtual_ipaddress {{ 192.0.2.100/24 }}
  {extra}
}}
"
    )
}

pub fn ldirector_bin() -> String {
    if let Some(b) = option_env!("CARGO_BIN_EXE_ldirector") {
        return b.to_string();
    }
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    dir.join("ldirector").display().to_string()
}

pub fn sysctl(ns: &str, key: &str, value: &str) {
    let _ = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns,
            "sysctl",
            "-qw",
            &format!("{key}={value}"),
        ])
        .status();
}

impl Drop for Lab {
    fn drop(&mut self) {
        for p in &mut self.procs {
            p.stop();
        }
        for ns in self.namespaces.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}
