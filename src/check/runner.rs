//! The checkers' I/O shell: builds the scheduler from the config, starts each probe as a
//! tokio task when the scheduler says so, feeds results back, and reports real-server
//! health changes on a channel. Runs on the daemon's main runtime, never on the VRRP thread.

use super::http::{self, UrlCheck};
use super::scheduler::{Output, Scheduler, ServerId, Timing};
use super::tcp::{self, Target};
use super::{misc, smtp};
use crate::config::model::{CheckKind, Config, HttpProtocol};
use crate::config::types::Script;
use crate::notify::exec::RunAs;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

/// A real server: (virtual_server index, real_server index) in the config.
pub type RsIndex = (usize, usize);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthChange {
    pub rs: RsIndex,
    pub up: bool,
    /// A MISC_CHECK with misc_dynamic set this weight (None: the configured one).
    pub weight: Option<u32>,
}

#[derive(Clone, Debug)]
enum Probe {
    Tcp(Target),
    Http(Target, Vec<UrlCheck>, HttpProtocol),
    Smtp(Vec<Target>, String),
    Misc(Script, Duration, bool),
}

pub struct Checks {
    sched: Scheduler,
    probes: Vec<Probe>,
    servers: Vec<RsIndex>,
    names: Vec<String>,
    /// Per checker: its server (index into `servers`) and the last dynamic weight.
    server_of: Vec<usize>,
    weights: Vec<Option<u32>>,
    run_as: Option<RunAs>,
}

fn secs(s: crate::config::types::Secs) -> Duration {
    s.as_duration()
}

