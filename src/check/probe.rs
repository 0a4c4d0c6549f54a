//! One checker's probe: built once from the config (every keepalived default and
//! inheritance applied), then run as often as the scheduler says.

use super::http::{self, Tls, UrlCheck};
use super::tcp::{self, Target};
use super::{dns, misc, ping, smtp, ssl, udp};
use crate::config::model::{
    CheckKind, Checker, Config, DnsType, HttpProtocol, RealServer, VirtualServer,
};
use crate::config::types::Script;
use crate::exec::RunAs;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tracing::warn;

#[derive(Clone, Debug)]
pub(crate) enum Probe {
    Tcp(Target),
    /// HTTP_GET, or SSL_GET with its TLS client configuration.
    Http(Target, Arc<[UrlCheck]>, HttpProtocol, Option<Arc<Tls>>),
    Smtp(Arc<[Target]>, Arc<str>),
    Misc(Script, Duration, bool),
    Ping(Target),
    Udp(Target, Arc<udp::Spec>),
    Dns(Target, Arc<str>, u16),
    /// FILE_CHECK: not probed; its state follows the track_file's value.
    File {
        file: String,
        weight: i32,
        reverse: bool,
    },
}

/// What a probe found.
pub(crate) use super::misc::Verdict;

impl Probe {
    /// Whether the scheduler bounds this probe with connect_timeout (TCP_CHECK, HTTP_GET,
    /// SSL_GET: one deadline heap for all of them instead of a timer per probe); the others
    /// bound themselves (their timeout means something else: UDP silence is success, SMTP
    /// has a timeout per host, MISC kills its script).
    pub(crate) fn bounded_by_scheduler(&self) -> bool {
        matches!(self, Probe::Tcp(_) | Probe::Http(..))
    }
}

/// keepalived's IPVS fault threshold for FILE_CHECK values (value x weight at or below it).
pub(crate) const FILE_FAULT: i64 = i32::MIN as i64;

/// SSL_GET client configurations, one per `SSL` block, built once.
#[derive(Default)]
pub(crate) struct TlsCache(HashMap<Option<String>, Arc<Tls>>);

impl TlsCache {
    fn get(&mut self, cfg: &Config, name: Option<&str>) -> Arc<Tls> {
        // keepalived has one SSL block that every SSL_GET uses
        let name = name
            .map(str::to_string)
            .or_else(|| cfg.ssl.contains_key("default").then(|| "default".into()));
        self.0
            .entry(name.clone())
            .or_insert_with(|| {
                let r = ssl::client_config(name.as_ref().and_then(|n| cfg.ssl.get(n)));
                if let Err(e) = &r {
                    warn!(
                        "SSL block {}: {e}; the SSL_GET checks using it fail until it is fixed",
                        name.as_deref().unwrap_or("default")
                    );
                }
                Arc::new(r)
            })
            .clone()
    }
}

