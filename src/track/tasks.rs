//! The tracking tasks of a running daemon: one loop per vrrp_script some instance tracks,
//! one watcher for the track_files (its values go to VRRP and to the FILE_CHECKs), one
//! for the tracked processes; all report [`Event`]s. A reload keeps the loops of unchanged
//! scripts (their verdicts stand), starts new and changed ones from their initial verdict
//! and stops the others.

use super::file as track_file;
use super::script as track_script;
use super::{proc_events, Event, Initial, Object};
use crate::config::model::TrackProcess;
use crate::config::model::{TrackFile, VrrpScript};
use crate::config::Config;
use crate::exec::RunAs;
use indexmap::IndexMap;
use std::collections::HashMap;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::error;

pub(crate) struct Tracking {
    run_as: Option<RunAs>,
    events: mpsc::UnboundedSender<Event>,
    scripts: HashMap<String, (VrrpScript, JoinHandle<()>)>,
    files: Option<(IndexMap<String, TrackFile>, JoinHandle<()>)>,
    processes: Option<(IndexMap<String, TrackProcess>, proc_events::Watcher)>,
    /// vrrp_scripts' verdicts a predecessor binary had: their loops start from them.
    carried: HashMap<String, bool>,
}

/// The vrrp_track_process blocks among what the instances track.
fn tracked_processes(cfg: &Config, tracked: &[Object]) -> IndexMap<String, TrackProcess> {
    cfg.vrrp_track_process
        .iter()
        .filter(|(n, _)| tracked.contains(&Object::Process((*n).clone())))
        .map(|(n, t)| (n.clone(), t.clone()))
        .collect()
}

/// The vrrp_scripts among what the instances track.
fn tracked_scripts<'a>(cfg: &'a Config, tracked: &[Object]) -> Vec<(&'a String, &'a VrrpScript)> {
    tracked
        .iter()
        .filter_map(|o| match o {
            Object::Script(n) => cfg.vrrp_script.get_key_value(n),
            _ => None,
        })
        .collect()
}

impl Tracking {
    pub(crate) fn new(run_as: Option<RunAs>, events: mpsc::UnboundedSender<Event>) -> Tracking {
        Tracking {
            run_as,
            events,
            scripts: HashMap::new(),
            files: None,
            processes: None,
            carried: HashMap::new(),
        }
    }

    /// Start the vrrp_scripts from a predecessor binary's verdicts (`ldirector upgrade`).
    pub(crate) fn carry(&mut self, scripts: &[(String, bool)]) {
        self.carried = scripts.iter().cloned().collect();
    }

    /// Bring the tasks to `cfg` and what the instances track. Returns the initial verdicts
    /// and values of what (re)started, for the engine; `values` are the track_file values as
    /// the watcher starts with them.
    pub(crate) fn update(
        &mut self,
        cfg: &Config,
        tracked: &[Object],
        values: &[(String, i64)],
    ) -> Initial {
        let mut initial = Initial {
            scripts: self.update_scripts(cfg, tracked),
            ..Initial::default()
        };
        let same_files = self
            .files
            .as_ref()
            .is_some_and(|(f, _)| *f == cfg.track_file)
            || (self.files.is_none() && cfg.track_file.is_empty());
        if !same_files {
            if let Some((_, t)) = self.files.take() {
                t.abort();
            }
            initial.files = values.to_vec();
            if !cfg.track_file.is_empty() {
                let events = self.events.clone();
                let changed =
                    move |name: &str, v: i64| events.send(Event::File(name.into(), v)).is_ok();
                let start: HashMap<String, i64> = values.iter().cloned().collect();
                match track_file::spawn(cfg.track_file.clone(), start, changed) {
                    Ok(t) => self.files = Some((cfg.track_file.clone(), t)),
                    Err(e) => error!("track_file: cannot watch: {e}"),
                }
            }
        }
        let wanted = tracked_processes(cfg, tracked);
        let same = self.processes.as_ref().is_some_and(|(p, _)| *p == wanted)
            || (self.processes.is_none() && wanted.is_empty());
        if !same {
            // the old watcher stops (joined) before the new one reads
            self.processes = None;
            initial.processes = proc_events::initial(&wanted);
            if !wanted.is_empty() {
                let events = self.events.clone();
                let changed = move |name: &str, up: bool| {
                    events.send(Event::Process(name.into(), up)).is_ok()
                };
                match proc_events::spawn(wanted.clone(), changed) {
                    Ok(w) => self.processes = Some((wanted, w)),
                    Err(e) => error!("vrrp_track_process: cannot watch processes: {e}"),
                }
            }
        }
        initial
    }

