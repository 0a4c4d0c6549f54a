//! The VRRP transport: raw IP protocol 112 sockets on one interface. A receiving socket
//! joined to the multicast group (or reading unicast), and a sending socket bound to the
//! instance's source address, so the address in the v3 checksum's pseudo-header is the one
//! the kernel puts in the packet. TTL / hop limit 255 on send; the received TTL is returned
//! for the caller to check (RFC 5798 5.1.1.3: anything else is dropped).
//!
//! IPv6 raw sockets do not deliver the IP header: the hop limit and the destination come
//! from IPV6_HOPLIMIT and IPV6_PKTINFO control messages.

use super::packet::PROTO_VRRP;
use socket2::{
    Domain, InterfaceIndexOrAddress, MaybeUninitSlice, MsgHdrMut, Protocol, SockAddr, Socket, Type,
};
use std::io;
use std::mem::MaybeUninit;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::time::Duration;

// Linux <netinet/in.h>: control message types of level IPPROTO_IPV6.
const IPPROTO_IPV6: i32 = 41;
const IPV6_PKTINFO: i32 = 50;
const IPV6_HOPLIMIT: i32 = 52;

/// A packet as received: addresses and TTL from its IP header, and the VRRP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ttl: u8,
    /// The IPv4 header as received (AH's ICV covers it); empty for IPv6.
    pub ip_header: Vec<u8>,
    pub payload: Vec<u8>,
}

pub struct VrrpSocket {
    rx: Socket,
    tx: Socket,
    src: IpAddr,
    /// The interface: the scope of IPv6 link-local and multicast destinations.
    index: u32,
}

fn ifindex(ifname: &str) -> io::Result<u32> {
    nix::net::if_::if_nametoindex(ifname)
        .map_err(|e| io::Error::new(io::ErrorKind::NotFound, format!("interface {ifname}: {e}")))
}

impl VrrpSocket {
    /// Sockets for an IPv4 instance on `ifname`, sending from `src`, receiving the
    /// multicast `group` (None: unicast only). With `ah`, both speak IP protocol 51 (AH)
    /// and the sender writes the IP header itself (IP_HDRINCL: the ICV covers it).
    pub fn open_v4(
        ifname: &str,
        src: Ipv4Addr,
        group: Option<Ipv4Addr>,
        ah: bool,
    ) -> io::Result<Self> {
        let index = ifindex(ifname)?;
        let proto = Some(Protocol::from(i32::from(if ah {
            super::ah::PROTO_AH
        } else {
            PROTO_VRRP
        })));
        let rx = Socket::new(Domain::IPV4, Type::RAW, proto)?;
        rx.bind_device(Some(ifname.as_bytes()))?;
        if let Some(g) = group {
            rx.join_multicast_v4_n(&g, &InterfaceIndexOrAddress::Index(index))?;
        }
        let tx = Socket::new(Domain::IPV4, Type::RAW, proto)?;
        tx.bind_device(Some(ifname.as_bytes()))?;
        // a configured source address may be missing for now (track_src_ip keeps the
        // instance in FAULT until it is there): bind to it all the same
        tx.set_freebind(true)?;
        tx.bind(&SockAddr::from(SocketAddrV4::new(src, 0)))?;
        if ah {
            tx.set_header_included_v4(true)?;
        }
        tx.set_ttl(255)?;
        tx.set_multicast_ttl_v4(255)?;
        tx.set_multicast_loop_v4(false)?;
        // by address, so only once it exists; the bound device sends meanwhile
        let _ = tx.set_multicast_if_v4(&src);
        Ok(VrrpSocket {
            rx,
            tx,
            src: IpAddr::V4(src),
            index,
        })
    }

