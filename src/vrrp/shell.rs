//! The VRRP engine's I/O shell: a thread of its own with a single-threaded runtime, so
//! nothing else the daemon does (health checks, scripts, reloads) can delay an advert.
//! It owns the VRRP sockets, the rtnetlink socket, the link monitor and the frame sockets,
//! feeds the engine packets, link changes, tracking reports and time, and carries out what
//! the engine returns. Notifications leave through a channel to the notifier.

use super::drops::Reason;
use super::engine::{Engine, Id, Notification, Output, SavedInstance, Stats};
use super::machine::State;
use super::packet::DropReason;
use super::socket::{Received, VrrpSocket};
use super::spec::{InstanceSpec, Specs};
use super::track::Object;
use crate::net::addr::{self, LinkState};
use crate::net::garp::{self, FrameSocket};
use crate::net::rtnl::{self, Rtnl};
use crate::track::Initial;
use netlink_packet_route::RouteNetlinkMessage;
use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::io::unix::AsyncFd;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error, info, warn};

/// What other threads tell the VRRP thread.
#[derive(Debug)]
pub(crate) enum Command {
    /// A vrrp_script's result changed (true: success).
    Script(String, bool),
    /// A track_file's value changed.
    File(String, i64),
    /// A vrrp_track_process's verdict changed (true: its quorum runs).
    Process(String, bool),
    /// A reload's instances (checked by the caller): continued instances keep their state
    /// and timers, removed ones stop, new ones start. The reply says whether the new
    /// instances' sockets opened (if not, nothing changed).
    Reload {
        specs: Specs,
        initial: Initial,
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// Stop: priority-0 adverts, addresses removed, STOP notifications; then reply.
    Shutdown(oneshot::Sender<()>),
    /// A new binary takes over (`ldirector upgrade`): reply with what it needs, then do
    /// nothing — no advert, no timer — until `Thaw` (the hand-over failed) or the end of
    /// the process; other commands wait. After [`FROZEN_AT_MOST`] the thread thaws itself.
    Freeze(oneshot::Sender<Frozen>),
    Thaw,
}

/// How long the VRRP thread stays frozen without a `Thaw` (a hand-over that never came).
const FROZEN_AT_MOST: std::time::Duration = std::time::Duration::from_secs(10);

/// What a frozen VRRP thread hands over: every instance's state, taken at `at`, its
/// sockets (duplicates, so the thread's own stay valid if it thaws), and the
/// promote_secondaries values to restore at the stop.
#[derive(Debug)]
pub(crate) struct Frozen {
    pub at: Instant,
    pub instances: Vec<SavedInstance>,
    pub sockets: Vec<(String, std::os::fd::OwnedFd, std::os::fd::OwnedFd)>,
    pub promoted: Vec<(String, String)>,
}

/// What the VRRP thread starts from when it continues a predecessor: its instances'
/// states (saved `elapsed` ago), the instances' sockets by name, promote_secondaries.
#[derive(Default)]
pub(crate) struct Resume {
    pub instances: Vec<SavedInstance>,
    pub sockets: HashMap<String, (std::os::fd::OwnedFd, std::os::fd::OwnedFd)>,
    pub promoted: Vec<(String, String)>,
    pub elapsed: std::time::Duration,
}

/// One instance as status and metrics show it.
#[derive(Clone, Debug)]
pub(crate) struct InstanceStatus {
    pub name: String,
    pub state: State,
    pub priority: u8,
    pub master: Option<IpAddr>,
    pub since: Option<Instant>,
    pub stats: Stats,
}

pub(crate) type Snapshot = Arc<Mutex<Vec<InstanceStatus>>>;

pub(crate) struct Handle {
    pub commands: mpsc::UnboundedSender<Command>,
    pub status: Snapshot,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Handle {
    /// Stop the engine and wait for its thread.
    pub(crate) async fn shutdown(mut self) {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Shutdown(tx)).is_ok() {
            let _ = rx.await;
        }
        if let Some(t) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }
}

/// The VRRP socket of one instance, non-blocking, with its options set.
fn open_socket(s: &InstanceSpec) -> io::Result<VrrpSocket> {
    let sock = match (s.src, s.mcast) {
        (IpAddr::V4(src), g) => VrrpSocket::open_v4(
            &s.iface,
            src,
            g.and_then(|g| match g {
                IpAddr::V4(g) => Some(g),
                _ => None,
            }),
            matches!(s.auth, super::packet::Auth::Ah(_)),
        ),
        (IpAddr::V6(src), g) => VrrpSocket::open_v6(
            &s.iface,
            src,
            g.and_then(|g| match g {
                IpAddr::V6(g) => Some(g),
                _ => None,
            }),
        ),
    }
    .map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("vrrp_instance {}: VRRP socket on {}: {e}", s.name, s.iface),
        )
    })?;
    sock.set_nonblocking()?;
    if s.mcast.is_none() {
        sock.set_unicast_ttl(s.unicast_ttl)?;
    }
    Ok(sock)
}