    /// Bring the vrrp_script loops alone to `cfg` and what the instances track (the
    /// track_files serve the health checks too). Returns the initial verdicts of the loops
    /// that (re)started.
    pub(crate) fn update_scripts(
        &mut self,
        cfg: &Config,
        tracked: &[Object],
    ) -> Vec<(String, bool)> {
        let mut started = Vec::new();
        let wanted = tracked_scripts(cfg, tracked);
        self.scripts.retain(|name, (s, task)| {
            let keep = wanted.iter().any(|(n, w)| *n == name && *w == s);
            if !keep {
                task.abort();
            }
            keep
        });
        for (name, s) in wanted {
            if self.scripts.contains_key(name) {
                continue;
            }
            let start = self
                .carried
                .remove(name)
                .unwrap_or_else(|| track_script::initial(s));
            started.push((name.clone(), start));
            let task = track_script::spawn(
                name.clone(),
                s.clone(),
                start,
                self.run_as,
                self.events.clone(),
            );
            self.scripts.insert(name.clone(), (s.clone(), task));
        }
        started
    }

    /// Stop every task (also when dropped: a start that fails leaves none running).
    pub(crate) fn stop(&mut self) {
        for (_, (_, t)) in self.scripts.drain() {
            t.abort();
        }
        if let Some((_, t)) = self.files.take() {
            t.abort();
        }
        self.processes = None;
    }
}

impl Drop for Tracking {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_str, Format};

    /// The config, and what its instance tracks (`track`: script names).
    fn cfg(interval: u32, track: &[&str]) -> (Config, Vec<Object>) {
        let text = format!(
            "vrrp_script a {{ script /bin/true\n interval {interval} }}\nvrrp_script b {{ script /bin/true }}\nvrrp_instance I {{ interface lo\n virtual_router_id 1\n priority 100\n virtual_ipaddress {{ 192.0.2.1/24 }}\n track_script {{ {} }} }}\n",
            track.join("\n ")
        );
        let l = load_str("t.conf", &text, Format::Keepalived, None);
        assert!(l.is_valid(), "{}", l.diags.render());
        let tracked = track
            .iter()
            .map(|n| Object::Script(n.to_string()))
            .collect();
        (l.config, tracked)
    }

    #[tokio::test]
    async fn a_reload_keeps_unchanged_scripts_and_restarts_the_others() {
        let (tx, _rx) = mpsc::unbounded_channel();
        let mut t = Tracking::new(None, tx);
        let (c, s) = cfg(5, &["a", "b"]);
        let first = t.update(&c, &s, &[]);
        let mut names: Vec<_> = first.scripts.iter().map(|x| x.0.clone()).collect();
        names.sort();
        assert_eq!(names, ["a", "b"]);
        // the same config: nothing restarts (verdicts stand)
        assert!(t.update(&c, &s, &[]).scripts.is_empty());
        // a's interval changes, b is no longer tracked: a restarts, b stops
        let (c2, s2) = cfg(7, &["a"]);
        let again = t.update(&c2, &s2, &[]);
        assert_eq!(again.scripts.len(), 1);
        assert_eq!(again.scripts[0].0, "a");
        assert_eq!(t.scripts.len(), 1);
        // VRRP refused that reload: the scripts go back to the running instances'
        assert_eq!(t.update_scripts(&c, &s).len(), 2);
        assert_eq!(t.scripts.len(), 2);
        assert_eq!(t.scripts["a"].0.interval.as_micros(), 5_000_000);
        t.stop();
        assert!(t.scripts.is_empty());
    }
}
