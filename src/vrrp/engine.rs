//! All VRRP instances of a director, sans-IO: packets, tracking changes and time in;
//! packets to send, kernel changes, announcements and notifications out. It checks every
//! received packet (TTL, codec, VRID, peer, interval, address list), keeps one
//! [`Machine`] per instance, moves sync groups together, turns tracking into priority or
//! fault, and schedules announcements. The shell (`shell.rs`) only moves bytes.

use super::ah;
use super::announce::Schedule;
use super::drops::{Drops, Reason};
use super::machine::{Action, Event, Machine, Saved, State};
pub(crate) use super::notification::Notification;
use super::notification::{Change, Subject};
use super::packet::{self, Advert, DropReason, Expect, Version};
use super::socket::Received;
use super::spec::{InstanceSpec, Specs};
use super::track::{self, Object, Status};
use crate::net::kernel::{self, Kernel};
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// An instance, as the shell names it: stable across reloads (a continued instance keeps
/// its id, a new one gets one never used before), so nothing outside the engine is
/// renumbered when a reload adds, removes or reorders instances.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Id(u32);

/// Something for the shell to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Output {
    /// Send this VRRP message from the instance's socket to `dst` (with AH: the whole
    /// IPv4 packet, for a socket that writes its own IP header).
    Send {
        inst: Id,
        dst: IpAddr,
        payload: Vec<u8>,
    },
    /// Add the instance's addresses, routes and rules.
    AddVips(Id),
    /// Remove them.
    RemoveVips(Id),
    /// A reload changed the addresses, routes or rules of an instance: remove these (in
    /// this order), then add these.
    ChangeVips {
        inst: Id,
        remove: Vec<Kernel>,
        add: Vec<Kernel>,
    },
    /// One round of gratuitous ARP / unsolicited NA for every address of the instance.
    Announce(Id),
    /// Tell the notifier.
    Notify(Notification),
}

/// Counters of one instance (keepalived's stats, and ldirector's drop reasons).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Stats {
    pub adverts_sent: u64,
    pub adverts_received: u64,
    pub priority_zero_sent: u64,
    pub priority_zero_received: u64,
    pub became_master: u64,
    pub released_master: u64,
    /// Transitions into Backup, Master or Fault.
    pub transitions: u64,
    /// Packets dropped, by reason.
    pub dropped: Drops,
    /// Adverts of other virtual routers on the same interface (not errors).
    pub other_vrid: u64,
    /// Adverts whose address list differs from ours (accepted unless strict).
    pub address_list_mismatch: u64,
    pub announcements: u64,
}

struct Instance {
    id: Id,
    spec: InstanceSpec,
    machine: Machine,
    stats: Stats,
    /// Effective priority from tracking; None = fault (own tracking only).
    tracked: Option<u8>,
    /// Fault given to the machine (own or a group member's).
    faulted: bool,
    since: Option<Instant>,
    /// A reload removed it: stopped, dropped at the next `replace`.
    retired: bool,
    /// AH: the highest sequence number sent or accepted (keepalived's one counter for
    /// both: a new master goes on above what it heard, so its peers accept it).
    ah_seq: u32,
    /// AH: the IPv4 identification of the last advert (covered by the ICV, so ours).
    ip_id: u16,
}

impl Instance {
    fn new(id: Id, spec: InstanceSpec) -> Instance {
        Instance {
            id,
            machine: Machine::new(spec.params.clone()),
            tracked: Some(spec.params.priority),
            faulted: false,
            spec,
            stats: Stats::default(),
            since: None,
            retired: false,
            ah_seq: 0,
            ip_id: 0,
        }
    }
}

/// Whether a reloaded instance is the same virtual router on the same socket as before:
/// then it keeps its state, timers and counters.
fn same_router(a: &InstanceSpec, b: &InstanceSpec) -> bool {
    a.name == b.name
        && a.iface == b.iface
        && a.vrid == b.vrid
        && a.version == b.version
        && a.ipv6 == b.ipv6
        && a.src == b.src
        && a.mcast == b.mcast
        && a.unicast_ttl == b.unicast_ttl
        // AH speaks another IP protocol (another socket)
        && matches!(a.auth, packet::Auth::Ah(_)) == matches!(b.auth, packet::Auth::Ah(_))
}

struct Group {
    name: String,
    members: Vec<usize>,
    state: Option<State>,
}