/// Start the VRRP thread. Sockets are opened before this returns, so a missing interface
/// or privilege is an error here rather than a silent thread exit.
pub(crate) fn spawn(
    specs: Specs,
    initial: Initial,
    notify: mpsc::UnboundedSender<Notification>,
    sched: crate::sched::ThreadSched,
    resume: Option<Resume>,
) -> io::Result<Handle> {
    let mut nl = Rtnl::open()?;
    let links = addr::links(&mut nl)?;
    let mut resume = resume;
    let mut sockets = Vec::new();
    for s in &specs.instances {
        let inherited = resume
            .as_mut()
            .filter(|r| r.instances.iter().any(|x| x.continues(s)))
            .and_then(|r| r.sockets.remove(&s.name));
        let sock = match inherited {
            Some((rx, tx)) => {
                let sock = VrrpSocket::from_fds(rx, tx, s.src, &s.iface)?;
                sock.set_nonblocking()?;
                sock
            }
            None => open_socket(s)?,
        };
        sockets.push(sock);
    }
    let monitor = rtnl::link_monitor()?;
    let (tx, rx) = mpsc::unbounded_channel();
    let status: Snapshot = Arc::new(Mutex::new(Vec::new()));
    let st = status.clone();
    // the thread says when its first status is published (the instances as they start,
    // or as they continue after an upgrade): status never shows them missing
    let (published_tx, published) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("vrrp".into())
        .spawn(move || {
            // real time before anything else runs here (see `sched`)
            let problems = crate::sched::apply_thread(&sched);
            for p in &problems {
                warn!("{p}");
            }
            if problems.is_empty() {
                if let Some(p) = sched.rt_priority {
                    info!("VRRP thread: real-time scheduling (SCHED_RR {p})");
                }
            }
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    error!("VRRP runtime: {e}");
                    return;
                }
            };
            let local = tokio::task::LocalSet::new();
            let startup_delay = specs.startup_delay;
            let shell = Shell {
                engine: Engine::new(specs),
                nl,
                links: links.into_iter().map(|l| (l.name.clone(), l)).collect(),
                frames: HashMap::new(),
                sockets: HashMap::new(),
                out: Vec::new(),
                gone: HashMap::new(),
                rebind: Vec::new(),
                send_errors: HashMap::new(),
                promoted: HashMap::new(),
                startup_delay,
                ptx: None,
                notify,
                status: st,
                stale: None,
            };
            local.block_on(
                &rt,
                shell.run(rx, monitor, initial, sockets, resume, published_tx),
            );
        })?;
    // (bounded: a thread that cannot start its runtime says so in the log)
    let _ = published.recv_timeout(std::time::Duration::from_secs(2));
    Ok(Handle {
        commands: tx,
        status,
        thread: Some(thread),
    })
}

/// The addresses some of these instances track (track_src_ip), with their interface.
fn tracked_addresses<'a>(
    specs: impl IntoIterator<Item = &'a InstanceSpec>,
) -> Vec<(String, IpAddr)> {
    let mut v = Vec::new();
    for s in specs {
        for t in &s.track {
            if let Object::Address(n, a) = &t.object {
                if !v.contains(&(n.clone(), *a)) {
                    v.push((n.clone(), *a));
                }
            }
        }
    }
    v
}

/// Whether each tracked address is on its interface now.
fn address_status(
    tracked: Vec<(String, IpAddr)>,
    now: Instant,
    engine: &mut Engine,
    out: &mut Vec<Output>,
) {
    for (n, a) in tracked {
        let present = addr::has_address(&n, a);
        if !present {
            warn!("track_src_ip: {a} is not on {n}: the instances sending from it are in FAULT");
        }
        engine.set_tracked(Object::Address(n, a), present, now, out);
    }
}

/// The interfaces some of these instances track.
fn tracked_interfaces<'a>(specs: impl IntoIterator<Item = &'a InstanceSpec>) -> Vec<String> {
    let mut v = Vec::new();
    for s in specs {
        for t in &s.track {
            if let Object::Interface(n) = &t.object {
                if !v.contains(n) {
                    v.push(n.clone());
                }
            }
        }
    }
    v
}

struct Shell {
    engine: Engine,
    nl: Rtnl,
    links: HashMap<String, LinkState>,
    frames: HashMap<String, FrameSocket>,
    /// Per instance: its socket and the task reading it.
    sockets: HashMap<Id, Attached>,
    /// The engine's outputs, carried out and emptied by `execute` (kept for its capacity).
    out: Vec<Output>,
    ptx: Option<mpsc::Sender<Packet>>,
    notify: mpsc::UnboundedSender<Notification>,
    status: Snapshot,
    /// Interfaces deleted while we run, by name: their last index (a re-created one gets
    /// another, which sockets and kernel objects must follow).
    gone: HashMap<String, u32>,
    /// Instances whose socket must be opened again (their interface was re-created, its
    /// address may come later): tried at each link or address event.
    rebind: Vec<Id>,
    /// Adverts that could not be sent, per instance (logged at powers of two).
    send_errors: HashMap<Id, u64>,
    /// Interfaces whose promote_secondaries we set, with the value they had.
    promoted: HashMap<String, String>,
    /// vrrp_startup_delay.
    startup_delay: std::time::Duration,
    /// Since when the published status lags the engine's counters (packets received or
    /// dropped with nothing else to do): published at most [`PUBLISH_EVERY`] later.
    stale: Option<Instant>,
}

