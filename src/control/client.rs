//! `ldirector reload`, `ldirector status` and `ldirector anycast`: one request to the
//! running daemon's control socket.

use super::status::Status;
use super::SOCKET;
use clap::Args;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args, Debug)]
pub struct ReloadArgs {
    /// The running daemon's run directory
    #[arg(long, value_name = "DIR", default_value = "/run/ldirector")]
    pub run_dir: PathBuf,
    /// Apply a configuration with nothing to run (no vrrp_instance, no virtual_server):
    /// without this such a reload is refused, since it is usually a file caught while
    /// being rewritten, and it would release every VIP
    #[arg(long)]
    pub allow_empty: bool,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// The running daemon's run directory
    #[arg(long, value_name = "DIR", default_value = "/run/ldirector")]
    pub run_dir: PathBuf,
    /// JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct AnycastArgs {
    /// drain: withdraw the announcements and keep serving (maintenance); resume: announce
    /// again as the health inputs say
    #[arg(value_parser = ["drain", "resume"])]
    pub action: String,
    /// The anycast block [default: every block]
    pub name: Option<String>,
    /// The running daemon's run directory
    #[arg(long, value_name = "DIR", default_value = "/run/ldirector")]
    pub run_dir: PathBuf,
}

/// Exit code: 0 when it applied to some block, 1 when not (no such block, no daemon).
pub fn anycast(a: &AnycastArgs) -> i32 {
    let request = match &a.name {
        Some(n) => format!("anycast {} {n}", a.action),
        None => format!("anycast {}", a.action),
    };
    let answer = match ask(&a.run_dir, &request, Duration::from_secs(30)) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("ldirector anycast: {e}");
            return 1;
        }
    };
    let v: serde_json::Value = serde_json::from_str(&answer).unwrap_or_default();
    match v.get("blocks").and_then(|x| x.as_u64()) {
        Some(n) if n > 0 => {
            let verb = if a.action == "drain" {
                "drained"
            } else {
                "resumed"
            };
            println!("{verb}: {n} anycast block(s)");
            0
        }
        _ => {
            let e = v
                .get("error")
                .and_then(|x| x.as_str())
                .unwrap_or("no anycast block applies");
            eprintln!("ldirector anycast: {e}");
            1
        }
    }
}

fn ask(run_dir: &std::path::Path, request: &str, limit: Duration) -> Result<String, String> {
    let path = run_dir.join(SOCKET);
    let mut s = UnixStream::connect(&path).map_err(|e| {
        format!(
            "cannot reach ldirector at {}: {e} (is `ldirector run --run-dir {}` running, and are you root?)",
            path.display(),
            run_dir.display()
        )
    })?;
    s.set_read_timeout(Some(limit)).map_err(|e| e.to_string())?;
    s.write_all(format!("{request}\n").as_bytes())
        .map_err(|e| e.to_string())?;
    let mut line = String::new();
    BufReader::new(s)
        .read_line(&mut line)
        .map_err(|e| format!("no answer from ldirector: {e}"))?;
    if line.trim().is_empty() {
        return Err("no answer from ldirector".into());
    }
    Ok(line)
}

