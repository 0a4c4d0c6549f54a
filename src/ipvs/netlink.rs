//! The IPVS client: a generic netlink socket speaking [`codec`]. Changes are pipelined
//! (many requests in flight on one socket, every ACK checked and matched to its operation);
//! dumps read multi-part replies to the end and start again if the kernel reports lost
//! messages (ENOBUFS). Kernel errors come back with the object they concern.

use super::codec::{self, cmd, Daemon, Op, Timeouts};
use super::table::*;
use netlink_sys::{protocols::NETLINK_GENERIC, Socket, SocketAddr};
use std::io;

/// How many requests may wait for their ACK at once.
const WINDOW: usize = 256;

pub struct Ipvs {
    sock: Socket,
    family: u16,
    seq: u32,
    buf: Vec<u8>,
}

/// An operation the kernel refused.
#[derive(Debug)]
pub struct OpError {
    pub index: usize,
    pub op: Op,
    pub error: io::Error,
}

impl std::fmt::Display for OpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.op, explain(&self.op, &self.error))
    }
}

/// The kernel's errno in words an operator can act on.
pub fn explain(op: &Op, e: &io::Error) -> String {
    use nix::errno::Errno;
    let code = e.raw_os_error().map(Errno::from_raw);
    match (op, code) {
        (Op::AddService(_, s) | Op::EditService(_, s), Some(Errno::ENOENT)) => format!(
            "scheduler '{}' is not available in this kernel (module ip_vs_{} missing?)",
            s.sched, s.sched
        ),
        (Op::AddService(..) | Op::AddDest(..), Some(Errno::EEXIST)) => "already exists".into(),
        (Op::AddDest(..) | Op::EditDest(..) | Op::DelDest(..), Some(Errno::ESRCH)) => {
            "the virtual service does not exist".into()
        }
        (Op::DelService(_) | Op::EditService(..), Some(Errno::ESRCH)) => {
            "the virtual service does not exist".into()
        }
        (Op::DelDest(..) | Op::EditDest(..), Some(Errno::ENOENT)) => {
            "the destination does not exist".into()
        }
        _ => e.to_string(),
    }
}

