//! MISC_CHECK: the operator's script decides. Exit 0: up; 1: down; with `misc_dynamic`,
//! 2..=255: up with weight = code - 2 (keepalived's convention). A script still running at
//! `misc_timeout` is killed with its process group and counts as down.

use crate::config::types::Script;
use crate::exec::{self, Outcome, RunAs};
use std::time::Duration;

/// What one run said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Up,
    /// Up, with this weight (misc_dynamic).
    UpWithWeight(u32),
    Down(String),
}

/// Read an outcome the way keepalived does.
pub(crate) fn verdict(o: &Outcome, dynamic: bool) -> Verdict {
    match o {
        Outcome::Exited(0) => Verdict::Up,
        Outcome::Exited(c) if dynamic && (2..=255).contains(c) => {
            Verdict::UpWithWeight((*c - 2) as u32)
        }
        Outcome::Exited(c) => Verdict::Down(format!("exited with {c}")),
        o => Verdict::Down(o.to_string()),
    }
}

pub(crate) async fn probe(
    script: &Script,
    run_as: Option<RunAs>,
    timeout: Duration,
    dynamic: bool,
) -> Verdict {
    verdict(&exec::run(script, &[], run_as, timeout).await, dynamic)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::tests::sh;

    #[tokio::test]
    async fn exit_codes_dynamic_weights_and_hung_scripts() {
        let t = Duration::from_secs(5);
        assert_eq!(probe(&sh("exit 0"), None, t, false).await, Verdict::Up);
        assert!(matches!(
            probe(&sh("exit 1"), None, t, false).await,
            Verdict::Down(_)
        ));
        assert_eq!(
            probe(&sh("exit 7"), None, t, true).await,
            Verdict::UpWithWeight(5)
        );
        assert!(matches!(
            probe(&sh("exit 7"), None, t, false).await,
            Verdict::Down(_)
        ));
        let v = probe(&sh("sleep 30"), None, Duration::from_millis(200), false).await;
        assert_eq!(v, Verdict::Down("timed out and was killed".into()));
        assert!(matches!(
            probe(&sh("kill -9 $$"), None, t, false).await,
            Verdict::Down(_)
        ));
    }
}
