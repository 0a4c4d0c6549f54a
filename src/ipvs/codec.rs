//! IPVS generic-netlink messages, sans-IO: requests as bytes, replies into [`table`] types.
//! The reference is the kernel's include/uapi/linux/ip_vs.h and the attribute policies in
//! net/netfilter/ipvs/ip_vs_ctl.c; no maintained crate speaks this family, so it is written
//! here. Every decoder takes bytes from the kernel and returns an error, never panics.

use super::table::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const NLMSG_HDRLEN: usize = 16;
pub const GENL_HDRLEN: usize = 4;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
pub const NLM_F_REQUEST: u16 = 1;
pub const NLM_F_MULTI: u16 = 2;
pub const NLM_F_ACK: u16 = 4;
pub const NLM_F_DUMP: u16 = 0x300;
const NLA_F_NESTED: u16 = 0x8000;
const NLA_TYPE_MASK: u16 = 0x3fff;

/// The generic netlink controller (to find the IPVS family's id).
pub const GENL_ID_CTRL: u16 = 16;
pub const CTRL_CMD_GETFAMILY: u8 = 3;
pub const CTRL_ATTR_FAMILY_ID: u16 = 1;
pub const CTRL_ATTR_FAMILY_NAME: u16 = 2;
pub const IPVS_GENL_NAME: &str = "IPVS";
pub const IPVS_GENL_VERSION: u8 = 1;

pub mod cmd {
    pub const NEW_SERVICE: u8 = 1;
    pub const SET_SERVICE: u8 = 2;
    pub const DEL_SERVICE: u8 = 3;
    pub const GET_SERVICE: u8 = 4;
    pub const NEW_DEST: u8 = 5;
    pub const SET_DEST: u8 = 6;
    pub const DEL_DEST: u8 = 7;
    pub const GET_DEST: u8 = 8;
    pub const NEW_DAEMON: u8 = 9;
    pub const DEL_DAEMON: u8 = 10;
    pub const GET_DAEMON: u8 = 11;
    pub const SET_CONFIG: u8 = 12;
    pub const GET_CONFIG: u8 = 13;
    pub const SET_INFO: u8 = 14;
    pub const GET_INFO: u8 = 15;
    pub const ZERO: u8 = 16;
    pub const FLUSH: u8 = 17;
}

mod attr {
    pub(super) const CMD_SERVICE: u16 = 1;
    pub(super) const CMD_DEST: u16 = 2;
    pub(super) const CMD_DAEMON: u16 = 3;
    pub(super) const CMD_TIMEOUT_TCP: u16 = 4;
    pub(super) const CMD_TIMEOUT_TCP_FIN: u16 = 5;
    pub(super) const CMD_TIMEOUT_UDP: u16 = 6;

    pub(super) const SVC_AF: u16 = 1;
    pub(super) const SVC_PROTOCOL: u16 = 2;
    pub(super) const SVC_ADDR: u16 = 3;
    pub(super) const SVC_PORT: u16 = 4;
    pub(super) const SVC_FWMARK: u16 = 5;
    pub(super) const SVC_SCHED_NAME: u16 = 6;
    pub(super) const SVC_FLAGS: u16 = 7;
    pub(super) const SVC_TIMEOUT: u16 = 8;
    pub(super) const SVC_NETMASK: u16 = 9;
    pub(super) const SVC_STATS: u16 = 10;
    pub(super) const SVC_PE_NAME: u16 = 11;
    pub(super) const SVC_STATS64: u16 = 12;

    pub(super) const DEST_ADDR: u16 = 1;
    pub(super) const DEST_PORT: u16 = 2;
    pub(super) const DEST_FWD_METHOD: u16 = 3;
    pub(super) const DEST_WEIGHT: u16 = 4;
    pub(super) const DEST_U_THRESH: u16 = 5;
    pub(super) const DEST_L_THRESH: u16 = 6;
    pub(super) const DEST_ACTIVE_CONNS: u16 = 7;
    pub(super) const DEST_INACT_CONNS: u16 = 8;
    pub(super) const DEST_PERSIST_CONNS: u16 = 9;
    pub(super) const DEST_STATS: u16 = 10;
    pub(super) const DEST_ADDR_FAMILY: u16 = 11;
    pub(super) const DEST_STATS64: u16 = 12;
    pub(super) const DEST_TUN_TYPE: u16 = 13;
    pub(super) const DEST_TUN_PORT: u16 = 14;
    pub(super) const DEST_TUN_FLAGS: u16 = 15;

