//! Keyed queues of notification jobs: the jobs of one key (a real server, a virtual
//! server) run one at a time in order, so "down" never overtakes the "up" before it; keys do
//! not wait for each other.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::warn;

pub(crate) type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

#[derive(Default)]
pub(crate) struct Queues {
    queues: HashMap<String, mpsc::UnboundedSender<Job>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Queues {
    /// Run `script` with `args` after the earlier jobs of `key` (killed after the notify
    /// timeout); a failure is logged as `{what} script ...`.
    pub(crate) fn script(
        &mut self,
        key: &str,
        what: &'static str,
        script: crate::config::types::Script,
        args: Vec<String>,
        run_as: Option<crate::exec::RunAs>,
    ) {
        self.push(
            key,
            Box::pin(async move {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let o = crate::exec::run(&script, &args, run_as, super::vrrp::NOTIFY_TIMEOUT).await;
                if !o.success() {
                    warn!("{what} script {}: {o}", script.command_line());
                }
            }),
        );
    }

    /// Run `job` after the earlier jobs of `key`.
    pub(crate) fn push(&mut self, key: &str, job: Job) {
        let job = match self.queues.get(key) {
            Some(q) => match q.send(job) {
                Ok(()) => return,
                Err(e) => e.0,
            },
            None => job,
        };
        let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
        self.tasks.push(tokio::spawn(async move {
            while let Some(j) = rx.recv().await {
                j.await;
            }
        }));
        let _ = tx.send(job);
        self.queues.insert(key.to_string(), tx);
    }

    /// Let every queued job finish, at most `limit` in all (at shutdown).
    pub(crate) async fn drain(&mut self, limit: Duration) {
        self.queues.clear();
        let tasks = std::mem::take(&mut self.tasks);
        let all = async {
            for t in tasks {
                let _ = t.await;
            }
        };
        if tokio::time::timeout(limit, all).await.is_err() {
            warn!("notifications still running after {limit:?} at shutdown: abandoned");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[tokio::test]
    async fn one_key_in_order_keys_in_parallel() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut q = Queues::default();
        for (key, name, ms) in [("a", "a1", 80), ("a", "a2", 0), ("b", "b1", 0)] {
            let log = log.clone();
            q.push(
                key,
                Box::pin(async move {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    log.lock().unwrap().push(name);
                }),
            );
        }
        q.drain(Duration::from_secs(5)).await;
        assert_eq!(*log.lock().unwrap(), vec!["b1", "a1", "a2"]);
    }
}