/// How long status and metrics may lag a backup's or a flooded master's counters.
const PUBLISH_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// A one-shot timerfd on CLOCK_MONOTONIC (the clock of `Instant`), polled by the runtime.
struct Timer(AsyncFd<Tfd>);

struct Tfd(nix::sys::timerfd::TimerFd);
impl AsRawFd for Tfd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

impl Timer {
    fn new() -> io::Result<Timer> {
        use nix::sys::timerfd::{ClockId, TimerFd, TimerFlags};
        let t = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )?;
        // SAFETY: the AsyncFd owns the timerfd, so its descriptor stays open and the same
        let a = unsafe { AsyncFd::register(Tfd(t)) }.map_err(|e| e.into_parts().1)?;
        Ok(Timer(a))
    }

    fn arm(&self, deadline: Option<Instant>) -> io::Result<()> {
        use nix::sys::time::TimeSpec;
        use nix::sys::timerfd::{Expiration, TimerSetTimeFlags};
        let t = &self.0.get_ref().0;
        match deadline {
            None => t.unset()?,
            Some(d) => {
                // zero would disarm: a deadline already passed fires at once
                let dur = d
                    .saturating_duration_since(Instant::now())
                    .max(std::time::Duration::from_nanos(1));
                t.set(
                    Expiration::OneShot(TimeSpec::from_duration(dur)),
                    TimerSetTimeFlags::empty(),
                )?;
            }
        }
        Ok(())
    }

    /// Wait for the expiry (and consume it).
    async fn expired(&self) {
        loop {
            let Ok(mut g) = self.0.readable().await else {
                return std::future::pending().await;
            };
            let mut b = [0u8; 8];
            match nix::unistd::read(g.get_inner().as_raw_fd(), &mut b) {
                Ok(_) => return,
                Err(_) => g.clear_ready(),
            }
        }
    }
}

/// A VRRP socket shared by its reader task and the sender, polled through its rx side.
struct Rx(Rc<VrrpSocket>);
impl AsRawFd for Rx {
    fn as_raw_fd(&self) -> RawFd {
        self.0.rx_fd().as_raw_fd()
    }
}

/// A packet (or receive error) from the socket of this instance.
type Packet = (Id, io::Result<Received>);

/// An instance's socket, shared by the sender and the task that reads it.
struct Attached {
    sock: Rc<VrrpSocket>,
    reader: tokio::task::AbortHandle,
}

impl Drop for Attached {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Shell {
    /// Give instance `id` this socket and start the task that reads it; the socket it had
    /// (its interface was re-created) and that socket's reader go.
    fn attach(&mut self, id: Id, sock: VrrpSocket) {
        let a = self.reader(id, Rc::new(sock));
        self.sockets.insert(id, a);
    }