impl Checks {
    /// The checkers this version runs (TCP_CHECK); the others are reported once and their
    /// real servers count as healthy for them.
    pub fn from_config(cfg: &Config, now: Instant, run_as: Option<RunAs>) -> Checks {
        let mut c = Checks {
            sched: Scheduler::new(now.elapsed().as_nanos() as u64 ^ 0x9e37_79b9_7f4a_7c15),
            probes: Vec::new(),
            servers: Vec::new(),
            names: Vec::new(),
            server_of: Vec::new(),
            weights: Vec::new(),
            run_as,
        };
        let mut skipped = 0usize;
        for (vi, vs) in cfg.virtual_server.iter().enumerate() {
            for (ri, rs) in vs.real_server.iter().enumerate() {
                let sid = c.servers.len();
                c.servers.push((vi, ri));
                let port = rs.port.or(vs.port).unwrap_or(0);
                for ch in &rs.checkers {
                    let e = &ch.effective;
                    if !matches!(
                        ch.kind,
                        CheckKind::Tcp | CheckKind::HttpGet | CheckKind::Smtp | CheckKind::Misc
                    ) {
                        skipped += 1;
                        continue;
                    }
                    let addr = SocketAddr::new(
                        e.connect_ip.unwrap_or(rs.ip),
                        e.connect_port.unwrap_or(port),
                    );
                    let bind = ch
                        .bindto
                        .map(|b| SocketAddr::new(b, ch.bind_port.unwrap_or(0)));
                    let target = Target {
                        addr,
                        bind,
                        bind_if: ch.bind_if.clone(),
                        fwmark: ch.fwmark,
                        timeout: secs(e.connect_timeout),
                    };
                    if ch.kind == CheckKind::Misc {
                        let Some(script) = ch.misc_path.clone() else {
                            skipped += 1;
                            continue;
                        };
                        let mut script = script;
                        if let Some(u) = &ch.user {
                            script.user = Some(u.user.clone());
                            script.group = u.group.clone();
                        }
                        let timeout = ch.misc_timeout.map_or(secs(e.delay_loop), secs);
                        c.probes.push(Probe::Misc(
                            script,
                            timeout,
                            ch.misc_dynamic.unwrap_or(false),
                        ));
                        c.names
                            .push(format!("MISC_CHECK {} of {}", rs.ip, vs.describe()));
                    } else if ch.kind == CheckKind::Smtp {
                        // each `host` block, or the real server itself
                        let hosts: Vec<Target> = if ch.host.is_empty() {
                            vec![target]
                        } else {
                            ch.host
                                .iter()
                                .map(|h| Target {
                                    addr: SocketAddr::new(
                                        h.connect_ip.unwrap_or(addr.ip()),
                                        h.connect_port.unwrap_or(addr.port()),
                                    ),
                                    bind: h
                                        .bindto
                                        .map(|b| SocketAddr::new(b, h.bind_port.unwrap_or(0))),
                                    bind_if: h.bind_if.clone(),
                                    fwmark: h.fwmark,
                                    timeout: h
                                        .connect_timeout
                                        .map_or(secs(e.connect_timeout), secs),
                                })
                                .collect()
                        };
                        let helo = ch
                            .helo_name
                            .clone()
                            .or_else(|| cfg.global_defs.smtp_helo_name.clone())
                            .or_else(crate::config::short_hostname)
                            .unwrap_or_else(|| "localhost".into());
                        c.probes.push(Probe::Smtp(hosts, helo));
                        c.names
                            .push(format!("SMTP_CHECK {addr} of {}", vs.describe()));
                    } else if ch.kind == CheckKind::HttpGet {
                        let urls = ch
                            .url
                            .iter()
                            .map(|u| {
                                let host = u
                                    .virtualhost
                                    .clone()
                                    .or_else(|| ch.virtualhost.clone())
                                    .or_else(|| rs.virtualhost.clone())
                                    .or_else(|| vs.virtualhost.clone())
                                    .unwrap_or_else(|| http::default_host(addr));
                                let mut invalid = None;
                                let regex = u.regex.as_ref().and_then(|r| {
                                    let caseless =
                                        u.regex_options.iter().any(|o| o == "caseless");
                                    let pat =
                                        if caseless { format!("(?i){r}") } else { r.clone() };
                                    regex::bytes::Regex::new(&pat)
                                        .map_err(|err| {
                                            warn!("HTTP_GET {addr}: regex '{r}': {err}; the url fails until it is fixed");
                                            invalid = Some(format!("regex '{r}' is invalid"));
                                        })
                                        .ok()
                                });
                                UrlCheck {
                                    path: u.path.clone(),
                                    digest: u.digest.clone(),
                                    status: u.status_code.clone(),
                                    host,
                                    regex,
                                    regex_no_match: u.regex_no_match,
                                    regex_min_offset: u.regex_min_offset.map(|x| x as usize),
                                    regex_max_offset: u.regex_max_offset.map(|x| x as usize),
                                    invalid,
                                }
                            })
                            .collect();
                        let proto = ch.http_protocol.unwrap_or(HttpProtocol::Http10);
                        c.probes.push(Probe::Http(target, urls, proto));
                        c.names
                            .push(format!("HTTP_GET {addr} of {}", vs.describe()));
                    } else {
                        c.probes.push(Probe::Tcp(target));
                        c.names
                            .push(format!("TCP_CHECK {addr} of {}", vs.describe()));
                    }
                    c.server_of.push(sid);
                    c.weights.push(None);
                    c.sched.add(
                        sid,
                        Timing {
                            delay_loop: secs(e.delay_loop),
                            retry: e.retry,
                            delay_before_retry: secs(e.delay_before_retry),
                            warmup: secs(e.warmup),
                            alpha: e.alpha,
                        },
                        now,
                    );
                }
            }
        }
        if skipped > 0 {
            warn!("{skipped} checker(s) of kinds other than TCP_CHECK, HTTP_GET, SMTP_CHECK and MISC_CHECK are not run by this version: their real servers count as healthy for them");
        }
        c
    }

    pub fn is_empty(&self) -> bool {
        self.probes.is_empty()
    }

    /// Whether a real server is healthy now.
    pub fn healthy(&self, rs: RsIndex) -> bool {
        match self.servers.iter().position(|&s| s == rs) {
            Some(sid) => self.sched.server_up(sid),
            None => true,
        }
    }

