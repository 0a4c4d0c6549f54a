//! keepalived's VMAC (`use_vmac`) and ipvlan (`use_ipvlan`).
//!
//! A VMAC is a private-mode macvlan on the instance's interface with
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
//!
//! An ipvlan (`use_ipvlan`) is an L2-mode ipvlan on the instance's interface: the base's
//! MAC (where the switch or the hypervisor allows one MAC per port) and an address of
//! its own, kept master or backup: the VRRP adverts leave from it and are heard on it
//! (the kernel hands an ipvlan the frames for its addresses and every multicast). The
//! VIPs stay on the base interface, as keepalived leaves them. No sysctl changes; an
//! IPv4 instance's ipvlan gets no IPv6 (no link-local address), as keepalived's does.

use super::rtnl::Rtnl;
use crate::config::addr::{Prefixed, VirtualIp};
use crate::config::model::{Ipvlan, IpvlanMode};
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::link::{
    InfoData, InfoIpVlan, InfoKind, InfoMacVlan, IpVlanFlags, IpVlanMode, LinkAttribute, LinkFlags,
    LinkInfo, LinkMessage, MacVlanMode,
};
use netlink_packet_route::RouteNetlinkMessage;
use std::io;

/// One VMAC as the configuration asks for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Vmac {
    pub name: String,
    pub base: String,
    pub kind: Kind,
    /// An IPv6 instance's: no IPv4 ARP settings on the base.
    pub ipv6: bool,
    /// Its link group (a number or a name in /etc/iproute2/group); None: the base's.
    pub group: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// use_vmac: a private macvlan with this MAC.
    Macvlan([u8; 6]),
    /// use_ipvlan: an L2 ipvlan with this mode flag and (IPv4: always) an address.
    Ipvlan {
        mode: IpvlanMode,
        address: Option<Prefixed>,
    },
}

impl Vmac {
    /// What the logs call it.
    pub(crate) fn what(&self) -> &'static str {
        match self.kind {
            Kind::Macvlan(_) => "use_vmac",
            Kind::Ipvlan { .. } => "use_ipvlan",
        }
    }

    /// The kernel's link kind, and its name.
    fn link_kind(&self) -> (InfoKind, &'static str) {
        match self.kind {
            Kind::Macvlan(_) => (InfoKind::MacVlan, "macvlan"),
            Kind::Ipvlan { .. } => (InfoKind::IpVlan, "ipvlan"),
        }
    }
}