    pub(super) const DAEMON_STATE: u16 = 1;
    pub(super) const DAEMON_MCAST_IFN: u16 = 2;
    pub(super) const DAEMON_SYNC_ID: u16 = 3;
    pub(super) const DAEMON_SYNC_MAXLEN: u16 = 4;
    pub(super) const DAEMON_MCAST_GROUP: u16 = 5;
    pub(super) const DAEMON_MCAST_GROUP6: u16 = 6;
    pub(super) const DAEMON_MCAST_PORT: u16 = 7;
    pub(super) const DAEMON_MCAST_TTL: u16 = 8;

    pub(super) const INFO_VERSION: u16 = 1;
    pub(super) const INFO_CONN_TAB_SIZE: u16 = 2;
}

/// A change to the kernel's table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    AddService(ServiceKey, Service),
    EditService(ServiceKey, Service),
    DelService(ServiceKey),
    AddDest(ServiceKey, DestKey, Dest),
    EditDest(ServiceKey, DestKey, Dest),
    DelDest(ServiceKey, DestKey),
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Op::AddService(k, s) => write!(f, "add service {k} ({})", s.sched),
            Op::EditService(k, s) => write!(f, "edit service {k} ({})", s.sched),
            Op::DelService(k) => write!(f, "delete service {k}"),
            Op::AddDest(k, d, x) => write!(f, "add {d} to {k} (weight {})", x.weight),
            Op::EditDest(k, d, x) => write!(f, "edit {d} of {k} (weight {})", x.weight),
            Op::DelDest(k, d) => write!(f, "delete {d} from {k}"),
        }
    }
}

/// The connection-sync daemon's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Daemon {
    /// 1 master, 2 backup.
    pub state: u32,
    pub ifname: String,
    pub sync_id: u32,
    pub maxlen: Option<u16>,
    pub group: Option<IpAddr>,
    pub port: Option<u16>,
    pub ttl: Option<u8>,
}

/// Connection timeouts in seconds (0: unchanged).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timeouts {
    pub tcp: u32,
    pub tcp_fin: u32,
    pub udp: u32,
}

// ---------------------------------------------------------------------------------------
// Building

fn put(buf: &mut Vec<u8>, ty: u16, payload: &[u8]) {
    let len = 4 + payload.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&ty.to_ne_bytes());
    buf.extend_from_slice(payload);
    while buf.len() % 4 != 0 {
        buf.push(0);
    }
}

fn nested(buf: &mut Vec<u8>, ty: u16, inner: &[u8]) {
    put(buf, ty | NLA_F_NESTED, inner);
}

fn put_str(buf: &mut Vec<u8>, ty: u16, s: &str) {
    let mut b = s.as_bytes().to_vec();
    b.push(0);
    put(buf, ty, &b);
}

