//! keepalived's startup_script and shutdown_script: the first runs before anything is
//! added to the kernel, the second after everything was released (also when the start
//! failed), each to its end or its timeout; a failure is logged and changes nothing else.

use crate::config::model::GlobalDefs;
use crate::exec;
use tracing::{error, info, warn};

#[derive(Clone, Copy)]
pub(crate) enum When {
    Startup,
    Shutdown,
}

/// Run the script `g` names for `when`, if any.
pub(crate) async fn run(when: When, g: &GlobalDefs) {
    let (what, script, timeout) = match when {
        When::Startup => (
            "startup_script",
            &g.startup_script,
            g.startup_script_timeout,
        ),
        When::Shutdown => (
            "shutdown_script",
            &g.shutdown_script,
            g.shutdown_script_timeout,
        ),
    };
    let Some(script) = script else { return };
    let run_as = match exec::default_run_as(g.script_user.as_ref()) {
        Ok(r) => r,
        Err(e) => {
            error!("{what}: script_user: {e}; not run");
            return;
        }
    };
    info!("{what}: running {}", script.argv.join(" "));
    match exec::run(script, &[], run_as, timeout.as_duration()).await {
        o if o.success() => info!("{what}: done"),
        o => warn!("{what}: {o}"),
    }
}
