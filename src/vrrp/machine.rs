//! The VRRP state machine of one instance (RFC 5798 section 6.4, which also describes
//! VRRPv2's behaviour apart from the timers' units), sans-IO: it takes events and the
//! current time and returns actions; [`Machine::next_timeout`] says when to call
//! [`Machine::poll`] next. No sockets, no clock: the I/O shell owns both.

use super::packet::Version;
use std::net::IpAddr;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    Initialize,
    Backup,
    Master,
    Fault,
}

impl State {
    /// keepalived's names, used by notify scripts and the FIFO.
    pub(crate) fn name(self) -> &'static str {
        match self {
            State::Initialize => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
        }
    }
}

/// What the machine needs from the configuration.
#[derive(Clone, Debug)]
pub(crate) struct Params {
    pub version: Version,
    /// Priority as configured (255: the address owner).
    pub priority: u8,
    /// Advertisement interval as sent (whole seconds for v2, centiseconds for v3).
    pub advert_int: Duration,
    pub preempt: bool,
    /// After start-up, lower-priority masters are not preempted for this long.
    pub preempt_delay: Duration,
    /// Our primary address: breaks ties between equal priorities (higher wins).
    pub primary: IpAddr,
    /// Split-brain healing: a master that hears a lower-priority master re-announces itself
    /// and its addresses at once (keepalived: `higher_prio_send_advert`); a master that
    /// loses to a higher-priority master sends one priority-0 advert so that the winner
    /// re-announces even if it never heard the loser.
    pub higher_prio_send_advert: bool,
}

/// What a running machine hands to its successor in a new binary (`ldirector upgrade`):
/// its state, the master it follows and its timers, as durations from the moment it was
/// saved (the successor takes off the time the hand-over took).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Saved {
    /// BACKUP, MASTER or FAULT (INIT is never saved: such an instance starts afresh).
    pub state: String,
    pub priority: u8,
    pub master: Option<IpAddr>,
    pub master_adver_interval_us: u64,
    /// Master: the next advert is due this long after the save.
    pub adver_in_us: Option<u64>,
    /// Backup: the master is taken for dead this long after the save.
    pub master_down_in_us: Option<u64>,
    /// Since the machine started (preempt_delay counts from there).
    pub started_us_ago: Option<u64>,
}

fn us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Something that happened to the instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    Startup,
    Shutdown,
    /// A valid advertisement (the codec and the shell have checked it).
    Advert {
        from: IpAddr,
        priority: u8,
        /// The sender's interval (VRRPv3 learns it as Master_Adver_Interval).
        advert_int: Duration,
    },
    /// Tracking put the instance in fault (true) or took it out (false).
    Fault(bool),
    /// Tracking changed the effective priority (already clamped to 1..=254, or 255).
    Priority(u8),
    /// A sync group member moved: a Backup follows it to Master, a Master follows it to
    /// Backup (other states ignore it).
    Follow(State),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// Send an advertisement with this priority (0: "I am leaving").
    SendAdvert {
        priority: u8,
    },
    /// Add the virtual addresses, routes and rules.
    AddVips,
    RemoveVips,
    /// Gratuitous ARP / unsolicited neighbour advertisement for every VIP.
    Announce,
    /// The instance entered this state (notify scripts, FIFO, e-mail, metrics).
    Transition(State),
}

#[derive(Clone, Debug)]
pub(crate) struct Machine {
    p: Params,
    state: State,
    /// Current priority (configured, changed by tracking).
    priority: u8,
    master_adver_interval: Duration,
    adver_timer: Option<Instant>,
    master_down_timer: Option<Instant>,
    started: Option<Instant>,
    /// The current master's address, as last heard (None while we are master).
    master: Option<IpAddr>,
    /// When a master last re-asserted itself against a lower-priority or priority-0
    /// advert: it does so at most once an advert interval (and a second), so anyone on the segment
    /// sending such adverts cannot make it flood adverts and gratuitous ARPs.
    reasserted: Option<Instant>,
}