fn addr_bytes(a: &IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// A whole netlink message.
pub fn message(family: u16, flags: u16, seq: u32, command: u8, attrs: &[u8]) -> Vec<u8> {
    let len = NLMSG_HDRLEN + GENL_HDRLEN + attrs.len();
    let mut m = Vec::with_capacity(len);
    m.extend_from_slice(&(len as u32).to_ne_bytes());
    m.extend_from_slice(&family.to_ne_bytes());
    m.extend_from_slice(&flags.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    m.push(command);
    m.push(IPVS_GENL_VERSION);
    m.extend_from_slice(&[0, 0]);
    m.extend_from_slice(attrs);
    m
}

/// Ask the controller for the IPVS family id.
pub fn get_family(seq: u32) -> Vec<u8> {
    let mut a = Vec::new();
    put_str(&mut a, CTRL_ATTR_FAMILY_NAME, IPVS_GENL_NAME);
    let mut m = message(GENL_ID_CTRL, NLM_F_REQUEST, seq, CTRL_CMD_GETFAMILY, &a);
    m[NLMSG_HDRLEN + 1] = 1; // controller version
    m
}

fn service_key_attrs(k: &ServiceKey) -> Vec<u8> {
    let mut a = Vec::new();
    put(&mut a, attr::SVC_AF, &k.af().to_ne_bytes());
    match k {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            put(&mut a, attr::SVC_PROTOCOL, &protocol.to_ne_bytes());
            put(&mut a, attr::SVC_ADDR, &addr_bytes(addr));
            put(&mut a, attr::SVC_PORT, &port.to_be_bytes());
        }
        ServiceKey::Fwmark { mark, .. } => {
            put(&mut a, attr::SVC_FWMARK, &mark.to_ne_bytes());
        }
    }
    a
}

fn netmask_bytes(af: u16, netmask: u32) -> [u8; 4] {
    if af == AF_INET6 {
        netmask.to_ne_bytes() // a prefix length
    } else {
        netmask.to_be_bytes() // a mask, network order
    }
}

fn service_attrs(k: &ServiceKey, s: &Service) -> Vec<u8> {
    let mut a = service_key_attrs(k);
    put_str(&mut a, attr::SVC_SCHED_NAME, &s.sched);
    if let Some(pe) = &s.pe_name {
        put_str(&mut a, attr::SVC_PE_NAME, pe);
    }
    // struct ip_vs_flags { flags, mask }: every user flag is set or cleared
    let mut f = Vec::with_capacity(8);
    f.extend_from_slice(&(s.flags & flags::USER_MASK).to_ne_bytes());
    f.extend_from_slice(&flags::USER_MASK.to_ne_bytes());
    put(&mut a, attr::SVC_FLAGS, &f);
    put(&mut a, attr::SVC_TIMEOUT, &s.timeout.to_ne_bytes());
    put(&mut a, attr::SVC_NETMASK, &netmask_bytes(k.af(), s.netmask));
    a
}

fn dest_attrs(svc: &ServiceKey, k: &DestKey, d: Option<&Dest>) -> Vec<u8> {
    let mut a = Vec::new();
    put(&mut a, attr::DEST_ADDR, &addr_bytes(&k.addr));
    put(&mut a, attr::DEST_PORT, &k.port.to_be_bytes());
    let af = family_of(&k.addr);
    if af != svc.af() {
        put(&mut a, attr::DEST_ADDR_FAMILY, &af.to_ne_bytes());
    }
    if let Some(d) = d {
        put(
            &mut a,
            attr::DEST_FWD_METHOD,
            &d.fwd.to_kernel().to_ne_bytes(),
        );
        put(&mut a, attr::DEST_WEIGHT, &d.weight.to_ne_bytes());
        put(&mut a, attr::DEST_U_THRESH, &d.u_thresh.to_ne_bytes());
        put(&mut a, attr::DEST_L_THRESH, &d.l_thresh.to_ne_bytes());
        if d.fwd == Fwd::Tunnel {
            put(&mut a, attr::DEST_TUN_TYPE, &[d.tun_type.to_kernel()]);
            put(&mut a, attr::DEST_TUN_PORT, &d.tun_port.to_be_bytes());
            put(&mut a, attr::DEST_TUN_FLAGS, &d.tun_flags.to_ne_bytes());
        }
    }
    a
}

/// The command and attributes of an operation.
pub fn op_request(op: &Op) -> (u8, Vec<u8>) {
    let mut a = Vec::new();
    let c = match op {
        Op::AddService(k, s) | Op::EditService(k, s) => {
            nested(&mut a, attr::CMD_SERVICE, &service_attrs(k, s));
            if matches!(op, Op::AddService(..)) {
                cmd::NEW_SERVICE
            } else {
                cmd::SET_SERVICE
            }
        }
        Op::DelService(k) => {
            nested(&mut a, attr::CMD_SERVICE, &service_key_attrs(k));
            cmd::DEL_SERVICE
        }
        Op::AddDest(k, dk, d) | Op::EditDest(k, dk, d) => {
            nested(&mut a, attr::CMD_SERVICE, &service_key_attrs(k));
            nested(&mut a, attr::CMD_DEST, &dest_attrs(k, dk, Some(d)));
            if matches!(op, Op::AddDest(..)) {
                cmd::NEW_DEST
            } else {
                cmd::SET_DEST
            }
        }
        Op::DelDest(k, dk) => {
            nested(&mut a, attr::CMD_SERVICE, &service_key_attrs(k));
            nested(&mut a, attr::CMD_DEST, &dest_attrs(k, dk, None));
            cmd::DEL_DEST
        }
    };
    (c, a)
}

/// Attributes of a GET_DEST dump: the service whose destinations are wanted.
pub fn dest_dump_attrs(k: &ServiceKey) -> Vec<u8> {
    let mut a = Vec::new();
    nested(&mut a, attr::CMD_SERVICE, &service_key_attrs(k));
    a
}

pub fn daemon_attrs(d: &Daemon) -> Vec<u8> {
    let mut i = Vec::new();
    put(&mut i, attr::DAEMON_STATE, &d.state.to_ne_bytes());
    put_str(&mut i, attr::DAEMON_MCAST_IFN, &d.ifname);
    put(&mut i, attr::DAEMON_SYNC_ID, &d.sync_id.to_ne_bytes());
    if let Some(m) = d.maxlen {
        put(&mut i, attr::DAEMON_SYNC_MAXLEN, &m.to_ne_bytes());
    }
    match d.group {
        Some(IpAddr::V4(g)) => put(&mut i, attr::DAEMON_MCAST_GROUP, &g.octets()),
        Some(IpAddr::V6(g)) => put(&mut i, attr::DAEMON_MCAST_GROUP6, &g.octets()),
        None => {}
    }
    if let Some(p) = d.port {
        put(&mut i, attr::DAEMON_MCAST_PORT, &p.to_ne_bytes());
    }
    if let Some(t) = d.ttl {
        put(&mut i, attr::DAEMON_MCAST_TTL, &[t]);
    }
    let mut a = Vec::new();
    nested(&mut a, attr::CMD_DAEMON, &i);
    a
}

/// DEL_DAEMON names the daemon by its state only.
pub fn daemon_state_attrs(state: u32) -> Vec<u8> {
    let mut i = Vec::new();
    put(&mut i, attr::DAEMON_STATE, &state.to_ne_bytes());
    let mut a = Vec::new();
    nested(&mut a, attr::CMD_DAEMON, &i);
    a
}

pub fn timeout_attrs(t: &Timeouts) -> Vec<u8> {
    let mut a = Vec::new();
    put(&mut a, attr::CMD_TIMEOUT_TCP, &t.tcp.to_ne_bytes());
    put(&mut a, attr::CMD_TIMEOUT_TCP_FIN, &t.tcp_fin.to_ne_bytes());
    put(&mut a, attr::CMD_TIMEOUT_UDP, &t.udp.to_ne_bytes());
    a
}

// ---------------------------------------------------------------------------------------
// Parsing

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed IPVS reply: {}", self.0)
    }
}

