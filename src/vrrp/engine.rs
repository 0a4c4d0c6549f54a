//! All VRRP instances of a director, sans-IO: packets, tracking changes and time in;
//! packets to send, kernel changes, announcements and notifications out. It checks every
//! received packet (TTL, codec, VRID, peer, interval, address list), keeps one
//! [`Machine`] per instance, moves sync groups together, turns tracking into priority or
//! fault, and schedules announcements. The shell (`shell.rs`) only moves bytes.

use super::announce::Schedule;
use super::machine::{Action, Event, Machine, State};
use super::packet::{self, Advert, Expect, Version};
use super::socket::Received;
use super::spec::{InstanceSpec, Specs};
use super::track::{self, Object, Status};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Something for the shell to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Send this VRRP message from the instance's socket to `dst`.
    Send {
        inst: usize,
        dst: IpAddr,
        payload: Vec<u8>,
    },
    /// Add the instance's addresses, routes and rules.
    AddVips(usize),
    /// Remove them.
    RemoveVips(usize),
    /// One round of gratuitous ARP / unsolicited NA for every address of the instance.
    Announce(usize),
    /// Tell the notifier.
    Notify(Notification),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// "INSTANCE" or "GROUP", as keepalived's notify arguments.
    pub kind: &'static str,
    pub name: String,
    /// keepalived's words: MASTER, BACKUP, FAULT, STOP.
    pub state: &'static str,
    /// The instance's priority; 0 for a group, as keepalived.
    pub priority: u8,
}

/// Counters of one instance (keepalived's stats, and ldirector's drop reasons).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub adverts_sent: u64,
    pub adverts_received: u64,
    pub priority_zero_sent: u64,
    pub priority_zero_received: u64,
    pub became_master: u64,
    pub released_master: u64,
    /// Packets dropped, by reason.
    pub dropped: BTreeMap<&'static str, u64>,
    /// Adverts of other virtual routers on the same interface (not errors).
    pub other_vrid: u64,
    /// Adverts whose address list differs from ours (accepted unless strict).
    pub address_list_mismatch: u64,
    pub announcements: u64,
}

struct Instance {
    spec: InstanceSpec,
    machine: Machine,
    stats: Stats,
    /// Effective priority from tracking; None = fault (own tracking only).
    tracked: Option<u8>,
    /// Fault given to the machine (own or a group member's).
    faulted: bool,
    since: Option<Instant>,
}

struct Group {
    name: String,
    members: Vec<usize>,
    state: Option<State>,
}

pub struct Engine {
    inst: Vec<Instance>,
    groups: Vec<Group>,
    status: Status,
    garp: Schedule,
    started: bool,
}

/// A read-only view of one instance, for status and metrics.
#[derive(Clone, Debug)]
pub struct InstanceView<'a> {
    pub name: &'a str,
    pub state: State,
    pub priority: u8,
    pub master: Option<IpAddr>,
    pub since: Option<Instant>,
    pub stats: &'a Stats,
}

impl Engine {
    pub fn new(specs: Specs) -> Engine {
        let inst = specs
            .instances
            .into_iter()
            .map(|spec| Instance {
                machine: Machine::new(spec.params.clone()),
                tracked: Some(spec.params.priority),
                faulted: false,
                spec,
                stats: Stats::default(),
                since: None,
            })
            .collect();
        let groups = specs
            .groups
            .into_iter()
            .map(|g| Group {
                name: g.name,
                members: g.members,
                state: None,
            })
            .collect();
        Engine {
            inst,
            groups,
            status: Status::default(),
            garp: Schedule::default(),
            started: false,
        }
    }

    pub fn len(&self) -> usize {
        self.inst.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inst.is_empty()
    }

    pub fn spec(&self, i: usize) -> &InstanceSpec {
        &self.inst[i].spec
    }

    pub fn view(&self, i: usize) -> InstanceView<'_> {
        let x = &self.inst[i];
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
    pub fn set_tracked(&mut self, o: Object, up: bool, now: Instant) -> Vec<Output> {
        if !self.status.set_up(o, up) {
            return Vec::new();
        }
        self.retrack(now)
    }

    pub fn set_file(&mut self, name: &str, value: i64, now: Instant) -> Vec<Output> {
        if !self.status.set_file(name, value) {
            return Vec::new();
        }
        self.retrack(now)
    }

