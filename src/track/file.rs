//! track_file: the value of a file, read as keepalived reads it, and a watcher (inotify on
//! the files' directories, so a file that is replaced, created or removed is seen) that
//! reports value changes to whoever tracks them: VRRP instances and FILE_CHECKs.

use crate::config::model::TrackFile;
use indexmap::IndexMap;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use tokio::io::unix::AsyncFd;
use tokio::task::JoinHandle;
use tracing::{info, warn};

/// Create the files that ask for it (`init_file`), then read every value.
pub(crate) fn initial(files: &IndexMap<String, TrackFile>) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for (name, f) in files {
        if let Some(init) = &f.init_file {
            let p = Path::new(&f.file);
            if init.overwrite || !p.exists() {
                if let Err(e) = std::fs::write(p, format!("{}\n", init.value)) {
                    warn!("track_file {name}: init_file {}: {e}", f.file);
                }
            }
        }
        out.push((name.clone(), read(name, &f.file)));
    }
    out
}

fn read(name: &str, path: &str) -> i64 {
    match std::fs::read_to_string(path) {
        Ok(t) => file_value(&t).unwrap_or_else(|| {
            warn!("track_file {name}: {path} does not start with an integer; taken as 0");
            0
        }),
        Err(_) => 0,
    }
}

/// A track_file's value: the integer its text starts with (keepalived reads it the same
/// way); empty or unreadable is 0.
pub(crate) fn file_value(text: &str) -> Option<i64> {
    let t = text.trim_start();
    let end = t
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+'))))
        .map_or(t.len(), |(i, _)| i);
    if end == 0 {
        return if t.trim().is_empty() { Some(0) } else { None };
    }
    t[..end].parse().ok()
}

/// What a value contributes with `weight [reverse]`, as keepalived computes it: value x
/// weight (negated with reverse), None (fault) at or below `fault_at`; with weight 0, a
/// non-zero value faults (a zero value with reverse).
pub(crate) fn offset(value: i64, weight: i32, reverse: bool, fault_at: i64) -> Option<i64> {
    if weight == 0 {
        return if (value != 0) != reverse {
            None
        } else {
            Some(0)
        };
    }
    let w = if reverse { -weight } else { weight };
    let d = value.saturating_mul(i64::from(w));
    (d > fault_at).then_some(d)
}

struct Ino(Inotify);
impl AsRawFd for Ino {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// Watch the files; report each change of value to `changed` (which returns false when
/// nobody listens any more, ending the watch).
pub(crate) fn spawn(
    files: IndexMap<String, TrackFile>,
    mut values: HashMap<String, i64>,
    mut changed: impl FnMut(&str, i64) -> bool + Send + 'static,
) -> std::io::Result<JoinHandle<()>> {
    let ino = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)?;
    let mut dirs: HashMap<PathBuf, ()> = HashMap::new();
    for f in files.values() {
        let dir = Path::new(&f.file)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        if dirs.insert(dir.clone(), ()).is_none() {
            ino.add_watch(
                &dir,
                AddWatchFlags::IN_CLOSE_WRITE
                    | AddWatchFlags::IN_MOVED_TO
                    | AddWatchFlags::IN_MOVED_FROM
                    | AddWatchFlags::IN_CREATE
                    | AddWatchFlags::IN_DELETE
                    | AddWatchFlags::IN_MODIFY,
            )?;
        }
    }
    // SAFETY: the AsyncFd owns the inotify instance, so the descriptor stays open and the same
    let afd = unsafe { AsyncFd::register(Ino(ino)) }.map_err(|e| e.into_parts().1)?;
    Ok(tokio::spawn(async move {
        loop {
            let Ok(mut guard) = afd.readable().await else {
                return;
            };
            loop {
                match guard.get_inner().0.read_events() {
                    Ok(_) => {}
                    Err(nix::errno::Errno::EAGAIN) => {
                        guard.clear_ready();
                        break;
                    }
                    Err(e) => {
                        warn!("track_file watch: {e}");
                        guard.clear_ready();
                        break;
                    }
                }
            }
            // something changed in a watched folder: re-read every file (few, small)
            for (name, f) in &files {
                let v = read(name, &f.file);
                if values.insert(name.clone(), v) != Some(v) {
                    info!("track_file {name} is now {v}");
                    if !changed(name, v) {
                        return;
                    }
                }
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_values() {
        assert_eq!(file_value("5\n"), Some(5));
        assert_eq!(file_value("  -12 trailing"), Some(-12));
        assert_eq!(file_value(""), Some(0));
        assert_eq!(file_value("abc"), None);
    }

    #[test]
    fn offsets_as_keepalived() {
        assert_eq!(offset(3, 10, false, -254), Some(30));
        assert_eq!(offset(3, 10, true, -254), Some(-30));
        assert_eq!(offset(-26, 10, false, -254), None);
        assert_eq!(offset(0, 0, false, -254), Some(0));
        assert_eq!(offset(1, 0, false, -254), None);
        assert_eq!(offset(0, 0, true, -254), None);
        assert_eq!(offset(7, 0, true, -254), Some(0));
        assert_eq!(offset(i64::MAX, -5, false, i64::from(i32::MIN)), None);
    }
}
