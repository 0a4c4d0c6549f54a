//! DNS_CHECK, as keepalived: one query over UDP (recursion desired, class IN, `type`
//! default SOA, `name` default the root), answered within connect_timeout by a response
//! with the query's ID and rcode 0. Answers with another ID, or queries, are ignored while
//! waiting (a spoofed or stray datagram cannot fail the check, nor pass it).

use super::tcp::Target;
use super::udp;
use crate::config::model::DnsType;
use std::time::Duration;

pub(crate) fn qtype(t: DnsType) -> u16 {
    match t {
        DnsType::A => 1,
        DnsType::NS => 2,
        DnsType::CNAME => 5,
        DnsType::SOA => 6,
        DnsType::MX => 15,
        DnsType::TXT => 16,
        DnsType::AAAA => 28,
    }
}

/// The query datagram (Err: a label longer than 63 bytes or a name over 255).
pub(crate) fn query(id: u16, name: &str, qtype: u16) -> Result<Vec<u8>, String> {
    let mut q = Vec::with_capacity(32 + name.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&0x0100u16.to_be_bytes()); // RD
    q.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.').filter(|l| !l.is_empty()) {
        if label.len() > 63 {
            return Err(format!("label '{label}' is longer than 63 bytes"));
        }
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    if q.len() - 12 > 255 {
        return Err(format!("name '{name}' is longer than 255 bytes"));
    }
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    Ok(q)
}

/// What an incoming datagram means for the query `id`: None (not our answer: keep
/// waiting), Some(Ok) success, Some(Err) the server answered with an error.
pub(crate) fn judge(id: u16, answer: &[u8]) -> Option<Result<(), String>> {
    if answer.len() < 12 || answer[..2] != id.to_be_bytes() || answer[2] & 0x80 == 0 {
        return None;
    }
    match answer[3] & 0x0f {
        0 => Some(Ok(())),
        rc => Some(Err(format!(
            "rcode {rc} ({})",
            match rc {
                1 => "FORMERR",
                2 => "SERVFAIL",
                3 => "NXDOMAIN",
                4 => "NOTIMP",
                5 => "REFUSED",
                _ => "error",
            }
        ))),
    }
}

pub(crate) async fn probe(t: &Target, name: &str, qtype: u16) -> Result<(), String> {
    let id: u16 = rand_id();
    let q = query(id, name, qtype)?;
    let s = udp::socket(t).map_err(|e| e.to_string())?;
    let io = async {
        s.send(&q).await.map_err(|e| e.to_string())?;
        let mut buf = [0u8; 768];
        loop {
            let n = s.recv(&mut buf).await.map_err(|e| e.to_string())?;
            if let Some(r) = judge(id, &buf[..n]) {
                return r;
            }
        }
    };
    tokio::time::timeout(t.timeout.max(Duration::from_millis(1)), io)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {:?}", t.timeout)))
}

fn rand_id() -> u16 {
    let mut b = [0u8; 2];
    // a failure (no entropy source) leaves ID 0, which only weakens resistance to
    // spoofed answers
    let _ = getrandom::getrandom(&mut b);
    u16::from_ne_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_bytes() {
        let q = query(0x1234, "www.example.org", 1).unwrap();
        assert_eq!(&q[..12], &[0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&q[12..], b"\x03www\x07example\x03org\x00\x00\x01\x00\x01");
        // the root, keepalived's default name
        assert_eq!(&query(1, "", 6).unwrap()[12..], &[0, 0, 6, 0, 1]);
        assert_eq!(&query(1, ".", 6).unwrap()[12..], &[0, 0, 6, 0, 1]);
        assert!(query(1, &"a".repeat(64), 1).is_err());
    }

    #[test]
    fn answers() {
        let mut a = query(7, "x", 1).unwrap();
        assert_eq!(judge(7, &a), None, "a query is not an answer");
        a[2] |= 0x80;
        assert_eq!(judge(7, &a), Some(Ok(())));
        assert_eq!(judge(8, &a), None, "another id");
        a[3] |= 5;
        assert!(judge(7, &a).unwrap().unwrap_err().contains("REFUSED"));
        assert_eq!(judge(7, &a[..5]), None);
    }
}