    /// A socket shared with a new task that reads it for instance `id`.
    fn reader(&mut self, id: Id, s: Rc<VrrpSocket>) -> Attached {
        let ptx = self.ptx.clone();
        let reader = s.clone();
        let task = tokio::task::spawn_local(async move {
            // (set before the first socket is attached)
            let Some(ptx) = ptx else { return };
            // SAFETY: Rx owns (a reference to) the socket, which stays open as long as
            // the AsyncFd exists, and always returns the same descriptor
            let Ok(afd) = (unsafe { AsyncFd::register(Rx(reader.clone())) }) else {
                error!("cannot poll a VRRP socket");
                return;
            };
            loop {
                let Ok(mut guard) = afd.readable().await else {
                    return;
                };
                loop {
                    match reader.recv() {
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            guard.clear_ready();
                            break;
                        }
                        r => {
                            if ptx.send((id, r)).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            }
        });
        Attached {
            sock: s,
            reader: task.abort_handle(),
        }
    }

    /// Give the engine the shell's output buffer, then carry out what it asked for.
    fn drive(&mut self, f: impl FnOnce(&mut Engine, &mut Vec<Output>)) {
        let mut out = std::mem::take(&mut self.out);
        f(&mut self.engine, &mut out);
        self.execute(&mut out);
        self.out = out;
    }

    /// The initial state of what instances track: these interfaces and addresses, and
    /// the scripts, processes and files in `initial`.
    fn initial_tracking(
        &mut self,
        (interfaces, addresses): (Vec<String>, Vec<(String, IpAddr)>),
        initial: Initial,
        now: Instant,
    ) {
        let links: Vec<(String, bool)> = interfaces
            .into_iter()
            .map(|o| {
                let up = self.links.get(&o).is_some_and(|l| l.up);
                (o, up)
            })
            .collect();
        self.drive(|e, out| {
            for (o, up) in links {
                if !up {
                    warn!("interface {o} is down or missing");
                }
                e.set_tracked(Object::Interface(o), up, now, out);
            }
            address_status(addresses, now, e, out);
            for (name, ok) in initial.scripts {
                e.set_tracked(Object::Script(name), ok, now, out);
            }
            for (name, up) in initial.processes {
                e.set_tracked(Object::Process(name), up, now, out);
            }
            for (name, v) in initial.files {
                e.set_file(&name, v, now, out);
            }
        });
    }

    /// A reload: open the new instances' sockets (on failure nothing changes), stop the
    /// removed instances, carry out the changes. Instances keep their ids (and sockets).
    fn reload(&mut self, specs: Specs, initial: Initial) -> Result<(), String> {
        let now = Instant::now();
        let mut opened: Vec<Option<VrrpSocket>> = Vec::new();
        for s in &specs.instances {
            opened.push(if self.engine.continues(s) {
                None
            } else {
                Some(open_socket(s).map_err(|e| e.to_string())?)
            });
        }
        // what the new instances track, before they start
        let tracked = (
            tracked_interfaces(&specs.instances),
            tracked_addresses(&specs.instances),
        );
        self.initial_tracking(tracked, initial, now);
        self.drive(|e, out| e.retire(&specs, now, out));
        let mut out = std::mem::take(&mut self.out);
        let ids = self.engine.replace(specs, now, &mut out);
        // the sockets of the instances that are gone close (their readers stop)
        self.sockets.retain(|id, _| ids.contains(id));
        self.send_errors.retain(|id, _| ids.contains(id));
        self.rebind.retain(|id| ids.contains(id));
        for (&id, sock) in ids.iter().zip(opened) {
            match sock {
                Some(sock) => self.attach(id, sock),
                None if !self.sockets.contains_key(&id) => {
                    error!("VRRP reload: an instance continued without its socket");
                }
                None => {}
            }
        }
        self.execute(&mut out);
        self.out = out;
        self.publish();
        Ok(())
    }

    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        monitor: netlink_sys::Socket,
        initial: Initial,
        sockets: Vec<VrrpSocket>,
        resume: Option<Resume>,
        published: std::sync::mpsc::Sender<()>,
    ) {
        let (ptx, mut packets) = mpsc::channel::<Packet>(1024);
        self.ptx = Some(ptx);
        let ids: Vec<Id> = self.engine.ids().collect();
        for (id, s) in ids.into_iter().zip(sockets) {
            self.attach(id, s);
        }
        // SAFETY: the AsyncFd owns the socket, so its descriptor stays open and the same
        let monitor = match unsafe { AsyncFd::register(monitor) } {
            Ok(f) => Some(f),
            Err(e) => {
                error!("cannot poll the link monitor: {e}; interface tracking is off");
                None
            }
        };

        if resume.is_none() {
            // the instances as they start (INIT), until the engine moves them
            self.publish();
            let _ = published.send(());
        }
        // vrrp_startup_delay: nothing runs yet; a stop is served, the rest waits (a
        // successor goes on at once: the delay was served by the first binary)
        let mut deferred = Vec::new();
        if !self.startup_delay.is_zero() && resume.is_none() {
            info!(
                "VRRP starts in {:?} (vrrp_startup_delay)",
                self.startup_delay
            );
            let wake = tokio::time::sleep(self.startup_delay);
            tokio::pin!(wake);
            loop {
                tokio::select! {
                    _ = &mut wake => break,
                    cmd = commands.recv() => match cmd {
                        Some(Command::Shutdown(reply)) => {
                            let _ = reply.send(());
                            return;
                        }
                        None => return,
                        Some(c) => deferred.push(c),
                    },
                }
            }
        }
        if let Some(r) = &resume {
            // the values the first binary found, restored at the stop
            self.promoted.extend(r.promoted.iter().cloned());
        }
        self.promote_secondaries();
        let now = Instant::now();
        // what the instances track, as it is now (before start: only recorded)
        let tracked = (self.tracked_interfaces(), self.tracked_addresses());
        self.initial_tracking(tracked, initial, now);
        self.untracked_sources_missing();
        // addresses left by an earlier run that died: every instance starts as Backup
        // (a predecessor's Master keeps them: it goes on)
        let ids: Vec<Id> = self.engine.ids().collect();
        for id in ids {
            let master = resume.as_ref().is_some_and(|r| {
                self.engine.spec(id).is_some_and(|s| {
                    r.instances
                        .iter()
                        .any(|x| x.continues(s) && x.machine.state == "MASTER")
                })
            });
            if !master
                && self
                    .engine
                    .spec(id)
                    .is_some_and(|s| s.params.priority != 255)
            {
                self.remove_vips(id, false);
            }
        }
        match resume {
            Some(r) => {
                // the time since the save, counted again from here
                let elapsed = r.elapsed;
                let mut masters = Vec::new();
                self.drive(|e, out| masters = e.resume(&r.instances, now, elapsed, out));
                info!(
                    "VRRP: {} instance(s) continue where the previous binary left off ({} as MASTER)",
                    r.instances.len(),
                    masters.len()
                );
                self.publish();
                let _ = published.send(());
            }
            None => {
                self.drive(|e, out| e.start(now, out));
                self.publish();
            }
        }
        for c in deferred {
            if self.command(Some(c)) {
                return;
            }
        }

        let mut buf = vec![0u8; 64 * 1024];
        let mut rttime_seen = crate::sched::rttime_exceeded();
        // timers to the microsecond (tokio's wheel ticks in milliseconds, which would add
        // up to a millisecond to every expiry: a tenth of a 10 ms advert interval)
        let timer = match Timer::new() {
            Ok(t) => t,
            Err(e) => {
                error!("VRRP timer: {e}");
                return;
            }
        };
        loop {
            let publish_at = self.stale.map(|t| t + PUBLISH_EVERY);
            let deadline = match (self.engine.next_timeout(), publish_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if let Err(e) = timer.arm(deadline) {
                error!("VRRP timer: {e}");
            }
            let sleep = timer.expired();
            let readable = async {
                match &monitor {
                    Some(f) => f.readable().await,
                    None => std::future::pending().await,
                }
            };
            let over = crate::sched::rttime_exceeded();
            if over != rttime_seen {
                rttime_seen = over;
                warn!("a real-time thread ran past half its RLIMIT_RTTIME without blocking ({over} times so far): vrrp_rlimit_rttime may need raising");
            }
            tokio::select! {
                biased;
                _ = sleep => {
                    let now = Instant::now();
                    self.drive(|e, out| e.poll(now, out));
                    if publish_at.is_some_and(|t| t <= now) {
                        self.publish();
                    }
                }
                Some((id, r)) = packets.recv() => {
                    let now = Instant::now();
                    // (a socket a reload closed may have left packets behind: the engine
                    // ignores an id it no longer has)
                    match r {
                        Ok(rx) => self.drive(|e, out| e.packet(id, &rx, now, out)),
                        Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                            self.engine.count_drop(id, DropReason::TooShort.into());
                        }
                        Err(e) => {
                            self.engine.count_drop(id, Reason::ReceiveError);
                            debug!("VRRP receive: {e}");
                        }
                    }
                    // counters moved: status and metrics follow within PUBLISH_EVERY
                    self.stale.get_or_insert(now);
                }
                Ok(mut guard) = readable => {
                    loop {
                        match guard.get_inner().recv(&mut &mut buf[..], 0) {
                            Ok(n) => {
                                let msgs = rtnl::parse_messages(&buf[..n]);
                                self.links_changed(msgs);
                            }
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                                guard.clear_ready();
                                break;
                            }
                            Err(e) => {
                                // ENOBUFS: events were lost; read the whole table again
                                warn!("link monitor: {e}; re-reading interfaces");
                                self.reread_links();
                                guard.clear_ready();
                                break;
                            }
                        }
                    }
                }
                cmd = commands.recv() => {
                    let cmd = match cmd {
                        Some(Command::Freeze(reply)) => {
                            match self.freeze(reply, &mut commands, &mut packets).await {
                                Some(waiting) => waiting,
                                None => continue,
                            }
                        }
                        other => vec![other],
                    };
                    for c in cmd {
                        if self.command(c) {
                            return;
                        }
                    }
                }
            }
        }
    }

