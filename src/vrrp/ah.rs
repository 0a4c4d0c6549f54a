//! VRRPv2 with the IP Authentication Header (RFC 2402, RFC 2338 section 5.3.6.2), as
//! keepalived sends it (`authentication { auth_type AH }`): IPv4 only, HMAC-MD5-96 keyed
//! with the 8 bytes of `auth_pass` (zero-padded), the SPI the sender's address, and a
//! sequence number that replaces the password as the guard against replays. Sans-IO: the
//! whole IPv4 packet is built here (the socket sends it with IP_HDRINCL, because the ICV
//! covers the IP header) and checked here on receipt.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version|  IHL  |Type of Service|          Total Length         |  IPv4, 20 bytes
//! |         Identification        |Flags|      Fragment Offset    |  (no options)
//! |  Time to Live |  Protocol 51  |         Header Checksum       |
//! |                       Source Address                          |
//! |                    Destination Address                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Next Hdr 112  |  Payload Len 4|          RESERVED             |  AH, 24 bytes
//! |             Security Parameters Index (source address)        |
//! |                        Sequence Number                        |
//! |                 ICV: HMAC-MD5 truncated to 96 bits            |
//! |                                                               |
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |            VRRPv2 advertisement (auth type 2, auth data 0)    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! The ICV is computed over the whole packet with the ICV field zeroed and the header
//! fields a router may change zeroed: type of service, fragment offset and checksum — and
//! the TTL too for unicast (a routed peer sees it decremented), as keepalived does.

use super::packet::PROTO_VRRP;
use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;
use std::net::Ipv4Addr;

/// IP protocol number of the Authentication Header.
pub(crate) const PROTO_AH: u8 = 51;
pub(crate) const IP_LEN: usize = 20;
pub(crate) const AH_LEN: usize = 24;
/// AH's length in 32-bit words, minus 2 (RFC 2402 section 2.2).
const PAYLOAD_LEN: u8 = (AH_LEN / 4 - 2) as u8;
const ICV_LEN: usize = 12;

// IPv4 header fields
const IP_TOS: usize = 1;
const IP_TOTAL_LEN: usize = 2;
const IP_ID: usize = 4;
const IP_FRAG: usize = 6;
const IP_TTL: usize = 8;
const IP_PROTO: usize = 9;
const IP_CHECKSUM: usize = 10;
const IP_SRC: usize = 12;
const IP_DST: usize = 16;
// AH fields, from the start of AH
const AH_NEXT: usize = 0;
const AH_PAYLOAD_LEN: usize = 1;
const AH_SPI: usize = 4;
const AH_SEQ: usize = 8;
const AH_ICV: usize = 12;

/// The key: `auth_pass`'s first 8 bytes, zero-padded (keepalived's `auth_data`).
pub(crate) type Key = [u8; 8];

/// What the sender puts in the IP header.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Header {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub ttl: u8,
    /// Never 0 (the kernel would choose one after the ICV was computed).
    pub id: u16,
    pub seq: u32,
    /// A unicast advert: the TTL is left out of the ICV.
    pub unicast: bool,
}

/// Why a packet failed the AH checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AhError {
    TooShort,
    /// AH protecting another protocol (not ours to read).
    NotVrrp,
    /// The ICV does not match: another key, or a changed packet.
    BadIcv,
    /// The SPI is not the sender's address.
    BadSpi,
}

/// HMAC-MD5-96 over the IPv4 header `ip` and what follows it (`rest`, starting with AH),
/// with the mutable fields and the ICV taken as zero.
fn icv(key: &Key, ip: &[u8], rest: &[u8], ttl_mutable: bool) -> [u8; ICV_LEN] {
    let mut head = [0u8; 60];
    let ip = &ip[..ip.len().min(60)];
    let head = &mut head[..ip.len()];
    head.copy_from_slice(ip);
    head[IP_TOS] = 0;
    head[IP_FRAG] = 0;
    head[IP_FRAG + 1] = 0;
    head[IP_CHECKSUM] = 0;
    head[IP_CHECKSUM + 1] = 0;
    if ttl_mutable {
        head[IP_TTL] = 0;
    }
    // HMAC takes any key length; keepalived's is always 8 bytes
    let Ok(mut mac) = <Hmac<Md5> as KeyInit>::new_from_slice(key) else {
        return [0; ICV_LEN];
    };
    mac.update(head);
    mac.update(&rest[..AH_ICV]);
    mac.update(&[0u8; ICV_LEN]);
    mac.update(&rest[AH_LEN..]);
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; ICV_LEN];
    out.copy_from_slice(&full[..ICV_LEN]);
    out
}

/// The IPv4 packet carrying `vrrp` under AH, written into `out` (cleared first).
pub(crate) fn seal(h: &Header, key: &Key, vrrp: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let total = IP_LEN + AH_LEN + vrrp.len();
    out.resize(IP_LEN + AH_LEN, 0);
    out[0] = 0x45;
    out[IP_TOTAL_LEN..IP_TOTAL_LEN + 2].copy_from_slice(&(total as u16).to_be_bytes());
    out[IP_ID..IP_ID + 2].copy_from_slice(&h.id.to_be_bytes());
    out[IP_TTL] = h.ttl;
    out[IP_PROTO] = PROTO_AH;
    out[IP_SRC..IP_SRC + 4].copy_from_slice(&h.src.octets());
    out[IP_DST..IP_DST + 4].copy_from_slice(&h.dst.octets());
    let ah = IP_LEN;
    out[ah + AH_NEXT] = PROTO_VRRP;
    out[ah + AH_PAYLOAD_LEN] = PAYLOAD_LEN;
    out[ah + AH_SPI..ah + AH_SPI + 4].copy_from_slice(&h.src.octets());
    out[ah + AH_SEQ..ah + AH_SEQ + 4].copy_from_slice(&h.seq.to_be_bytes());
    out.extend_from_slice(vrrp);
    let sum = icv(key, &out[..IP_LEN], &out[IP_LEN..], h.unicast);
    out[ah + AH_ICV..ah + AH_ICV + ICV_LEN].copy_from_slice(&sum);
}

