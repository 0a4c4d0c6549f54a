//! VRRP notifications: for each transition of an instance or sync group, its notify_<state>
//! script, then the generic `notify` script with keepalived's arguments
//! (`INSTANCE|GROUP name STATE priority`), then a line on the notify FIFOs. Per instance
//! (or group) they run strictly in order, one at a time; instances do not wait for each
//! other. A script that hangs is killed after the notify timeout and logged.

use super::fifo::{self, Fifo};
use super::mail::Mailer;
use crate::config::model::{Config, Notify, NotifyFifo};
use crate::config::types::Script;
use crate::exec::{self, RunAs};
use crate::vrrp::notification::{Change, Notification, Subject};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{info, warn};

/// How long a notify script may run before its process group is killed.
pub(crate) const NOTIFY_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) struct Notifier {
    settings: Arc<Mutex<Settings>>,
    run_as: Option<RunAs>,
    fifos: Arc<Mutex<Vec<Fifo>>>,
    /// The FIFO paths opened (a reload reopens them when they change).
    fifo_paths: Vec<NotifyFifo>,
    queues: HashMap<(Subject, String), mpsc::UnboundedSender<Notification>>,
    tasks: Vec<JoinHandle<()>>,
    timeout: Duration,
}

/// What the configuration says about notifications; a reload replaces it, and queued
/// notifications use the settings in force when they run.
#[derive(Default)]
struct Settings {
    scripts: HashMap<(Subject, String), Notify>,
    /// Instances and groups with smtp_alert.
    alerts: HashMap<(Subject, String), bool>,
    mailer: Option<Mailer>,
}

impl Settings {
    fn new(cfg: &Config, mailer: Option<Mailer>) -> Settings {
        let mut scripts = HashMap::new();
        let mut alerts = HashMap::new();
        let gd = &cfg.global_defs;
        let group_default = gd.smtp_alert_vrrp.or(gd.smtp_alert).unwrap_or(false);
        for (name, i) in &cfg.vrrp_instance {
            scripts.insert((Subject::Instance, name.clone()), i.notify.clone());
            alerts.insert((Subject::Instance, name.clone()), i.effective.smtp_alert);
        }
        for (name, g) in &cfg.vrrp_sync_group {
            scripts.insert((Subject::Group, name.clone()), g.notify.clone());
            alerts.insert(
                (Subject::Group, name.clone()),
                g.smtp_alert.unwrap_or(group_default),
            );
        }
        Settings {
            scripts,
            alerts,
            mailer,
        }
    }
}

fn fifo_paths(cfg: &Config) -> Vec<NotifyFifo> {
    [
        &cfg.global_defs.notify_fifo,
        &cfg.global_defs.vrrp_notify_fifo,
    ]
    .into_iter()
    .flatten()
    .cloned()
    .collect()
}

fn script_for(n: &Notify, change: Change) -> Option<&Script> {
    match change {
        Change::Master => n.master.as_ref(),
        Change::Backup => n.backup.as_ref(),
        Change::Fault => n.fault.as_ref(),
        Change::Stop => n.stop.as_ref(),
        Change::Deleted => n.deleted.as_ref(),
        Change::MasterPriority | Change::BackupPriority => None,
    }
}

impl Notifier {
    pub(crate) fn new(
        cfg: &Config,
        run_as: Option<RunAs>,
        mailer: Option<Mailer>,
    ) -> Result<Notifier, String> {
        let paths = fifo_paths(cfg);
        Ok(Notifier {
            settings: Arc::new(Mutex::new(Settings::new(cfg, mailer))),
            run_as,
            fifos: Arc::new(Mutex::new(open_fifos(&paths, run_as)?)),
            fifo_paths: paths,
            queues: HashMap::new(),
            tasks: Vec::new(),
            timeout: NOTIFY_TIMEOUT,
        })
    }

    /// A reload: the new scripts, e-mail settings and FIFOs apply to what runs from now
    /// on, queued notifications included (their order per instance stays).
    pub(crate) fn reconfigure(&mut self, cfg: &Config, mailer: Option<Mailer>) {
        if let Ok(mut s) = self.settings.lock() {
            *s = Settings::new(cfg, mailer);
        }
        let wanted = fifo_paths(cfg);
        if wanted != self.fifo_paths {
            match open_fifos(&wanted, self.run_as) {
                Ok(f) => {
                    if let Ok(mut g) = self.fifos.lock() {
                        *g = f;
                    }
                    self.fifo_paths = wanted;
                }
                Err(e) => warn!("reload: {e}; the notify FIFOs stay as they were"),
            }
        }
    }

    /// Queue a notification behind the earlier ones of the same instance or group.
    pub(crate) fn send(&mut self, n: Notification) {
        let key = (n.subject, n.name.clone());
        if let Some(q) = self.queues.get(&key) {
            if q.send(n.clone()).is_ok() {
                return;
            }
        }
        let (tx, mut rx) = mpsc::unbounded_channel::<Notification>();
        let settings = self.settings.clone();
        let run_as = self.run_as;
        let fifos = self.fifos.clone();
        let timeout = self.timeout;
        self.tasks.push(tokio::spawn(async move {
            while let Some(n) = rx.recv().await {
                let key = (n.subject, n.name.clone());
                let (notify, mailer) = match settings.lock() {
                    Ok(s) => (
                        s.scripts.get(&key).cloned().unwrap_or_default(),
                        s.mailer
                            .clone()
                            .filter(|_| s.alerts.get(&key).copied().unwrap_or(false)),
                    ),
                    Err(_) => (Notify::default(), None),
                };
                if let Some(m) = &mailer {
                    alert(m, &n);
                }
                deliver(&n, &notify, run_as, &fifos, timeout).await;
            }
        }));
        let _ = tx.send(n);
        self.queues.insert(key, tx);
    }

