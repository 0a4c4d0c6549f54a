//! The pid file in the run directory, locked for the daemon's lifetime: a second daemon
//! on the same run directory refuses to start, while daemons in other network namespaces
//! use other directories.

use nix::fcntl::{Flock, FlockArg};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

pub(crate) struct PidFile {
    path: PathBuf,
    _file: Flock<File>,
}

impl PidFile {
    pub(crate) fn create(dir: &Path) -> Result<PidFile, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("run directory {}: {e}", dir.display()))?;
        let path = dir.join("ldirector.pid");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| format!("pid file {}: {e}", path.display()))?;
        let mut file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(f) => f,
            Err(_) => {
                let other = std::fs::read_to_string(&path).unwrap_or_default();
                return Err(format!(
                    "another ldirector (pid {}) is running with run directory {}",
                    other.trim(),
                    dir.display()
                ));
            }
        };
        file.set_len(0)
            .and_then(|_| writeln!(file, "{}", std::process::id()))
            .map_err(|e| format!("pid file {}: {e}", path.display()))?;
        Ok(PidFile { path, _file: file })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