/// The probe of one checker and the name it is logged under (`… of {of}`: the virtual
/// server, or the anycast block).
pub(crate) fn build(
    cfg: &Config,
    vs: &VirtualServer,
    rs: &RealServer,
    ch: &Checker,
    of: &str,
    tls: &mut TlsCache,
) -> (Probe, String) {
    let e = &ch.effective;
    let port = rs.port.or(vs.port).unwrap_or(0);
    let addr = SocketAddr::new(
        e.connect_ip.unwrap_or(rs.ip),
        e.connect_port.unwrap_or(match ch.kind {
            CheckKind::Dns if port == 0 => 53,
            _ => port,
        }),
    );
    let target = Target {
        addr,
        bind: ch
            .bindto
            .map(|b| SocketAddr::new(b, ch.bind_port.unwrap_or(0))),
        bind_if: ch.bind_if.clone(),
        fwmark: ch.fwmark,
        timeout: e.connect_timeout.as_duration(),
    };
    let name = format!("{} {addr} of {of}", ch.kind.keyword());
    // the scheduler bounds TCP and HTTP probes: no timer of their own
    let unbounded = Target {
        timeout: std::time::Duration::ZERO,
        ..target.clone()
    };
    let probe = match ch.kind {
        CheckKind::Tcp => Probe::Tcp(unbounded),
        CheckKind::HttpGet | CheckKind::SslGet => {
            let tls = (ch.kind == CheckKind::SslGet).then(|| tls.get(cfg, ch.ssl.as_deref()));
            let urls = ch
                .url
                .iter()
                .map(|u| url(vs, rs, ch, u, addr, tls.is_some()))
                .collect();
            let proto = ch.http_protocol.unwrap_or(HttpProtocol::Http10);
            Probe::Http(unbounded, urls, proto, tls)
        }
        CheckKind::Smtp => {
            // each `host` block, or the real server itself
            let hosts: Arc<[Target]> = if ch.host.is_empty() {
                Arc::new([target])
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
                            .map_or(e.connect_timeout.as_duration(), |s| s.as_duration()),
                    })
                    .collect()
            };
            let helo = ch
                .helo_name
                .clone()
                .or_else(|| cfg.global_defs.smtp_helo_name.clone())
                .or_else(crate::config::short_hostname)
                .unwrap_or_else(|| "localhost".into());
            Probe::Smtp(hosts, helo.into())
        }
        CheckKind::Misc => {
            // validation makes misc_path mandatory
            let mut script = ch.misc_path.clone().unwrap_or_else(|| Script {
                argv: vec!["/bin/false".into()],
                user: None,
                group: None,
            });
            if let Some(u) = &ch.user {
                script.user = Some(u.user.clone());
                script.group = u.group.clone();
            }
            let timeout = ch
                .misc_timeout
                .map_or(e.delay_loop.as_duration(), |s| s.as_duration());
            return (
                Probe::Misc(script, timeout, ch.misc_dynamic.unwrap_or(false)),
                format!("MISC_CHECK {} of {of}", rs.ip),
            );
        }
        CheckKind::Ping => Probe::Ping(target),
        CheckKind::Udp => Probe::Udp(
            target,
            Arc::new(udp::Spec {
                payload: ch
                    .payload
                    .as_deref()
                    .map_or_else(udp::default_payload, udp::hex_bytes),
                require_reply: ch.require_reply.as_deref().map(udp::hex_pattern),
                min_len: ch.min_reply_length.unwrap_or(0) as usize,
                max_len: ch.max_reply_length.unwrap_or(255) as usize,
            }),
        ),
        CheckKind::Dns => Probe::Dns(
            target,
            ch.dns_name.clone().unwrap_or_default().into(),
            dns::qtype(ch.dns_type.unwrap_or(DnsType::SOA)),
        ),
        CheckKind::File => {
            let file = ch.track_file.clone().unwrap_or_default();
            let tf = cfg.track_file.get(&file);
            let (weight, reverse) = match ch.weight {
                Some(w) => (w.0, ch.weight_reverse),
                None => tf.map_or((1, false), |t| (t.weight.0, t.weight_reverse)),
            };
            let name = format!("FILE_CHECK {file} of {} {of}", rs.ip);
            return (
                Probe::File {
                    file,
                    weight,
                    reverse,
                },
                name,
            );
        }
    };
    (probe, name)
}

fn url(
    vs: &VirtualServer,
    rs: &RealServer,
    ch: &Checker,
    u: &crate::config::model::Url,
    addr: SocketAddr,
    tls: bool,
) -> UrlCheck {
    let vhost = u
        .virtualhost
        .clone()
        .or_else(|| ch.virtualhost.clone())
        .or_else(|| rs.virtualhost.clone())
        .or_else(|| vs.virtualhost.clone());
    // keepalived's SNI: sni_name, else the url's, checker's or virtual server's virtualhost
    let sni = (tls && ch.enable_sni.unwrap_or(false))
        .then(|| {
            ch.sni_name
                .clone()
                .or_else(|| u.virtualhost.clone())
                .or_else(|| ch.virtualhost.clone())
                .or_else(|| vs.virtualhost.clone())
        })
        .flatten();
    let host = vhost.unwrap_or_else(|| http::default_host(addr));
    let mut invalid = None;
    let regex = u.regex.as_ref().and_then(|r| {
        let caseless = u.regex_options.iter().any(|o| o == "caseless");
        let pat = if caseless {
            format!("(?i){r}")
        } else {
            r.clone()
        };
        regex::bytes::Regex::new(&pat)
            .map_err(|err| {
                warn!("{addr}: regex '{r}': {err}; the url fails until it is fixed");
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
        sni,
        tls_compliant: tls && ch.tls_compliant.unwrap_or(false),
    }
}

/// Run one probe (a FILE_CHECK is judged by the runner from the file's value).
pub(crate) async fn run(p: &Probe, run_as: Option<RunAs>) -> Verdict {
    let r = match p {
        Probe::Tcp(t) => tcp::probe(t).await.map_err(|e| e.to_string()),
        Probe::Http(t, urls, proto, tls) => http::probe(t, urls, *proto, tls.as_deref()).await,
        Probe::Smtp(hosts, helo) => smtp::probe(hosts, helo).await,
        Probe::Misc(script, timeout, dynamic) => {
            return misc::probe(script, run_as, *timeout, *dynamic).await
        }
        Probe::Ping(t) => ping::probe(t).await,
        Probe::Udp(t, spec) => udp::probe(t, spec).await,
        Probe::Dns(t, name, qtype) => dns::probe(t, name, *qtype).await,
        Probe::File { .. } => Ok(()),
    };
    match r {
        Ok(()) => Verdict::Up,
        Err(why) => Verdict::Down(why),
    }
}