fn bad(s: impl Into<String>) -> DecodeError {
    DecodeError(s.into())
}

/// One netlink message of a reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply<'a> {
    pub ty: u16,
    pub flags: u16,
    pub seq: u32,
    pub payload: &'a [u8],
}

/// Split a datagram into its netlink messages.
pub fn replies(buf: &[u8]) -> Result<Vec<Reply<'_>>, DecodeError> {
    let mut out = Vec::new();
    let mut off = 0;
    while off + NLMSG_HDRLEN <= buf.len() {
        let len = u32::from_ne_bytes([buf[off], buf[off + 1], buf[off + 2], buf[off + 3]]) as usize;
        if len < NLMSG_HDRLEN || off + len > buf.len() {
            return Err(bad(format!("message length {len} at offset {off}")));
        }
        let ty = u16::from_ne_bytes([buf[off + 4], buf[off + 5]]);
        let flags = u16::from_ne_bytes([buf[off + 6], buf[off + 7]]);
        let seq = u32::from_ne_bytes([buf[off + 8], buf[off + 9], buf[off + 10], buf[off + 11]]);
        out.push(Reply {
            ty,
            flags,
            seq,
            payload: &buf[off + NLMSG_HDRLEN..off + len],
        });
        off += (len + 3) & !3;
    }
    Ok(out)
}