/// The instances in the configuration's order (sync groups name their members by this
/// position, which is the engine's own business); outside, an instance is its [`Id`].
/// Every method that has something for the shell to do appends it to the caller's
/// buffer.
pub(crate) struct Engine {
    inst: Vec<Instance>,
    /// Position of each instance in `inst`.
    at: HashMap<Id, usize>,
    /// The next new instance's id.
    next_id: u32,
    groups: Vec<Group>,
    status: Status,
    garp: Schedule<Id>,
    started: bool,
}

/// One instance as a successor in a new binary continues it (`ldirector upgrade`): the
/// same virtual router (name, interface, VRID, family) resumes its machine, time in its
/// state and AH sequence number.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct SavedInstance {
    pub name: String,
    pub iface: String,
    pub vrid: u8,
    pub ipv6: bool,
    pub machine: Saved,
    pub since_us_ago: Option<u64>,
    pub ah_seq: u32,
    pub ip_id: u16,
}

impl SavedInstance {
    /// Whether `spec` is the virtual router this was saved from (name, interface, VRID,
    /// family): only then does it continue it.
    pub(crate) fn continues(&self, spec: &InstanceSpec) -> bool {
        self.name == spec.name
            && self.iface == spec.iface
            && self.vrid == spec.vrid
            && self.ipv6 == spec.ipv6
    }
}

/// A read-only view of one instance, for status and metrics.
#[derive(Clone, Debug)]
pub(crate) struct InstanceView<'a> {
    pub name: &'a str,
    pub state: State,
    pub priority: u8,
    pub master: Option<IpAddr>,
    pub since: Option<Instant>,
    pub stats: &'a Stats,
}

impl Engine {
    pub(crate) fn new(specs: Specs) -> Engine {
        let inst: Vec<Instance> = specs
            .instances
            .into_iter()
            .zip(0..)
            .map(|(spec, n)| Instance::new(Id(n), spec))
            .collect();
        let next_id = inst.len() as u32;
        let groups = specs
            .groups
            .into_iter()
            .map(|g| Group {
                name: g.name,
                members: g.members,
                state: None,
            })
            .collect();
        let mut e = Engine {
            inst,
            at: HashMap::new(),
            next_id,
            groups,
            status: Status::default(),
            garp: Schedule::default(),
            started: false,
        };
        e.index();
        e
    }

    fn index(&mut self) {
        self.at = self
            .inst
            .iter()
            .enumerate()
            .map(|(i, x)| (x.id, i))
            .collect();
    }

