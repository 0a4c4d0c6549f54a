//! The signals the daemon serves: SIGTERM and SIGINT stop, SIGHUP reloads, SIGUSR1 writes
//! the state (keepalived's words for each). Installed before anything else starts, so a
//! signal during the start is served, not fatal.

use tokio::signal::unix::{signal, Signal, SignalKind};

pub(crate) enum Sig {
    Stop(&'static str),
    Reload,
    /// SIGUSR1: write the state to `<run-dir>/ldirector.data` (keepalived writes
    /// /tmp/keepalived.data).
    Dump,
}

pub(crate) struct Signals {
    term: Signal,
    int: Signal,
    pub(crate) hup: Signal,
    usr1: Signal,
}

impl Signals {
    pub(crate) fn install() -> std::io::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
            usr1: signal(SignalKind::user_defined1())?,
        })
    }

    pub(crate) async fn next(&mut self) -> Sig {
        tokio::select! {
            _ = self.term.recv() => Sig::Stop("SIGTERM"),
            _ = self.int.recv() => Sig::Stop("SIGINT"),
            _ = self.hup.recv() => Sig::Reload,
            _ = self.usr1.recv() => Sig::Dump,
        }
    }
}