/// The error code of an NLMSG_ERROR payload (0 = ACK).
pub fn error_code(payload: &[u8]) -> Result<i32, DecodeError> {
    if payload.len() < 4 {
        return Err(bad("short error message"));
    }
    Ok(i32::from_ne_bytes([
        payload[0], payload[1], payload[2], payload[3],
    ]))
}

/// One level of attributes: (type without flags, payload).
pub type Attrs<'a> = Vec<(u16, &'a [u8])>;

/// Attributes of one level: (type without flags, payload).
pub fn attrs(mut b: &[u8]) -> Result<Attrs<'_>, DecodeError> {
    let mut out = Vec::new();
    while b.len() >= 4 {
        let len = u16::from_ne_bytes([b[0], b[1]]) as usize;
        let ty = u16::from_ne_bytes([b[2], b[3]]) & NLA_TYPE_MASK;
        if len < 4 || len > b.len() {
            return Err(bad(format!("attribute {ty} of length {len}")));
        }
        out.push((ty, &b[4..len]));
        let step = ((len + 3) & !3).min(b.len());
        b = &b[step..];
    }
    Ok(out)
}

/// The generic netlink body of a message: (command, attributes).
pub fn genl(payload: &[u8]) -> Result<(u8, Attrs<'_>), DecodeError> {
    if payload.len() < GENL_HDRLEN {
        return Err(bad("short generic netlink header"));
    }
    Ok((payload[0], attrs(&payload[GENL_HDRLEN..])?))
}

fn find<'a>(a: &[(u16, &'a [u8])], ty: u16) -> Option<&'a [u8]> {
    a.iter().find(|(t, _)| *t == ty).map(|(_, v)| *v)
}

fn u16_of(v: &[u8]) -> Result<u16, DecodeError> {
    v.get(..2)
        .map(|b| u16::from_ne_bytes([b[0], b[1]]))
        .ok_or_else(|| bad("short u16"))
}

fn u32_of(v: &[u8]) -> Result<u32, DecodeError> {
    v.get(..4)
        .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| bad("short u32"))
}

fn u64_of(v: &[u8]) -> Result<u64, DecodeError> {
    let b = v.get(..8).ok_or_else(|| bad("short u64"))?;
    let mut x = [0u8; 8];
    x.copy_from_slice(b);
    Ok(u64::from_ne_bytes(x))
}

fn str_of(v: &[u8]) -> String {
    let end = v.iter().position(|&c| c == 0).unwrap_or(v.len());
    String::from_utf8_lossy(&v[..end]).into_owned()
}

fn addr_of(af: u16, v: &[u8]) -> Result<IpAddr, DecodeError> {
    match af {
        AF_INET => {
            let b = v.get(..4).ok_or_else(|| bad("short IPv4 address"))?;
            Ok(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])))
        }
        AF_INET6 => {
            let b = v.get(..16).ok_or_else(|| bad("short IPv6 address"))?;
            let mut o = [0u8; 16];
            o.copy_from_slice(b);
            Ok(IpAddr::V6(Ipv6Addr::from(o)))
        }
        f => Err(bad(format!("address family {f}"))),
    }
}

fn req<'a>(a: &[(u16, &'a [u8])], ty: u16, what: &str) -> Result<&'a [u8], DecodeError> {
    find(a, ty).ok_or_else(|| bad(format!("no {what}")))
}

