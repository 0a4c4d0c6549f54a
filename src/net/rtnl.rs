//! A synchronous rtnetlink socket: one request at a time, every ACK checked, dumps read to
//! their end. Requests from the VRRP thread take microseconds, so they are made inline
//! rather than through an async runtime whose scheduling could delay an advert.

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use std::io;

pub(crate) struct Rtnl {
    sock: Socket,
    seq: u32,
    buf: Vec<u8>,
}

impl Rtnl {
    pub(crate) fn open() -> io::Result<Self> {
        let mut sock = Socket::new(NETLINK_ROUTE)?;
        sock.bind_auto()?;
        sock.connect(&SocketAddr::new(0, 0))?;
        sock.set_ext_ack(true).ok();
        Ok(Rtnl {
            sock,
            seq: 0,
            buf: vec![0; 64 * 1024],
        })
    }

    fn send(&mut self, msg: RouteNetlinkMessage, flags: u16) -> io::Result<u32> {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = self.seq;
        let mut m = NetlinkMessage::new(header, NetlinkPayload::from(msg));
        m.finalize();
        let mut out = vec![0u8; m.buffer_len()];
        m.serialize(&mut out);
        self.sock.send(&out, 0)?;
        Ok(self.seq)
    }

    /// Read replies to `seq` until `each` says the exchange is over (Some(result)).
    fn exchange<T>(
        &mut self,
        seq: u32,
        mut each: impl FnMut(NetlinkPayload<RouteNetlinkMessage>) -> Option<io::Result<T>>,
    ) -> io::Result<T> {
        loop {
            let n = self.sock.recv(&mut &mut self.buf[..], 0)?;
            let mut off = 0;
            while off < n {
                let m = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&self.buf[off..n])
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                let len = m.header.length as usize;
                if len == 0 {
                    break;
                }
                off += (len + 3) & !3;
                if m.header.sequence_number != seq {
                    continue;
                }
                if let Some(r) = each(m.payload) {
                    return r;
                }
            }
        }
    }

    /// Send a change (new/del address, route, rule) and wait for its ACK. `flags` adds to
    /// REQUEST|ACK (CREATE, EXCL, REPLACE).
    pub(crate) fn request(&mut self, msg: RouteNetlinkMessage, flags: u16) -> io::Result<()> {
        let seq = self.send(msg, NLM_F_REQUEST | NLM_F_ACK | flags)?;
        self.exchange(seq, |p| match p {
            NetlinkPayload::Error(e) => Some(match e.code {
                None => Ok(()),
                Some(c) => Err(io::Error::from_raw_os_error(-c.get())),
            }),
            _ => None,
        })
    }

    /// Dump a table (links, addresses, routes, rules).
    pub(crate) fn dump(
        &mut self,
        msg: RouteNetlinkMessage,
    ) -> io::Result<Vec<RouteNetlinkMessage>> {
        let seq = self.send(msg, NLM_F_REQUEST | NLM_F_DUMP)?;
        let mut out = Vec::new();
        self.exchange(seq, |p| match p {
            NetlinkPayload::Done(_) => Some(Ok(())),
            NetlinkPayload::Error(e) => e.code.map(|c| Err(io::Error::from_raw_os_error(-c.get()))),
            NetlinkPayload::InnerMessage(i) => {
                out.push(i);
                None
            }
            _ => None,
        })?;
        Ok(out)
    }
}

/// A socket subscribed to link notifications (RTNLGRP_LINK), for interface tracking.
pub(crate) fn link_monitor() -> io::Result<Socket> {
    // links, and addresses (a VIP removed by hand is put back)
    const RTNLGRP_LINK: u32 = 1;
    const RTNLGRP_IPV4_IFADDR: u32 = 5;
    const RTNLGRP_IPV6_IFADDR: u32 = 9;
    let mut sock = Socket::new(NETLINK_ROUTE)?;
    sock.bind_auto()?;
    for g in [RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR] {
        sock.add_membership(g)?;
    }
    sock.set_non_blocking(true)?;
    Ok(sock)
}

/// Parse what a monitor socket delivered.
pub(crate) fn parse_messages(buf: &[u8]) -> Vec<RouteNetlinkMessage> {
    let mut out = Vec::new();
    let mut off = 0;
    while off < buf.len() {
        let Ok(m) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&buf[off..]) else {
            break;
        };
        let len = m.header.length as usize;
        if len == 0 {
            break;
        }
        off += (len + 3) & !3;
        if let NetlinkPayload::InnerMessage(i) = m.payload {
            out.push(i);
        }
    }
    out
}
