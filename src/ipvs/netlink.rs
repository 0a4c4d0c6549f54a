//! The IPVS client: a generic netlink socket speaking [`codec`]. Changes are pipelined
//! (many requests in flight on one socket, every ACK checked and matched to its operation);
//! dumps read multi-part replies to the end and start again if the kernel reports lost
//! messages (ENOBUFS). Kernel errors come back with the object they concern.

use super::codec::{self, cmd, Daemon, Op, Timeouts};
use super::table::*;
use netlink_sys::{protocols::NETLINK_GENERIC, Socket, SocketAddr};
use std::io;
use std::os::fd::AsFd;

/// How many requests may wait for their ACK at once.
const WINDOW: usize = 256;

/// How long a reply may take. The kernel handles a request inside the `send` call (and the
/// next part of a dump inside `recv`), so a reply is queued before the call returns; one
/// that is not there after this long never comes. It happens: DEL_DAEMON of a sync thread
/// that had not yet run returns -EINTR, for which netlink sends no ACK at all.
const REPLY_WAIT_MS: u16 = 2000;

pub struct Ipvs {
    sock: Socket,
    family: u16,
    seq: u32,
    buf: Vec<u8>,
    /// milliseconds `recv` waits for a reply ([`REPLY_WAIT_MS`] but where an answer is
    /// known to be optional)
    wait_ms: u16,
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
            wait_ms: REPLY_WAIT_MS,
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

    /// `open`, loading the ip_vs module first when the kernel has it but it is not loaded
    /// (as keepalived does).
    pub fn open_loading() -> io::Result<Ipvs> {
        match Ipvs::open() {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let loaded = std::process::Command::new("modprobe")
                    .args(["-q", "ip_vs"])
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                if loaded {
                    Ipvs::open()
                } else {
                    Err(io::Error::new(
                        io::ErrorKind::NotFound,
                        "IPVS is not available in this kernel (modprobe ip_vs failed)",
                    ))
                }
            }
            r => r,
        }
    }

    /// Wait for the next reply datagram; an error naming the silence if none comes.
    fn recv(&mut self) -> io::Result<usize> {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        let mut fds = [PollFd::new(self.sock.as_fd(), PollFlags::POLLIN)];
        let ready = poll(&mut fds, PollTimeout::from(self.wait_ms)).map_err(io::Error::from)?;
        if ready == 0 {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the kernel's IPVS sent no reply within {} s",
                    f64::from(self.wait_ms) / 1000.0
                ),
            ));
        }
        self.sock.recv(&mut &mut self.buf[..], 0)
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
            let n = self.recv()?;
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

    /// A request and its replies, each parsed by `parse` as it is read (no copies); a
    /// dump that lost messages (ENOBUFS) is started again.
    fn query<T>(
        &mut self,
        command: u8,
        attrs: &[u8],
        dump: bool,
        mut parse: impl FnMut(&[(u16, &[u8])]) -> Result<T, codec::DecodeError>,
    ) -> io::Result<Vec<T>> {
        for _ in 0..5 {
            let seq = self.next_seq();
            let flags = codec::NLM_F_REQUEST | if dump { codec::NLM_F_DUMP } else { 0 };
            let m = codec::message(self.family, flags, seq, command, attrs);
            self.sock.send(&m, 0)?;
            let mut out = Vec::new();
            let r = self.read_until_done(seq, dump, |top| {
                out.push(parse(top).map_err(nl_err)?);
                Ok(())
            });
            match r {
                Ok(()) => return Ok(out),
                Err(e) if e.raw_os_error() == Some(nix::errno::Errno::ENOBUFS as i32) => {
                    // replies were lost: drain and dump again
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
        let r = self.query(cmd::GET_INFO, &[], false, codec::parse_info)?;
        r.into_iter()
            .next()
            .ok_or_else(|| io::Error::other("no GET_INFO reply"))
    }

    pub fn services(&mut self) -> io::Result<Vec<(ServiceKey, Service, Stats)>> {
        self.query(cmd::GET_SERVICE, &[], true, codec::parse_service)
    }

    pub fn dests(&mut self, k: &ServiceKey) -> io::Result<Vec<(DestKey, Dest, DestConns, Stats)>> {
        let af = k.af();
        self.query(cmd::GET_DEST, &codec::dest_dump_attrs(k), true, |t| {
            codec::parse_dest(t, af)
        })
    }

    /// The whole table (without statistics). Large tables are read by two sockets at
    /// once (one GET_DEST dump per service is the cost), each on its own thread in this
    /// thread's network namespace.
    pub fn table(&mut self) -> io::Result<Table> {
        let services = self.services()?;
        let keys: Vec<ServiceKey> = services.iter().map(|(k, _, _)| *k).collect();
        let dests = if keys.len() < 128 {
            keys.iter()
                .map(|k| self.dests(k))
                .collect::<io::Result<Vec<_>>>()?
        } else {
            let (a, b) = keys.split_at(keys.len() / 2);
            std::thread::scope(|sc| {
                let other = sc.spawn(|| -> io::Result<Vec<_>> {
                    let mut second = Ipvs::open()?;
                    b.iter().map(|k| second.dests(k)).collect()
                });
                let mut first: Vec<_> = a
                    .iter()
                    .map(|k| self.dests(k))
                    .collect::<io::Result<Vec<_>>>()?;
                let rest = other
                    .join()
                    .map_err(|_| io::Error::other("IPVS dump thread panicked"))??;
                first.extend(rest);
                Ok::<_, io::Error>(first)
            })?
        };
        let mut t = Table::default();
        for ((k, s, _), ds) in services.into_iter().zip(dests) {
            let dests = ds.into_iter().map(|(dk, d, _, _)| (dk, d)).collect();
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
            let n = self.recv()?;
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
        let r = self.query(cmd::GET_CONFIG, &[], false, codec::parse_timeouts)?;
        r.into_iter()
            .next()
            .ok_or_else(|| io::Error::other("no GET_CONFIG reply"))
    }

    pub fn set_timeouts(&mut self, t: &Timeouts) -> io::Result<()> {
        self.ack(cmd::SET_CONFIG, &codec::timeout_attrs(t))
    }

    pub fn daemons(&mut self) -> io::Result<Vec<Daemon>> {
        self.query(cmd::GET_DAEMON, &[], true, codec::parse_daemon)
    }

    pub fn start_daemon(&mut self, d: &Daemon) -> io::Result<()> {
        self.ack(cmd::NEW_DAEMON, &codec::daemon_attrs(d))
    }

    /// Stop the sync daemon in `state`. A thread stopped before it first ran makes the
    /// kernel answer -EINTR, and netlink sends no ACK for that: the silence is read as done
    /// when the daemon list no longer has it.
    pub fn stop_daemon(&mut self, state: u32) -> io::Result<()> {
        // the answer, if any, is queued when the send returns: no need to wait long
        self.wait_ms = 100;
        let r = self.ack(cmd::DEL_DAEMON, &codec::daemon_state_attrs(state));
        self.wait_ms = REPLY_WAIT_MS;
        match r {
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                if self.daemons()?.iter().any(|d| d.state == state) {
                    Err(e)
                } else {
                    Ok(())
                }
            }
            r => r,
        }
    }
}