/// The ipvlan an instance asks for: its name (default `vrrp.VRID`), mode and address.
pub(crate) fn ipvlan(name: &str, base: &str, l: &Ipvlan, ipv6: bool) -> Vmac {
    Vmac {
        name: name.to_string(),
        base: base.to_string(),
        kind: Kind::Ipvlan {
            mode: l.mode,
            address: l.address,
        },
        ipv6,
        group: l.group.clone(),
    }
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
        kind: Kind::Macvlan(mac),
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

/// What a link dump says of one interface: its group, kind and parent's index.
struct Seen {
    group: u32,
    kind: Option<InfoKind>,
    parent: Option<u32>,
}

fn seen(nl: &mut Rtnl, index: u32) -> io::Result<Option<Seen>> {
    let all = nl.dump(RouteNetlinkMessage::GetLink(LinkMessage::default()))?;
    Ok(all.iter().find_map(|m| match m {
        RouteNetlinkMessage::NewLink(l) if l.header.index == index => {
            let mut s = Seen {
                group: 0,
                kind: None,
                parent: None,
            };
            for a in &l.attributes {
                match a {
                    LinkAttribute::Group(g) => s.group = *g,
                    LinkAttribute::Link(p) => s.parent = Some(*p),
                    LinkAttribute::LinkInfo(infos) => {
                        s.kind = infos.iter().find_map(|i| match i {
                            LinkInfo::Kind(k) => Some(k.clone()),
                            _ => None,
                        })
                    }
                    _ => {}
                }
            }
            Some(s)
        }
        _ => None,
    }))
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

/// The sysctls keepalived sets for a VMAC (see the module's words); the base's changed
/// values are pushed to `base_sysctls`, to put back at removal.
fn macvlan_sysctls(v: &Vmac, base_sysctls: &mut Vec<(&'static str, String)>) -> io::Result<()> {
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
    Ok(())
}

/// Make `v` (an interface of that name left by an earlier run is replaced), set its
/// sysctls and address and bring it up.
/// A VMAC or ipvlan a predecessor binary made and left running (`ldirector upgrade`):
/// taken over as it is, with its addresses (None: there is none of that kind on that
/// base; make one).
pub(crate) fn adopt(nl: &mut Rtnl, v: &Vmac) -> io::Result<Option<Made>> {
    let Ok(base) = super::addr::ifindex(&v.base) else {
        return Ok(None);
    };
    let Ok(index) = super::addr::ifindex(&v.name) else {
        return Ok(None);
    };
    let (kind, _) = v.link_kind();
    let s = seen(nl, index)?;
    if !s
        .as_ref()
        .is_some_and(|s| s.kind.as_ref() == Some(&kind) && s.parent == Some(base))
    {
        return Ok(None);
    }
    Ok(Some(Made {
        vmac: v.clone(),
        base_sysctls: Vec::new(),
    }))
}

pub(crate) fn create(nl: &mut Rtnl, v: &Vmac) -> io::Result<Made> {
    let base = super::addr::ifindex(&v.base).map_err(io::Error::other)?;
    if let Ok(index) = super::addr::ifindex(&v.name) {
        // a leftover (a run that was killed) is made again; an interface of that name
        // that is not one (eth1, a bridge...) is never touched
        let (kind, kind_name) = v.link_kind();
        let s = seen(nl, index)?;
        if !s
            .as_ref()
            .is_some_and(|s| s.kind.as_ref() == Some(&kind) && s.parent == Some(base))
        {
            return Err(io::Error::other(format!(
                "interface {} exists and is not a {} on {}: it is left alone; name another (or remove it)",
                v.name,
                kind_name,
                v.base
            )));
        }
        delete(nl, &v.name)?;
    }
    // keepalived's default: the base interface's link group
    let group = match &v.group {
        Some(g) => group_num(g).map_err(io::Error::other)?,
        None => seen(nl, base)?.map_or(0, |s| s.group),
    };
    let mut m = LinkMessage::default();
    m.attributes.push(LinkAttribute::IfName(v.name.clone()));
    m.attributes.push(LinkAttribute::Link(base));
    m.attributes.push(LinkAttribute::Group(group));
    match &v.kind {
        Kind::Macvlan(mac) => {
            m.attributes.push(LinkAttribute::Address(mac.to_vec()));
            m.attributes.push(LinkAttribute::LinkInfo(vec![
                LinkInfo::Kind(v.link_kind().0),
                LinkInfo::Data(InfoData::MacVlan(vec![InfoMacVlan::Mode(
                    MacVlanMode::Private,
                )])),
            ]));
        }
        Kind::Ipvlan { mode, .. } => {
            let flags = match mode {
                IpvlanMode::Bridge => IpVlanFlags::empty(),
                IpvlanMode::Private => IpVlanFlags::Private,
                IpvlanMode::Vepa => IpVlanFlags::Vepa,
            };
            m.attributes.push(LinkAttribute::LinkInfo(vec![
                LinkInfo::Kind(v.link_kind().0),
                LinkInfo::Data(InfoData::IpVlan(vec![
                    InfoIpVlan::Mode(IpVlanMode::L2),
                    InfoIpVlan::Flags(flags),
                ])),
            ]));
        }
    }
    nl.request(RouteNetlinkMessage::NewLink(m), NLM_F_CREATE | NLM_F_EXCL)
        .map_err(|e| io::Error::new(e.kind(), format!("making {} on {}: {e}", v.name, v.base)))?;
    let index = super::addr::ifindex(&v.name).map_err(io::Error::other)?;
    let mut base_sysctls = Vec::new();
    match &v.kind {
        Kind::Macvlan(_) => macvlan_sysctls(v, &mut base_sysctls)?,
        Kind::Ipvlan { address, .. } => {
            // an IPv4 instance's: no IPv6 at all (keepalived's link_set_ipv6 off); an
            // IPv6 one's keeps its link-local address, the adverts' source when no
            // address is given
            if !v.ipv6 {
                let _ = write_sysctl("ipv6", &v.name, "addr_gen_mode", "1");
            }
            if let Some(a) = address {
                let k =
                    super::addr::address(&VirtualIp::new(*a), &v.name).map_err(io::Error::other)?;
                k.add(nl).map_err(|e| {
                    io::Error::new(e.kind(), format!("{}: adding {a}: {e}", v.name))
                })?;
            }
        }
    }
    let mut up = LinkMessage::default();
    up.header.index = index;
    up.header.flags = LinkFlags::Up;
    up.header.change_mask = LinkFlags::Up;
    nl.request(RouteNetlinkMessage::SetLink(up), 0)?;
    if let Kind::Ipvlan { address, .. } = &v.kind {
        if v.ipv6 {
            ipv6_ready(&v.name, address.map(|a| a.addr), IPV6_READY)?;
        }
    }
    Ok(Made {
        vmac: v.clone(),
        base_sysctls,
    })
}

/// How long an IPv6 ipvlan's source address may take to pass duplicate address detection.
const IPV6_READY: std::time::Duration = std::time::Duration::from_secs(5);

/// Wait until `dev` has `want` (or, without one, a link-local address) past duplicate
/// address detection: the adverts cannot leave from a tentative address.
fn ipv6_ready(
    dev: &str,
    want: Option<std::net::IpAddr>,
    limit: std::time::Duration,
) -> io::Result<()> {
    let end = std::time::Instant::now() + limit;
    loop {
        let ready = std::fs::read_to_string("/proc/net/if_inet6")?
            .lines()
            .filter_map(if_inet6_line)
            .any(|(a, flags, name)| {
                name == dev
                    && flags & IFA_F_TENTATIVE == 0
                    && want.map_or(a.is_unicast_link_local(), |w| w == std::net::IpAddr::V6(a))
            });
        if ready {
            return Ok(());
        }
        if std::time::Instant::now() >= end {
            return Err(io::Error::other(format!(
                "{dev}: no {} past duplicate address detection after {} s",
                want.map_or("link-local address".to_string(), |w| w.to_string()),
                limit.as_secs()
            )));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

const IFA_F_TENTATIVE: u32 = 0x40;

/// One line of /proc/net/if_inet6: `ADDR32HEX IFINDEX PLEN SCOPE FLAGS NAME`.
fn if_inet6_line(l: &str) -> Option<(std::net::Ipv6Addr, u32, &str)> {
    let f: Vec<&str> = l.split_whitespace().collect();
    let (hex, flags, name) = (f.first()?, f.get(4)?, f.get(5)?);
    let bits = u128::from_str_radix(hex, 16).ok()?;
    Some((bits.into(), u32::from_str_radix(flags, 16).ok()?, name))
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
        assert_eq!(
            (v.name.as_str(), v.kind),
            ("vrrp.7", Kind::Macvlan([0, 0, 0x5e, 0, 1, 7]))
        );
        let v = of("vmac1", "eth0", 7, false, Some("02:11:22:33:44"));
        assert_eq!(
            (v.name.as_str(), v.kind),
            ("vmac1", Kind::Macvlan([2, 0x11, 0x22, 0x33, 0x44, 7]))
        );
        let v = of("", "eth0", 7, false, Some("02:11:22:33:44:55"));
        assert_eq!(v.kind, Kind::Macvlan([2, 0x11, 0x22, 0x33, 0x44, 0x55]));
        assert!(parse_mac("01:00:00:00:00:01").is_err(), "multicast");
        assert!(parse_mac("00:00:5e:00:01:07").is_err(), "RFC 5798 range");
        assert!(parse_mac("00:11:22").is_err());
        assert!(parse_mac("00:11:22:33:4g:55").is_err());
        assert_eq!(
            if_inet6_line("fe800000000000000000000000000011 03 40 20 80     eth0"),
            Some(("fe80::11".parse().unwrap(), 0x80, "eth0"))
        );
    }
}