    fn tracked_interfaces(&self) -> Vec<String> {
        tracked_interfaces(self.engine.specs())
    }

    /// A hand-over: reply with the instances' states and duplicates of their sockets,
    /// then wait for `Thaw` (or [`FROZEN_AT_MOST`]), holding back every other command.
    /// Returns the commands held back (None: none), to run now.
    async fn freeze(
        &mut self,
        reply: oneshot::Sender<Frozen>,
        commands: &mut mpsc::UnboundedReceiver<Command>,
        packets: &mut mpsc::Receiver<Packet>,
    ) -> Option<Vec<Option<Command>>> {
        // no more reading: what arrives from now on waits in the sockets for the new
        // binary; what was read is handled first
        for a in self.sockets.values() {
            a.reader.abort();
        }
        while let Ok((id, r)) = packets.try_recv() {
            if let Ok(rx) = r {
                let now = Instant::now();
                self.drive(|e, out| e.packet(id, &rx, now, out));
            }
        }
        let at = Instant::now();
        // masters advertise now: the successor has a whole interval before the next one
        self.drive(|e, out| e.advertise_now(at, out));
        let instances = self.engine.save(at);
        let mut sockets = Vec::new();
        for (id, a) in &self.sockets {
            let Some(spec) = self.engine.spec(*id) else {
                continue;
            };
            match a.sock.dup_fds() {
                Ok((rx, tx)) => sockets.push((spec.name.clone(), rx, tx)),
                Err(e) => warn!(
                    "vrrp_instance {}: its socket cannot be handed over ({e}): the new binary opens another",
                    spec.name
                ),
            }
        }
        let frozen = Frozen {
            at,
            instances,
            sockets,
            promoted: self
                .promoted
                .iter()
                .map(|(a, b)| (a.clone(), b.clone()))
                .collect(),
        };
        if reply.send(frozen).is_err() {
            return None;
        }
        info!("VRRP: frozen for the hand-over to a new binary");
        let mut held = Vec::new();
        let until = tokio::time::sleep(FROZEN_AT_MOST);
        tokio::pin!(until);
        loop {
            tokio::select! {
                _ = &mut until => {
                    warn!("VRRP: no hand-over within {FROZEN_AT_MOST:?}: going on");
                    break;
                }
                c = commands.recv() => match c {
                    Some(Command::Thaw) => {
                        info!("VRRP: the hand-over did not happen: going on");
                        break;
                    }
                    Some(Command::Freeze(r)) => drop(r),
                    None => {
                        held.push(None);
                        break;
                    }
                    other => held.push(other),
                },
            }
        }
        // reading again; what came due meanwhile runs at once (a master's advert first)
        let ids: Vec<Id> = self.sockets.keys().copied().collect();
        for id in ids {
            if let Some(sock) = self.sockets.get(&id).map(|a| a.sock.clone()) {
                let a = self.reader(id, sock);
                self.sockets.insert(id, a);
            }
        }
        let now = Instant::now();
        self.drive(|e, out| e.poll(now, out));
        Some(held)
    }