    /// Start every instance (faulty ones go straight to Fault).
    pub fn start(&mut self, now: Instant) -> Vec<Output> {
        let mut out = Vec::new();
        self.started = true;
        self.evaluate_tracking();
        for i in 0..self.inst.len() {
            if let Some(p) = self.inst[i].tracked {
                if p != self.inst[i].machine.priority() {
                    // the machine has not started: this only sets its priority
                    self.inst[i].machine.handle(Event::Priority(p), now);
                }
            }
        }
        for i in 0..self.inst.len() {
            if self.inst[i].faulted {
                self.run(i, Event::Fault(true), now, &mut out);
            } else {
                self.run(i, Event::Startup, now, &mut out);
            }
        }
        out
    }

    /// Stop every instance: masters send priority 0 and give up their addresses; every
    /// instance and group reports STOP.
    pub fn shutdown(&mut self, now: Instant) -> Vec<Output> {
        let mut out = Vec::new();
        for i in 0..self.inst.len() {
            let acts = self.inst[i].machine.handle(Event::Shutdown, now);
            self.apply(i, acts, now, &mut out, false);
            self.garp.cancel(i);
            out.push(Output::Notify(Notification {
                kind: "INSTANCE",
                name: self.inst[i].spec.name.clone(),
                state: "STOP",
                priority: self.inst[i].machine.priority(),
            }));
        }
        for g in &self.groups {
            out.push(Output::Notify(Notification {
                kind: "GROUP",
                name: g.name.clone(),
                state: "STOP",
                priority: 0,
            }));
        }
        self.started = false;
        out
    }