impl Machine {
    pub(crate) fn new(p: Params) -> Self {
        let priority = p.priority;
        let adv = p.advert_int;
        Machine {
            p,
            state: State::Initialize,
            priority,
            master_adver_interval: adv,
            adver_timer: None,
            master_down_timer: None,
            started: None,
            master: None,
            reasserted: None,
        }
    }

    /// Whether a master may re-assert itself now (see `reasserted`); if so, it does.
    fn may_reassert(&mut self, now: Instant) -> bool {
        // and never more than once a second: at 10 ms adverts a flood would otherwise
        // still be 100 rounds of gratuitous ARP a second
        let hold = self.p.advert_int.max(Duration::from_secs(1));
        if self.reasserted.is_some_and(|t| now < t + hold) {
            return false;
        }
        self.reasserted = Some(now);
        true
    }

    pub(crate) fn state(&self) -> State {
        self.state
    }

    /// A Master sends its advert now and starts its interval again (before a hand-over:
    /// the successor then has a whole interval to take over in, with no gap on the wire).
    pub(crate) fn advertise_now(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.state == State::Master {
            out.push(Action::SendAdvert {
                priority: self.priority,
            });
            self.adver_timer = Some(now + self.p.advert_int);
        }
    }

    /// The machine as its successor needs it (None in Initialize: nothing to carry).
    pub(crate) fn save(&self, now: Instant) -> Option<Saved> {
        let left = |t: Option<Instant>| t.map(|t| us(t.saturating_duration_since(now)));
        (self.state != State::Initialize).then(|| Saved {
            state: self.state.name().to_string(),
            priority: self.priority,
            master: self.master,
            master_adver_interval_us: us(self.master_adver_interval),
            adver_in_us: left(self.adver_timer),
            master_down_in_us: left(self.master_down_timer),
            started_us_ago: self.started.map(|t| us(now.saturating_duration_since(t))),
        })
    }

    /// Go on where a predecessor left off, `elapsed` after its save: the same state,
    /// master and timers (a timer that ran out meanwhile is due now), no action and no
    /// transition. False (and nothing changed) when the saved state is not one to resume.
    pub(crate) fn resume(&mut self, s: &Saved, now: Instant, elapsed: Duration) -> bool {
        let state = match s.state.as_str() {
            "MASTER" => State::Master,
            "BACKUP" => State::Backup,
            "FAULT" => State::Fault,
            _ => return false,
        };
        let due =
            |t: Option<u64>| t.map(|us| now + Duration::from_micros(us).saturating_sub(elapsed));
        self.state = state;
        self.master = s.master;
        if s.master_adver_interval_us > 0 {
            self.master_adver_interval = Duration::from_micros(s.master_adver_interval_us);
        }
        self.started = Some(
            now.checked_sub(Duration::from_micros(s.started_us_ago.unwrap_or(0)) + elapsed)
                .unwrap_or(now),
        );
        match state {
            State::Master => {
                self.adver_timer = Some(due(s.adver_in_us).unwrap_or(now));
                self.master_down_timer = None;
                self.master = None;
            }
            State::Backup => {
                // the adverts that came during the hand-over wait in the socket: give
                // them an interval to be read before the master is taken for dead
                self.adver_timer = None;
                let at_least = now + self.master_adver_interval;
                self.master_down_timer = Some(
                    due(s.master_down_in_us)
                        .unwrap_or(now + self.master_down_interval())
                        .max(at_least),
                );
            }
            _ => {
                self.adver_timer = None;
                self.master_down_timer = None;
            }
        }
        true
    }

    /// A reload changed the instance's settings: state, timers and the master heard so far
    /// stay; the new interval applies from the next advert, a new configured priority comes
    /// through tracking (`Event::Priority`).
    pub(crate) fn set_params(&mut self, p: Params) {
        if self.master.is_none() && self.state != State::Master {
            self.master_adver_interval = p.advert_int;
        }
        self.p = p;
    }

    pub(crate) fn priority(&self) -> u8 {
        self.priority
    }

    /// The master we last heard from (None when we are master or have heard nobody).
    pub(crate) fn master(&self) -> Option<IpAddr> {
        self.master
    }