    fn tracked_addresses(&self) -> Vec<(String, IpAddr)> {
        tracked_addresses(self.engine.specs())
    }

    /// A configured source address that is not on its interface and not tracked: the
    /// instance runs, its adverts fail until the address is there (said once).
    fn untracked_sources_missing(&self) {
        let tracked = self.tracked_addresses();
        for s in self.engine.specs() {
            // any interface: with use_vmac the address is on the VMAC's base
            if !tracked.iter().any(|(_, a)| *a == s.src) && !addr::has_address("", s.src) {
                warn!(
                    "vrrp_instance {}: {} is not on {}: its adverts fail until it is (track_src_ip would hold the instance in FAULT meanwhile)",
                    s.name, s.src, s.iface
                );
            }
        }
    }

    /// An address came or went: a tracked source address (track_src_ip) follows.
    fn address_event(
        &mut self,
        m: &netlink_packet_route::address::AddressMessage,
        present: bool,
        now: Instant,
        out: &mut Vec<Output>,
    ) {
        let Some((index, ip)) = addr::address_event(m) else {
            return;
        };
        let Some(name) = self
            .links
            .values()
            .find(|l| l.index == index)
            .map(|l| l.name.clone())
        else {
            return;
        };
        if !self.tracked_addresses().contains(&(name.clone(), ip)) {
            return;
        }
        info!(
            "track_src_ip: {ip} {} {name}",
            if present {
                "is back on"
            } else {
                "was removed from"
            }
        );
        self.engine
            .set_tracked(Object::Address(name, ip), present, now, out);
    }

    fn links_changed(&mut self, msgs: Vec<RouteNetlinkMessage>) {
        let now = Instant::now();
        let mut out = std::mem::take(&mut self.out);
        for m in msgs {
            match m {
                RouteNetlinkMessage::NewLink(l) => {
                    if let Some(st) = addr::link_state(&l) {
                        let before = self
                            .links
                            .get(&st.name)
                            .map(|x| x.index)
                            .or_else(|| self.gone.remove(&st.name));
                        if let Some(old) = before.filter(|&o| o != st.index) {
                            self.renumbered(&st.name, old, st.index);
                        }
                        let was = self.links.get(&st.name).map(|x| x.up);
                        if was != Some(st.up) {
                            info!(
                                "interface {} is {}",
                                st.name,
                                if st.up { "up" } else { "down" }
                            );
                        }
                        self.frames.remove(&st.name);
                        self.engine.set_tracked(
                            Object::Interface(st.name.clone()),
                            st.up,
                            now,
                            &mut out,
                        );
                        self.links.insert(st.name.clone(), st);
                    }
                }
                RouteNetlinkMessage::DelAddress(a) => {
                    self.address_event(&a, false, now, &mut out);
                    self.address_removed(&a);
                }
                RouteNetlinkMessage::NewAddress(a) => self.address_event(&a, true, now, &mut out),
                RouteNetlinkMessage::DelLink(l) => {
                    if let Some(st) = addr::link_state(&l) {
                        info!("interface {} was removed", st.name);
                        self.gone.insert(st.name.clone(), st.index);
                        self.links.remove(&st.name);
                        self.frames.remove(&st.name);
                        self.engine
                            .set_tracked(Object::Interface(st.name), false, now, &mut out);
                    }
                }
                _ => {}
            }
        }
        self.execute(&mut out);
        self.out = out;
        self.rebind_sockets();
    }

