//! PING_CHECK: an ICMP (or ICMPv6) echo request, answered by an echo reply within
//! connect_timeout. The probe uses an unprivileged "ping socket" (the kernel matches the
//! replies to the socket) when net.ipv4.ping_group_range allows it, else a raw socket
//! (root / CAP_NET_RAW) that matches replies by identifier and sequence itself. keepalived
//! widens ping_group_range to get ping sockets; ldirector leaves the sysctl alone.

use super::tcp::Target;
use socket2::{Protocol, Socket, Type};
use std::io::{self, Read};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;
use tokio::io::unix::AsyncFd;

const PAYLOAD: usize = 56;
static SEQ: AtomicU16 = AtomicU16::new(1);

fn open(t: &Target) -> io::Result<(Socket, bool)> {
    let domain = t.domain();
    let proto = if t.addr.is_ipv4() {
        Protocol::ICMPV4
    } else {
        Protocol::ICMPV6
    };
    let (s, raw) = match Socket::new(domain, Type::DGRAM.nonblocking(), Some(proto)) {
        Ok(s) => (s, false),
        Err(_) => (
            Socket::new(domain, Type::RAW.nonblocking(), Some(proto))?,
            true,
        ),
    };
    // ICMP has no ports: the source address only
    t.apply(&s, t.bind.map(|b| std::net::SocketAddr::new(b.ip(), 0)))?;
    s.connect(&std::net::SocketAddr::new(t.addr.ip(), 0).into())?;
    Ok((s, raw))
}

fn checksum(b: &[u8]) -> u16 {
    let mut sum: u32 = b
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The echo request (the kernel fills the checksum for ICMPv6 and the identifier for ping
/// sockets).
pub(crate) fn request(v4: bool, id: u16, seq: u16) -> Vec<u8> {
    let mut p = vec![if v4 { 8 } else { 128 }, 0, 0, 0];
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend(b"keepalived check - ".iter().copied().cycle().take(PAYLOAD));
    if v4 {
        let c = checksum(&p);
        p[2..4].copy_from_slice(&c.to_be_bytes());
    }
    p
}

/// Whether a received datagram is the reply to (id, seq). `raw` v4 datagrams start with the
/// IP header; ping sockets' identifiers are the kernel's, so only the sequence is compared.
pub(crate) fn is_reply(v4: bool, raw: bool, id: u16, seq: u16, pkt: &[u8]) -> bool {
    let icmp = if v4 && raw {
        let ihl = usize::from(pkt.first().map_or(0, |b| b & 0x0f)) * 4;
        pkt.get(ihl..).unwrap_or(&[])
    } else {
        pkt
    };
    icmp.len() >= 8
        && icmp[0] == if v4 { 0 } else { 129 }
        && icmp[6..8] == seq.to_be_bytes()
        && (!raw || icmp[4..6] == id.to_be_bytes())
}

pub(crate) async fn probe(t: &Target) -> Result<(), String> {
    let (s, raw) = open(t).map_err(|e| format!("ICMP socket: {e}"))?;
    let v4 = t.addr.is_ipv4();
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let id = std::process::id() as u16;
    // SAFETY: the AsyncFd owns the socket, so the descriptor stays open and the same
    let afd = unsafe { AsyncFd::register(s) }.map_err(|e| e.into_parts().1.to_string())?;
    let io = async {
        afd.get_ref().send(&request(v4, id, seq))?;
        let mut buf = [0u8; 1500];
        loop {
            let mut g = afd.readable().await?;
            match g.try_io(|s| (&mut s.get_ref()).read(&mut buf)) {
                Ok(Ok(n)) if is_reply(v4, raw, id, seq, &buf[..n]) => return Ok(()),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => {}
            }
        }
    };
    match tokio::time::timeout(t.timeout.max(Duration::from_millis(1)), io).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err(format!("no echo reply within {:?}", t.timeout)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_and_reply_bytes() {
        let r = request(true, 0x1234, 7);
        assert_eq!(&r[..8], &[8, 0, r[2], r[3], 0x12, 0x34, 0, 7]);
        assert_eq!(checksum(&r), 0, "a valid checksum sums to zero");
        let mut reply = r.clone();
        reply[0] = 0;
        assert!(is_reply(true, false, 0, 7, &reply));
        assert!(!is_reply(true, false, 0, 8, &reply));
        assert!(!is_reply(true, false, 0, 7, &r), "our own request");
        let mut ip = vec![0x45u8; 20];
        ip.extend_from_slice(&reply);
        assert!(is_reply(true, true, 0x1234, 7, &ip));
        assert!(!is_reply(true, true, 0x1235, 7, &ip));
        let r6 = request(false, 1, 2);
        assert_eq!(r6[0], 128);
        let mut rep6 = r6.clone();
        rep6[0] = 129;
        assert!(is_reply(false, true, 1, 2, &rep6));
    }

    #[tokio::test]
    async fn loopback_answers() {
        let t = Target {
            addr: "127.0.0.1:0".parse().unwrap(),
            bind: None,
            bind_if: None,
            fwmark: None,
            timeout: Duration::from_secs(2),
        };
        assert_eq!(probe(&t).await, Ok(()));
    }
}