    /// Run until the receiver of `changes` is gone.
    pub async fn run(mut self, changes: mpsc::UnboundedSender<HealthChange>) {
        let (rtx, mut results) = mpsc::unbounded_channel::<(usize, bool, Option<u32>)>();
        let run_as = self.run_as;
        loop {
            let deadline = self.sched.next_timeout();
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d.into()).await,
                    None => std::future::pending().await,
                }
            };
            let mut out = Vec::new();
            tokio::select! {
                _ = sleep => self.sched.poll(Instant::now(), &mut out),
                Some(first) = results.recv() => {
                    // several results may be waiting: take them all
                    let mut next = Some(first);
                    while let Some((id, ok, weight)) = next {
                        self.sched.result(id, ok, Instant::now(), &mut out);
                        if let Some(w) = weight {
                            if self.weights[id] != Some(w) {
                                self.weights[id] = Some(w);
                                let rs = self.servers[self.server_of[id]];
                                if changes.send(HealthChange { rs, up: true, weight: Some(w) }).is_err() {
                                    return;
                                }
                            }
                        }
                        next = results.try_recv().ok();
                    }
                }
            }
            for o in out {
                match o {
                    Output::Probe(id) => {
                        let probe = self.probes[id].clone();
                        let tx = rtx.clone();
                        let name = self.names[id].clone();
                        tokio::spawn(async move {
                            let r = match &probe {
                                Probe::Tcp(t) => tcp::probe(t).await.map_err(|e| e.to_string()),
                                Probe::Http(t, urls, proto) => http::probe(t, urls, *proto).await,
                                Probe::Smtp(hosts, helo) => smtp::probe(hosts, helo).await,
                                Probe::Misc(script, timeout, dynamic) => {
                                    match misc::probe(script, run_as, *timeout, *dynamic).await {
                                        misc::Verdict::Up => Ok(()),
                                        misc::Verdict::UpWithWeight(w) => {
                                            let _ = tx.send((id, true, Some(w)));
                                            return;
                                        }
                                        misc::Verdict::Down(why) => Err(why),
                                    }
                                }
                            };
                            if let Err(e) = &r {
                                debug!("{name}: {e}");
                            }
                            let _ = tx.send((id, r.is_ok(), None));
                        });
                    }
                    Output::Checker { id, up } => {
                        info!("{} is {}", self.names[id], if up { "up" } else { "down" });
                    }
                    Output::Server { id, up } => {
                        let rs = self.servers[id as ServerId];
                        if changes
                            .send(HealthChange {
                                rs,
                                up,
                                weight: None,
                            })
                            .is_err()
                        {
                            return;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_str, Format};

    #[tokio::test]
    async fn a_stopped_server_goes_down_after_its_retries_and_comes_back() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let conf = format!(
            "virtual_server 192.0.2.1 80 {{\n real_server 127.0.0.1 {port} {{\n TCP_CHECK {{\n connect_timeout 1\n retry 1\n delay_before_retry 0.1\n }}\n delay_loop 0.2\n }}\n}}"
        );
        let loaded = load_str("t.conf", &conf, Format::Keepalived, None);
        assert!(loaded.is_valid(), "{}", loaded.diags.render());
        let checks = Checks::from_config(&loaded.config, Instant::now(), None);
        assert!(!checks.is_empty());
        assert!(checks.healthy((0, 0)));
        let (tx, mut rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(checks.run(tx));
        tokio::time::sleep(Duration::from_millis(500)).await;
        drop(l);
        let down = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
        assert_eq!(
            down.unwrap(),
            Some(HealthChange {
                rs: (0, 0),
                up: false,
                weight: None
            })
        );
        let _l2 = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        let up = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
        assert_eq!(
            up.unwrap(),
            Some(HealthChange {
                rs: (0, 0),
                up: true,
                weight: None
            })
        );
        task.abort();
    }

    #[tokio::test]
    async fn http_get_follows_status_and_digest() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let healthy = Arc::new(AtomicBool::new(true));
        let h = healthy.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = l.accept().await else {
                    return;
                };
                let mut buf = [0u8; 1024];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                assert!(
                    req.starts_with(
                        "GET /health HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: "
                    ),
                    "{req}"
                );
                let body: &[u8] = if h.load(Ordering::SeqCst) {
                    b"HTTP/1.0 200 OK\r\n\r\nhello"
                } else {
                    b"HTTP/1.0 200 OK\r\n\r\nchanged"
                };
                let _ = s.write_all(body).await;
            }
        });
        // md5("hello"): a changed body fails the digest
        let conf = format!(
            "virtual_server 192.0.2.1 80 {{\n real_server 127.0.0.1 {port} {{\n HTTP_GET {{\n url {{\n path /health\n digest 5d41402abc4b2a76b9719d911017c592\n }}\n connect_timeout 1\n retry 0\n }}\n delay_loop 0.2\n }}\n}}"
        );
        let loaded = load_str("t.conf", &conf, Format::Keepalived, None);
        assert!(loaded.is_valid(), "{}", loaded.diags.render());
        let checks = Checks::from_config(&loaded.config, Instant::now(), None);
        let (tx, mut rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(checks.run(tx));
        tokio::time::sleep(Duration::from_millis(500)).await;
        healthy.store(false, Ordering::SeqCst);
        let down = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
        assert_eq!(
            down.unwrap(),
            Some(HealthChange {
                rs: (0, 0),
                up: false,
                weight: None
            })
        );
        healthy.store(true, Ordering::SeqCst);
        let up = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
        assert_eq!(
            up.unwrap(),
            Some(HealthChange {
                rs: (0, 0),
                up: true,
                weight: None
            })
        );
        task.abort();
    }
}