    /// A command from another thread; true when the thread must end.
    fn command(&mut self, cmd: Option<Command>) -> bool {
        let now = Instant::now();
        match cmd {
            Some(Command::Script(name, ok)) => {
                self.drive(|e, out| e.set_tracked(Object::Script(name), ok, now, out));
            }
            Some(Command::File(name, v)) => {
                self.drive(|e, out| e.set_file(&name, v, now, out));
            }
            Some(Command::Process(name, up)) => {
                info!(
                    "vrrp_track_process {name}: {}",
                    if up { "quorum runs" } else { "quorum lost" }
                );
                self.drive(|e, out| e.set_tracked(Object::Process(name), up, now, out));
            }
            Some(Command::Reload {
                specs,
                initial,
                reply,
            }) => {
                let r = self.reload(specs, initial);
                self.promote_secondaries();
                let _ = reply.send(r);
            }
            Some(Command::Shutdown(reply)) => {
                self.stop(now);
                let _ = reply.send(());
                return true;
            }
            // (Freeze is served by the loop; a Thaw without a freeze: nothing to do)
            Some(Command::Freeze(_) | Command::Thaw) => {}
            None => {
                self.stop(now);
                return true;
            }
        }
        false
    }

    /// Stop every instance (priority 0, addresses removed, STOP notifications) and give
    /// the interfaces back their promote_secondaries.
    fn stop(&mut self, now: Instant) {
        self.drive(|e, out| e.shutdown(now, out));
        self.restore_secondaries();
    }

    /// `promote_secondaries`: set on the interfaces of the instances that ask for it (the
    /// value found first is restored at stop).
    fn promote_secondaries(&mut self) {
        for spec in self.engine.specs() {
            if !spec.promote_secondaries || self.promoted.contains_key(&spec.iface) {
                continue;
            }
            let path = format!("/proc/sys/net/ipv4/conf/{}/promote_secondaries", spec.iface);
            let was = std::fs::read_to_string(&path).unwrap_or_default();
            match std::fs::write(&path, "1") {
                Ok(()) => {
                    self.promoted
                        .insert(spec.iface.clone(), was.trim().to_string());
                }
                Err(e) => warn!(
                    "vrrp_instance {}: promote_secondaries on {}: {e}",
                    spec.name, spec.iface
                ),
            }
        }
    }

    fn restore_secondaries(&mut self) {
        for (iface, was) in self.promoted.drain() {
            let path = format!("/proc/sys/net/ipv4/conf/{iface}/promote_secondaries");
            if !was.is_empty() {
                let _ = std::fs::write(path, was);
            }
        }
    }

    /// Interface `name` was deleted and created again (index `old` -> `new`): the
    /// instances on it get new sockets (the old ones are bound to the old index) and their
    /// addresses and routes point at the new index.
    fn renumbered(&mut self, name: &str, old: u32, new: u32) {
        info!("interface {name} was re-created (index {old} -> {new}): VRRP follows it");
        self.engine.interface_renumbered(old, new);
        self.frames.remove(name);
        let on_it: Vec<Id> = self
            .engine
            .ids()
            .filter(|&id| self.engine.spec(id).is_some_and(|s| s.iface == name))
            .collect();
        for id in on_it {
            if !self.rebind.contains(&id) {
                self.rebind.push(id);
            }
        }
    }

    /// Open again the sockets of instances whose interface was re-created; an instance
    /// whose source address is not there yet is tried at the next event.
    fn rebind_sockets(&mut self) {
        let mut still = Vec::new();
        for id in std::mem::take(&mut self.rebind) {
            let Some(spec) = self.engine.spec(id) else {
                continue;
            };
            match open_socket(spec) {
                Ok(sock) => {
                    info!(
                        "vrrp_instance {}: VRRP socket open again on {}",
                        spec.name, spec.iface
                    );
                    self.attach(id, sock);
                    self.send_errors.remove(&id);
                }
                Err(e) => {
                    debug!("{e}: tried again at the next change");
                    still.push(id);
                }
            }
        }
        self.rebind = still;
    }

    fn reread_links(&mut self) {
        match addr::links(&mut self.nl) {
            Ok(links) => {
                let msgs_up: Vec<(String, bool)> =
                    links.iter().map(|l| (l.name.clone(), l.up)).collect();
                self.links = links.into_iter().map(|l| (l.name.clone(), l)).collect();
                self.frames.clear();
                let now = Instant::now();
                let links = self.tracked_interfaces();
                let tracked = self.tracked_addresses();
                self.drive(|e, out| {
                    for o in links {
                        let up = msgs_up.iter().any(|(n, u)| *n == o && *u);
                        e.set_tracked(Object::Interface(o), up, now, out);
                    }
                    address_status(tracked, now, e, out);
                });
            }
            Err(e) => error!("reading interfaces: {e}"),
        }
    }