    /// Skew_Time: VRRPv2 (256 - priority) / 256 s; VRRPv3 the same fraction of
    /// Master_Adver_Interval.
    pub(crate) fn skew_time(&self) -> Duration {
        let frac = u32::from(256 - u16::from(self.priority).min(255)) as u64;
        match self.p.version {
            Version::V2 => Duration::from_micros(frac * 1_000_000 / 256),
            Version::V3 => {
                Duration::from_micros(frac * self.master_adver_interval.as_micros() as u64 / 256)
            }
        }
    }

    /// Master_Down_Interval = 3 x Master_Adver_Interval + Skew_Time.
    pub(crate) fn master_down_interval(&self) -> Duration {
        3 * self.master_adver_interval + self.skew_time()
    }

    /// When `poll` must be called next.
    #[must_use]
    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        match (self.adver_timer, self.master_down_timer) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Timers that have expired by `now`: their actions go to `out`.
    pub(crate) fn poll(&mut self, now: Instant, out: &mut Vec<Action>) {
        match self.state {
            State::Master => {
                if self.adver_timer.is_some_and(|t| t <= now) {
                    out.push(Action::SendAdvert {
                        priority: self.priority,
                    });
                    self.adver_timer = Some(now + self.p.advert_int);
                }
            }
            State::Backup => {
                if self.master_down_timer.is_some_and(|t| t <= now) {
                    self.become_master(now, out);
                }
            }
            State::Initialize | State::Fault => {}
        }
    }

    /// One event: its actions go to `out`.
    pub(crate) fn handle(&mut self, ev: Event, now: Instant, out: &mut Vec<Action>) {
        match ev {
            Event::Startup => {
                if self.state != State::Initialize {
                    return;
                }
                self.started = Some(now);
                if self.priority == 255 {
                    self.become_master(now, out);
                } else {
                    self.become_backup(now, None, out);
                }
            }
            Event::Shutdown => self.leave(State::Initialize, out),
            Event::Fault(true) => self.leave(State::Fault, out),
            Event::Fault(false) => {
                if self.state == State::Fault {
                    self.become_backup(now, None, out);
                }
            }
            Event::Priority(p) => {
                self.priority = p;
                if self.state == State::Master {
                    // tell the others now rather than at the next interval
                    out.push(Action::SendAdvert { priority: p });
                    self.adver_timer = Some(now + self.p.advert_int);
                }
            }
            Event::Advert {
                from,
                priority,
                advert_int,
            } => self.advert(from, priority, advert_int, now, out),
            Event::Follow(State::Master) if self.state == State::Backup => {
                self.become_master(now, out)
            }
            Event::Follow(State::Backup) if self.state == State::Master => {
                out.push(Action::RemoveVips);
                self.become_backup(now, None, out);
            }
            Event::Follow(_) => {}
        }
    }