    /// Sockets for an IPv6 instance on `ifname`, sending from `src` (the interface's
    /// link-local address, as RFC 5798 requires), receiving the multicast `group`.
    pub fn open_v6(ifname: &str, src: Ipv6Addr, group: Option<Ipv6Addr>) -> io::Result<Self> {
        let index = ifindex(ifname)?;
        let proto = Some(Protocol::from(i32::from(PROTO_VRRP)));
        let rx = Socket::new(Domain::IPV6, Type::RAW, proto)?;
        rx.bind_device(Some(ifname.as_bytes()))?;
        rx.set_recv_hoplimit_v6(true)?;
        nix::sys::socket::setsockopt(&rx, nix::sys::socket::sockopt::Ipv6RecvPacketInfo, &true)
            .map_err(io::Error::from)?;
        if let Some(g) = group {
            rx.join_multicast_v6(&g, index)?;
        }
        let tx = Socket::new(Domain::IPV6, Type::RAW, proto)?;
        tx.bind_device(Some(ifname.as_bytes()))?;
        let scope = if src.is_unicast_link_local() {
            index
        } else {
            0
        };
        tx.set_freebind_ipv6(true)?;
        tx.bind(&SockAddr::from(SocketAddrV6::new(src, 0, 0, scope)))?;
        tx.set_unicast_hops_v6(255)?;
        tx.set_multicast_hops_v6(255)?;
        tx.set_multicast_loop_v6(false)?;
        tx.set_multicast_if_v6(index)?;
        Ok(VrrpSocket {
            rx,
            tx,
            src: IpAddr::V6(src),
            index,
        })
    }

    /// Sockets handed over by a predecessor (`ldirector upgrade`): `rx` and `tx` as
    /// [`VrrpSocket::dup_fds`] gave them, for an instance sending from `src` on `ifname`.
    pub fn from_fds(
        rx: std::os::fd::OwnedFd,
        tx: std::os::fd::OwnedFd,
        src: IpAddr,
        ifname: &str,
    ) -> io::Result<Self> {
        let index = ifindex(ifname)?;
        Ok(VrrpSocket {
            rx: Socket::from(rx),
            tx: Socket::from(tx),
            src,
            index,
        })
    }

    /// Duplicates of the receiving and sending sockets (close-on-exec, as every
    /// descriptor here: the hand-over clears it on those it passes).
    pub fn dup_fds(&self) -> io::Result<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)> {
        Ok((self.rx.try_clone()?.into(), self.tx.try_clone()?.into()))
    }

    pub fn source(&self) -> IpAddr {
        self.src
    }

    /// Send one VRRP message (the kernel adds the IP header; for AH it is in `payload`).
    pub fn send(&self, payload: &[u8], dst: IpAddr) -> io::Result<()> {
        let to = match dst {
            // link-scoped destinations need the interface as their scope
            IpAddr::V6(d) if d.is_multicast() || d.is_unicast_link_local() => {
                SocketAddr::V6(SocketAddrV6::new(d, 0, 0, self.index))
            }
            d => SocketAddr::new(d, 0),
        };
        let n = self.tx.send_to(payload, &SockAddr::from(to))?;
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

    /// TTL / hop limit of unicast adverts (keepalived's unicast_ttl; multicast stays 255).
    pub fn set_unicast_ttl(&self, ttl: u8) -> io::Result<()> {
        if self.src.is_ipv6() {
            self.tx.set_unicast_hops_v6(u32::from(ttl))
        } else {
            self.tx.set_ttl(u32::from(ttl))
        }
    }

    /// Non-blocking reads, for an event loop that polls [`VrrpSocket::rx_fd`].
    pub fn set_nonblocking(&self) -> io::Result<()> {
        self.rx.set_nonblocking(true)
    }

    /// The receiving socket, for readiness polling.
    pub fn rx_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        std::os::fd::AsFd::as_fd(&self.rx)
    }

    /// Receive one packet. Packets too short to carry an IP header are an error of kind
    /// InvalidData (the caller counts and drops them).
    pub fn recv(&self) -> io::Result<Received> {
        if self.src.is_ipv6() {
            return self.recv_v6();
        }
        // the IPv4 header carries the source: a plain read will do
        let mut buf = [0u8; 2048];
        let n = std::io::Read::read(&mut &self.rx, &mut buf)?;
        parse_ipv4(&buf[..n])
    }
}