    /// Carry out (and empty) the engine's outputs.
    fn execute(&mut self, out: &mut Vec<Output>) {
        if out.is_empty() {
            return;
        }
        for o in out.drain(..) {
            match o {
                Output::Send { inst, dst, payload } => {
                    let sent = match self.sockets.get(&inst) {
                        Some(a) => a.sock.send(&payload, dst),
                        None => Err(io::Error::new(io::ErrorKind::NotConnected, "no socket")),
                    };
                    if let Err(e) = sent {
                        self.engine.count_drop(inst, Reason::SendError);
                        // a vanished interface fails every advert: say so, not 10 times a second
                        let n = self.send_errors.entry(inst).or_insert(0);
                        *n += 1;
                        let n = *n;
                        if n.is_power_of_two() {
                            warn!(
                                "vrrp_instance {}: advert to {dst}: {e} ({n} failed so far)",
                                self.name(inst)
                            );
                        }
                    }
                }
                Output::AddVips(i) => self.add_vips(i),
                Output::ChangeVips { inst, remove, add } => {
                    let what = format!("vrrp_instance {}: reload", self.name(inst));
                    addr::change(&mut self.nl, &what, &remove, &add);
                }
                Output::RemoveVips(i) => self.remove_vips(i, true),
                Output::Announce(i) => self.announce(i),
                Output::Notify(n) => {
                    let who = n.subject.word();
                    if n.change.is_transition() {
                        info!("{who} {} is now {}", n.name, n.change.word());
                    } else {
                        info!("{who} {}: priority now {}", n.name, n.priority);
                    }
                    let _ = self.notify.send(n);
                }
            }
        }
        self.publish();
    }

    /// An address went away: if a MASTER instance holds it, someone else removed it (we
    /// remove ours only after leaving MASTER): put it back, as keepalived's netlink
    /// monitor reinstates what it owns, and say so.
    fn address_removed(&mut self, m: &netlink_packet_route::address::AddressMessage) {
        let masters: Vec<Id> = self
            .engine
            .ids()
            .filter(|&id| {
                self.engine
                    .view(id)
                    .is_some_and(|v| v.state == State::Master)
            })
            .collect();
        for id in masters {
            let Some(spec) = self.engine.spec(id) else {
                continue;
            };
            for k in spec.kernel.iter().filter(|k| k.is_address(m)) {
                match k.add(&mut self.nl) {
                    Ok(()) => warn!(
                        "vrrp_instance {}: {k} was removed while MASTER (not by ldirector): added back",
                        spec.name
                    ),
                    Err(e) => error!(
                        "vrrp_instance {}: {k} was removed while MASTER and cannot be added back: {e}",
                        spec.name
                    ),
                }
            }
        }
    }

    /// An instance's name, for messages.
    fn name(&self, id: Id) -> &str {
        self.engine.spec(id).map_or("?", |s| s.name.as_str())
    }

    fn add_vips(&mut self, id: Id) {
        let Some(spec) = self.engine.spec(id) else {
            return;
        };
        for k in &spec.kernel {
            if let Err(e) = k.add(&mut self.nl) {
                error!("vrrp_instance {}: adding {k}: {e}", spec.name);
            }
        }
    }

    fn remove_vips(&mut self, id: Id, log: bool) {
        let Some(spec) = self.engine.spec(id) else {
            return;
        };
        for k in spec.kernel.iter().rev() {
            if let Err(e) = k.remove(&mut self.nl) {
                if log {
                    error!("vrrp_instance {}: removing {k}: {e}", spec.name);
                }
            }
        }
    }

    fn announce(&mut self, id: Id) {
        let Some(spec) = self.engine.spec(id) else {
            return;
        };
        for (dev, ip) in &spec.announce {
            let Some(link) = self.links.get(dev) else {
                continue;
            };
            let Some(mac) = link.mac else {
                continue;
            };
            if !self.frames.contains_key(dev) {
                match FrameSocket::open(link.index) {
                    Ok(f) => {
                        self.frames.insert(dev.clone(), f);
                    }
                    Err(e) => {
                        warn!("cannot announce on {dev}: {e}");
                        continue;
                    }
                }
            }
            let Some(sock) = self.frames.get(dev) else {
                continue;
            };
            let r = match ip {
                IpAddr::V4(a) => sock.send(&garp::gratuitous_arp(mac, *a)),
                IpAddr::V6(a) => {
                    let router = std::fs::read_to_string(format!(
                        "/proc/sys/net/ipv6/conf/{dev}/forwarding"
                    ))
                    .is_ok_and(|s| s.trim() == "1");
                    sock.send(&garp::unsolicited_na(mac, *a, router))
                }
            };
            if let Err(e) = r {
                warn!("announcing {ip} on {dev}: {e}");
            }
        }
    }

    fn publish(&mut self) {
        self.stale = None;
        let v: Vec<InstanceStatus> = self
            .engine
            .views()
            .map(|x| InstanceStatus {
                name: x.name.to_string(),
                state: x.state,
                priority: x.priority,
                master: x.master,
                since: x.since,
                stats: x.stats.clone(),
            })
            .collect();
        if let Ok(mut s) = self.status.lock() {
            *s = v;
        }
    }
}