    fn advert(
        &mut self,
        from: IpAddr,
        prio: u8,
        adv: Duration,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        match self.state {
            State::Backup => {
                if prio == 0 {
                    // only the master we follow can leave: a priority-0 advert from
                    // another address (anyone on the segment can send one) must not make
                    // us take over while the master is alive
                    if self.master.is_some_and(|m| m != from) {
                        return;
                    }
                    // the master is leaving: take over after Skew_Time only
                    self.master_down_timer = Some(now + self.skew_time());
                    return;
                }
                let preempting = self.p.preempt
                    && self.started.is_none_or(|s| now >= s + self.p.preempt_delay)
                    || self.priority == 255;
                if !preempting || prio >= self.priority {
                    if self.p.version == Version::V3 {
                        self.master_adver_interval = adv;
                    }
                    self.master = Some(from);
                    self.master_down_timer = Some(now + self.master_down_interval());
                }
                // else: a lower-priority master; our down timer will make us preempt it
            }
            State::Master => {
                let lower = prio < self.priority
                    || (prio == self.priority && !ip_greater(from, self.p.primary));
                if (prio == 0 || lower) && !self.may_reassert(now) {
                    // answered within this interval already: the next advert says it
                    return;
                }
                if prio == 0 {
                    // another router was master and has left: assert ourselves at once,
                    // and re-announce our addresses, whose neighbours may have followed it
                    // (a healed split brain, see below)
                    out.push(Action::SendAdvert {
                        priority: self.priority,
                    });
                    if self.p.higher_prio_send_advert {
                        out.push(Action::Announce);
                    }
                    self.adver_timer = Some(now + self.p.advert_int);
                    return;
                }
                let they_win = prio > self.priority
                    || (prio == self.priority && ip_greater(from, self.p.primary));
                if they_win && self.priority != 255 {
                    if self.p.version == Version::V3 {
                        self.master_adver_interval = adv;
                    }
                    self.become_backup(now, Some(from), out);
                    out.insert(0, Action::RemoveVips);
                    if self.p.higher_prio_send_advert {
                        // Two masters (a healed split brain) and we lose. The winner may
                        // never have heard us, and neighbours that followed us would keep
                        // sending to our MAC: a priority-0 advert makes it re-announce.
                        out.insert(0, Action::SendAdvert { priority: 0 });
                    }
                } else if self.p.higher_prio_send_advert {
                    // a lower-priority master: a split brain has healed. Assert ourselves
                    // and re-announce the addresses so every neighbour follows us.
                    out.push(Action::SendAdvert {
                        priority: self.priority,
                    });
                    out.push(Action::Announce);
                    self.adver_timer = Some(now + self.p.advert_int);
                }
            }
            State::Initialize | State::Fault => {}
        }
    }

    /// Stop taking part (shutdown, fault): a master hands over at once with priority 0 and
    /// gives up its addresses; no timer runs until the instance starts again.
    fn leave(&mut self, to: State, out: &mut Vec<Action>) {
        if self.state == State::Master {
            out.push(Action::SendAdvert { priority: 0 });
            out.push(Action::RemoveVips);
        }
        self.adver_timer = None;
        self.master_down_timer = None;
        self.master = None;
        if self.state != to {
            self.state = to;
            out.push(Action::Transition(to));
        }
    }

    fn become_master(&mut self, now: Instant, out: &mut Vec<Action>) {
        out.push(Action::SendAdvert {
            priority: self.priority,
        });
        out.push(Action::AddVips);
        out.push(Action::Announce);
        self.adver_timer = Some(now + self.p.advert_int);
        self.master_down_timer = None;
        self.master = None;
        self.state = State::Master;
        out.push(Action::Transition(State::Master));
    }

    fn become_backup(&mut self, now: Instant, master: Option<IpAddr>, out: &mut Vec<Action>) {
        if master.is_none() {
            self.master_adver_interval = self.p.advert_int;
        }
        self.adver_timer = None;
        self.master = master;
        self.master_down_timer = Some(now + self.master_down_interval());
        if self.state != State::Backup {
            self.state = State::Backup;
            out.push(Action::Transition(State::Backup));
        }
    }
}

