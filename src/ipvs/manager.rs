//! The daemon's IPVS shell: brings the kernel to what a configuration asks for (reading the
//! kernel's table each time, so drift is repaired and a restart adopts what is there),
//! remembers which services it owns across reloads, and releases them at stop.

use super::codec::{Op, Timeouts};
use super::drain::{Done, Draining};
use super::netlink::Ipvs;
use super::reconcile::diff;
use super::table::{DestConns, ServiceKey, Stats};
use super::{desired, table::Table};
use crate::config::model::{Config, FlushOnStop};
use std::collections::{HashMap, HashSet};
use std::io;
use std::time::{Duration, Instant};
use tracing::{error, info, warn};

pub(crate) struct Manager {
    ipvs: Ipvs,
    owned: HashSet<ServiceKey>,
    /// What the last sync asked for (before draining destinations were added).
    last: Table,
    draining: Draining,
    /// Set by a reload: the next sync starts draining what the new config drops.
    reload_drain: Option<Duration>,
    /// The last `readings`, when they were taken, and how long they serve (status and
    /// metrics ask often; one reading costs a dump per service).
    read_cache: Option<(Instant, Duration, Readings)>,
}

/// How long a reading of the kernel's counters serves again at least (the kernel's own
/// rate estimates move every 2 s); a reading that took long serves twice as long as it
/// took, so reading never takes more than a third of the IPVS thread's time (37,298
/// destinations: a dump per service, seconds under emulation).
const READ_CACHE: Duration = Duration::from_secs(1);

/// What one synchronisation did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Summary {
    pub services: usize,
    pub dests: usize,
    pub ops: usize,
    pub failed: usize,
}

/// The kernel's counts, by virtual server index and (real server index | None = sorry).
#[derive(Clone, Debug, Default)]
pub(crate) struct Readings {
    pub services: HashMap<usize, Stats>,
    pub dests: HashMap<(usize, Option<usize>), (DestConns, Stats)>,
}

fn add_stats(a: &mut Stats, b: &Stats) {
    a.conns += b.conns;
    a.inpkts += b.inpkts;
    a.outpkts += b.outpkts;
    a.inbytes += b.inbytes;
    a.outbytes += b.outbytes;
    a.cps += b.cps;
    a.inpps += b.inpps;
    a.outpps += b.outpps;
    a.inbps += b.inbps;
    a.outbps += b.outbps;
}

impl Manager {
    pub(crate) fn open() -> io::Result<Manager> {
        Ok(Manager {
            ipvs: Ipvs::open_loading()?,
            owned: HashSet::new(),
            last: Table::default(),
            draining: Draining::default(),
            reload_drain: None,
            read_cache: None,
        })
    }

    /// Start-up settings: lvs_flush, lvs_timeouts.
    pub(crate) fn prepare(&mut self, cfg: &Config) -> io::Result<()> {
        if cfg.global_defs.lvs_flush {
            info!("lvs_flush: removing every IPVS service");
            self.ipvs.flush()?;
        }
        let t = &cfg.global_defs.lvs_timeouts;
        if !t.is_empty() {
            let secs = |s: Option<crate::config::types::Secs>| {
                s.map_or(0, |s| s.as_duration().as_secs() as u32)
            };
            self.ipvs.set_timeouts(&Timeouts {
                tcp: secs(t.tcp),
                tcp_fin: secs(t.tcpfin),
                udp: secs(t.udp),
            })?;
        }
        Ok(())
    }

    /// Bring the kernel to `cfg` with the pools' weights.
    pub(crate) fn sync_weighted(
        &mut self,
        cfg: &Config,
        weights: &dyn Fn(usize) -> desired::PoolWeights,
    ) -> io::Result<Summary> {
        let want = desired::table_weighted(cfg, weights);
        self.sync_table(&want)
    }

    /// The next sync follows a reload: real servers it drops drain for at most `timeout`.
    pub(crate) fn reloading(&mut self, timeout: Duration) {
        self.reload_drain = Some(timeout);
        // readings are by the configuration's indexes
        self.read_cache = None;
    }

    /// Whether real servers are draining (call [`Manager::drain_tick`] every second).
    pub(crate) fn draining(&self) -> bool {
        !self.draining.is_empty()
    }

