//! HTTP_GET, byte for byte as keepalived does it: `GET <path> HTTP/1.x` with
//! `User-Agent: KeepAliveClient` and `Host:`, the whole answer read to the end, the status
//! checked against `status_code` (any 2xx when none is given), the body's MD5 against
//! `digest` (over the raw bytes after the headers, not de-chunked: keepalived's genhash
//! computes it the same way), and `regex` searched in the body. Every url must pass.
//! SSL_GET is the same exchange over TLS (see ssl.rs).

use super::ssl;
use super::tcp::{self, Target};
use crate::config::model::{HttpProtocol, StatusRange};
use md5::{Digest, Md5};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A hostile or broken server cannot make a probe hold more than this.
pub(crate) const MAX_RESPONSE: usize = 16 << 20;

#[derive(Clone, Debug)]
pub(crate) struct UrlCheck {
    pub path: String,
    pub digest: Option<String>,
    pub status: Vec<StatusRange>,
    pub host: String,
    pub regex: Option<regex::bytes::Regex>,
    pub regex_no_match: bool,
    pub regex_min_offset: Option<usize>,
    pub regex_max_offset: Option<usize>,
    /// A setting that cannot work (an invalid regex): the url always fails, saying why.
    pub invalid: Option<String>,
    /// SSL_GET with enable_sni: the name sent.
    pub sni: Option<String>,
    /// SSL_GET with tls_compliant: close with a TLS close_notify (else the socket is simply
    /// closed, keepalived's quiet shutdown).
    pub tls_compliant: bool,
}

/// The request bytes.
pub(crate) fn request(path: &str, host: &str, proto: HttpProtocol) -> Vec<u8> {
    let (version, close) = match proto {
        HttpProtocol::Http10 => ("1.0", false),
        HttpProtocol::Http10C => ("1.0", true),
        // the answer is read to its end: the connection must close after it
        HttpProtocol::Http11 => ("1.1", true),
    };
    let mut r =
        format!("GET {path} HTTP/{version}\r\nUser-Agent: KeepAliveClient\r\nHost: {host}\r\n");
    if close {
        r.push_str("Connection: close\r\n");
    }
    r.push_str("\r\n");
    r.into_bytes()
}

/// The Host header keepalived sends without a virtualhost: the address, with the port
/// when it is not 80.
pub(crate) fn default_host(addr: std::net::SocketAddr) -> String {
    let ip = match addr.ip() {
        std::net::IpAddr::V6(a) => format!("[{a}]"),
        a => a.to_string(),
    };
    if addr.port() == 80 {
        ip
    } else {
        format!("{ip}:{}", addr.port())
    }
}

/// Judge one answer; Err(why) on failure.
pub(crate) fn judge(u: &UrlCheck, answer: &[u8]) -> Result<(), String> {
    if let Some(why) = &u.invalid {
        return Err(why.clone());
    }
    let line_end = answer
        .windows(2)
        .position(|w| w == b"\r\n")
        .ok_or("no status line")?;
    let line = String::from_utf8_lossy(&answer[..line_end]);
    let code: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("bad status line '{line}'"))?;
    let ok = if u.status.is_empty() {
        (200..300).contains(&code)
    } else {
        u.status.iter().any(|r| (r.first..=r.last).contains(&code))
    };
    if !ok {
        return Err(format!("status {code}"));
    }
    let body_at = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
        .ok_or("no end of headers")?;
    let body = &answer[body_at..];
    if let Some(want) = &u.digest {
        let got = hex(&Md5::digest(body));
        if !got.eq_ignore_ascii_case(want) {
            return Err(format!("digest {got}, expected {want}"));
        }
    }
    if let Some(re) = &u.regex {
        let from = u.regex_min_offset.unwrap_or(0).min(body.len());
        let to = u
            .regex_max_offset
            .map_or(body.len(), |m| m.min(body.len()))
            .max(from);
        let found = re.is_match(&body[from..to]);
        if found == u.regex_no_match {
            return Err(if found {
                "regex matched (regex_no_match)".into()
            } else {
                "regex not matched".into()
            });
        }
    }
    Ok(())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Send the request and read the answer to its end (or to a TLS close without
/// close_notify, which keepalived also takes as the end).
async fn exchange<S>(s: &mut S, req: &[u8]) -> std::io::Result<Vec<u8>>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    s.write_all(req).await?;
    // read straight into the answer, grown as it comes: a probe in flight holds what it
    // received, not a fixed buffer (thousands can be in flight)
    let mut answer = Vec::with_capacity(1024);
    loop {
        if answer.capacity() - answer.len() < 512 {
            answer.reserve(answer.len().max(1024));
        }
        let n = match s.read_buf(&mut answer).await {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !answer.is_empty() => 0,
            Err(e) => return Err(e),
        };
        if n == 0 {
            break;
        }
        if answer.len() > MAX_RESPONSE {
            return Err(std::io::Error::other("answer larger than 16 MB"));
        }
    }
    Ok(answer)
}