fn nl_err(e: codec::DecodeError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

impl Ipvs {
    /// Connect and find the IPVS family (absent: the kernel has no IPVS, or ip_vs is not
    /// loaded).
    pub fn open() -> io::Result<Ipvs> {
        let mut sock = Socket::new(NETLINK_GENERIC)?;
        sock.bind_auto()?;
        sock.connect(&SocketAddr::new(0, 0))?;
        let _ = sock.set_ext_ack(true);
        let mut me = Ipvs {
            sock,
            family: 0,
            seq: 0,
            buf: vec![0; 1 << 20],
        };
        let seq = me.next_seq();
        me.sock.send(&codec::get_family(seq), 0)?;
        let mut family = None;
        me.read_until_done(seq, false, |top| {
            family = Some(codec::parse_family_id(top).map_err(nl_err)?);
            Ok(())
        })
        .map_err(|e| {
            if e.raw_os_error() == Some(nix::errno::Errno::ENOENT as i32) {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    "IPVS is not available in this kernel (modprobe ip_vs)",
                )
            } else {
                e
            }
        })?;
        me.family = family.ok_or_else(|| io::Error::other("no IPVS family id in the reply"))?;
        Ok(me)
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Read replies for `seq` until its ACK (`dump` false) or NLMSG_DONE (`dump` true),
    /// handing each data message's attributes to `each`.
    fn read_until_done(
        &mut self,
        seq: u32,
        dump: bool,
        mut each: impl FnMut(&[(u16, &[u8])]) -> io::Result<()>,
    ) -> io::Result<()> {
        loop {
            let n = self.sock.recv(&mut &mut self.buf[..], 0)?;
            let replies = codec::replies(&self.buf[..n]).map_err(nl_err)?;
            for r in replies {
                if r.seq != seq {
                    continue;
                }
                match r.ty {
                    codec::NLMSG_ERROR => {
                        let c = codec::error_code(r.payload).map_err(nl_err)?;
                        if c != 0 {
                            return Err(io::Error::from_raw_os_error(-c));
                        }
                        if !dump {
                            return Ok(());
                        }
                    }
                    codec::NLMSG_DONE => return Ok(()),
                    _ => {
                        let (_, top) = codec::genl(r.payload).map_err(nl_err)?;
                        each(&top)?;
                        if !dump && r.flags & codec::NLM_F_MULTI == 0 {
                            // a single reply (GET_INFO, GET_CONFIG, controller): the ACK
                            // follows only if asked for; we did not ask
                            return Ok(());
                        }
                    }
                }
            }
        }
    }

    fn get(&mut self, command: u8, attrs: &[u8], dump: bool) -> io::Result<Vec<Vec<u8>>> {
        // keep each reply's attribute bytes (re-parsed by the caller)
        for attempt in 0..5 {
            let seq = self.next_seq();
            let flags = codec::NLM_F_REQUEST | if dump { codec::NLM_F_DUMP } else { 0 };
            let m = codec::message(self.family, flags, seq, command, attrs);
            self.sock.send(&m, 0)?;
            let mut out = Vec::new();
            let r = self.read_until_done(seq, dump, |top| {
                // re-encode the attribute list compactly for the caller
                let mut b = Vec::new();
                for (ty, v) in top {
                    let len = 4 + v.len();
                    b.extend_from_slice(&(len as u16).to_ne_bytes());
                    b.extend_from_slice(&ty.to_ne_bytes());
                    b.extend_from_slice(v);
                    while b.len() % 4 != 0 {
                        b.push(0);
                    }
                }
                out.push(b);
                Ok(())
            });
            match r {
                Ok(()) => return Ok(out),
                Err(e) if e.raw_os_error() == Some(nix::errno::Errno::ENOBUFS as i32) => {
                    // replies were lost: drain and dump again
                    let _ = attempt;
                    self.drain();
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other("IPVS dump kept losing messages (ENOBUFS)"))
    }

    fn drain(&mut self) {
        let _ = self.sock.set_non_blocking(true);
        while self.sock.recv(&mut &mut self.buf[..], 0).is_ok() {}
        let _ = self.sock.set_non_blocking(false);
    }

    /// (IPVS version, connection table size).
    pub fn info(&mut self) -> io::Result<(u32, u32)> {
        let r = self.get(cmd::GET_INFO, &[], false)?;
        let b = r
            .first()
            .ok_or_else(|| io::Error::other("no GET_INFO reply"))?;
        codec::parse_info(&codec::attrs(b).map_err(nl_err)?).map_err(nl_err)
    }

    pub fn services(&mut self) -> io::Result<Vec<(ServiceKey, Service, Stats)>> {
        let r = self.get(cmd::GET_SERVICE, &[], true)?;
        r.iter()
            .map(|b| codec::parse_service(&codec::attrs(b).map_err(nl_err)?).map_err(nl_err))
            .collect()
    }

    pub fn dests(&mut self, k: &ServiceKey) -> io::Result<Vec<(DestKey, Dest, DestConns, Stats)>> {
        let r = self.get(cmd::GET_DEST, &codec::dest_dump_attrs(k), true)?;
        r.iter()
            .map(|b| codec::parse_dest(&codec::attrs(b).map_err(nl_err)?, k.af()).map_err(nl_err))
            .collect()
    }

    /// The whole table (without statistics).
    pub fn table(&mut self) -> io::Result<Table> {
        let mut t = Table::default();
        for (k, s, _) in self.services()? {
            let dests = self
                .dests(&k)?
                .into_iter()
                .map(|(dk, d, _, _)| (dk, d))
                .collect();
            t.services.insert(k, ServiceEntry { service: s, dests });
        }
        Ok(t)
    }

    /// Apply operations in order, pipelined; the ones the kernel refused.
    pub fn apply(&mut self, ops: &[Op]) -> io::Result<Vec<OpError>> {
        let mut failed = Vec::new();
        let mut inflight: std::collections::VecDeque<(u32, usize)> = Default::default();
        let mut next = 0;
        while next < ops.len() || !inflight.is_empty() {
            // fill the window, batching several requests per datagram
            let mut batch = Vec::new();
            while next < ops.len() && inflight.len() < WINDOW && batch.len() < 64 * 1024 {
                let seq = self.next_seq();
                let (c, a) = codec::op_request(&ops[next]);
                batch.extend(codec::message(
                    self.family,
                    codec::NLM_F_REQUEST | codec::NLM_F_ACK,
                    seq,
                    c,
                    &a,
                ));
                inflight.push_back((seq, next));
                next += 1;
            }
            if !batch.is_empty() {
                self.sock.send(&batch, 0)?;
            }
            if inflight.is_empty() {
                continue;
            }
            let n = self.sock.recv(&mut &mut self.buf[..], 0)?;
            let replies = codec::replies(&self.buf[..n]).map_err(nl_err)?;
            for r in replies {
                if r.ty != codec::NLMSG_ERROR {
                    continue;
                }
                let Some(pos) = inflight.iter().position(|(s, _)| *s == r.seq) else {
                    continue;
                };
                let (_, idx) = inflight.remove(pos).unwrap_or((0, 0));
                let c = codec::error_code(r.payload).map_err(nl_err)?;
                if c != 0 {
                    failed.push(OpError {
                        index: idx,
                        op: ops[idx].clone(),
                        error: io::Error::from_raw_os_error(-c),
                    });
                }
            }
        }
        Ok(failed)
    }

    /// Remove every service (keepalived's lvs_flush).
    pub fn flush(&mut self) -> io::Result<()> {
        self.ack(cmd::FLUSH, &[])
    }

    fn ack(&mut self, command: u8, attrs: &[u8]) -> io::Result<()> {
        let seq = self.next_seq();
        let m = codec::message(
            self.family,
            codec::NLM_F_REQUEST | codec::NLM_F_ACK,
            seq,
            command,
            attrs,
        );
        self.sock.send(&m, 0)?;
        self.read_until_done(seq, false, |_| Ok(()))
    }

    pub fn timeouts(&mut self) -> io::Result<Timeouts> {
        let r = self.get(cmd::GET_CONFIG, &[], false)?;
        let b = r
            .first()
            .ok_or_else(|| io::Error::other("no GET_CONFIG reply"))?;
        codec::parse_timeouts(&codec::attrs(b).map_err(nl_err)?).map_err(nl_err)
    }

    pub fn set_timeouts(&mut self, t: &Timeouts) -> io::Result<()> {
        self.ack(cmd::SET_CONFIG, &codec::timeout_attrs(t))
    }

    pub fn daemons(&mut self) -> io::Result<Vec<Daemon>> {
        let r = self.get(cmd::GET_DAEMON, &[], true)?;
        r.iter()
            .map(|b| codec::parse_daemon(&codec::attrs(b).map_err(nl_err)?).map_err(nl_err))
            .collect()
    }

    pub fn start_daemon(&mut self, d: &Daemon) -> io::Result<()> {
        self.ack(cmd::NEW_DAEMON, &codec::daemon_attrs(d))
    }

    pub fn stop_daemon(&mut self, state: u32) -> io::Result<()> {
        self.ack(cmd::DEL_DAEMON, &codec::daemon_state_attrs(state))
    }
}
