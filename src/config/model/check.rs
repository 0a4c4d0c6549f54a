//! Health checkers and the SSL block (keepalived's check_parser.c, its checker half).

use super::is_false;
use super::*;
use crate::config::types::{FileCheckWeight, Script, Secs};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CheckKind {
    #[serde(rename = "TCP_CHECK")]
    Tcp,
    #[serde(rename = "HTTP_GET")]
    HttpGet,
    #[serde(rename = "SSL_GET")]
    SslGet,
    #[serde(rename = "SMTP_CHECK")]
    Smtp,
    #[serde(rename = "MISC_CHECK")]
    Misc,
    #[serde(rename = "DNS_CHECK")]
    Dns,
    #[serde(rename = "UDP_CHECK")]
    Udp,
    #[serde(rename = "PING_CHECK")]
    Ping,
    #[serde(rename = "FILE_CHECK")]
    File,
}

impl CheckKind {
    pub fn keyword(self) -> &'static str {
        match self {
            CheckKind::Tcp => "TCP_CHECK",
            CheckKind::HttpGet => "HTTP_GET",
            CheckKind::SslGet => "SSL_GET",
            CheckKind::Smtp => "SMTP_CHECK",
            CheckKind::Misc => "MISC_CHECK",
            CheckKind::Dns => "DNS_CHECK",
            CheckKind::Udp => "UDP_CHECK",
            CheckKind::Ping => "PING_CHECK",
            CheckKind::File => "FILE_CHECK",
        }
    }
    /// The checker keyword keepalived.conf uses (`TCP_CHECK`...).
    pub fn from_keyword(kw: &str) -> Option<CheckKind> {
        Some(match kw {
            "TCP_CHECK" => CheckKind::Tcp,
            "HTTP_GET" => CheckKind::HttpGet,
            "SSL_GET" => CheckKind::SslGet,
            "SMTP_CHECK" => CheckKind::Smtp,
            "MISC_CHECK" => CheckKind::Misc,
            "DNS_CHECK" => CheckKind::Dns,
            "UDP_CHECK" => CheckKind::Udp,
            "PING_CHECK" => CheckKind::Ping,
            "FILE_CHECK" => CheckKind::File,
            _ => return None,
        })
    }

    pub fn is_http(self) -> bool {
        matches!(self, CheckKind::HttpGet | CheckKind::SslGet)
    }
    /// Checkers that open a connection (and so take connect_* / bind* options).
    pub fn connects(self) -> bool {
        !matches!(self, CheckKind::Misc | CheckKind::File)
    }
}

/// Options of an HTTP_GET / SSL_GET `url { }` block.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Url {
    pub path: String,
    /// MD5 of the body, lower-case hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Accepted status codes; empty: 200-299.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub status_code: Vec<StatusRange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtualhost: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub regex_no_match: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub regex_options: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regex_min_offset: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regex_max_offset: Option<u32>,
}

/// An HTTP status code or a range of them (`200`, `300-399`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StatusRange {
    pub first: u16,
    pub last: u16,
}

impl FromStr for StatusRange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let one = |v: &str| crate::config::types::parse_int::<u16>(v, 100, 599);
        let (first, last) = match s.split_once('-') {
            Some((a, b)) => (one(a)?, one(b)?),
            None => (one(s)?, one(s)?),
        };
        if last < first {
            return Err(format!("status code range '{s}' ends before it starts"));
        }
        Ok(StatusRange { first, last })
    }
}

impl fmt::Display for StatusRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

impl Serialize for StatusRange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.first == self.last {
            s.serialize_u16(self.first)
        } else {
            s.collect_str(self)
        }
    }
}

impl<'de> Deserialize<'de> for StatusRange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum F {
            N(i64),
            S(String),
        }
        match F::deserialize(d)
            .map_err(|_| serde::de::Error::custom("expected a status code or \"200-299\""))?
        {
            F::N(n) => n.to_string().parse(),
            F::S(s) => s.parse(),
        }
        .map_err(serde::de::Error::custom)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HttpProtocol {
    #[serde(rename = "1.0")]
    Http10,
    /// HTTP/1.0 with `Connection: close`.
    #[serde(rename = "1.0C")]
    Http10C,
    #[serde(rename = "1.1")]
    Http11,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DnsType {
    A,
    NS,
    CNAME,
    SOA,
    MX,
    TXT,
    AAAA,
}

/// An SMTP_CHECK `host { }` block: another address to check with the same dialogue.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectOptions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_ip: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bindto: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind_if: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fwmark: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<Secs>,
}

/// One health checker of a real server. `type` says which; options that do not apply to
/// the type are refused by validation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checker {
    #[serde(rename = "type")]
    pub kind: CheckKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_ip: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bindto: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_if: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fwmark: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<Secs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_loop: Option<Secs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_before_retry: Option<Secs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup: Option<Secs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_all_failures: Option<bool>,
    // HTTP_GET / SSL_GET
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub url: Vec<Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtualhost: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_protocol: Option<HttpProtocol>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_sni: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sni_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fast_recovery: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_compliant: Option<bool>,
    /// Name of the `SSL` block (keepalived has one, unnamed: "default").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl: Option<String>,
    // SMTP_CHECK
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helo_name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub host: Vec<ConnectOptions>,
    // MISC_CHECK
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub misc_path: Option<Script>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub misc_timeout: Option<Secs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub misc_dynamic: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    // DNS_CHECK
    #[serde(default, rename = "dns_type", skip_serializing_if = "Option::is_none")]
    pub dns_type: Option<DnsType>,
    #[serde(default, rename = "dns_name", skip_serializing_if = "Option::is_none")]
    pub dns_name: Option<String>,
    // UDP_CHECK
    /// Hex bytes sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// Hex bytes (with `?` wildcards) the reply must start with; `true`-like when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_reply: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_reply_length: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_reply_length: Option<u32>,
    // FILE_CHECK
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<FileCheckWeight>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub weight_reverse: bool,
    /// Computed: timers after inheritance and defaults.
    #[serde(skip_deserializing)]
    pub effective: CheckEffective,
}

impl Checker {
    pub fn new(kind: CheckKind) -> Self {
        Checker {
            kind,
            connect_ip: None,
            connect_port: None,
            bindto: None,
            bind_port: None,
            bind_if: None,
            fwmark: None,
            connect_timeout: None,
            delay_loop: None,
            retry: None,
            delay_before_retry: None,
            warmup: None,
            alpha: None,
            log_all_failures: None,
            url: Vec::new(),
            virtualhost: None,
            http_protocol: None,
            enable_sni: None,
            sni_name: None,
            fast_recovery: None,
            tls_compliant: None,
            ssl: None,
            helo_name: None,
            host: Vec::new(),
            misc_path: None,
            misc_timeout: None,
            misc_dynamic: None,
            user: None,
            dns_type: None,
            dns_name: None,
            payload: None,
            require_reply: None,
            min_reply_length: None,
            max_reply_length: None,
            track_file: None,
            weight: None,
            weight_reverse: false,
            effective: CheckEffective::default(),
        }
    }
}

/// What a checker runs with.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CheckEffective {
    pub delay_loop: Secs,
    pub connect_timeout: Secs,
    pub retry: u32,
    pub delay_before_retry: Secs,
    /// Upper bound of the random delay before the first check.
    pub warmup: Secs,
    pub alpha: bool,
    pub log_all_failures: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_ip: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_port: Option<u16>,
}

/// The `SSL { }` block: client certificate and CA for SSL_GET.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SslConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// ldirector: verify the real server's certificate against `ca` (keepalived never does).
    #[serde(skip_serializing_if = "is_false")]
    pub verify: bool,
}
