//! The VRRP transport: raw IP protocol 112 sockets on one interface. A receiving socket
//! joined to the multicast group (or reading unicast), and a sending socket bound to the
//! instance's source address, so the address in the v3 checksum's pseudo-header is the one
//! the kernel puts in the packet. TTL / hop limit 255 on send; the received TTL is returned
//! for the caller to check (RFC 5798 5.1.1.3: anything else is dropped).
//!
//! IPv4 for now; IPv6 (IPV6_RECVHOPLIMIT / IPV6_RECVPKTINFO) follows.

use super::packet::PROTO_VRRP;
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};
use std::io;
use std::mem::MaybeUninit;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

/// A packet as received: addresses and TTL from its IP header, and the VRRP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ttl: u8,
    pub payload: Vec<u8>,
}

pub struct VrrpSocket {
    rx: Socket,
    tx: Socket,
    src: Ipv4Addr,
}

fn ifindex(ifname: &str) -> io::Result<u32> {
    nix::net::if_::if_nametoindex(ifname)
        .map_err(|e| io::Error::new(io::ErrorKind::NotFound, format!("interface {ifname}: {e}")))
}

impl VrrpSocket {
    /// Sockets for an IPv4 instance on `ifname`, sending from `src`, receiving the
    /// multicast `group` (None: unicast only).
    pub fn open_v4(ifname: &str, src: Ipv4Addr, group: Option<Ipv4Addr>) -> io::Result<Self> {
        let index = ifindex(ifname)?;
        let proto = Some(Protocol::from(i32::from(PROTO_VRRP)));
        let rx = Socket::new(Domain::IPV4, Type::RAW, proto)?;
        rx.bind_device(Some(ifname.as_bytes()))?;
        if let Some(g) = group {
            rx.join_multicast_v4_n(&g, &InterfaceIndexOrAddress::Index(index))?;
        }
        let tx = Socket::new(Domain::IPV4, Type::RAW, proto)?;
        tx.bind_device(Some(ifname.as_bytes()))?;
        tx.bind(&SockAddr::from(SocketAddrV4::new(src, 0)))?;
        tx.set_ttl(255)?;
        tx.set_multicast_ttl_v4(255)?;
        tx.set_multicast_loop_v4(false)?;
        tx.set_multicast_if_v4(&src)?;
        Ok(VrrpSocket { rx, tx, src })
    }

    pub fn source(&self) -> IpAddr {
        IpAddr::V4(self.src)
    }

    /// Send one VRRP message (the kernel adds the IP header).
    pub fn send(&self, payload: &[u8], dst: IpAddr) -> io::Result<()> {
        let n = self
            .tx
            .send_to(payload, &SockAddr::from(SocketAddr::new(dst, 0)))?;
        if n != payload.len() {
            return Err(io::Error::other(format!(
                "sent {n} of {} bytes",
                payload.len()
            )));
        }
        Ok(())
    }

    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.rx.set_read_timeout(t)
    }

    /// Receive one packet. Packets too short to carry an IP header are an error of kind
    /// InvalidData (the caller counts and drops them).
    pub fn recv(&self) -> io::Result<Received> {
        let mut buf = [MaybeUninit::<u8>::uninit(); 2048];
        let (n, _) = self.rx.recv_from(&mut buf)?;
        // SAFETY: recv_from initialised the first n bytes
        let data: Vec<u8> = buf[..n]
            .iter()
            .map(|b| unsafe { b.assume_init() })
            .collect();
        parse_ipv4(&data)
    }
}

/// Split a raw IPv4 packet into its header fields and payload.
pub fn parse_ipv4(data: &[u8]) -> io::Result<Received> {
    let bad = |why: &str| io::Error::new(io::ErrorKind::InvalidData, why.to_string());
    if data.len() < 20 || data[0] >> 4 != 4 {
        return Err(bad("not an IPv4 packet"));
    }
    let ihl = usize::from(data[0] & 0x0f) * 4;
    if ihl < 20 || data.len() < ihl {
        return Err(bad("truncated IPv4 header"));
    }
    let total = usize::from(u16::from_be_bytes([data[2], data[3]]));
    let end = if total >= ihl && total <= data.len() {
        total
    } else {
        data.len()
    };
    Ok(Received {
        src: IpAddr::from([data[12], data[13], data[14], data[15]]),
        dst: IpAddr::from([data[16], data[17], data[18], data[19]]),
        ttl: data[8],
        payload: data[ihl..end].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_header_fields() {
        let mut p = vec![
            0x45, 0, 0, 28, 0, 0, 0, 0, 255, 112, 0, 0, 192, 0, 2, 11, 224, 0, 0, 18,
        ];
        p.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        p.extend_from_slice(&[0xee; 4]); // trailing bytes beyond total length
        let r = parse_ipv4(&p).unwrap();
        assert_eq!(r.src, IpAddr::from([192, 0, 2, 11]));
        assert_eq!(r.dst, IpAddr::from([224, 0, 0, 18]));
        assert_eq!(r.ttl, 255);
        assert_eq!(r.payload, vec![1, 2, 3, 4, 5, 6, 7, 8]);
        assert!(parse_ipv4(&p[..10]).is_err());
        let mut v6 = p.clone();
        v6[0] = 0x60;
        assert!(parse_ipv4(&v6).is_err());
        let mut long_ihl = p.clone();
        long_ihl[0] = 0x4f;
        assert!(parse_ipv4(&long_ihl).is_err());
    }
}
