//! UDP_CHECK, as keepalived: a datagram (`payload`, else 32 bytes of "keepalived check - ")
//! is sent on a connected socket; an ICMP unreachable (ECONNREFUSED, EHOSTUNREACH...) is a
//! failure; no answer within connect_timeout is success unless `require_reply` is set. With
//! `require_reply`, the answer must arrive, its length be within
//! [min_reply_length, max_reply_length] (0..255 by default) and its first bytes match the
//! pattern (`?` nibbles match anything). keepalived checks the lengths only when a pattern is
//! given; ldirector checks them whenever require_reply is set, as the words say.

use super::tcp::Target;
use socket2::{Protocol, Socket, Type};
use std::io;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Spec {
    pub payload: Vec<u8>,
    /// None: no reply needed. Some(pattern): (value, mask of the bits that must match).
    pub require_reply: Option<Vec<(u8, u8)>>,
    pub min_len: usize,
    pub max_len: usize,
}

/// keepalived's filler when no payload is configured.
pub(crate) fn default_payload() -> Vec<u8> {
    b"keepalived check - "
        .iter()
        .copied()
        .cycle()
        .take(32)
        .collect()
}

/// Bytes of a hex string as the config model stores it (pairs of hex digits).
pub(crate) fn hex_bytes(s: &str) -> Vec<u8> {
    hex_pattern(s).into_iter().map(|(v, _)| v).collect()
}

/// A hex pattern (`?` for a nibble that matches anything): (value, mask of the bits that
/// must match) per byte.
pub(crate) fn hex_pattern(s: &str) -> Vec<(u8, u8)> {
    let nib = |c: u8| -> (u8, u8) {
        match (c as char).to_digit(16) {
            Some(d) => (d as u8, 0xf),
            None => (0, 0),
        }
    };
    s.as_bytes()
        .chunks(2)
        .map(|p| {
            let (h, hm) = nib(p[0]);
            let (l, lm) = p.get(1).map_or((0, 0), |&c| nib(c));
            ((h << 4) | l, (hm << 4) | lm)
        })
        .collect()
}

/// Whether a reply satisfies the spec (Err: why not).
pub(crate) fn judge(spec: &Spec, reply: &[u8]) -> Result<(), String> {
    let Some(pattern) = &spec.require_reply else {
        return Ok(());
    };
    if reply.len() < spec.min_len || reply.len() > spec.max_len {
        return Err(format!(
            "reply of {} bytes, outside {}..={}",
            reply.len(),
            spec.min_len,
            spec.max_len
        ));
    }
    for (i, (&got, &(want, mask))) in reply.iter().zip(pattern).enumerate() {
        if (got ^ want) & mask != 0 {
            return Err(format!("reply byte {i} is {got:02x}, expected {want:02x}"));
        }
    }
    Ok(())
}

/// A UDP socket with the generic options, connected to the target.
pub(crate) fn socket(t: &Target) -> io::Result<tokio::net::UdpSocket> {
    let s = Socket::new(t.domain(), Type::DGRAM.nonblocking(), Some(Protocol::UDP))?;
    t.apply(&s, t.bind)?;
    s.connect(&t.addr.into())?;
    tokio::net::UdpSocket::from_std(std::net::UdpSocket::from(s))
}

pub(crate) async fn probe(t: &Target, spec: &Spec) -> Result<(), String> {
    let s = socket(t).map_err(|e| e.to_string())?;
    s.send(&spec.payload).await.map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; spec.max_len.max(1) + 1];
    match tokio::time::timeout(t.timeout.max(Duration::from_millis(1)), s.recv(&mut buf)).await {
        Ok(Ok(n)) => judge(spec, &buf[..n]),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) if spec.require_reply.is_some() => Err(format!("no reply within {:?}", t.timeout)),
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(pattern: Option<&str>) -> Spec {
        Spec {
            payload: default_payload(),
            require_reply: pattern.map(hex_pattern),
            min_len: 0,
            max_len: 255,
        }
    }

    #[test]
    fn patterns_and_lengths() {
        assert_eq!(default_payload().len(), 32);
        assert_eq!(&default_payload()[19..24], b"keepa");
        assert_eq!(hex_bytes("0aff"), vec![0x0a, 0xff]);
        let s = spec(Some("01??ff"));
        assert_eq!(judge(&s, &[1, 7, 0xff, 9]), Ok(()));
        assert!(judge(&s, &[2, 7, 0xff]).is_err());
        assert!(judge(&s, &[1, 7, 0xfe]).is_err());
        // a half wildcard
        let s = spec(Some("1?"));
        assert_eq!(judge(&s, &[0x1c]), Ok(()));
        assert!(judge(&s, &[0x2c]).is_err());
        let mut s = spec(Some(""));
        s.min_len = 4;
        assert!(judge(&s, &[1, 2]).is_err());
        assert_eq!(judge(&spec(None), &[]), Ok(()));
    }

    #[tokio::test]
    async fn echo_silence_and_refusal() {
        let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let t = Target {
            addr: silent.local_addr().unwrap(),
            bind: None,
            bind_if: None,
            fwmark: None,
            timeout: Duration::from_millis(300),
        };
        // silence: fine without require_reply, a failure with it
        assert_eq!(probe(&t, &spec(None)).await, Ok(()));
        assert!(probe(&t, &spec(Some(""))).await.is_err());
        let srv = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let t = Target {
            addr: srv.local_addr().unwrap(),
            ..t
        };
        let echo = tokio::spawn(async move {
            let mut b = [0u8; 64];
            for _ in 0..2 {
                let (n, from) = srv.recv_from(&mut b).await.unwrap();
                srv.send_to(&b[..n], from).await.unwrap();
            }
        });
        assert_eq!(probe(&t, &spec(Some("6b65"))).await, Ok(()), "'ke'");
        assert!(probe(&t, &spec(Some("00"))).await.is_err());
        echo.await.unwrap();
        // port closed: the ICMP port unreachable fails the check at once
        let closed = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let t2 = Target {
            addr: closed.local_addr().unwrap(),
            ..t
        };
        drop(closed);
        assert!(probe(&t2, &spec(None)).await.is_err());
    }
}
