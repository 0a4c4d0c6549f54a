//! keepalived's VMAC (`use_vmac`): a private-mode macvlan on the instance's interface with
//! the VRRP virtual MAC (RFC 5798: 00:00:5e:00:01:VRID for IPv4). The VIPs live on it, so
//! the MAC a client learns for a VIP is the same whichever director is master. Made when
//! the daemon starts (or a reload asks for it), removed when it stops; the sysctls
//! keepalived sets are set, and the base interface's restored at removal:
//!
//! - on the VMAC: `arp_ignore=1`, `accept_local=1` (hear the other director's adverts
//!   from the same MAC), `rp_filter=0` (receive with no address of its own); IPv6
//!   `addr_gen_mode=1` (no link-local address: a backup's VMAC must send nothing);
//! - on the base: `arp_ignore=1`, `arp_filter=1` (it must not answer for the VIPs), and,
//!   beyond keepalived, `arp_announce=2`: the ARP requests the base sends (a reply from a
//!   VIP leaves through it) carry its own address, not the VIP, so neighbours never learn
//!   the base's MAC for a VIP.

use super::rtnl::Rtnl;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoMacVlan, LinkAttribute, LinkFlags, LinkInfo, LinkMessage, MacVlanMode,
};
use netlink_packet_route::RouteNetlinkMessage;
use std::io;

/// One VMAC as the configuration asks for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Vmac {
    pub name: String,
    pub base: String,
    pub mac: [u8; 6],
    /// An IPv6 instance's: no IPv4 ARP settings on the base.
    pub ipv6: bool,
    /// Its link group (a number or a name in /etc/iproute2/group); None: the base's.
    pub group: Option<String>,
}

/// The RFC 5798 virtual MAC of `vrid`.
pub(crate) fn virtual_mac(vrid: u8, ipv6: bool) -> [u8; 6] {
    [0x00, 0x00, 0x5e, 0x00, if ipv6 { 0x02 } else { 0x01 }, vrid]
}

/// `xx:xx:xx:xx:xx:xx`, or five octets (the sixth is the VRID, `None` here); not
/// multicast, not the RFC 5798 range (keepalived's rules).
pub(crate) fn parse_mac(s: &str) -> Result<([u8; 5], Option<u8>), String> {
    let parts: Vec<&str> = s.trim_end_matches(':').split(':').collect();
    if !(5..=6).contains(&parts.len()) {
        return Err(format!(
            "'{s}' is not a MAC address (five or six hex octets)"
        ));
    }
    let mut b = [0u8; 6];
    for (i, p) in parts.iter().enumerate() {
        b[i] = u8::from_str_radix(p, 16)
            .ok()
            .filter(|_| !p.is_empty() && p.len() <= 2)
            .ok_or_else(|| format!("'{s}' is not a MAC address ('{p}' is not a hex octet)"))?;
    }
    if b[0] & 1 == 1 {
        return Err(format!("'{s}' is a multicast MAC address"));
    }
    if b[..4] == [0, 0, 0x5e, 0] && matches!(b[4], 1 | 2) {
        return Err(format!(
            "'{s}' is in the RFC 5798 range, which use_vmac takes by default: leave it out"
        ));
    }
    let five = [b[0], b[1], b[2], b[3], b[4]];
    Ok((five, (parts.len() == 6).then_some(b[5])))
}

/// The VMAC an instance asks for: its name (default `vrrp.VRID`) and MAC.
pub(crate) fn of(name: &str, base: &str, vrid: u8, ipv6: bool, mac: Option<&str>) -> Vmac {
    let mac = match mac.and_then(|m| parse_mac(m).ok()) {
        Some((five, six)) => [
            five[0],
            five[1],
            five[2],
            five[3],
            five[4],
            six.unwrap_or(vrid),
        ],
        None => virtual_mac(vrid, ipv6),
    };
    Vmac {
        name: if name.is_empty() {
            format!("vrrp.{vrid}")
        } else {
            name.to_string()
        },
        base: base.to_string(),
        mac,
        ipv6,
        group: None,
    }
}

/// A link group by number, or by its name in iproute2's group files.
pub(crate) fn group_num(g: &str) -> Result<u32, String> {
    g.parse()
        .ok()
        .or_else(|| super::addr::iproute2_name("group", g))
        .ok_or_else(|| {
            format!("link group '{g}' is neither a number nor a name in /etc/iproute2/group")
        })
}

/// The link group of the interface with index `index` (0 when the kernel does not say).
fn group_of(nl: &mut Rtnl, index: u32) -> io::Result<u32> {
    let all = nl.dump(RouteNetlinkMessage::GetLink(LinkMessage::default()))?;
    Ok(all
        .iter()
        .find_map(|m| match m {
            RouteNetlinkMessage::NewLink(l) if l.header.index == index => {
                l.attributes.iter().find_map(|a| match a {
                    LinkAttribute::Group(g) => Some(*g),
                    _ => None,
                })
            }
            _ => None,
        })
        .unwrap_or(0))
}

fn sysctl_path(family: &str, dev: &str, key: &str) -> String {
    format!("/proc/sys/net/{family}/conf/{dev}/{key}")
}

fn read_sysctl(family: &str, dev: &str, key: &str) -> Option<String> {
    std::fs::read_to_string(sysctl_path(family, dev, key))
        .ok()
        .map(|s| s.trim().to_string())
}

fn write_sysctl(family: &str, dev: &str, key: &str, v: &str) -> io::Result<()> {
    std::fs::write(sysctl_path(family, dev, key), v)
}

