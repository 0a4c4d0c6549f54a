//! Announcing a virtual address after takeover: a gratuitous ARP for IPv4, an unsolicited
//! neighbour advertisement for IPv6 (RFC 4861 7.2.6). Whole Ethernet frames, built as
//! keepalived builds them so neighbours treat ldirector's like keepalived's; the I/O shell
//! sends them on an AF_PACKET socket.

use std::net::{Ipv4Addr, Ipv6Addr};

pub type Mac = [u8; 6];

pub const BROADCAST: Mac = [0xff; 6];
const ETHERTYPE_ARP: u16 = 0x0806;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const IPPROTO_ICMPV6: u8 = 58;
const ND_NEIGHBOR_ADVERT: u8 = 136;
const ND_OPT_TARGET_LINKADDR: u8 = 2;

/// Gratuitous ARP: a broadcast request whose sender and target address are both the VIP.
pub fn gratuitous_arp(mac: Mac, vip: Ipv4Addr) -> [u8; 42] {
    let mut f = [0u8; 42];
    f[0..6].copy_from_slice(&BROADCAST);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&ETHERTYPE_ARP.to_be_bytes());
    f[14..16].copy_from_slice(&1u16.to_be_bytes()); // Ethernet
    f[16..18].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    f[18] = 6;
    f[19] = 4;
    f[20..22].copy_from_slice(&1u16.to_be_bytes()); // request
    f[22..28].copy_from_slice(&mac);
    f[28..32].copy_from_slice(&vip.octets());
    f[32..38].copy_from_slice(&BROADCAST);
    f[38..42].copy_from_slice(&vip.octets());
    f
}

/// Unsolicited neighbour advertisement from the VIP to all nodes (ff02::1), Override set,
/// Router set when the director forwards IPv6, with the target link-layer address option.
pub fn unsolicited_na(mac: Mac, vip: Ipv6Addr, router: bool) -> [u8; 86] {
    let mut f = [0u8; 86];
    let all_nodes = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
    // Ethernet: 33:33 + the low 32 bits of ff02::1
    f[0..6].copy_from_slice(&[0x33, 0x33, 0, 0, 0, 1]);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
    // IPv6 header
    let ip = &mut f[14..54];
    ip[0] = 0x60;
    ip[4..6].copy_from_slice(&32u16.to_be_bytes()); // payload: NA 24 + option 8
    ip[6] = IPPROTO_ICMPV6;
    ip[7] = 255;
    ip[8..24].copy_from_slice(&vip.octets());
    ip[24..40].copy_from_slice(&all_nodes.octets());
    // ICMPv6 neighbour advertisement
    let icmp = &mut f[54..86];
    icmp[0] = ND_NEIGHBOR_ADVERT;
    icmp[4] = 0x20 | if router { 0x80 } else { 0 }; // Override (+ Router)
    icmp[8..24].copy_from_slice(&vip.octets());
    icmp[24] = ND_OPT_TARGET_LINKADDR;
    icmp[25] = 1; // in units of 8 bytes
    icmp[26..32].copy_from_slice(&mac);
    let sum = icmpv6_checksum(&vip, &all_nodes, &f[54..86]);
    f[56..58].copy_from_slice(&sum.to_be_bytes());
    f
}

fn icmpv6_checksum(src: &Ipv6Addr, dst: &Ipv6Addr, msg: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut add = |b: &[u8]| {
        for c in b.chunks(2) {
            sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
        }
    };
    add(&src.octets());
    add(&dst.octets());
    add(&(msg.len() as u32).to_be_bytes());
    add(&[0, 0, 0, IPPROTO_ICMPV6]);
    add(msg);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An AF_PACKET socket bound to one interface, sending whole frames.
pub struct FrameSocket {
    fd: std::os::fd::OwnedFd,
}

impl FrameSocket {
    pub fn open(ifindex: u32) -> std::io::Result<Self> {
        use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};
        use std::os::fd::AsRawFd;
        // send only: no protocol, so nothing is queued for reading
        let fd = socket(
            AddressFamily::Packet,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            None,
        )?;
        let sll = libc::sockaddr_ll {
            sll_family: libc::AF_PACKET as u16,
            sll_protocol: 0,
            sll_ifindex: i32::try_from(ifindex).map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "interface index")
            })?,
            sll_hatype: 0,
            sll_pkttype: 0,
            sll_halen: 0,
            sll_addr: [0; 8],
        };
        // SAFETY: sll is a valid sockaddr_ll of the size passed (neither nix nor socket2
        // builds a link-layer address safely)
        let r = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                std::ptr::from_ref(&sll).cast::<libc::sockaddr>(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if r < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(FrameSocket { fd })
    }

    /// Send one Ethernet frame (destination, source and type included).
    pub fn send(&self, frame: &[u8]) -> std::io::Result<()> {
        nix::sys::socket::send(
            std::os::fd::AsRawFd::as_raw_fd(&self.fd),
            frame,
            nix::sys::socket::MsgFlags::empty(),
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: Mac = [0x02, 0, 0x5e, 0, 0x01, 0x33];

    #[test]
    fn arp_as_keepalived_sends_it() {
        let f = gratuitous_arp(MAC, "192.0.2.100".parse().unwrap());
        assert_eq!(&f[0..6], &BROADCAST);
        assert_eq!(&f[6..12], &MAC);
        assert_eq!(&f[12..14], &[0x08, 0x06]);
        assert_eq!(
            &f[14..22],
            &[0, 1, 8, 0, 6, 4, 0, 1],
            "Ethernet/IPv4 request"
        );
        assert_eq!(&f[22..28], &MAC);
        assert_eq!(&f[28..32], &[192, 0, 2, 100]);
        assert_eq!(&f[32..38], &BROADCAST);
        assert_eq!(&f[38..42], &[192, 0, 2, 100]);
    }

    #[test]
    fn na_layout_and_checksum() {
        let vip: Ipv6Addr = "2001:db8::100".parse().unwrap();
        let f = unsolicited_na(MAC, vip, false);
        assert_eq!(&f[0..6], &[0x33, 0x33, 0, 0, 0, 1]);
        assert_eq!(&f[12..14], &[0x86, 0xdd]);
        assert_eq!(f[14] >> 4, 6);
        assert_eq!(f[20], 58, "ICMPv6");
        assert_eq!(f[21], 255, "hop limit");
        assert_eq!(&f[22..38], &vip.octets(), "sent from the VIP");
        assert_eq!(f[54], 136);
        assert_eq!(f[58], 0x20, "Override, not Router");
        assert_eq!(&f[62..78], &vip.octets(), "target");
        assert_eq!(&f[78..80], &[2, 1]);
        assert_eq!(&f[80..86], &MAC);
        // the checksum over pseudo-header and message sums to zero
        let all: Ipv6Addr = "ff02::1".parse().unwrap();
        assert_eq!(icmpv6_checksum(&vip, &all, &f[54..86]), 0);
        assert_eq!(
            unsolicited_na(MAC, vip, true)[58],
            0xa0,
            "Router and Override"
        );
    }
}