impl VrrpSocket {
    fn recv_v6(&self) -> io::Result<Received> {
        let mut data = [MaybeUninit::<u8>::uninit(); 2048];
        let mut control = [MaybeUninit::<u8>::uninit(); 128];
        let mut from = SockAddr::from(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 0, 0, 0));
        let mut bufs = [MaybeUninitSlice::new(&mut data)];
        let (n, clen) = {
            let mut msg = MsgHdrMut::new()
                .with_addr(&mut from)
                .with_buffers(&mut bufs)
                .with_control(&mut control);
            let n = self.rx.recvmsg(&mut msg, 0)?;
            (n, msg.control_len())
        };
        // SAFETY: recvmsg initialised the first n bytes of data and clen bytes of control
        let payload: Vec<u8> = data[..n]
            .iter()
            .map(|b| unsafe { b.assume_init() })
            .collect();
        let cmsgs: Vec<u8> = control[..clen.min(control.len())]
            .iter()
            .map(|b| unsafe { b.assume_init() })
            .collect();
        let (ttl, dst) = parse_ipv6_cmsgs(&cmsgs);
        let src = from
            .as_socket_ipv6()
            .map(|a| IpAddr::V6(*a.ip()))
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no IPv6 source"))?;
        Ok(Received {
            src,
            dst: dst
                .map(IpAddr::V6)
                .unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
            ttl: ttl.unwrap_or(0),
            ip_header: Vec::new(),
            payload,
        })
    }
}

/// Hop limit and destination address from the control messages of an IPv6 datagram
/// (Linux cmsghdr: a usize length, level and type as i32, data aligned to usize).
pub fn parse_ipv6_cmsgs(buf: &[u8]) -> (Option<u8>, Option<Ipv6Addr>) {
    const WORD: usize = std::mem::size_of::<usize>();
    let header = WORD + 8;
    let (mut hops, mut dst) = (None, None);
    let mut at = 0;
    while at + header <= buf.len() {
        let mut len_bytes = [0u8; WORD];
        len_bytes.copy_from_slice(&buf[at..at + WORD]);
        let len = usize::from_ne_bytes(len_bytes);
        if len < header || at.checked_add(len).is_none_or(|end| end > buf.len()) {
            break;
        }
        let level = i32::from_ne_bytes([
            buf[at + WORD],
            buf[at + WORD + 1],
            buf[at + WORD + 2],
            buf[at + WORD + 3],
        ]);
        let kind = i32::from_ne_bytes([
            buf[at + WORD + 4],
            buf[at + WORD + 5],
            buf[at + WORD + 6],
            buf[at + WORD + 7],
        ]);
        let data = &buf[at + header..at + len];
        if level == IPPROTO_IPV6 {
            match kind {
                IPV6_HOPLIMIT if data.len() >= 4 => {
                    let v = i32::from_ne_bytes([data[0], data[1], data[2], data[3]]);
                    hops = u8::try_from(v).ok();
                }
                IPV6_PKTINFO if data.len() >= 16 => {
                    let mut a = [0u8; 16];
                    a.copy_from_slice(&data[..16]);
                    dst = Some(Ipv6Addr::from(a));
                }
                _ => {}
            }
        }
        at += len.div_ceil(WORD) * WORD;
    }
    (hops, dst)
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
        ip_header: data[..ihl].to_vec(),
        payload: data[ihl..end].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_control_messages() {
        let w = std::mem::size_of::<usize>();
        let mut b = Vec::new();
        // IPV6_PKTINFO: in6_pktinfo (address, ifindex)
        b.extend_from_slice(&(w + 8 + 20).to_ne_bytes());
        b.extend_from_slice(&IPPROTO_IPV6.to_ne_bytes());
        b.extend_from_slice(&IPV6_PKTINFO.to_ne_bytes());
        b.extend_from_slice(&"ff02::12".parse::<Ipv6Addr>().unwrap().octets());
        b.extend_from_slice(&3u32.to_ne_bytes());
        while b.len() % w != 0 {
            b.push(0);
        }
        // IPV6_HOPLIMIT: an int
        b.extend_from_slice(&(w + 8 + 4).to_ne_bytes());
        b.extend_from_slice(&IPPROTO_IPV6.to_ne_bytes());
        b.extend_from_slice(&IPV6_HOPLIMIT.to_ne_bytes());
        b.extend_from_slice(&255i32.to_ne_bytes());
        let (hops, dst) = parse_ipv6_cmsgs(&b);
        assert_eq!(hops, Some(255));
        assert_eq!(dst, Some("ff02::12".parse().unwrap()));
        // truncated or garbage control data is ignored, never a panic
        for cut in 0..b.len() {
            let _ = parse_ipv6_cmsgs(&b[..cut]);
        }
        assert_eq!(parse_ipv6_cmsgs(&[0xff; 40]), (None, None));
    }

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