/// What a made VMAC changed on its base interface, to put back.
#[derive(Debug)]
pub(crate) struct Made {
    pub vmac: Vmac,
    base_sysctls: Vec<(&'static str, String)>,
}

/// Make `v` (a VMAC of that name left by an earlier run is replaced), set its sysctls and
/// bring it up.
pub(crate) fn create(nl: &mut Rtnl, v: &Vmac) -> io::Result<Made> {
    let base = super::addr::ifindex(&v.base).map_err(io::Error::other)?;
    if super::addr::ifindex(&v.name).is_ok() {
        // a leftover (a run that was killed): made again, so it is surely ours
        delete(nl, &v.name)?;
    }
    // keepalived's default: the base interface's link group
    let group = match &v.group {
        Some(g) => group_num(g).map_err(io::Error::other)?,
        None => group_of(nl, base)?,
    };
    let mut m = LinkMessage::default();
    m.attributes.push(LinkAttribute::IfName(v.name.clone()));
    m.attributes.push(LinkAttribute::Link(base));
    m.attributes.push(LinkAttribute::Group(group));
    m.attributes.push(LinkAttribute::Address(v.mac.to_vec()));
    m.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::Kind(InfoKind::MacVlan),
        LinkInfo::Data(InfoData::MacVlan(vec![InfoMacVlan::Mode(
            MacVlanMode::Private,
        )])),
    ]));
    nl.request(RouteNetlinkMessage::NewLink(m), NLM_F_CREATE | NLM_F_EXCL)
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("making VMAC {} on {}: {e}", v.name, v.base),
            )
        })?;
    let index = super::addr::ifindex(&v.name).map_err(io::Error::other)?;
    // before it is up: no link-local address, no DAD from a backup's VMAC
    let _ = write_sysctl("ipv6", &v.name, "addr_gen_mode", "1");
    for (k, val) in [
        ("arp_ignore", "1"),
        ("accept_local", "1"),
        ("rp_filter", "0"),
    ] {
        write_sysctl("ipv4", &v.name, k, val)
            .map_err(|e| io::Error::new(e.kind(), format!("VMAC {}: {k}: {e}", v.name)))?;
    }
    let mut base_sysctls = Vec::new();
    let arp: &[(&'static str, &str)] = if v.ipv6 {
        &[]
    } else {
        &[
            ("arp_ignore", "1"),
            ("arp_filter", "1"),
            ("arp_announce", "2"),
        ]
    };
    for &(k, want) in arp {
        if let Some(old) = read_sysctl("ipv4", &v.base, k) {
            if old != want {
                write_sysctl("ipv4", &v.base, k, want)
                    .map_err(|e| io::Error::new(e.kind(), format!("{}: {k}: {e}", v.base)))?;
                base_sysctls.push((k, old));
            }
        }
    }
    let mut up = LinkMessage::default();
    up.header.index = index;
    up.header.flags = LinkFlags::Up;
    up.header.change_mask = LinkFlags::Up;
    nl.request(RouteNetlinkMessage::SetLink(up), 0)?;
    Ok(Made {
        vmac: v.clone(),
        base_sysctls,
    })
}

fn delete(nl: &mut Rtnl, name: &str) -> io::Result<()> {
    let index = super::addr::ifindex(name).map_err(io::Error::other)?;
    let mut m = LinkMessage::default();
    m.header.index = index;
    nl.request(RouteNetlinkMessage::DelLink(m), 0)
}

/// Remove a made VMAC (its addresses go with it) and put the base's sysctls back.
pub(crate) fn remove(nl: &mut Rtnl, m: &Made) -> io::Result<()> {
    // the base's settings go back only when no other VMAC of ours needs them is the
    // caller's to decide; here: restore what this one changed
    for (k, old) in &m.base_sysctls {
        let _ = write_sysctl("ipv4", &m.vmac.base, k, old);
    }
    match delete(nl, &m.vmac.name) {
        Err(e) if super::addr::ifindex(&m.vmac.name).is_err() => {
            // already gone (deleted by hand, or its base went away)
            let _ = e;
            Ok(())
        }
        r => r,
    }
}

/// The warning keepalived's rp_filter dance avoids: with all.rp_filter set, the VMAC's 0
/// does not count and adverts to it may be dropped.
pub(crate) fn rp_filter_problem() -> Option<String> {
    let all = read_sysctl("ipv4", "all", "rp_filter")?;
    (all != "0").then(|| {
        format!("use_vmac: net.ipv4.conf.all.rp_filter is {all}: the VMAC's rp_filter 0 does not count and adverts may be dropped; set it to 0 and rp_filter per interface")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_and_names_as_keepalived() {
        assert_eq!(virtual_mac(51, false), [0, 0, 0x5e, 0, 1, 51]);
        assert_eq!(virtual_mac(51, true), [0, 0, 0x5e, 0, 2, 51]);
        let v = of("", "eth0", 7, false, None);
        assert_eq!((v.name.as_str(), v.mac), ("vrrp.7", [0, 0, 0x5e, 0, 1, 7]));
        let v = of("vmac1", "eth0", 7, false, Some("02:11:22:33:44"));
        assert_eq!(
            (v.name.as_str(), v.mac),
            ("vmac1", [2, 0x11, 0x22, 0x33, 0x44, 7])
        );
        let v = of("", "eth0", 7, false, Some("02:11:22:33:44:55"));
        assert_eq!(v.mac, [2, 0x11, 0x22, 0x33, 0x44, 0x55]);
        assert!(parse_mac("01:00:00:00:00:01").is_err(), "multicast");
        assert!(parse_mac("00:00:5e:00:01:07").is_err(), "RFC 5798 range");
        assert!(parse_mac("00:11:22").is_err());
        assert!(parse_mac("00:11:22:33:4g:55").is_err());
    }
}
