//! Tracking, sans-IO: what an instance tracks (interfaces, vrrp_scripts, track_files), the
//! last known status of each, and the effective priority or fault that follows, with
//! keepalived's rules:
//!
//! - weight 0: the object failing (interface down, script failed, file value non-zero) puts
//!   the instance in Fault;
//! - weight > 0 is added while the object is up; weight < 0 is added while it is down;
//!   `reverse` swaps up and down;
//! - a track_file adds value x weight (x -1 with `reverse`); a result of -254 or below is a
//!   fault;
//! - the sum is added to the configured priority and clamped to 1..=254; an address owner
//!   (priority 255) keeps 255 and only faults.

use crate::track::file;
pub(crate) use crate::track::Object;
use std::collections::HashMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Tracked {
    pub object: Object,
    pub weight: i32,
    pub reverse: bool,
}

/// The last known status of every tracked object (shared by all instances).
#[derive(Clone, Debug, Default)]
pub(crate) struct Status {
    up: HashMap<Object, bool>,
    file: HashMap<String, i64>,
}

impl Status {
    /// Record an interface or script status; true if it changed.
    pub(crate) fn set_up(&mut self, o: Object, up: bool) -> bool {
        self.up.insert(o, up) != Some(up)
    }

    /// Record a track_file value; true if it changed.
    pub(crate) fn set_file(&mut self, name: &str, value: i64) -> bool {
        self.file.insert(name.to_string(), value) != Some(value)
    }

    fn is_up(&self, o: &Object) -> bool {
        // nothing heard yet: interfaces are read at start-up, scripts start as their
        // init_fail says (the runner reports it before the first run)
        self.up.get(o).copied().unwrap_or(true)
    }

    fn file_value(&self, name: &str) -> i64 {
        self.file.get(name).copied().unwrap_or(0)
    }
}

/// Effective priority (None: fault) of an instance configured with `base`.
pub(crate) fn evaluate(items: &[Tracked], status: &Status, base: u8) -> Option<u8> {
    let mut sum: i64 = 0;
    for t in items {
        match &t.object {
            Object::File(name) => {
                let v = status.file_value(name);
                sum = sum.saturating_add(file::offset(v, t.weight, t.reverse, -254)?);
            }
            o => {
                let up = status.is_up(o) != t.reverse;
                if t.weight == 0 {
                    if !up {
                        return None;
                    }
                } else if (t.weight > 0) == up {
                    sum += i64::from(t.weight);
                }
            }
        }
    }
    if base == 255 {
        return Some(255);
    }
    Some((i64::from(base) + sum).clamp(1, 254) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(n: &str, w: i32) -> Tracked {
        Tracked {
            object: Object::Interface(n.into()),
            weight: w,
            reverse: false,
        }
    }

    #[test]
    fn weight_zero_faults() {
        let items = [iface("eth1", 0)];
        let mut s = Status::default();
        assert_eq!(evaluate(&items, &s, 100), Some(100));
        assert!(s.set_up(Object::Interface("eth1".into()), false));
        assert_eq!(evaluate(&items, &s, 100), None);
        assert!(!s.set_up(Object::Interface("eth1".into()), false));
    }

    #[test]
    fn positive_and_negative_weights_and_reverse() {
        let script = |w, reverse| Tracked {
            object: Object::Script("chk".into()),
            weight: w,
            reverse,
        };
        let mut s = Status::default();
        let o = Object::Script("chk".into());
        // +20 while up
        assert_eq!(evaluate(&[script(20, false)], &s, 100), Some(120));
        s.set_up(o.clone(), false);
        assert_eq!(evaluate(&[script(20, false)], &s, 100), Some(100));
        // -30 while down
        assert_eq!(evaluate(&[script(-30, false)], &s, 100), Some(70));
        // reverse: -30 while up
        assert_eq!(evaluate(&[script(-30, true)], &s, 100), Some(100));
        s.set_up(o, true);
        assert_eq!(evaluate(&[script(-30, true)], &s, 100), Some(70));
    }

    #[test]
    fn clamped_and_owner() {
        let mut s = Status::default();
        s.set_up(Object::Interface("a".into()), false);
        let items = [iface("a", -200)];
        assert_eq!(evaluate(&items, &s, 100), Some(1));
        assert_eq!(evaluate(&[iface("b", 200)], &s, 100), Some(254));
        assert_eq!(evaluate(&items, &s, 255), Some(255));
        assert_eq!(evaluate(&[iface("a", 0)], &s, 255), None);
    }

    #[test]
    fn files_multiply() {
        let f = |w, reverse| Tracked {
            object: Object::File("f".into()),
            weight: w,
            reverse,
        };
        let mut s = Status::default();
        s.set_file("f", 5);
        assert_eq!(evaluate(&[f(-2, false)], &s, 100), Some(90));
        assert_eq!(evaluate(&[f(-2, true)], &s, 100), Some(110));
        assert_eq!(evaluate(&[f(0, false)], &s, 100), None);
        s.set_file("f", 127);
        assert_eq!(evaluate(&[f(-2, false)], &s, 100), None);
        s.set_file("f", 0);
        assert_eq!(evaluate(&[f(0, false)], &s, 100), Some(100));
    }
}