    pub(crate) fn sync_table(&mut self, want: &Table) -> io::Result<Summary> {
        let have = self.ipvs.table()?;
        if let Some(timeout) = self.reload_drain.take() {
            for (sk, dk) in self
                .draining
                .reload(&self.last, want, &have, Instant::now(), timeout)
            {
                info!(
                    "IPVS: {dk} of {sk} drains (weight 0) before its removal, {timeout:?} at most"
                );
            }
        }
        self.last = want.clone();
        let mut full;
        let want = if self.draining.is_empty() {
            want
        } else {
            full = want.clone();
            self.draining.keep(&mut full);
            &full
        };
        let ops = diff(want, &have, &self.owned, false);
        let failed = self.ipvs.apply(&ops)?;
        for f in &failed {
            error!("IPVS: {f}");
        }
        self.owned = want.services.keys().copied().collect();
        Ok(Summary {
            services: want.services.len(),
            dests: want.dest_count(),
            ops: ops.len(),
            failed: failed.len(),
        })
    }

    /// What the kernel counts for each configured virtual server (its services' traffic)
    /// and for each of its real servers (`Some(index)`) and sorry server (`None`):
    /// connections and traffic, summed over the service's keys (groups, families). What
    /// cannot be read is left out.
    pub(crate) fn readings(&mut self, cfg: &Config) -> Readings {
        if let Some((at, serves, r)) = &self.read_cache {
            if at.elapsed() < *serves {
                return r.clone();
            }
        }
        let t0 = Instant::now();
        let r = self.read(cfg);
        let serves = READ_CACHE.max(t0.elapsed() * 2);
        self.read_cache = Some((Instant::now(), serves, r.clone()));
        r
    }

    fn read(&mut self, cfg: &Config) -> Readings {
        use super::table::DestKey;
        let mut out = Readings::default();
        let services: HashMap<_, _> = self
            .ipvs
            .services()
            .unwrap_or_default()
            .into_iter()
            .map(|(k, _, st)| (k, st))
            .collect();
        for (vi, vs) in cfg.virtual_server.iter().enumerate() {
            let mut idx: HashMap<DestKey, Option<usize>> = vs
                .real_server
                .iter()
                .enumerate()
                .map(|(ri, r)| (desired::dest(vs, r).0, Some(ri)))
                .collect();
            if let Some(s) = &vs.sorry_server {
                idx.entry(DestKey {
                    addr: s.ip,
                    port: s.port.or(vs.port).unwrap_or(0),
                })
                .or_insert(None);
            }
            for sk in desired::service_keys(cfg, vs) {
                let Some(st) = services.get(&sk) else {
                    continue;
                };
                add_stats(out.services.entry(vi).or_default(), st);
                for (dk, _, c, st) in self.ipvs.dests(&sk).unwrap_or_default() {
                    if let Some(which) = idx.get(&dk) {
                        let e = out.dests.entry((vi, *which)).or_default();
                        e.0.active += c.active;
                        e.0.inactive += c.inactive;
                        e.0.persistent += c.persistent;
                        add_stats(&mut e.1, &st);
                    }
                }
            }
        }
        out
    }

    /// Read the draining destinations' connections; delete those whose connections ended
    /// or whose time is up.
    pub(crate) fn drain_tick(&mut self) -> io::Result<()> {
        let mut conns = HashMap::new();
        for sk in self.draining.services() {
            for (dk, _, c, _) in self.ipvs.dests(&sk).unwrap_or_default() {
                conns.insert((sk, dk), c);
            }
        }
        let done = self
            .draining
            .tick(Instant::now(), &|sk, dk| conns.get(&(*sk, *dk)).copied());
        if done.is_empty() {
            return Ok(());
        }
        for (sk, dk, why) in &done {
            match why {
                Done::Idle => info!("IPVS: {dk} of {sk} drained: removed"),
                Done::Timeout { active, inactive } => warn!(
                    "IPVS: {dk} of {sk} still had {active} active and {inactive} inactive connection(s) at lvs_drain_timeout: removed"
                ),
            }
        }
        let want = self.last.clone();
        self.sync_table(&want).map(drop)
    }

    /// At stop: remove the services ldirector owns, or flush everything
    /// (lvs_flush_on_stop ALL), or leave them (`keep`: --dont-release-ipvs).
    pub(crate) fn release(&mut self, flush: FlushOnStop, keep: bool) {
        if keep {
            info!("IPVS: leaving {} service(s) in place", self.owned.len());
            return;
        }
        if flush == FlushOnStop::All {
            if let Err(e) = self.ipvs.flush() {
                warn!("IPVS flush at stop: {e}");
            }
            return;
        }
        let ops: Vec<Op> = self.owned.iter().map(|k| Op::DelService(*k)).collect();
        match self.ipvs.apply(&ops) {
            Ok(failed) => {
                for f in failed {
                    warn!("IPVS at stop: {f}");
                }
            }
            Err(e) => warn!("IPVS at stop: {e}"),
        }
        self.owned.clear();
    }
}