    pub fn next_timeout(&self) -> Option<Instant> {
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
    pub fn poll(&mut self, now: Instant) -> Vec<Output> {
        let mut out = Vec::new();
        for i in 0..self.inst.len() {
            if self.inst[i]
                .machine
                .next_timeout()
                .is_some_and(|t| t <= now)
            {
                let acts = self.inst[i].machine.poll(now);
                self.apply(i, acts, now, &mut out, true);
            }
        }
        self.announcements(now, &mut out);
        out
    }

    /// Announcement rounds due now, in the same batch as the takeover that asked for them.
    fn announcements(&mut self, now: Instant, out: &mut Vec<Output>) {
        let inst = &self.inst;
        let rounds = self
            .garp
            .poll(now, |i| inst[i].spec.iface.as_str(), |i| &inst[i].spec.garp);
        for i in rounds {
            self.inst[i].stats.announcements += 1;
            out.push(Output::Announce(i));
        }
    }

    /// A packet arrived on instance `i`'s socket.
    pub fn packet(&mut self, i: usize, rx: &Received, now: Instant) -> Vec<Output> {
        let mut out = Vec::new();
        let Some(ev) = self.check(i, rx) else {
            return out;
        };
        self.run(i, ev, now, &mut out);
        out
    }

    /// Count a packet dropped by the shell (too short for an IP header, ...).
    pub fn count_drop(&mut self, i: usize, reason: &'static str) {
        *self.inst[i].stats.dropped.entry(reason).or_insert(0) += 1;
    }

    /// Validate a received packet; Some(event) if the machine must see it.
    fn check(&mut self, i: usize, rx: &Received) -> Option<Event> {
        let x = &mut self.inst[i];
        let s = &x.spec;
        let drop = |x: &mut Instance, r: &'static str| {
            *x.stats.dropped.entry(r).or_insert(0) += 1;
            tracing::debug!(
                "vrrp_instance {}: packet from {} dropped: {r}",
                x.spec.name,
                rx.src
            );
            None
        };
        if rx.src == s.src {
            return None; // our own, looped back
        }
        match s.mcast {
            Some(_) => {
                if rx.ttl != 255 {
                    return drop(x, "bad_ttl");
                }
            }
            None => {
                let Some(peer) = s.peers.iter().find(|p| p.address == rx.src) else {
                    if rx.dst.is_multicast() {
                        return None; // a multicast advert on a unicast instance's link
                    }
                    return drop(x, "unknown_peer");
                };
                if peer.min_ttl.is_some_and(|m| rx.ttl < m)
                    || peer.max_ttl.is_some_and(|m| rx.ttl > m)
                {
                    return drop(x, "bad_ttl");
                }
            }
        }
        let expect = Expect {
            version: s.version,
            ipv6: s.ipv6,
            auth: &s.auth,
            v3_checksum_as_v2: s.v3_checksum_as_v2,
        };
        let adv: Advert = match packet::decode(&rx.payload, rx.src, rx.dst, &expect) {
            Ok(a) => a,
            Err(r) => {
                // another VRID with other settings is not our business
                if rx.payload.len() > 1 && rx.payload[1] != s.vrid {
                    x.stats.other_vrid += 1;
                    return None;
                }
                return drop(x, r.name());
            }
        };
        if adv.vrid != s.vrid {
            x.stats.other_vrid += 1;
            return None;
        }
        if let Some(g) = s.mcast {
            if rx.dst != g {
                return drop(x, "bad_destination");
            }
        }
        let ours = Duration::from_millis(u64::from(adv.advert_int_cs) * 10);
        if s.version == Version::V2 && ours != s.params.advert_int {
            return drop(x, "interval_mismatch");
        }
        if !s.skip_check_adv_addr && adv.priority != 0 {
            let mut a = adv.addrs.clone();
            let mut b = s.advert_addrs.clone();
            a.sort();
            b.sort();
            if a != b {
                x.stats.address_list_mismatch += 1;
                if s.strict {
                    return drop(x, "address_list_mismatch");
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
        let acts = self.inst[i].machine.handle(ev, now);
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
                Action::AddVips => out.push(Output::AddVips(i)),
                Action::RemoveVips => {
                    self.garp.cancel(i);
                    self.inst[i].stats.released_master += 1;
                    out.push(Output::RemoveVips(i));
                }
                Action::Announce => announce = true,
                Action::Transition(s) => {
                    if s == State::Master {
                        self.inst[i].stats.became_master += 1;
                    }
                    self.inst[i].since = Some(now);
                    moved = Some(s);
                    if s != State::Initialize {
                        out.push(Output::Notify(Notification {
                            kind: "INSTANCE",
                            name: self.inst[i].spec.name.clone(),
                            state: s.name(),
                            priority: self.inst[i].machine.priority(),
                        }));
                    }
                }
            }
        }
        if announce {
            if moved == Some(State::Master) {
                let t = self.inst[i].spec.garp.clone();
                self.garp.takeover(i, &t, now);
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
                        self.garp.reannounce(m, n, d, now);
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
        if s != State::Initialize
            && (agreed || s == State::Fault)
            && self.groups[g].state != Some(s)
        {
            self.groups[g].state = Some(s);
            out.push(Output::Notify(Notification {
                kind: "GROUP",
                name: self.groups[g].name.clone(),
                state: s.name(),
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
        for dst in dsts {
            let payload = packet::encode(&adv, s.src, dst, s.v3_checksum_as_v2);
            out.push(Output::Send {
                inst: i,
                dst,
                payload,
            });
        }
        x.stats.adverts_sent += 1;
        if priority == 0 {
            x.stats.priority_zero_sent += 1;
        }
    }

    /// Own tracking result of every instance; group faults spread to all members.
    fn evaluate_tracking(&mut self) {
        for x in &mut self.inst {
            x.tracked = track::evaluate(&x.spec.track, &self.status, x.spec.params.priority);
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

    fn retrack(&mut self, now: Instant) -> Vec<Output> {
        let before: Vec<(bool, Option<u8>)> =
            self.inst.iter().map(|x| (x.faulted, x.tracked)).collect();
        self.evaluate_tracking();
        let mut out = Vec::new();
        if !self.started {
            return out;
        }
        // faults first (a group member's fault takes the group down), then priorities,
        // then recoveries
        for (i, &(was, _)) in before.iter().enumerate() {
            if !was && self.inst[i].faulted {
                self.run(i, Event::Fault(true), now, &mut out);
            }
        }
        for (i, &(_, p)) in before.iter().enumerate() {
            if let Some(np) = self.inst[i].tracked {
                if p != Some(np) && np != self.inst[i].machine.priority() {
                    self.run(i, Event::Priority(np), now, &mut out);
                }
            }
        }
        for (i, &(was, _)) in before.iter().enumerate() {
            if was && !self.inst[i].faulted {
                self.run(i, Event::Fault(false), now, &mut out);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