    /// The instances' ids, in the configuration's order.
    pub(crate) fn ids(&self) -> impl Iterator<Item = Id> + '_ {
        self.inst.iter().map(|x| x.id)
    }

    /// Every instance's specification, in the configuration's order.
    pub(crate) fn specs(&self) -> impl Iterator<Item = &InstanceSpec> {
        self.inst.iter().map(|x| &x.spec)
    }

    /// An instance's specification (None: a reload removed it).
    pub(crate) fn spec(&self, id: Id) -> Option<&InstanceSpec> {
        self.at.get(&id).map(|&i| &self.inst[i].spec)
    }

    /// An interface was re-created with a new index: the kernel objects of every instance
    /// follow it (the shell opens new sockets).
    pub(crate) fn interface_renumbered(&mut self, old: u32, new: u32) {
        for x in &mut self.inst {
            for k in &mut x.spec.kernel {
                k.reindex(old, new);
            }
        }
    }

    /// Every instance, in the configuration's order.
    pub(crate) fn views(&self) -> impl Iterator<Item = InstanceView<'_>> {
        self.inst.iter().map(Self::view_of)
    }

    /// One instance (None: a reload removed it).
    pub(crate) fn view(&self, id: Id) -> Option<InstanceView<'_>> {
        self.at.get(&id).map(|&i| Self::view_of(&self.inst[i]))
    }

    fn view_of(x: &Instance) -> InstanceView<'_> {
        InstanceView {
            name: &x.spec.name,
            state: x.machine.state(),
            priority: x.machine.priority(),
            master: x.machine.master(),
            since: x.since,
            stats: &x.stats,
        }
    }

    /// Record an interface or script status (before `start` too: the initial states).
    pub(crate) fn set_tracked(&mut self, o: Object, up: bool, now: Instant, out: &mut Vec<Output>) {
        if self.status.set_up(o, up) {
            self.retrack(now, out);
        }
    }

    pub(crate) fn set_file(&mut self, name: &str, value: i64, now: Instant, out: &mut Vec<Output>) {
        if self.status.set_file(name, value) {
            self.retrack(now, out);
        }
    }

    /// Start every instance (faulty ones go straight to Fault).
    pub(crate) fn start(&mut self, now: Instant, out: &mut Vec<Output>) {
        self.started = true;
        self.evaluate_tracking();
        for i in 0..self.inst.len() {
            self.prime(i, now);
        }
        for i in 0..self.inst.len() {
            let ev = self.first_event(i);
            self.run(i, ev, now, out);
        }
    }

    /// Before a hand-over: every Master sends its advert now (its next one is then a whole
    /// interval away, the time its successor has to take over).
    pub(crate) fn advertise_now(&mut self, now: Instant, out: &mut Vec<Output>) {
        for i in 0..self.inst.len() {
            if self.inst[i].retired {
                continue;
            }
            let mut acts = Vec::new();
            self.inst[i].machine.advertise_now(now, &mut acts);
            self.apply(i, acts, now, out, false);
        }
    }

    /// Every running instance as a successor continues it; taken at `now`.
    pub(crate) fn save(&self, now: Instant) -> Vec<SavedInstance> {
        self.inst
            .iter()
            .filter(|x| !x.retired)
            .filter_map(|x| {
                Some(SavedInstance {
                    name: x.spec.name.clone(),
                    iface: x.spec.iface.clone(),
                    vrid: x.spec.vrid,
                    ipv6: x.spec.ipv6,
                    machine: x.machine.save(now)?,
                    since_us_ago: x.since.map(|t| {
                        u64::try_from(now.saturating_duration_since(t).as_micros())
                            .unwrap_or(u64::MAX)
                    }),
                    ah_seq: x.ah_seq,
                    ip_id: x.ip_id,
                })
            })
            .collect()
    }

    /// Start as a predecessor left off, `elapsed` after its save (instead of `start`):
    /// an instance `saved` names (the same virtual router) resumes its state, master and
    /// timers without a transition, an advert or an announcement — a Master's addresses
    /// are adopted as they are in the kernel; what its tracking says now applies as a
    /// change (a Master that is now faulty leaves, a Fault that is well again goes to
    /// Backup). The others start. Returns the ids of the instances resumed as Master.
    pub(crate) fn resume(
        &mut self,
        saved: &[SavedInstance],
        now: Instant,
        elapsed: Duration,
        out: &mut Vec<Output>,
    ) -> Vec<Id> {
        self.started = true;
        self.evaluate_tracking();
        for i in 0..self.inst.len() {
            self.prime(i, now);
        }
        let mut resumed = vec![false; self.inst.len()];
        let mut masters = Vec::new();
        for (i, x) in self.inst.iter_mut().enumerate() {
            let Some(s) = saved.iter().find(|s| s.continues(&x.spec)) else {
                continue;
            };
            if !x.machine.resume(&s.machine, now, elapsed) {
                continue;
            }
            resumed[i] = true;
            x.since = Some(
                now.checked_sub(
                    Duration::from_micros(s.since_us_ago.unwrap_or(0)).saturating_add(elapsed),
                )
                .unwrap_or(now),
            );
            x.ah_seq = s.ah_seq;
            x.ip_id = s.ip_id;
            if x.machine.state() == State::Master {
                // present in the kernel: adding them again adopts them
                out.push(Output::AddVips(x.id));
                masters.push(x.id);
            }
        }
        for g in &mut self.groups {
            let first = g.members.first().map(|&m| self.inst[m].machine.state());
            if let Some(st) = first.filter(|st| {
                g.members
                    .iter()
                    .all(|&m| resumed[m] && self.inst[m].machine.state() == *st)
            }) {
                g.state = Some(st);
            }
        }
        for (i, &was) in resumed.iter().enumerate() {
            if !was {
                let ev = self.first_event(i);
                self.run(i, ev, now, out);
                continue;
            }
            let fault = self.inst[i].machine.state() == State::Fault;
            if self.inst[i].faulted != fault {
                let ev = Event::Fault(self.inst[i].faulted);
                self.run(i, ev, now, out);
            }
        }
        masters
    }

    /// Before instance `i` starts: its tracked priority (the machine has not started, so
    /// this only sets it).
    fn prime(&mut self, i: usize, now: Instant) {
        if let Some(p) = self.inst[i].tracked {
            if p != self.inst[i].machine.priority() {
                // not started: this only sets it (no actions)
                let mut none = Vec::new();
                self.inst[i]
                    .machine
                    .handle(Event::Priority(p), now, &mut none);
            }
        }
    }

    /// How instance `i` starts: in Fault when its tracking says so.
    fn first_event(&self, i: usize) -> Event {
        if self.inst[i].faulted {
            Event::Fault(true)
        } else {
            Event::Startup
        }
    }

    /// Stop every instance: masters send priority 0 and give up their addresses; every
    /// instance and group reports STOP.
    pub(crate) fn shutdown(&mut self, now: Instant, out: &mut Vec<Output>) {
        for i in 0..self.inst.len() {
            self.stop(i, Change::Stop, now, out);
        }
        for g in &self.groups {
            out.push(Output::Notify(Notification {
                subject: Subject::Group,
                name: g.name.clone(),
                change: Change::Stop,
                priority: 0,
            }));
        }
        self.started = false;
    }

    /// Whether `new` (a reload's instance) continues one of the running instances.
    pub(crate) fn continues(&self, new: &InstanceSpec) -> bool {
        (0..self.inst.len()).any(|i| self.keeps(i, new))
    }

    /// Whether `new` continues instance `i`.
    fn keeps(&self, i: usize, new: &InstanceSpec) -> bool {
        !self.inst[i].retired && same_router(&self.inst[i].spec, new)
    }

    /// Reload, first step: the instances the new configuration does not continue (gone,
    /// or now another router or socket: `same_router`) stop as at shutdown — a master sends
    /// priority 0 and gives up its addresses — and report DELETED (keepalived's
    /// notify_deleted).
    pub(crate) fn retire(&mut self, new: &Specs, now: Instant, out: &mut Vec<Output>) {
        for i in 0..self.inst.len() {
            if self.inst[i].retired || new.instances.iter().any(|n| self.keeps(i, n)) {
                continue;
            }
            self.inst[i].retired = true;
            self.stop(i, Change::Deleted, now, out);
        }
    }

    /// Stop instance `i` (a master sends priority 0 and gives up its addresses; its group
    /// does not follow) and report `state` (STOP, DELETED).
    fn stop(&mut self, i: usize, change: Change, now: Instant, out: &mut Vec<Output>) {
        let mut acts = Vec::new();
        self.inst[i].machine.handle(Event::Shutdown, now, &mut acts);
        self.apply(i, acts, now, out, false);
        self.garp.cancel(self.inst[i].id);
        out.push(Output::Notify(Notification {
            subject: Subject::Instance,
            name: self.inst[i].spec.name.clone(),
            change,
            priority: self.inst[i].machine.priority(),
        }));
    }

    /// Reload, second step (after `retire`): the new configuration's instances, in its
    /// order. A continued instance keeps its state, timers, master and counters
    /// (a reload causes no transition and no missed advert, keepalived #2159); a new
    /// configured priority or tracking comes in as a tracking change; its addresses,
    /// routes and rules are brought to the new list whatever its state (a Master adds and
    /// announces the new ones; every state removes the ones no longer configured). New
    /// instances start (a new member of a sync group whose members are Master follows
    /// them). Returns the ids of the new configuration's instances, in its order (a
    /// continued instance keeps its id).
    pub(crate) fn replace(&mut self, new: Specs, now: Instant, out: &mut Vec<Output>) -> Vec<Id> {
        let mut old: Vec<Option<Instance>> = std::mem::take(&mut self.inst)
            .into_iter()
            .map(|x| Some(x).filter(|x| !x.retired))
            .collect();
        let mut kept = Vec::with_capacity(new.instances.len());
        let mut old_kernel: Vec<Option<Vec<Kernel>>> = Vec::new();
        for spec in new.instances {
            let found = old
                .iter()
                .position(|o| o.as_ref().is_some_and(|o| same_router(&o.spec, &spec)));
            match found.and_then(|k| old[k].take()) {
                Some(mut x) => {
                    x.machine.set_params(spec.params.clone());
                    let before = std::mem::replace(&mut x.spec, spec);
                    old_kernel.push(Some(before.kernel));
                    kept.push(true);
                    self.inst.push(x);
                }
                None => {
                    old_kernel.push(None);
                    kept.push(false);
                    let id = Id(self.next_id);
                    self.next_id += 1;
                    self.inst.push(Instance::new(id, spec));
                }
            }
        }
        self.index();
        let ids: Vec<Id> = self.ids().collect();
        // rounds of instances that are gone (retire cancelled them; this covers a
        // replace without retire)
        let at = &self.at;
        self.garp.retain(|id| at.contains_key(&id));
        let old_groups = std::mem::take(&mut self.groups);
        self.groups = new
            .groups
            .into_iter()
            .map(|g| Group {
                state: old_groups
                    .iter()
                    .find(|o| o.name == g.name)
                    .and_then(|o| o.state),
                name: g.name,
                members: g.members,
            })
            .collect();
        if !self.started {
            return ids;
        }
        // addresses, routes and rules
        for (i, before) in old_kernel.iter().enumerate() {
            let Some(before) = before else { continue };
            let now_k = &self.inst[i].spec.kernel;
            let (remove, add) = kernel::diff(before, now_k);
            // only a Master holds its addresses; every state drops what is gone
            let master = self.inst[i].machine.state() == State::Master;
            let add = if master { add } else { Vec::new() };
            if remove.is_empty() && add.is_empty() {
                continue;
            }
            let added = !add.is_empty();
            out.push(Output::ChangeVips {
                inst: self.inst[i].id,
                remove,
                add,
            });
            if added {
                let t = self.inst[i].spec.garp.clone();
                self.garp.takeover(self.inst[i].id, &t, now);
            }
        }
        // tracking and priorities of the continued instances, then the new ones start
        let before: Vec<Option<(bool, Option<u8>)>> = kept
            .iter()
            .zip(&self.inst)
            .map(|(&k, x)| k.then_some((x.faulted, x.tracked)))
            .collect();
        self.evaluate_tracking();
        self.track_changes(&before, now, out);
        for (i, &k) in kept.iter().enumerate() {
            if k {
                continue;
            }
            self.prime(i, now);
            let ev = self.first_event(i);
            // a new member starting as Backup must not pull a Master group down
            let group_master = self.inst[i].spec.group.is_some_and(|g| {
                self.groups[g]
                    .members
                    .iter()
                    .any(|&m| m != i && self.inst[m].machine.state() == State::Master)
            });
            let mut acts = Vec::new();
            self.inst[i].machine.handle(ev, now, &mut acts);
            self.apply(i, acts, now, out, !group_master);
            if group_master {
                self.run(i, Event::Follow(State::Master), now, out);
            }
        }
        self.announcements(now, out);
        ids
    }

    #[must_use]
    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        let m = self
            .inst
            .iter()
            .filter_map(|x| x.machine.next_timeout())
            .min();
        match (m, self.garp.next_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Timers due by `now`.
    pub(crate) fn poll(&mut self, now: Instant, out: &mut Vec<Output>) {
        for i in 0..self.inst.len() {
            if self.inst[i]
                .machine
                .next_timeout()
                .is_some_and(|t| t <= now)
            {
                let mut acts = Vec::new();
                self.inst[i].machine.poll(now, &mut acts);
                self.apply(i, acts, now, out, true);
            }
        }
        self.announcements(now, out);
    }

    /// Announcement rounds due now, in the same batch as the takeover that asked for them.
    fn announcements(&mut self, now: Instant, out: &mut Vec<Output>) {
        let (inst, at) = (&self.inst, &self.at);
        // the schedule holds only the ids of running instances (`replace` keeps it so)
        let spec = |id: Id| &inst[at[&id]].spec;
        let mut rounds = Vec::new();
        self.garp.poll(
            now,
            |id| spec(id).iface.as_str(),
            |id| &spec(id).garp,
            &mut rounds,
        );
        for id in rounds {
            if let Some(&i) = self.at.get(&id) {
                self.inst[i].stats.announcements += 1;
                out.push(Output::Announce(id));
            }
        }
    }

    /// A packet arrived on instance `id`'s socket (one a reload removed is ignored).
    pub(crate) fn packet(&mut self, id: Id, rx: &Received, now: Instant, out: &mut Vec<Output>) {
        let Some(&i) = self.at.get(&id) else {
            return;
        };
        if let Some(ev) = self.check(i, rx) {
            self.run(i, ev, now, out);
        }
    }

    /// Count a packet dropped by the shell (too short for an IP header, ...).
    pub(crate) fn count_drop(&mut self, id: Id, reason: Reason) {
        if let Some(&i) = self.at.get(&id) {
            self.inst[i].stats.dropped.add(reason);
        }
    }

    /// Validate a received packet; Some(event) if the machine must see it.
    fn check(&mut self, i: usize, rx: &Received) -> Option<Event> {
        let x = &mut self.inst[i];
        let s = &x.spec;
        let drop = |x: &mut Instance, r: Reason| {
            x.stats.dropped.add(r);
            tracing::debug!(
                "vrrp_instance {}: packet from {} dropped: {}",
                x.spec.name,
                rx.src,
                r.name()
            );
            None
        };
        // our own adverts never come back (no multicast loop, no unicast to ourselves):
        // one from our address is another daemon's (on this host, or an address
        // conflict), and it is never taken for ours
        if rx.src == s.src {
            let n = x.stats.dropped.get(Reason::OwnAddress) + 1;
            if n.is_power_of_two() {
                tracing::warn!(
                    "vrrp_instance {}: {n} packet(s) from our own address {}: another VRRP daemon sends from it (on this host, or an address conflict)",
                    x.spec.name,
                    rx.src
                );
            }
            return drop(x, Reason::OwnAddress);
        }
        match s.mcast {
            Some(_) => {
                if rx.ttl != 255 {
                    return drop(x, Reason::BadTtl);
                }
            }
            None => {
                let Some(peer) = s.peers.iter().find(|p| p.address == rx.src) else {
                    if rx.dst.is_multicast() {
                        return None; // a multicast advert on a unicast instance's link
                    }
                    return drop(x, Reason::UnknownPeer);
                };
                if peer.min_ttl.is_some_and(|m| rx.ttl < m)
                    || peer.max_ttl.is_some_and(|m| rx.ttl > m)
                {
                    return drop(x, Reason::BadTtl);
                }
            }
        }
        let expect = Expect {
            version: s.version,
            ipv6: s.ipv6,
            auth: &s.auth,
            v3_checksum_as_v2: s.v3_checksum_as_v2,
        };
        // AH: the VRRP message follows the AH header, which must pass first
        let (msg, ah_seq) = match &s.auth {
            packet::Auth::Ah(key) => {
                let vrid = rx.payload.get(ah::AH_LEN + 1);
                if vrid.is_some_and(|v| *v != s.vrid) {
                    x.stats.other_vrid += 1;
                    return None;
                }
                match ah::open(&rx.ip_header, &rx.payload, key, s.mcast.is_none()) {
                    Ok((seq, at)) => (&rx.payload[at..], Some(seq)),
                    Err(ah::AhError::TooShort) => return drop(x, DropReason::TooShort.into()),
                    Err(ah::AhError::NotVrrp) => {
                        return drop(x, DropReason::AuthTypeMismatch.into())
                    }
                    Err(_) => return drop(x, DropReason::AuthFailure.into()),
                }
            }
            _ => (&rx.payload[..], None),
        };
        let adv: Advert = match packet::decode(msg, rx.src, rx.dst, &expect) {
            Ok(a) => a,
            Err(e) => {
                // another VRID with other settings is not our business
                if e.vrid.is_some_and(|v| v != s.vrid) {
                    x.stats.other_vrid += 1;
                    return None;
                }
                return drop(x, e.reason.into());
            }
        };
        if let Some(seq) = ah_seq {
            // "sequence number already processed. Packet dropped."
            if seq <= x.ah_seq {
                return drop(x, DropReason::AhReplay.into());
            }
            x.ah_seq = seq;
        }
        let s = &x.spec;
        if adv.vrid != s.vrid {
            x.stats.other_vrid += 1;
            return None;
        }
        if let Some(g) = s.mcast {
            if rx.dst != g {
                return drop(x, Reason::BadDestination);
            }
        }
        let ours = Duration::from_millis(u64::from(adv.advert_int_cs) * 10);
        if s.version == Version::V2 && ours != s.params.advert_int {
            return drop(x, Reason::IntervalMismatch);
        }
        if !s.skip_check_adv_addr && adv.priority != 0 {
            let mut a = adv.addrs.clone();
            let mut b = s.advert_addrs.clone();
            a.sort();
            b.sort();
            if a != b {
                x.stats.address_list_mismatch += 1;
                if s.strict {
                    return drop(x, Reason::AddressListMismatch);
                }
            }
        }
        x.stats.adverts_received += 1;
        if adv.priority == 0 {
            x.stats.priority_zero_received += 1;
        }
        Some(Event::Advert {
            from: rx.src,
            priority: adv.priority,
            advert_int: ours,
        })
    }

    fn run(&mut self, i: usize, ev: Event, now: Instant, out: &mut Vec<Output>) {
        let mut acts = Vec::new();
        self.inst[i].machine.handle(ev, now, &mut acts);
        self.apply(i, acts, now, out, true);
        self.announcements(now, out);
    }

    fn apply(
        &mut self,
        i: usize,
        acts: Vec<Action>,
        now: Instant,
        out: &mut Vec<Output>,
        follow: bool,
    ) {
        let mut moved = None;
        let mut announce = false;
        for a in acts {
            match a {
                Action::SendAdvert { priority } => self.send_advert(i, priority, out),
                Action::AddVips => out.push(Output::AddVips(self.inst[i].id)),
                Action::RemoveVips => {
                    self.garp.cancel(self.inst[i].id);
                    self.inst[i].stats.released_master += 1;
                    out.push(Output::RemoveVips(self.inst[i].id));
                }
                Action::Announce => announce = true,
                Action::Transition(s) => {
                    if s == State::Master {
                        self.inst[i].stats.became_master += 1;
                    }
                    self.inst[i].since = Some(now);
                    moved = Some(s);
                    if let Some(change) = Change::into_state(s) {
                        self.inst[i].stats.transitions += 1;
                        out.push(Output::Notify(Notification {
                            subject: Subject::Instance,
                            name: self.inst[i].spec.name.clone(),
                            change,
                            priority: self.inst[i].machine.priority(),
                        }));
                    }
                }
            }
        }
        if announce {
            if moved == Some(State::Master) {
                let t = self.inst[i].spec.garp.clone();
                self.garp.takeover(self.inst[i].id, &t, now);
            } else {
                // a master re-asserting itself after a healed split brain: its whole sync
                // group re-announces, as the other side's members all followed the loser
                let members = match self.inst[i].spec.group {
                    Some(g) => self.groups[g].members.clone(),
                    None => vec![i],
                };
                for m in members {
                    if self.inst[m].machine.state() == State::Master {
                        let (n, d) = (
                            self.inst[m].spec.lower_prio_repeat,
                            self.inst[m].spec.lower_prio_delay,
                        );
                        self.garp.reannounce(self.inst[m].id, n, d, now);
                    }
                }
            }
        }
        if let (Some(s), Some(g)) = (moved, self.inst[i].spec.group) {
            self.group_moved(g, i, s, now, out, follow);
        }
    }

    fn group_moved(
        &mut self,
        g: usize,
        from: usize,
        s: State,
        now: Instant,
        out: &mut Vec<Output>,
        follow: bool,
    ) {
        if follow && matches!(s, State::Master | State::Backup) {
            let members = self.groups[g].members.clone();
            for m in members {
                if m != from {
                    self.run(m, Event::Follow(s), now, out);
                }
            }
        }
        // the group's own state: all members agree (or the one that moved, for Fault)
        let agreed = self.groups[g]
            .members
            .iter()
            .all(|&m| self.inst[m].machine.state() == s);
        let Some(change) = Change::into_state(s) else {
            return;
        };
        if (agreed || s == State::Fault) && self.groups[g].state != Some(s) {
            self.groups[g].state = Some(s);
            out.push(Output::Notify(Notification {
                subject: Subject::Group,
                name: self.groups[g].name.clone(),
                change,
                priority: 0,
            }));
        }
    }

    fn send_advert(&mut self, i: usize, priority: u8, out: &mut Vec<Output>) {
        let x = &mut self.inst[i];
        let s = &x.spec;
        let adv = Advert {
            version: s.version,
            vrid: s.vrid,
            priority,
            advert_int_cs: (s.params.advert_int.as_millis() / 10).min(4095) as u16,
            addrs: s.advert_addrs.clone(),
            auth: if s.version == Version::V2 {
                s.auth.clone()
            } else {
                packet::Auth::None
            },
        };
        let dsts: Vec<IpAddr> = match s.mcast {
            Some(g) => vec![g],
            None => s.peers.iter().map(|p| p.address).collect(),
        };
        if matches!(s.auth, packet::Auth::Ah(_)) {
            // one sequence number per advert (keepalived's), stopping short of the wrap
            x.ah_seq = x.ah_seq.saturating_add(1).min(0xFFFF_FFFD);
        }
        for dst in dsts {
            let vrrp = packet::encode(&adv, s.src, dst, s.v3_checksum_as_v2);
            let payload = match (&s.auth, s.src, dst) {
                (packet::Auth::Ah(key), IpAddr::V4(src), IpAddr::V4(to)) => {
                    // 0 would let the kernel choose it after the ICV was computed
                    x.ip_id = x.ip_id.wrapping_add(1).max(1);
                    let h = ah::Header {
                        src,
                        dst: to,
                        ttl: if s.mcast.is_some() {
                            255
                        } else {
                            s.unicast_ttl
                        },
                        id: x.ip_id,
                        seq: x.ah_seq,
                        unicast: s.mcast.is_none(),
                    };
                    let mut p = Vec::with_capacity(ah::IP_LEN + ah::AH_LEN + vrrp.len());
                    ah::seal(&h, key, &vrrp, &mut p);
                    p
                }
                _ => vrrp,
            };
            out.push(Output::Send {
                inst: x.id,
                dst,
                payload,
            });
        }
        x.stats.adverts_sent += 1;
        if priority == 0 {
            x.stats.priority_zero_sent += 1;
        }
    }

    /// keepalived's notify_priority_changes: MASTER_PRIORITY or BACKUP_PRIORITY with the
    /// new effective priority (for the FIFOs only), unless the instance is in Fault.
    fn priority_changed(&self, i: usize, out: &mut Vec<Output>) {
        let x = &self.inst[i];
        if !x.spec.notify_priority_changes {
            return;
        }
        let change = match x.machine.state() {
            State::Master => Change::MasterPriority,
            State::Backup => Change::BackupPriority,
            _ => return,
        };
        out.push(Output::Notify(Notification {
            subject: Subject::Instance,
            name: x.spec.name.clone(),
            change,
            priority: x.machine.priority(),
        }));
    }

    /// Own tracking result of every instance; group faults spread to all members.
    fn evaluate_tracking(&mut self) {
        for x in &mut self.inst {
            x.tracked = match x.spec.config_fault {
                Some(_) => None,
                None => track::evaluate(&x.spec.track, &self.status, x.spec.params.priority),
            };
        }
        for x in 0..self.inst.len() {
            let own = self.inst[x].tracked.is_none();
            let group = self.inst[x].spec.group.is_some_and(|g| {
                self.groups[g]
                    .members
                    .iter()
                    .any(|&m| self.inst[m].tracked.is_none())
            });
            self.inst[x].faulted = own || group;
        }
    }

    fn retrack(&mut self, now: Instant, out: &mut Vec<Output>) {
        let before: Vec<Option<(bool, Option<u8>)>> = self
            .inst
            .iter()
            .map(|x| Some((x.faulted, x.tracked)))
            .collect();
        self.evaluate_tracking();
        if self.started {
            self.track_changes(&before, now, out);
        }
    }

    /// What tracking changed since `before` (None: instances not to look at): faults first
    /// (a group member's fault takes the group down), then priorities, then recoveries.
    fn track_changes(
        &mut self,
        before: &[Option<(bool, Option<u8>)>],
        now: Instant,
        out: &mut Vec<Output>,
    ) {
        for (i, b) in before.iter().enumerate() {
            if b.is_some_and(|(was, _)| !was) && self.inst[i].faulted {
                self.run(i, Event::Fault(true), now, out);
            }
        }
        for (i, b) in before.iter().enumerate() {
            let Some((_, p)) = *b else { continue };
            if let Some(np) = self.inst[i].tracked {
                if p != Some(np) && np != self.inst[i].machine.priority() {
                    self.run(i, Event::Priority(np), now, out);
                    self.priority_changed(i, out);
                }
            }
        }
        for (i, b) in before.iter().enumerate() {
            if b.is_some_and(|(was, _)| was) && !self.inst[i].faulted {
                self.run(i, Event::Fault(false), now, out);
            }
        }
    }
}

#[cfg(test)]
mod tests;
