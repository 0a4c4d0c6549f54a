//! Running an operator's script: as its user (script_user, or the script's own), in a
//! process group of its own, with a deadline after which the whole group is killed. Used
//! by the notify scripts, vrrp_script tracking, MISC_CHECK and the startup and shutdown
//! scripts.

use crate::config::model::User;
use crate::config::types::Script;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

/// The uid and gid a script runs as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RunAs {
    pub uid: u32,
    pub gid: u32,
}

/// Resolve a user (and optional group) name to ids.
pub(crate) fn resolve_user(u: &User) -> Result<RunAs, String> {
    let user = nix::unistd::User::from_name(&u.user)
        .map_err(|e| format!("user '{}': {e}", u.user))?
        .ok_or_else(|| format!("no user named '{}'", u.user))?;
    let gid = match &u.group {
        Some(g) => {
            nix::unistd::Group::from_name(g)
                .map_err(|e| format!("group '{g}': {e}"))?
                .ok_or_else(|| format!("no group named '{g}'"))?
                .gid
        }
        None => user.gid,
    };
    Ok(RunAs {
        uid: user.uid.as_raw(),
        gid: gid.as_raw(),
    })
}

/// keepalived's default script user: `keepalived_script` if it exists, else root.
pub(crate) fn default_run_as(script_user: Option<&User>) -> Result<Option<RunAs>, String> {
    if let Some(u) = script_user {
        return resolve_user(u).map(Some);
    }
    for name in ["ldirector_script", "keepalived_script"] {
        if let Ok(Some(u)) = nix::unistd::User::from_name(name) {
            return Ok(Some(RunAs {
                uid: u.uid.as_raw(),
                gid: u.gid.as_raw(),
            }));
        }
    }
    Ok(None)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Exited(i32),
    /// Killed by a signal it did not get from us.
    Signalled(i32),
    /// Still running at the deadline: its process group was killed.
    TimedOut,
    /// It could not be started.
    Failed(String),
}

impl Outcome {
    pub(crate) fn success(&self) -> bool {
        *self == Outcome::Exited(0)
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Exited(c) => write!(f, "exited with {c}"),
            Outcome::Signalled(s) => write!(f, "killed by signal {s}"),
            Outcome::TimedOut => f.write_str("timed out and was killed"),
            Outcome::Failed(e) => write!(f, "could not start: {e}"),
        }
    }
}

/// Run `script` with `extra` arguments appended, as `run_as` (None: as ourselves).
/// Output goes to /dev/null, as keepalived's does.
pub(crate) async fn run(
    script: &Script,
    extra: &[&str],
    run_as: Option<RunAs>,
    timeout: Duration,
) -> Outcome {
    let Some(prog) = script.argv.first() else {
        return Outcome::Failed("empty command".into());
    };
    let mut cmd = Command::new(prog);
    cmd.args(&script.argv[1..])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    let run_as = match (&script.user, run_as) {
        (Some(u), _) => match resolve_user(&User {
            user: u.clone(),
            group: script.group.clone(),
        }) {
            Ok(r) => Some(r),
            Err(e) => return Outcome::Failed(e),
        },
        (None, r) => r,
    };
    if let Some(r) = run_as {
        if nix::unistd::geteuid().is_root() {
            cmd.uid(r.uid).gid(r.gid);
        }
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return Outcome::Failed(format!("{prog}: {e}")),
    };
    let pid = child.id();
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(st)) => {
            use std::os::unix::process::ExitStatusExt;
            match (st.code(), st.signal()) {
                (Some(c), _) => Outcome::Exited(c),
                (None, Some(s)) => Outcome::Signalled(s),
                _ => Outcome::Failed("unknown exit status".into()),
            }
        }
        Ok(Err(e)) => Outcome::Failed(e.to_string()),
        Err(_) => {
            if let Some(pid) = pid {
                let pg = Pid::from_raw(pid as i32);
                let _ = killpg(pg, Signal::SIGTERM);
                if tokio::time::timeout(Duration::from_secs(1), child.wait())
                    .await
                    .is_err()
                {
                    let _ = killpg(pg, Signal::SIGKILL);
                    let _ = child.wait().await;
                }
                // children it left behind in its group
                let _ = killpg(pg, Signal::SIGKILL);
            }
            Outcome::TimedOut
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `/bin/sh -c CMD` as a Script (shared by the tests of what runs scripts).
    pub(crate) fn sh(cmd: &str) -> Script {
        Script {
            argv: vec!["/bin/sh".into(), "-c".into(), cmd.into()],
            user: None,
            group: None,
        }
    }

    #[tokio::test]
    async fn exit_codes_arguments_and_timeouts() {
        let t = Duration::from_secs(5);
        assert_eq!(run(&sh("exit 0"), &[], None, t).await, Outcome::Exited(0));
        assert_eq!(run(&sh("exit 3"), &[], None, t).await, Outcome::Exited(3));
        // extra arguments follow the script's own ($0 is "x")
        assert_eq!(
            run(&sh("exit $1"), &["x", "7"], None, t).await,
            Outcome::Exited(7)
        );
        // a hung script and the child it started are killed
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("alive");
        let cmd = format!("(sleep 2; touch {}) & sleep 30", marker.display());
        let o = run(&sh(&cmd), &[], None, Duration::from_millis(200)).await;
        assert_eq!(o, Outcome::TimedOut);
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert!(!marker.exists(), "the script's child survived");
        let o = run(
            &Script {
                argv: vec!["/nonexistent/script".into()],
                user: None,
                group: None,
            },
            &[],
            None,
            t,
        )
        .await;
        assert!(matches!(o, Outcome::Failed(_)));
    }
}