/// Exit code: 0 when the new configuration is in effect, 1 when it was refused (the
/// errors are printed; the daemon goes on with the previous one) or the daemon is not there.
pub fn reload(a: &ReloadArgs) -> i32 {
    let request = if a.allow_empty {
        "reload allow-empty"
    } else {
        "reload"
    };
    let answer = match ask(&a.run_dir, request, Duration::from_secs(120)) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("ldirector reload: {e}");
            return 1;
        }
    };
    let v: serde_json::Value = serde_json::from_str(&answer).unwrap_or_default();
    let lines = |k: &str| -> Vec<String> {
        v.get(k)
            .and_then(|x| x.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|l| l.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    for l in lines("warnings") {
        eprintln!("{l}");
    }
    if v.get("ok").and_then(|x| x.as_bool()) == Some(true) {
        println!("reloaded");
        0
    } else {
        for l in lines("errors") {
            eprintln!("{l}");
        }
        if let Some(e) = v.get("error").and_then(|x| x.as_str()) {
            eprintln!("{e}");
        }
        eprintln!("ldirector reload: refused; the running configuration is unchanged");
        1
    }
}

#[derive(Args, Debug)]
pub struct UpgradeArgs {
    /// The running daemon's run directory
    #[arg(long, value_name = "DIR", default_value = "/run/ldirector")]
    pub run_dir: PathBuf,
    /// How long to wait for the new binary to answer, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub wait: u64,
}

/// `ldirector upgrade`: the running daemon hands over to the binary on disk. Exit code 0
/// when the new binary answers (same PID), 1 when the hand-over was refused (the running
/// daemon goes on; the reason is printed) or did not complete in time, 2 when the running
/// daemon is too old to hand over (a restart is the only way: the packages do that).
pub fn upgrade(a: &UpgradeArgs) -> i32 {
    let fail = |e: String| {
        eprintln!("ldirector upgrade: {e}");
        1
    };
    let before = match fetch_status(&a.run_dir) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let t0 = std::time::Instant::now();
    // refused: an answer with the reason; accepted: an answer, or none (the exec came
    // first: see below); an ldirector from before upgrades: "unknown request"
    if let Ok(answer) = ask(
        &a.run_dir,
        "upgrade",
        Duration::from_secs(a.wait.max(1) + 120),
    ) {
        let v: serde_json::Value = serde_json::from_str(&answer).unwrap_or_default();
        if v.get("ok").and_then(|x| x.as_bool()) != Some(true) {
            let why = v
                .get("error")
                .and_then(|x| x.as_str())
                .unwrap_or(answer.trim());
            let old = why.starts_with("unknown request");
            eprintln!("ldirector upgrade: refused: {why}");
            if old {
                eprintln!("ldirector upgrade: the running ldirector {} cannot hand over (too old): restart it instead", before.version);
                return 2;
            } else {
                eprintln!(
                    "ldirector upgrade: ldirector {} (pid {}) goes on",
                    before.version, before.pid
                );
            }
            return 1;
        }
    }
    let limit = t0 + Duration::from_secs(a.wait.max(1));
    while std::time::Instant::now() < limit {
        if let Ok(s) = fetch_status(&a.run_dir) {
            if s.upgrades > before.upgrades {
                println!(
                    "upgraded: ldirector {} -> {} (pid {}, {} ms)",
                    before.version,
                    s.version,
                    s.pid,
                    t0.elapsed().as_millis()
                );
                return 0;
            }
            if s.upgrades_refused > before.upgrades_refused {
                return fail(format!(
                    "refused: {}; ldirector {} (pid {}) goes on",
                    s.upgrade_error.unwrap_or_default(),
                    s.version,
                    s.pid
                ));
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    fail(format!(
        "no answer from the new binary within {} s (see the daemon's log)",
        a.wait
    ))
}

/// The running daemon's status (for `ldirector demo`).
pub fn fetch_status(run_dir: &std::path::Path) -> Result<Status, String> {
    let answer = ask(run_dir, "status", Duration::from_secs(10))?;
    serde_json::from_str(&answer).map_err(|e| format!("unreadable answer ({e})"))
}

pub fn status(a: &StatusArgs) -> i32 {
    let answer = match ask(&a.run_dir, "status", Duration::from_secs(30)) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("ldirector status: {e}");
            return 1;
        }
    };
    if a.json {
        print!("{answer}");
        return 0;
    }
    match serde_json::from_str::<Status>(&answer) {
        Ok(s) => {
            print!("{}", s.table());
            0
        }
        Err(e) => {
            eprintln!("ldirector status: unreadable answer ({e}): {answer}");
            1
        }
    }
}