/// Fetch one url (over TLS for SSL_GET) and judge it.
pub(crate) async fn probe_url(
    t: &Target,
    u: &UrlCheck,
    proto: HttpProtocol,
    tls: Option<&Tls>,
) -> Result<(), String> {
    if let Some(why) = &u.invalid {
        return Err(why.clone());
    }
    let req = request(&u.path, &u.host, proto);
    let io = async {
        let mut s = tcp::connect(t).await?;
        match tls {
            None => exchange(&mut s, &req).await,
            Some(Err(why)) => Err(std::io::Error::other(why.clone())),
            Some(Ok(config)) => {
                let name = ssl::server_name(u.sni.as_deref(), t.addr.ip())
                    .map_err(std::io::Error::other)?;
                let mut s = ssl::connect(config.clone(), name, s).await?;
                let answer = exchange(&mut s, &req).await?;
                if u.tls_compliant {
                    let _ = s.shutdown().await;
                }
                Ok(answer)
            }
        }
    };
    let answer = match tcp::within(t.timeout, io).await {
        Ok(Ok(a)) => a,
        Ok(Err(e)) => return Err(e.to_string()),
        Err(_) => return Err(format!("no complete answer within {:?}", t.timeout)),
    };
    judge(u, &answer)
}

/// SSL_GET's client configuration, or why its `SSL` block cannot be used.
pub(crate) type Tls = Result<std::sync::Arc<rustls::ClientConfig>, String>;

/// All urls, in order; the first failure ends the probe.
pub(crate) async fn probe(
    t: &Target,
    urls: &[UrlCheck],
    proto: HttpProtocol,
    tls: Option<&Tls>,
) -> Result<(), String> {
    for u in urls {
        probe_url(t, u, proto, tls)
            .await
            .map_err(|e| format!("{}: {e}", u.path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> UrlCheck {
        UrlCheck {
            path: "/".into(),
            digest: None,
            status: Vec::new(),
            host: "192.0.2.1".into(),
            regex: None,
            regex_no_match: false,
            regex_min_offset: None,
            regex_max_offset: None,
            invalid: None,
            sni: None,
            tls_compliant: false,
        }
    }

    #[test]
    fn request_bytes_as_keepalived_sends_them() {
        assert_eq!(
            request("/health", "192.0.2.1:8080", HttpProtocol::Http10),
            b"GET /health HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 192.0.2.1:8080\r\n\r\n"
        );
        assert!(String::from_utf8(request("/", "h", HttpProtocol::Http11))
            .unwrap()
            .contains(
                "HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nHost: h\r\nConnection: close\r\n\r\n"
            ));
        assert_eq!(
            default_host("[2001:db8::1]:80".parse().unwrap()),
            "[2001:db8::1]"
        );
    }

    #[test]
    fn status_digest_and_regex() {
        let ok = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello";
        assert_eq!(judge(&url(), ok), Ok(()));
        assert!(judge(&url(), b"HTTP/1.0 503 Busy\r\n\r\n").is_err());
        let mut u = url();
        u.status = vec![StatusRange {
            first: 500,
            last: 503,
        }];
        assert_eq!(judge(&u, b"HTTP/1.0 503 Busy\r\n\r\n"), Ok(()));
        let mut u = url();
        // md5("hello")
        u.digest = Some("5d41402abc4b2a76b9719d911017c592".into());
        assert_eq!(judge(&u, ok), Ok(()));
        u.digest = Some("00000000000000000000000000000000".into());
        assert!(judge(&u, ok).unwrap_err().starts_with("digest 5d41402a"));
        // a chunked body is hashed as it came, chunk sizes included (as keepalived)
        let chunked =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
        let mut u = url();
        u.digest = Some(hex(&Md5::digest(b"5\r\nhello\r\n0\r\n\r\n")));
        assert_eq!(judge(&u, chunked), Ok(()));
        let mut u = url();
        u.regex = Some(regex::bytes::Regex::new("hel+o").unwrap());
        assert_eq!(judge(&u, ok), Ok(()));
        u.regex_no_match = true;
        assert!(judge(&u, ok).is_err());
        assert!(judge(&url(), b"garbage").is_err());
    }
}
