//! The daemon's IPVS shell: brings the kernel to what a configuration asks for (reading the
//! kernel's table each time, so drift is repaired and a restart adopts what is there),
//! remembers which services it owns across reloads, and releases them at stop.

use super::codec::{Op, Timeouts};
use super::drain::{Done, Draining, SavedDrain};
use super::netlink::Ipvs;
use super::reconcile::diff;
use super::table::ServiceKey;
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
    /// A predecessor binary's draining destinations, saved this long before the start:
    /// taken up by the first sync (which reads the kernel's table).
    resumed_drains: Option<(Vec<SavedDrain>, Instant, Duration)>,
}

/// What one synchronisation did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Summary {
    pub services: usize,
    pub dests: usize,
    pub ops: usize,
    pub failed: usize,
}

impl Manager {
    pub(crate) fn open() -> io::Result<Manager> {
        Ok(Manager {
            ipvs: Ipvs::open_loading()?,
            owned: HashSet::new(),
            last: Table::default(),
            draining: Draining::default(),
            reload_drain: None,
            resumed_drains: None,
        })
    }

    /// Start-up settings: lvs_flush, lvs_timeouts.
    /// The start-up settings; `resumed` (a new binary continuing a running ldirector):
    /// no lvs_flush, the table is the running one's.
    pub(crate) fn prepare(&mut self, cfg: &Config, resumed: bool) -> io::Result<()> {
        if cfg.global_defs.lvs_flush && !resumed {
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
    }

    /// Whether real servers are draining (call [`Manager::drain_tick`] every second).
    pub(crate) fn draining(&self) -> bool {
        !self.draining.is_empty()
    }

    /// Take over a predecessor binary's draining destinations (`ldirector upgrade`),
    /// saved `elapsed` before now.
    pub(crate) fn resume_drains(&mut self, saved: Vec<SavedDrain>, elapsed: Duration) {
        if !saved.is_empty() {
            self.resumed_drains = Some((saved, Instant::now(), elapsed));
        }
    }

    /// The draining destinations, for a successor binary.
    pub(crate) fn saved_drains(&self) -> Vec<SavedDrain> {
        self.draining.save(Instant::now())
    }

    pub(crate) fn sync_table(&mut self, want: &Table) -> io::Result<Summary> {
        let have = self.ipvs.table()?;
        if let Some((saved, at, elapsed)) = self.resumed_drains.take() {
            let n = self
                .draining
                .resume(&saved, &have, Instant::now(), elapsed + at.elapsed());
            info!("IPVS: {n} real server(s) go on draining after the upgrade");
        }
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