    /// Let every queued notification finish (at shutdown), at most `limit` in all.
    pub(crate) async fn drain(mut self, limit: Duration) {
        self.queues.clear();
        let all = futures_join(std::mem::take(&mut self.tasks));
        if tokio::time::timeout(limit, all).await.is_err() {
            warn!("notifications still running after {limit:?} at shutdown: abandoned");
        }
        let mailer = self.settings.lock().ok().and_then(|s| s.mailer.clone());
        if let Some(m) = &mailer {
            m.flush(limit).await;
        }
    }
}

fn open_fifos(fifos: &[NotifyFifo], run_as: Option<RunAs>) -> Result<Vec<Fifo>, String> {
    fifos.iter().map(|f| Fifo::open(f, run_as)).collect()
}

async fn futures_join(tasks: Vec<JoinHandle<()>>) {
    for t in tasks {
        let _ = t.await;
    }
}

async fn deliver(
    n: &Notification,
    notify: &Notify,
    run_as: Option<RunAs>,
    fifos: &Mutex<Vec<Fifo>>,
    timeout: Duration,
) {
    let prio = n.priority.to_string();
    // a priority change (notify_priority_changes) goes to the FIFOs only, as keepalived
    let transition = n.change.is_transition();
    let (kind, state) = (n.subject.word(), n.change.word());
    if let Some(s) = script_for(notify, n.change) {
        let o = exec::run(s, &[], run_as, timeout).await;
        report(n, "notify_", s, &o);
    }
    if let Some(s) = notify.all.as_ref().filter(|_| transition) {
        let o = exec::run(s, &[kind, &n.name, state, &prio], run_as, timeout).await;
        report(n, "", s, &o);
    }
    let line = fifo::vrrp_line(kind, &n.name, state, n.priority);
    if let Ok(mut f) = fifos.lock() {
        for fifo in f.iter_mut() {
            fifo.write_line(&line);
        }
    }
}

/// keepalived's e-mail for a transition.
fn alert(m: &Mailer, n: &Notification) {
    let group = n.subject == Subject::Group;
    let (subject, body) = match (n.change, group) {
        (Change::Master, false) => (
            "Entering MASTER state",
            "=> VRRP Instance is now owning VRRP VIPs <=",
        ),
        (Change::Backup, false) => (
            "Entering BACKUP state",
            "=> VRRP Instance is no longer owning VRRP VIPs <=",
        ),
        (Change::Fault, false) => (
            "Entering FAULT state",
            "=> VRRP Instance is no longer owning VRRP VIPs <=",
        ),
        (Change::Stop, false) => ("Stopping", "=> VRRP Instance stopping <="),
        (Change::Deleted, false) => ("Deleted", "=> VRRP Deleted at reload <="),
        (Change::Master, true) => (
            "Entering MASTER state",
            "=> All VRRP group instances are now in MASTER state <=",
        ),
        (Change::Backup, true) => (
            "Entering BACKUP state",
            "=> All VRRP group instances are now in BACKUP state <=",
        ),
        (Change::Fault, true) => (
            "Entering FAULT state",
            "=> All VRRP group instances are now in FAULT state <=",
        ),
        (Change::Stop, true) => (
            "Stopping",
            "=> All VRRP group instances are now stopping <=",
        ),
        _ => return,
    };
    let what = if group { "VRRP Group" } else { "VRRP Instance" };
    m.send(format!("{what} {} - {subject}", n.name), body.into());
}

fn report(n: &Notification, what: &str, s: &Script, o: &exec::Outcome) {
    let cmd = s.command_line();
    match o {
        exec::Outcome::Exited(0) => {
            info!(
                "{} {}: {what}{} script ran: {cmd}",
                n.subject.word(),
                n.name,
                n.change.word().to_lowercase()
            )
        }
        o => warn!(
            "{} {}: {what}{} script {o}: {cmd}",
            n.subject.word(),
            n.name,
            n.change.word().to_lowercase()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_str, Format};

    #[tokio::test]
    async fn scripts_run_in_order_with_keepalived_arguments() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let script = dir.path().join("note.sh");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\n[ \"$1\" = slow ] && sleep 0.3\necho \"$*\" >> {}\n",
                log.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let s = script.display();
        let conf = format!(
            "vrrp_instance VI_1 {{ interface lo\n virtual_router_id 1
               notify_master \"{s} slow master\"\n notify \"{s}\" }}"
        );
        let l = load_str("t.conf", &conf, Format::Keepalived, None);
        assert!(l.is_valid(), "{}", l.diags.render());
        let mut n = Notifier::new(&l.config, None, None).unwrap();
        for change in [Change::Master, Change::Backup, Change::Stop] {
            n.send(Notification {
                subject: Subject::Instance,
                name: "VI_1".into(),
                change,
                priority: 100,
            });
        }
        n.drain(Duration::from_secs(10)).await;
        let got = std::fs::read_to_string(&log).unwrap();
        assert_eq!(
            got,
            "slow master\nINSTANCE VI_1 MASTER 100\nINSTANCE VI_1 BACKUP 100\nINSTANCE VI_1 STOP 100\n"
        );
    }
}