fn stats(a: &[(u16, &[u8])], s64: u16, s32: u16) -> Result<Stats, DecodeError> {
    let (nest, wide) = match (find(a, s64), find(a, s32)) {
        (Some(n), _) => (n, true),
        (None, Some(n)) => (n, false),
        _ => return Ok(Stats::default()),
    };
    let inner = attrs(nest)?;
    let get = |ty: u16, wide_field: bool| -> Result<u64, DecodeError> {
        match find(&inner, ty) {
            None => Ok(0),
            Some(v) if wide || wide_field => u64_of(v),
            Some(v) => u32_of(v).map(u64::from),
        }
    };
    Ok(Stats {
        conns: get(1, false)?,
        inpkts: get(2, false)?,
        outpkts: get(3, false)?,
        inbytes: get(4, true)?,
        outbytes: get(5, true)?,
        cps: get(6, false)?,
        inpps: get(7, false)?,
        outpps: get(8, false)?,
        inbps: get(9, false)?,
        outbps: get(10, false)?,
    })
}

/// A service from a GET_SERVICE reply's attributes.
pub fn parse_service(top: &[(u16, &[u8])]) -> Result<(ServiceKey, Service, Stats), DecodeError> {
    let a = attrs(req(top, attr::CMD_SERVICE, "service")?)?;
    let af = u16_of(req(&a, attr::SVC_AF, "address family")?)?;
    let key = match find(&a, attr::SVC_FWMARK).map(u32_of).transpose()? {
        Some(mark) if mark != 0 => ServiceKey::Fwmark { af, mark },
        _ => {
            let protocol = u16_of(req(&a, attr::SVC_PROTOCOL, "protocol")?)?;
            let addr = addr_of(af, req(&a, attr::SVC_ADDR, "address")?)?;
            let p = req(&a, attr::SVC_PORT, "port")?;
            let port = u16::from_be_bytes([
                *p.first().ok_or_else(|| bad("short port"))?,
                *p.get(1).ok_or_else(|| bad("short port"))?,
            ]);
            ServiceKey::Addr {
                protocol,
                addr,
                port,
            }
        }
    };
    let flags = find(&a, attr::SVC_FLAGS)
        .map(u32_of)
        .transpose()?
        .unwrap_or(0)
        & flags::USER_MASK;
    let netmask = match find(&a, attr::SVC_NETMASK) {
        Some(v) if af == AF_INET6 => u32_of(v)?,
        Some(v) => {
            let b = v.get(..4).ok_or_else(|| bad("short netmask"))?;
            u32::from_be_bytes([b[0], b[1], b[2], b[3]])
        }
        None => 0,
    };
    let service = Service {
        sched: find(&a, attr::SVC_SCHED_NAME)
            .map(str_of)
            .unwrap_or_default(),
        flags,
        timeout: find(&a, attr::SVC_TIMEOUT)
            .map(u32_of)
            .transpose()?
            .unwrap_or(0),
        netmask,
        pe_name: find(&a, attr::SVC_PE_NAME)
            .map(str_of)
            .filter(|s| !s.is_empty()),
    };
    let st = stats(&a, attr::SVC_STATS64, attr::SVC_STATS)?;
    Ok((key, service, st))
}

