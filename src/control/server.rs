//! The daemon's side of the control socket: accepts connections (the socket file is 0600
//! in the run directory: root only), reads one request line, hands it to the daemon's main
//! loop and writes the answer back. A client that sends nothing, or too much, is dropped
//! after a few seconds; nothing a client does can stop the daemon.

use super::SOCKET;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixListener;
use tokio::sync::{mpsc, oneshot};
use tracing::warn;

/// A request from a client, answered on `reply` (a JSON text).
pub(crate) struct Request {
    pub command: Command,
    pub reply: oneshot::Sender<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Command {
    /// `allow_empty`: a configuration with nothing to run may replace the running one.
    Reload {
        allow_empty: bool,
    },
    Status,
    /// `ldirector anycast drain|resume [NAME]`: withdraw and keep serving, or announce
    /// again (every block, or the one named).
    Anycast {
        drain: bool,
        name: Option<String>,
    },
    /// `ldirector upgrade`: hand over to the binary on disk.
    Upgrade,
}

/// Bind the socket in `run_dir` (the caller holds the run directory's pid lock, so a file
/// left there is a dead daemon's), or take over `inherited` (the listener a previous
/// binary passed on: `ldirector upgrade`; its file stays), and serve it; requests go to
/// `tx`. Returns the path and the listener's descriptor (for the next hand-over).
pub(crate) fn listen(
    run_dir: &Path,
    inherited: Option<std::os::fd::OwnedFd>,
    tx: mpsc::Sender<Request>,
) -> std::io::Result<(PathBuf, std::os::fd::RawFd)> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::PermissionsExt;
    let path = run_dir.join(SOCKET);
    let listener = match inherited {
        Some(fd) => {
            let l = std::os::unix::net::UnixListener::from(fd);
            l.set_nonblocking(true)?;
            UnixListener::from_std(l)?
        }
        None => {
            let _ = std::fs::remove_file(&path);
            let l = UnixListener::bind(&path)?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
            l
        }
    };
    let fd = listener.as_raw_fd();
    tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((s, _)) => s,
                Err(e) => {
                    // out of descriptors, say: wait rather than spin on the error
                    warn!("control socket: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                if let Err(e) = serve(stream, tx).await {
                    warn!("control socket: {e}");
                }
            });
        }
    });
    Ok((path, fd))
}

async fn serve(stream: tokio::net::UnixStream, tx: mpsc::Sender<Request>) -> std::io::Result<()> {
    let (rd, mut wr) = stream.into_split();
    let mut bytes = Vec::new();
    let mut rd = BufReader::new(rd.take(256));
    match tokio::time::timeout(Duration::from_secs(5), rd.read_until(b'\n', &mut bytes)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Err(e),
        Err(_) => return Ok(()),
    }
    let error = |msg: String| serde_json::json!({ "error": msg }).to_string() + "\n";
    let Ok(line) = std::str::from_utf8(&bytes) else {
        warn!("control socket: a request that is not UTF-8 text, refused");
        wr.write_all(
            error("the request is not UTF-8 text (expected reload or status)".into()).as_bytes(),
        )
        .await?;
        return Ok(());
    };
    let command = match line.trim() {
        "reload" => Command::Reload { allow_empty: false },
        "reload allow-empty" => Command::Reload { allow_empty: true },
        "status" => Command::Status,
        "upgrade" => Command::Upgrade,
        other if other.starts_with("anycast ") => {
            let mut w = other.split_whitespace().skip(1);
            let drain = match w.next() {
                Some("drain") => true,
                Some("resume") => false,
                _ => {
                    let msg = error("expected anycast drain|resume [NAME]".into());
                    wr.write_all(msg.as_bytes()).await?;
                    return Ok(());
                }
            };
            Command::Anycast {
                drain,
                name: w.next().map(str::to_string),
            }
        }
        other => {
            let msg = error(format!(
                "unknown request '{}' (expected reload, status, anycast or upgrade)",
                other.escape_debug()
            ));
            wr.write_all(msg.as_bytes()).await?;
            return Ok(());
        }
    };
    let (reply, answer) = oneshot::channel();
    if tx.send(Request { command, reply }).await.is_err() {
        return Ok(());
    }
    if let Ok(text) = answer.await {
        wr.write_all(text.as_bytes()).await?;
        wr.write_all(b"\n").await?;
    }
    wr.shutdown().await
}
