//! IPVS on a thread of its own: the [`Manager`] (and its netlink sockets) lives there, and
//! the daemon sends it what the table should be. A large apply or dump (tens of thousands
//! of destinations) then never holds up the daemon's loop: status, metrics, signals and
//! reloads are served meanwhile. Table requests that queue up while one is applied are
//! coalesced (each carries the whole wanted table: only the last counts), and the drain of
//! removed real servers ticks on this thread. The counters status asks for are read on
//! another (`counters`), which holds its readings while a table is written.

use super::counters::{Last, Reader, Readings};
use super::desired::PoolWeights;
use super::manager::{Manager, Summary};
use crate::config::model::{Config, FlushOnStop};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tracing::{error, info};

/// How often draining destinations' connections are read.
const DRAIN_TICK: Duration = Duration::from_secs(1);

/// What the table should hold: the configuration with each virtual server's weights
/// (indexed as `cfg.virtual_server`).
pub(crate) struct Want {
    pub cfg: Arc<Config>,
    pub weights: Vec<PoolWeights>,
    /// Log the summary with this label even when nothing was written (start: "",
    /// reload: "reload: "); None: only when something was written.
    pub summary: Option<&'static str>,
}

enum Request {
    Sync(Want),
    /// The next sync follows a reload (real servers it drops drain).
    Reloading(Duration),
    /// The draining destinations, for a successor binary.
    SaveDrains(oneshot::Sender<Vec<super::drain::SavedDrain>>),
    /// Release (or keep) the services and end the thread.
    Stop {
        flush: FlushOnStop,
        keep: bool,
        done: oneshot::Sender<()>,
    },
}

/// The daemon's handle on the IPVS thread. Dropping it without [`Actor::stop`] leaves the
/// services in the kernel (the thread ends when the channel closes).
pub(crate) struct Actor {
    tx: Sender<Request>,
    /// The counters, read on a thread of their own.
    reader: Reader,
}

impl Actor {
    /// Open IPVS, apply the start-up settings (lvs_flush, lvs_timeouts) and start the
    /// thread. The table itself comes with the first [`Actor::sync`], carrying the checks'
    /// initial health, so no real server the checks hold down is ever added for a moment.
    /// `resumed`: a new binary continuing a running ldirector, with the destinations it
    /// was draining and how long ago they were saved (no lvs_flush).
    pub(crate) fn start(
        cfg: &Config,
        resumed: Option<(Vec<super::drain::SavedDrain>, Duration)>,
    ) -> std::io::Result<Actor> {
        let mut m = Manager::open()?;
        m.prepare(cfg, resumed.is_some())?;
        if let Some((drains, elapsed)) = resumed {
            m.resume_drains(drains, elapsed);
        }
        let writing = Arc::new(AtomicBool::new(false));
        let reader = Reader::start(writing.clone())?;
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("ldirector-ipvs".into())
            .spawn(move || run(m, rx, &writing))?;
        Ok(Actor { tx, reader })
    }

    /// The destinations draining now (for a successor binary); empty if the thread is
    /// gone or does not answer within `limit`.
    pub(crate) async fn saved_drains(&self, limit: Duration) -> Vec<super::drain::SavedDrain> {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Request::SaveDrains(tx)).is_err() {
            return Vec::new();
        }
        tokio::time::timeout(limit, rx)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default()
    }

    /// Bring the kernel to `want` (asynchronously; the outcome is logged).
    pub(crate) fn sync(&self, want: Want) {
        let _ = self.tx.send(Request::Sync(want));
    }

    /// The next sync follows a reload: the real servers it drops drain for `timeout`.
    pub(crate) fn reloading(&self, timeout: Duration) {
        let _ = self.tx.send(Request::Reloading(timeout));
    }

    /// The kernel's counters by `cfg`'s indexes, answered when the thread gets to it (an
    /// empty reading if the thread is gone).
    pub(crate) fn readings(&self, cfg: Arc<Config>) -> oneshot::Receiver<Readings> {
        self.reader.ask(cfg)
    }

    /// The last counters read (status shows them while a reading is under way).
    pub(crate) fn last_readings(&self) -> Last {
        self.reader.last()
    }

    /// Whether the counters are being read now.
    pub(crate) fn reading(&self) -> bool {
        self.reader.reading()
    }

    /// Release the services ldirector owns (or flush, or keep them) and end the thread,
    /// after what was asked before.
    pub(crate) async fn stop(self, flush: FlushOnStop, keep: bool) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Request::Stop { flush, keep, done }).is_ok() {
            let _ = wait.await;
        }
    }
}

fn run(mut m: Manager, rx: Receiver<Request>, writing: &AtomicBool) {
    loop {
        let first = if m.draining() {
            match rx.recv_timeout(DRAIN_TICK) {
                Ok(r) => r,
                Err(RecvTimeoutError::Timeout) => {
                    writing.store(true, Ordering::Relaxed);
                    if let Err(e) = m.drain_tick() {
                        error!("IPVS: draining: {e}");
                    }
                    writing.store(false, Ordering::Relaxed);
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return,
            }
        } else {
            match rx.recv() {
                Ok(r) => r,
                Err(_) => return,
            }
        };
        // everything waiting is taken at once: the table (only the last request counts,
        // each is whole; a start or reload summary asked on the way is still logged),
        // then a stop
        let mut want: Option<Want> = None;
        let mut stop = None;
        for r in std::iter::once(first).chain(std::iter::from_fn(|| rx.try_recv().ok())) {
            match r {
                Request::Sync(w) => {
                    let summary = w.summary.or(want.as_ref().and_then(|x| x.summary));
                    want = Some(Want { summary, ..w });
                }
                Request::Reloading(t) => m.reloading(t),
                Request::SaveDrains(reply) => {
                    let _ = reply.send(m.saved_drains());
                }
                Request::Stop { flush, keep, done } => stop = Some((flush, keep, done)),
            }
        }
        if let Some(w) = want {
            writing.store(true, Ordering::Relaxed);
            sync(&mut m, &w);
            writing.store(false, Ordering::Relaxed);
        }
        if let Some((flush, keep, done)) = stop {
            m.release(flush, keep);
            let _ = done.send(());
            return;
        }
    }
}

fn sync(m: &mut Manager, want: &Want) {
    let weights = |vi: usize| want.weights.get(vi).cloned().unwrap_or_default();
    match (m.sync_weighted(&want.cfg, &weights), want.summary) {
        (Ok(s), Some(label)) => log_summary(label, &s),
        (Ok(s), None) if s.ops > 0 => info!("IPVS: {} change(s) written for health", s.ops),
        (Ok(_), None) => {}
        (Err(e), _) => error!("IPVS: {e}"),
    }
}

fn log_summary(label: &str, s: &Summary) {
    info!(
        "{label}IPVS: {} service(s), {} destination(s); {} change(s) written, {} refused",
        s.services, s.dests, s.ops, s.failed
    );
}
