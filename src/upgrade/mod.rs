//! Hitless upgrade (`ldirector upgrade`, SIGUSR2): the running daemon hands its state and
//! its listening and VRRP sockets to the binary now on disk, which it executes in its own
//! place (same PID: systemd's unit follows). The daemon's side is `daemon::upgrade`; this
//! module has the parts that are not the daemon's: the state file (`state.rs`), the new
//! binary's check before anything is handed over, descriptors passed across the exec,
//! and the exec.
//!
//! Order of a hand-over (the old process):
//! 1. the binary on disk must exist and be executable;
//! 2. it is asked to check the configuration and a state file of this binary's format
//!    (`LDIRECTOR_HANDOVER_CHECK`): any refusal ends the upgrade, the old process runs on;
//! 3. the VRRP thread freezes and hands over its instances and duplicates of their
//!    sockets, the checks thread its checkers' state; the file is written;
//! 4. the descriptors to pass lose close-on-exec; exec. If the exec fails, everything
//!    is undone and the old process goes on.

pub(crate) mod state;

use std::ffi::{CString, OsString};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The environment variable that names the hand-over file for the new binary.
pub(crate) const ENV: &str = "LDIRECTOR_HANDOVER";
/// Set (with [`ENV`]) when the running daemon only asks the new binary whether it can
/// take over: it checks and exits.
pub(crate) const CHECK_ENV: &str = "LDIRECTOR_HANDOVER_CHECK";
/// The hand-over file's name in the run directory.
pub(crate) const FILE: &str = "handover.json";

/// How long the new binary may take to check the configuration.
const CHECK_LIMIT: Duration = Duration::from_secs(120);

/// This process's binary, as a path on disk: the file a package upgrade replaced (the
/// kernel names a replaced executable "PATH (deleted)").
pub(crate) fn binary() -> Result<PathBuf, String> {
    let exe = std::fs::read_link("/proc/self/exe")
        .map_err(|e| format!("cannot tell which binary runs (/proc/self/exe: {e})"))?;
    let text = exe.as_os_str().as_bytes();
    let path = match text.strip_suffix(b" (deleted)") {
        Some(p) => PathBuf::from(std::ffi::OsStr::from_bytes(p)),
        None => exe,
    };
    use std::os::unix::fs::PermissionsExt;
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => Ok(path),
        Ok(_) => Err(format!("{} is not an executable file", path.display())),
        Err(e) => Err(format!("the binary {} is missing: {e}", path.display())),
    }
}

/// Ask `binary` whether it can take over: it reads the configuration this process was
/// started with (the same arguments) and the state file `file`. Ok: its answer ("ready:
/// ldirector VERSION"); Err: why not, in its words.
pub(crate) async fn check(binary: &Path, file: &Path) -> Result<String, String> {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let run = tokio::process::Command::new(binary)
        .args(&args)
        .env(ENV, file)
        .env(CHECK_ENV, "1")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = match tokio::time::timeout(CHECK_LIMIT, run).await {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => return Err(format!("{}: {e}", binary.display())),
        Err(_) => {
            return Err(format!(
                "{} did not answer within {CHECK_LIMIT:?}",
                binary.display()
            ))
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if out.status.success() && stdout.starts_with("ready") {
        return Ok(stdout);
    }
    let said = [stdout.as_str(), stderr.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("\n");
    if out.status.success() {
        // an ldirector from before hand-overs runs `run` as a daemon: not what we asked
        return Err(format!(
            "{} did not confirm that it can take over (too old for `ldirector upgrade`?): {said}",
            binary.display()
        ));
    }
    Err(format!(
        "{} refuses to take over ({}): {said}",
        binary.display(),
        out.status
    ))
}

/// Let `fd` cross (or not cross) an exec.
pub(crate) fn pass_on_exec(fd: RawFd, pass: bool) -> std::io::Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, FdFlag};
    let flags = if pass {
        FdFlag::empty()
    } else {
        FdFlag::FD_CLOEXEC
    };
    fcntl(fd, FcntlArg::F_SETFD(flags))
        .map(|_| ())
        .map_err(std::io::Error::from)
}

/// Replace this process with `binary`, with the same arguments and `file` named in its
/// environment. Returns only if the exec failed.
pub(crate) fn exec(binary: &Path, file: &Path) -> std::io::Error {
    let c = |b: &[u8]| CString::new(b).map_err(std::io::Error::other);
    let build = || -> std::io::Result<(CString, Vec<CString>, Vec<CString>)> {
        let path = c(binary.as_os_str().as_bytes())?;
        let args = std::env::args_os()
            .map(|a| c(a.as_bytes()))
            .collect::<Result<Vec<_>, _>>()?;
        let mut env = Vec::new();
        for (k, v) in std::env::vars_os() {
            if k == ENV || k == CHECK_ENV {
                continue;
            }
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            env.push(c(&kv)?);
        }
        let mut kv = format!("{ENV}=").into_bytes();
        kv.extend_from_slice(file.as_os_str().as_bytes());
        env.push(c(&kv)?);
        Ok((path, args, env))
    };
    match build() {
        Ok((path, args, env)) => match nix::unistd::execve(&path, &args, &env) {
            Ok(never) => match never {},
            Err(e) => std::io::Error::from(e),
        },
        Err(e) => e,
    }
}

/// A descriptor the previous binary passed on, taken over once. None (with the reason
/// logged by the caller) if it is not an open socket.
pub(crate) fn inherit(fd: i32) -> Result<OwnedFd, String> {
    use nix::sys::stat::{fstat, SFlag};
    if fd < 3 {
        return Err(format!("descriptor {fd} is not one to take over"));
    }
    let st = fstat(fd).map_err(|e| format!("descriptor {fd}: {e}"))?;
    if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFSOCK {
        return Err(format!("descriptor {fd} is not a socket"));
    }
    // close-on-exec again, as every descriptor of ours
    pass_on_exec(fd, false).map_err(|e| format!("descriptor {fd}: {e}"))?;
    // SAFETY: the previous binary passed this open socket descriptor across the exec for
    // this process to own; the hand-over names each descriptor once and it is taken once
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