/// A received packet checked under `key`: its IPv4 header `ip` (as received, options
/// included) and the rest, from AH on. Returns the sequence number and where the VRRP
/// message starts in `rest`. The replay check (sequence number above the last seen) is
/// the caller's: it owns the counter.
pub(crate) fn open(
    ip: &[u8],
    rest: &[u8],
    key: &Key,
    unicast: bool,
) -> Result<(u32, usize), AhError> {
    if ip.len() < IP_LEN || rest.len() < AH_LEN {
        return Err(AhError::TooShort);
    }
    if rest[AH_NEXT] != PROTO_VRRP {
        return Err(AhError::NotVrrp);
    }
    let want = icv(key, ip, rest, unicast);
    // constant time: the ICV is a secret's image
    let diff = rest[AH_ICV..AH_LEN]
        .iter()
        .zip(want)
        .fold(0u8, |d, (a, b)| d | (a ^ b));
    if diff != 0 {
        return Err(AhError::BadIcv);
    }
    if rest[AH_SPI..AH_SPI + 4] != ip[IP_SRC..IP_SRC + 4] {
        return Err(AhError::BadSpi);
    }
    let seq = u32::from_be_bytes([
        rest[AH_SEQ],
        rest[AH_SEQ + 1],
        rest[AH_SEQ + 2],
        rest[AH_SEQ + 3],
    ]);
    Ok((seq, AH_LEN))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(seq: u32) -> Header {
        Header {
            src: Ipv4Addr::new(192, 0, 2, 1),
            dst: Ipv4Addr::new(224, 0, 0, 18),
            ttl: 255,
            id: 7,
            seq,
            unicast: false,
        }
    }

    #[test]
    fn sealed_packets_open_with_the_same_key_only() {
        let key: Key = *b"secret\0\0";
        let vrrp = [
            0x21, 51, 100, 1, 2, 1, 0, 0, 192, 0, 2, 100, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let mut p = Vec::new();
        seal(&header(41), &key, &vrrp, &mut p);
        assert_eq!(p.len(), IP_LEN + AH_LEN + vrrp.len());
        assert_eq!(p[IP_PROTO], PROTO_AH);
        assert_eq!(&p[IP_LEN + AH_SPI..IP_LEN + AH_SPI + 4], &[192, 0, 2, 1]);
        assert_eq!(
            open(&p[..IP_LEN], &p[IP_LEN..], &key, false),
            Ok((41, AH_LEN))
        );
        assert_eq!(&p[IP_LEN + AH_LEN..], &vrrp);
        assert_eq!(
            open(&p[..IP_LEN], &p[IP_LEN..], b"other\0\0\0", false),
            Err(AhError::BadIcv)
        );
        // what a router or the kernel may change is outside the ICV
        let mut q = p.clone();
        q[IP_TOS] = 0x10;
        q[IP_CHECKSUM] = 0xab;
        q[IP_FRAG] = 0x40; // DF
        assert_eq!(
            open(&q[..IP_LEN], &q[IP_LEN..], &key, false),
            Ok((41, AH_LEN))
        );
        // multicast: the TTL is covered; unicast: not
        q[IP_TTL] = 254;
        assert_eq!(
            open(&q[..IP_LEN], &q[IP_LEN..], &key, false),
            Err(AhError::BadIcv)
        );
        let mut u = Vec::new();
        seal(
            &Header {
                unicast: true,
                ..header(1)
            },
            &key,
            &vrrp,
            &mut u,
        );
        u[IP_TTL] = 60;
        assert!(open(&u[..IP_LEN], &u[IP_LEN..], &key, true).is_ok());
        // any other change is refused
        for at in [IP_ID, IP_SRC + 3, IP_LEN + AH_SEQ + 3, IP_LEN + AH_LEN + 2] {
            let mut r = p.clone();
            r[at] ^= 1;
            assert_eq!(
                open(&r[..IP_LEN], &r[IP_LEN..], &key, false),
                Err(AhError::BadIcv),
                "byte {at}"
            );
        }
        let mut r = p.clone();
        r[IP_LEN + AH_NEXT] = 6;
        assert_eq!(
            open(&r[..IP_LEN], &r[IP_LEN..], &key, false),
            Err(AhError::NotVrrp)
        );
        assert_eq!(
            open(&p[..IP_LEN], &p[IP_LEN..30], &key, false),
            Err(AhError::TooShort)
        );
    }

    /// RFC 2104's HMAC-MD5 test vector 2 ("Jefe"), through the same construction.
    #[test]
    fn hmac_md5_is_rfc_2104() {
        let mut mac = <Hmac<Md5> as KeyInit>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let d = mac.finalize().into_bytes();
        let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "750c783e6ab0b503eaa86e310a5db738");
    }
}
