//! The signals the daemon serves: SIGTERM and SIGINT stop, SIGHUP reloads, SIGUSR1 writes
//! the state (keepalived's words for each), SIGUSR2 hands over to the binary on disk
//! (`ldirector upgrade`; nginx's signal for the same). Installed before anything else starts, so a
//! signal during the start is served, not fatal.

use tokio::signal::unix::{signal, Signal, SignalKind};

pub(crate) enum Sig {
    Stop(&'static str),
    Reload,
    /// SIGUSR1: write the state to `<run-dir>/ldirector.data` (keepalived writes
    /// /tmp/keepalived.data).
    Dump,
    /// SIGUSR2: `ldirector upgrade`.
    Upgrade,
}

pub(crate) struct Signals {
    term: Signal,
    int: Signal,
    pub(crate) hup: Signal,
    usr1: Signal,
    usr2: Signal,
}

impl Signals {
    pub(crate) fn install() -> std::io::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
            usr1: signal(SignalKind::user_defined1())?,
            usr2: signal(SignalKind::user_defined2())?,
        })
    }

    pub(crate) async fn next(&mut self) -> Sig {
        tokio::select! {
            _ = self.term.recv() => Sig::Stop("SIGTERM"),
            _ = self.int.recv() => Sig::Stop("SIGINT"),
            _ = self.hup.recv() => Sig::Reload,
            _ = self.usr1.recv() => Sig::Dump,
            _ = self.usr2.recv() => Sig::Upgrade,
        }
    }
}