/// RFC 5798: on equal priority the higher primary address wins (compared as unsigned
/// integers in network byte order).
fn ip_greater(a: IpAddr, b: IpAddr) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => a.octets() > b.octets(),
        (IpAddr::V6(a), IpAddr::V6(b)) => a.octets() > b.octets(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The machine's actions as a returned list (the tests read better so).
    trait Returning {
        fn h(&mut self, ev: Event, now: Instant) -> Vec<Action>;
        fn p(&mut self, now: Instant) -> Vec<Action>;
    }

    impl Returning for Machine {
        fn h(&mut self, ev: Event, now: Instant) -> Vec<Action> {
            let mut out = Vec::new();
            self.handle(ev, now, &mut out);
            out
        }

        fn p(&mut self, now: Instant) -> Vec<Action> {
            let mut out = Vec::new();
            self.poll(now, &mut out);
            out
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }
    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }
    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn params(version: Version, priority: u8, advert: Duration) -> Params {
        Params {
            version,
            priority,
            advert_int: advert,
            preempt: true,
            preempt_delay: Duration::ZERO,
            primary: ip("192.0.2.11"),
            higher_prio_send_advert: true,
        }
    }

    /// A machine started at t0 that became master when its down timer ran out (at ~3.6 s).
    fn running_master(p: Params) -> (Machine, Instant) {
        let t0 = Instant::now();
        let mut m = Machine::new(p);
        let _ = m.h(Event::Startup, t0);
        let _ = m.p(t0 + Duration::from_secs(4));
        assert_eq!(m.state(), State::Master);
        (m, t0)
    }

    fn advert(from: &str, priority: u8, int: Duration) -> Event {
        Event::Advert {
            from: ip(from),
            priority,
            advert_int: int,
        }
    }

    #[test]
    fn a_saved_machine_resumes_its_state_and_timers_without_actions() {
        // a master saved 40 ms into an interval, continued 30 ms later: its next advert
        // is due 30 ms after the resume, at the pace it had
        let (m, t0) = running_master(params(Version::V3, 150, ms(100)));
        let t = t0 + Duration::from_secs(4) + ms(40);
        let saved = m.save(t).unwrap();
        assert_eq!(saved.state, "MASTER");
        assert_eq!(saved.adver_in_us, Some(60_000));
        let now = t + ms(500);
        let mut n = Machine::new(params(Version::V3, 150, ms(100)));
        assert!(n.resume(&saved, now, ms(30)));
        assert_eq!(n.state(), State::Master);
        assert_eq!(n.next_timeout(), Some(now + ms(30)));
        assert!(n.p(now + ms(29)).is_empty());
        assert_eq!(
            n.p(now + ms(30)),
            vec![Action::SendAdvert { priority: 150 }]
        );

        // a backup keeps the master it follows; a hand-over longer than its down timer
        // still leaves it an interval to read the adverts that waited in its socket
        let mut b = Machine::new(params(Version::V3, 100, ms(100)));
        let _ = b.h(Event::Startup, t0);
        let _ = b.h(advert("192.0.2.12", 200, ms(100)), t0 + ms(10));
        let s = b.save(t0 + ms(20)).unwrap();
        assert_eq!(s.state, "BACKUP");
        assert_eq!(s.master, Some(ip("192.0.2.12")));
        let mut c = Machine::new(params(Version::V3, 100, ms(100)));
        assert!(c.resume(&s, now, ms(5000)));
        assert_eq!(c.state(), State::Backup);
        assert_eq!(c.master(), Some(ip("192.0.2.12")));
        assert_eq!(c.next_timeout(), Some(now + ms(100)));
        assert!(c
            .h(advert("192.0.2.12", 200, ms(100)), now + ms(50))
            .is_empty());
        assert_eq!(c.state(), State::Backup);

        // before a hand-over a master advertises at once and starts its interval again
        let mut out = Vec::new();
        n.advertise_now(now + ms(60), &mut out);
        assert_eq!(out, vec![Action::SendAdvert { priority: 150 }]);
        assert_eq!(n.next_timeout(), Some(now + ms(160)));
        let mut none = Vec::new();
        c.advertise_now(now + ms(60), &mut none);
        assert!(none.is_empty(), "a backup does not");

        // nothing to carry before the start; an unknown state is not resumed
        assert!(Machine::new(params(Version::V3, 100, ms(100)))
            .save(t0)
            .is_none());
        let odd = Saved {
            state: "INIT".into(),
            ..s
        };
        assert!(!Machine::new(params(Version::V3, 100, ms(100))).resume(&odd, now, ms(1)));
    }

    #[test]
    fn master_down_interval_and_skew_per_version() {
        let m = Machine::new(params(Version::V2, 100, Duration::from_secs(1)));
        // 3 x 1 s + (256 - 100) / 256 s
        assert_eq!(m.master_down_interval(), us(3_609_375));
        let m = Machine::new(params(Version::V3, 150, ms(100)));
        // 3 x 100 ms + (256 - 150) x 100 ms / 256
        assert_eq!(m.skew_time(), us(41_406));
        assert_eq!(m.master_down_interval(), us(341_406));
    }

    #[test]
    fn backup_becomes_master_after_master_down_interval() {
        let t0 = Instant::now();
        let mut m = Machine::new(params(Version::V2, 100, Duration::from_secs(1)));
        assert_eq!(
            m.h(Event::Startup, t0),
            vec![Action::Transition(State::Backup)]
        );
        let due = t0 + us(3_609_375);
        assert_eq!(m.next_timeout(), Some(due));
        assert!(m.p(due - us(1)).is_empty(), "not a microsecond early");
        let a = m.p(due);
        assert_eq!(
            a,
            vec![
                Action::SendAdvert { priority: 100 },
                Action::AddVips,
                Action::Announce,
                Action::Transition(State::Master)
            ]
        );
        assert_eq!(m.next_timeout(), Some(due + Duration::from_secs(1)));
        assert_eq!(
            m.p(due + Duration::from_secs(1)),
            vec![Action::SendAdvert { priority: 100 }]
        );
    }

    #[test]
    fn adverts_keep_a_backup_backup() {
        let t0 = Instant::now();
        let mut m = Machine::new(params(Version::V3, 100, ms(100)));
        let _ = m.h(Event::Startup, t0);
        let mut t = t0;
        for _ in 0..50 {
            t += ms(100);
            assert!(m.h(advert("192.0.2.12", 150, ms(100)), t).is_empty());
            assert!(m.p(t).is_empty());
        }
        assert_eq!(m.state(), State::Backup);
        assert_eq!(m.master(), Some(ip("192.0.2.12")));
    }

    #[test]
    fn v3_learns_the_masters_interval() {
        let t0 = Instant::now();
        let mut m = Machine::new(params(Version::V3, 100, ms(100)));
        let _ = m.h(Event::Startup, t0);
        let _ = m.h(advert("192.0.2.12", 150, ms(1000)), t0);
        // 3 x 1 s + 156 x 1 s / 256
        assert_eq!(m.next_timeout(), Some(t0 + us(3_609_375)));
    }

    #[test]
    fn priority_zero_means_take_over_after_skew() {
        let t0 = Instant::now();
        let mut m = Machine::new(params(Version::V2, 100, Duration::from_secs(1)));
        let _ = m.h(Event::Startup, t0);
        let _ = m.h(advert("192.0.2.12", 0, Duration::from_secs(1)), t0 + ms(10));
        assert_eq!(m.next_timeout(), Some(t0 + ms(10) + us(609_375)));
    }

    #[test]
    fn higher_priority_advert_sends_master_to_backup() {
        let (mut m, t0) = running_master(params(Version::V2, 100, Duration::from_secs(1)));
        assert_eq!(m.state(), State::Master);
        let a = m.h(
            advert("192.0.2.12", 150, Duration::from_secs(1)),
            t0 + Duration::from_secs(5),
        );
        // the priority-0 advert makes the winner re-announce (split-brain healing)
        assert_eq!(
            a,
            vec![
                Action::SendAdvert { priority: 0 },
                Action::RemoveVips,
                Action::Transition(State::Backup)
            ]
        );
        assert_eq!(m.master(), Some(ip("192.0.2.12")));
        // without healing, only the step down
        let mut p = params(Version::V2, 100, Duration::from_secs(1));
        p.higher_prio_send_advert = false;
        let (mut m, t0) = running_master(p);
        let a = m.h(
            advert("192.0.2.12", 150, Duration::from_secs(1)),
            t0 + Duration::from_secs(5),
        );
        assert_eq!(
            a,
            vec![Action::RemoveVips, Action::Transition(State::Backup)]
        );
    }

    #[test]
    fn equal_priority_is_broken_by_the_higher_address() {
        let (mut m, t0) = running_master(params(Version::V2, 100, Duration::from_secs(1)));
        // a lower address with the same priority: we stay, and assert ourselves
        let a = m.h(
            advert("192.0.2.5", 100, Duration::from_secs(1)),
            t0 + Duration::from_secs(5),
        );
        assert_eq!(
            a,
            vec![Action::SendAdvert { priority: 100 }, Action::Announce]
        );
        assert_eq!(m.state(), State::Master);
        // a higher address with the same priority: we yield
        let _ = m.h(
            advert("192.0.2.200", 100, Duration::from_secs(1)),
            t0 + Duration::from_secs(6),
        );
        assert_eq!(m.state(), State::Backup);
    }

    /// A priority-0 advert from someone other than the master a backup follows is not the
    /// master leaving: the backup's timer runs on.
    #[test]
    fn a_backup_ignores_priority_zero_from_a_stranger() {
        let mut m = Machine::new(params(Version::V2, 100, Duration::from_secs(1)));
        let t0 = Instant::now();
        let _ = m.h(Event::Startup, t0);
        let _ = m.h(advert("192.0.2.12", 150, Duration::from_secs(1)), t0);
        let down = m.next_timeout();
        let _ = m.h(
            advert("192.0.2.99", 0, Duration::from_secs(1)),
            t0 + Duration::from_millis(10),
        );
        assert_eq!(m.next_timeout(), down);
        // from the master: Skew_Time
        let _ = m.h(
            advert("192.0.2.12", 0, Duration::from_secs(1)),
            t0 + Duration::from_millis(20),
        );
        assert!(m.next_timeout() < down);
    }

    /// Anyone on the segment can send lower-priority or priority-0 adverts: a master
    /// answers at most once an advert interval, however many come.
    #[test]
    fn a_flood_of_lower_priority_adverts_is_answered_once_an_interval() {
        let (mut m, t0) = running_master(params(Version::V2, 150, Duration::from_secs(1)));
        let mut answers = 0;
        for k in 0..1000u64 {
            let prio = if k % 2 == 0 { 100 } else { 0 };
            let t = t0 + Duration::from_secs(5) + Duration::from_micros(k * 100);
            let a = m.h(advert("192.0.2.12", prio, Duration::from_secs(1)), t);
            answers += a.iter().filter(|x| **x == Action::Announce).count();
        }
        // 0.1 s of flood within one interval: one answer
        assert_eq!(answers, 1);
        assert_eq!(m.state(), State::Master);
        // the next interval may answer again
        let a = m.h(
            advert("192.0.2.12", 100, Duration::from_secs(1)),
            t0 + Duration::from_secs(7),
        );
        assert!(a.contains(&Action::Announce), "{a:?}");
    }

    #[test]
    fn healed_split_brain_reannounces_unless_disabled() {
        let mut p = params(Version::V2, 150, Duration::from_secs(1));
        p.higher_prio_send_advert = false;
        let (mut m, t0) = running_master(p);
        assert!(m
            .h(
                advert("192.0.2.12", 100, Duration::from_secs(1)),
                t0 + Duration::from_secs(5)
            )
            .is_empty());
    }

    #[test]
    fn preempt_and_nopreempt() {
        let t0 = Instant::now();
        // preempt: a lower-priority master is not listened to; we take over
        let mut m = Machine::new(params(Version::V3, 200, ms(100)));
        let _ = m.h(Event::Startup, t0);
        let mut t = t0;
        while m.state() == State::Backup && t < t0 + Duration::from_secs(5) {
            t += ms(100);
            let _ = m.h(advert("192.0.2.12", 100, ms(100)), t);
            let _ = m.p(t);
        }
        assert_eq!(m.state(), State::Master);
        assert!(t - t0 < ms(500), "took over after one Master_Down_Interval");
        // nopreempt: it is
        let mut p = params(Version::V3, 200, ms(100));
        p.preempt = false;
        let mut m = Machine::new(p);
        let _ = m.h(Event::Startup, t0);
        let mut t = t0;
        for _ in 0..50 {
            t += ms(100);
            let _ = m.h(advert("192.0.2.12", 100, ms(100)), t);
            let _ = m.p(t);
        }
        assert_eq!(m.state(), State::Backup);
    }

    #[test]
    fn preempt_delay_waits_after_startup() {
        let t0 = Instant::now();
        let mut p = params(Version::V3, 200, ms(100));
        p.preempt_delay = Duration::from_secs(2);
        let mut m = Machine::new(p);
        let _ = m.h(Event::Startup, t0);
        let mut t = t0;
        while m.state() == State::Backup && t < t0 + Duration::from_secs(5) {
            t += ms(100);
            let _ = m.h(advert("192.0.2.12", 100, ms(100)), t);
            let _ = m.p(t);
        }
        assert_eq!(m.state(), State::Master);
        let took = t - t0;
        assert!(
            took >= Duration::from_secs(2) && took < ms(2500),
            "{took:?}"
        );
    }

    #[test]
    fn address_owner_is_master_at_once_and_stays() {
        let t0 = Instant::now();
        let mut m = Machine::new(params(Version::V2, 255, Duration::from_secs(1)));
        let a = m.h(Event::Startup, t0);
        assert_eq!(a.last(), Some(&Action::Transition(State::Master)));
        let _ = m.h(
            advert("192.0.2.200", 255, Duration::from_secs(1)),
            t0 + ms(10),
        );
        assert_eq!(m.state(), State::Master);
    }

    #[test]
    fn shutdown_sends_priority_zero() {
        let (mut m, t0) = running_master(params(Version::V2, 100, Duration::from_secs(1)));
        let a = m.h(Event::Shutdown, t0 + Duration::from_secs(5));
        assert_eq!(
            a,
            vec![
                Action::SendAdvert { priority: 0 },
                Action::RemoveVips,
                Action::Transition(State::Initialize)
            ]
        );
        assert_eq!(m.next_timeout(), None);
    }

    #[test]
    fn fault_and_recovery() {
        let (mut m, t0) = running_master(params(Version::V2, 100, Duration::from_secs(1)));
        let a = m.h(Event::Fault(true), t0 + Duration::from_secs(5));
        assert_eq!(
            a,
            vec![
                Action::SendAdvert { priority: 0 },
                Action::RemoveVips,
                Action::Transition(State::Fault)
            ]
        );
        assert_eq!(m.next_timeout(), None);
        assert!(m
            .h(
                advert("192.0.2.12", 50, Duration::from_secs(1)),
                t0 + Duration::from_secs(6)
            )
            .is_empty());
        let a = m.h(Event::Fault(false), t0 + Duration::from_secs(7));
        assert_eq!(a, vec![Action::Transition(State::Backup)]);
        assert_eq!(
            m.next_timeout(),
            Some(t0 + Duration::from_secs(7) + us(3_609_375))
        );
    }

    #[test]
    fn priority_change_is_advertised_at_once_by_a_master() {
        let (mut m, t0) = running_master(params(Version::V2, 100, Duration::from_secs(1)));
        let a = m.h(Event::Priority(80), t0 + ms(4500));
        assert_eq!(a, vec![Action::SendAdvert { priority: 80 }]);
        // and a peer at 90 now wins
        let _ = m.h(
            advert("192.0.2.12", 90, Duration::from_secs(1)),
            t0 + ms(4600),
        );
        assert_eq!(m.state(), State::Backup);
    }

    #[test]
    fn sync_group_follow() {
        let p = params(Version::V3, 100, ms(100));
        let t0 = Instant::now();
        let mut m = Machine::new(p.clone());
        let _ = m.h(Event::Startup, t0);
        let a = m.h(Event::Follow(State::Master), t0 + ms(10));
        assert_eq!(
            a,
            vec![
                Action::SendAdvert { priority: 100 },
                Action::AddVips,
                Action::Announce,
                Action::Transition(State::Master)
            ]
        );
        // following to Master again changes nothing
        assert!(m.h(Event::Follow(State::Master), t0 + ms(20)).is_empty());
        let a = m.h(Event::Follow(State::Backup), t0 + ms(30));
        assert_eq!(
            a,
            vec![Action::RemoveVips, Action::Transition(State::Backup)]
        );
        assert_eq!(
            m.next_timeout(),
            Some(t0 + ms(30) + m.master_down_interval())
        );
        // a faulty instance does not follow
        let _ = m.h(Event::Fault(true), t0 + ms(40));
        assert!(m.h(Event::Follow(State::Master), t0 + ms(50)).is_empty());
    }
}
