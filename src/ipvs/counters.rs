//! The kernel's counters for status and metrics, read on a thread of their own with a
//! netlink socket of their own: reading every destination of a large table (a dump per
//! service) never holds up a table write on the IPVS thread, and a write never holds up a
//! reading. Requests that wait are answered by one reading; a reading serves again for a
//! while (see [`READ_CACHE`]) for the same configuration. While the IPVS thread writes a
//! table, readings wait (the last one, for the same configuration, is answered at once):
//! two threads walking the kernel's table at once would slow the write down.

use super::desired;
use super::netlink::Ipvs;
use super::table::{DestConns, Stats};
use crate::config::model::Config;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// How long a reading of the kernel's counters serves again at least (the kernel's own
/// rate estimates move every 2 s); a reading that took long serves twice as long as it
/// took, so reading never takes more than a third of its thread's time (37,298
/// destinations: a dump per service, seconds under emulation).
const READ_CACHE: Duration = Duration::from_secs(1);

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

type Ask = (Arc<Config>, oneshot::Sender<Readings>);

/// A reading kept: for which configuration, when it was taken, how long it serves.
struct Kept {
    cfg: Arc<Config>,
    at: Instant,
    serves: Duration,
    readings: Readings,
}

/// The last reading, shared by the reading thread (its cache) and the daemon (what status
/// shows while a reading is under way).
#[derive(Clone, Default)]
pub(crate) struct Last(Arc<Mutex<Option<Kept>>>);

impl Last {
    /// The last reading if it was taken for `cfg` (its indexes are `cfg`'s), however old.
    pub(crate) fn for_config(&self, cfg: &Arc<Config>) -> Option<Readings> {
        self.get(cfg, false)
    }

    /// The same while it serves (see [`READ_CACHE`]).
    fn serving(&self, cfg: &Arc<Config>) -> Option<Readings> {
        self.get(cfg, true)
    }

    fn get(&self, cfg: &Arc<Config>, only_serving: bool) -> Option<Readings> {
        let k = self.0.lock().ok()?;
        k.as_ref()
            .filter(|k| Arc::ptr_eq(&k.cfg, cfg) && (!only_serving || k.at.elapsed() < k.serves))
            .map(|k| k.readings.clone())
    }

    fn keep(&self, k: Kept) {
        if let Ok(mut l) = self.0.lock() {
            *l = Some(k);
        }
    }
}

/// The reading thread's handle; the thread ends when it is dropped.
pub(crate) struct Reader {
    tx: Sender<Ask>,
    last: Last,
    /// Set while the thread reads (or waits for a write to end before reading).
    reading: Arc<AtomicBool>,
}

/// How long a reading waits at most for a table write to end.
const WRITE_WAIT: Duration = Duration::from_secs(10);

impl Reader {
    /// `writing`: set by the IPVS thread while it writes a table.
    pub(crate) fn start(writing: Arc<AtomicBool>) -> std::io::Result<Reader> {
        let ipvs = Ipvs::open()?;
        let (tx, rx) = mpsc::channel();
        let (last, reading) = (Last::default(), Arc::new(AtomicBool::new(false)));
        let (l, r) = (last.clone(), reading.clone());
        std::thread::Builder::new()
            .name("ldirector-ipvs-read".into())
            .spawn(move || run(ipvs, rx, &writing, &l, &r))?;
        Ok(Reader { tx, last, reading })
    }

    /// The last reading, shared.
    pub(crate) fn last(&self) -> Last {
        self.last.clone()
    }

    /// Whether a reading is under way (a request now would wait for it).
    pub(crate) fn reading(&self) -> bool {
        self.reading.load(Ordering::Relaxed)
    }

    /// The counters by `cfg`'s indexes, when the thread gets to them (an empty reading if
    /// the thread is gone).
    pub(crate) fn ask(&self, cfg: Arc<Config>) -> oneshot::Receiver<Readings> {
        let (tx, rx) = oneshot::channel();
        let _ = self.tx.send((cfg, tx));
        rx
    }
}

fn run(mut ipvs: Ipvs, rx: Receiver<Ask>, writing: &AtomicBool, last: &Last, reading: &AtomicBool) {
    while let Ok(first) = rx.recv() {
        let mut asks: Vec<Ask> = std::iter::once(first)
            .chain(std::iter::from_fn(|| rx.try_recv().ok()))
            .collect();
        while let Some((cfg, reply)) = asks.pop() {
            // fresh enough, or the last one while a table is written
            let fresh = if writing.load(Ordering::Relaxed) {
                last.for_config(&cfg)
            } else {
                last.serving(&cfg)
            };
            let r = match fresh {
                Some(r) => r,
                None => {
                    reading.store(true, Ordering::Relaxed);
                    let until = Instant::now() + WRITE_WAIT;
                    while writing.load(Ordering::Relaxed) && Instant::now() < until {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    let t0 = Instant::now();
                    let r = read(&mut ipvs, &cfg);
                    last.keep(Kept {
                        cfg: cfg.clone(),
                        at: Instant::now(),
                        serves: READ_CACHE.max(t0.elapsed() * 2),
                        readings: r.clone(),
                    });
                    reading.store(false, Ordering::Relaxed);
                    r
                }
            };
            let (same, other): (Vec<_>, Vec<_>) = std::mem::take(&mut asks)
                .into_iter()
                .partition(|(c, _)| Arc::ptr_eq(c, &cfg));
            asks = other;
            for (_, tx) in same {
                let _ = tx.send(r.clone());
            }
            let _ = reply.send(r);
        }
    }
}

/// What the kernel counts for each configured virtual server (its services' traffic)
/// and for each of its real servers (`Some(index)`) and sorry server (`None`):
/// connections and traffic, summed over the service's keys (groups, families). What
/// cannot be read is left out.
fn read(ipvs: &mut Ipvs, cfg: &Config) -> Readings {
    use super::table::DestKey;
    let mut out = Readings::default();
    let services: HashMap<_, _> = ipvs
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
            for (dk, _, c, st) in ipvs.dests(&sk).unwrap_or_default() {
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