/// A destination from a GET_DEST reply's attributes (`svc_af`: its service's family).
pub fn parse_dest(
    top: &[(u16, &[u8])],
    svc_af: u16,
) -> Result<(DestKey, Dest, DestConns, Stats), DecodeError> {
    let a = attrs(req(top, attr::CMD_DEST, "destination")?)?;
    let af = find(&a, attr::DEST_ADDR_FAMILY)
        .map(u16_of)
        .transpose()?
        .unwrap_or(svc_af);
    let addr = addr_of(af, req(&a, attr::DEST_ADDR, "address")?)?;
    let p = req(&a, attr::DEST_PORT, "port")?;
    let port = u16::from_be_bytes([
        *p.first().ok_or_else(|| bad("short port"))?,
        *p.get(1).ok_or_else(|| bad("short port"))?,
    ]);
    let g32 =
        |ty| -> Result<u32, DecodeError> { Ok(find(&a, ty).map(u32_of).transpose()?.unwrap_or(0)) };
    let dest = Dest {
        fwd: Fwd::from_kernel(g32(attr::DEST_FWD_METHOD)?),
        weight: g32(attr::DEST_WEIGHT)? as i32,
        u_thresh: g32(attr::DEST_U_THRESH)?,
        l_thresh: g32(attr::DEST_L_THRESH)?,
        tun_type: TunType::from_kernel(
            find(&a, attr::DEST_TUN_TYPE)
                .and_then(|v| v.first().copied())
                .unwrap_or(0),
        ),
        tun_port: find(&a, attr::DEST_TUN_PORT)
            .and_then(|v| v.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]])))
            .unwrap_or(0),
        tun_flags: find(&a, attr::DEST_TUN_FLAGS)
            .map(u16_of)
            .transpose()?
            .unwrap_or(0),
    };
    let conns = DestConns {
        active: g32(attr::DEST_ACTIVE_CONNS)?,
        inactive: g32(attr::DEST_INACT_CONNS)?,
        persistent: g32(attr::DEST_PERSIST_CONNS)?,
    };
    let st = stats(&a, attr::DEST_STATS64, attr::DEST_STATS)?;
    Ok((DestKey { addr, port }, dest, conns, st))
}

/// GET_INFO: (version, connection table size).
pub fn parse_info(top: &[(u16, &[u8])]) -> Result<(u32, u32), DecodeError> {
    Ok((
        u32_of(req(top, attr::INFO_VERSION, "version")?)?,
        u32_of(req(top, attr::INFO_CONN_TAB_SIZE, "table size")?)?,
    ))
}

/// GET_CONFIG: the timeouts.
pub fn parse_timeouts(top: &[(u16, &[u8])]) -> Result<Timeouts, DecodeError> {
    let g = |ty| -> Result<u32, DecodeError> {
        Ok(find(top, ty).map(u32_of).transpose()?.unwrap_or(0))
    };
    Ok(Timeouts {
        tcp: g(attr::CMD_TIMEOUT_TCP)?,
        tcp_fin: g(attr::CMD_TIMEOUT_TCP_FIN)?,
        udp: g(attr::CMD_TIMEOUT_UDP)?,
    })
}

/// GET_DAEMON: one daemon per reply message.
pub fn parse_daemon(top: &[(u16, &[u8])]) -> Result<Daemon, DecodeError> {
    let a = attrs(req(top, attr::CMD_DAEMON, "daemon")?)?;
    Ok(Daemon {
        state: u32_of(req(&a, attr::DAEMON_STATE, "state")?)?,
        ifname: find(&a, attr::DAEMON_MCAST_IFN)
            .map(str_of)
            .unwrap_or_default(),
        sync_id: find(&a, attr::DAEMON_SYNC_ID)
            .map(u32_of)
            .transpose()?
            .unwrap_or(0),
        maxlen: find(&a, attr::DAEMON_SYNC_MAXLEN).map(u16_of).transpose()?,
        group: match (
            find(&a, attr::DAEMON_MCAST_GROUP),
            find(&a, attr::DAEMON_MCAST_GROUP6),
        ) {
            (_, Some(v)) if v.iter().any(|&b| b != 0) => Some(addr_of(AF_INET6, v)?),
            (Some(v), _) if v.iter().any(|&b| b != 0) => Some(addr_of(AF_INET, v)?),
            _ => None,
        },
        port: find(&a, attr::DAEMON_MCAST_PORT).map(u16_of).transpose()?,
        ttl: find(&a, attr::DAEMON_MCAST_TTL).and_then(|v| v.first().copied()),
    })
}

/// The family id in a controller reply.
pub fn parse_family_id(top: &[(u16, &[u8])]) -> Result<u16, DecodeError> {
    u16_of(req(top, CTRL_ATTR_FAMILY_ID, "family id")?)
}

#[cfg(test)]
mod tests;
