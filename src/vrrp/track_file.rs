//! Watches the track_files with inotify (on their directories, so a file that is
//! replaced, created or removed is seen) and reports value changes to the VRRP engine.

use super::shell::Command;
use super::track::file_value;
use crate::config::model::TrackFile;
use indexmap::IndexMap;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{info, warn};

/// Create the files that ask for it (`init_file`), then read every value.
pub fn initial(files: &IndexMap<String, TrackFile>) -> Vec<(String, i64)> {
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

struct Ino(Inotify);
impl AsRawFd for Ino {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// Watch the files; report each change of value.
pub fn spawn(
    files: IndexMap<String, TrackFile>,
    mut values: HashMap<String, i64>,
    to_vrrp: mpsc::UnboundedSender<Command>,
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
                    if to_vrrp.send(Command::File(name.clone(), v)).is_err() {
                        return;
                    }
                }
            }
        }
    }))
}
