//! Health-check counters for `/metrics`: probes by checker kind and result, and how long
//! those that answered took (prometheus-client families, registered by
//! `control::metrics` at each scrape). Cheap to clone (shared values); the checks thread's
//! hot path touches one atomic counter and one histogram.

use super::probe::Probe;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::time::Duration;

type Labels = Vec<(&'static str, String)>;

/// The checkers' kinds, as metrics label them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Tcp,
    Http,
    Ssl,
    Smtp,
    Misc,
    Ping,
    Udp,
    Dns,
    File,
}

impl Kind {
    pub(crate) const ALL: [Kind; 9] = [
        Kind::Tcp,
        Kind::Http,
        Kind::Ssl,
        Kind::Smtp,
        Kind::Misc,
        Kind::Ping,
        Kind::Udp,
        Kind::Dns,
        Kind::File,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Tcp => "tcp",
            Kind::Http => "http",
            Kind::Ssl => "ssl",
            Kind::Smtp => "smtp",
            Kind::Misc => "misc",
            Kind::Ping => "ping",
            Kind::Udp => "udp",
            Kind::Dns => "dns",
            Kind::File => "file",
        }
    }

    pub(crate) fn of(p: &Probe) -> Kind {
        match p {
            Probe::Tcp(_) => Kind::Tcp,
            Probe::Http(_, _, _, None) => Kind::Http,
            Probe::Http(_, _, _, Some(_)) => Kind::Ssl,
            Probe::Smtp(..) => Kind::Smtp,
            Probe::Misc(..) => Kind::Misc,
            Probe::Ping(_) => Kind::Ping,
            Probe::Udp(..) => Kind::Udp,
            Probe::Dns(..) => Kind::Dns,
            Probe::File { .. } => Kind::File,
        }
    }
}

/// How a probe ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Up,
    Down,
    /// Abandoned at connect_timeout (no answer).
    Timeout,
}

/// One kind's handles (they share their values with the families).
#[derive(Clone)]
struct Handles {
    up: Counter,
    down: Counter,
    timeout: Counter,
    duration: Histogram,
}

#[derive(Clone)]
pub(crate) struct CheckStats {
    results: Family<Labels, Counter>,
    durations: Family<Labels, Histogram>,
    /// By `Kind::ALL`'s order.
    kinds: Vec<Handles>,
}

fn duration_buckets() -> Histogram {
    Histogram::new([
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ])
}

impl Default for CheckStats {
    fn default() -> Self {
        let results = Family::<Labels, Counter>::default();
        let durations =
            Family::<Labels, Histogram>::new_with_constructor(duration_buckets as fn() -> _);
        let kinds = Kind::ALL
            .iter()
            .map(|k| {
                let r = |result: &str| {
                    results.get_or_create_owned(&vec![
                        ("kind", k.name().to_string()),
                        ("result", result.to_string()),
                    ])
                };
                Handles {
                    up: r("up"),
                    down: r("down"),
                    timeout: r("timeout"),
                    duration: durations.get_or_create_owned(&vec![("kind", k.name().to_string())]),
                }
            })
            .collect();
        CheckStats {
            results,
            durations,
            kinds,
        }
    }
}

impl CheckStats {
    /// Count one probe; its duration when it answered.
    pub(crate) fn probe(&self, kind: Kind, outcome: Outcome, took: Option<Duration>) {
        let Some(k) = Kind::ALL
            .iter()
            .position(|x| *x == kind)
            .and_then(|i| self.kinds.get(i))
        else {
            return;
        };
        match outcome {
            Outcome::Up => k.up.inc(),
            Outcome::Down => k.down.inc(),
            Outcome::Timeout => k.timeout.inc(),
        };
        if let Some(t) = took {
            k.duration.observe(t.as_secs_f64());
        }
    }

    /// Into a scrape's registry.
    pub(crate) fn register(&self, reg: &mut Registry) {
        reg.register(
            "checks",
            "Health-check probes, by checker kind and result",
            self.results.clone(),
        );
        reg.register(
            "check_duration_seconds",
            "How long health-check probes that answered took",
            self.durations.clone(),
        );
    }
}
