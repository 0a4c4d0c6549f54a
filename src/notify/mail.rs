//! E-mail alerts (smtp_alert) through lettre to `smtp_server`, as keepalived writes them:
//! subject `[router_id] Realserver [ip]:tcp:port of virtual server [vip]:tcp:port - UP`,
//! `[router_id] Virtualserver ... - DOWN`, `[router_id] VRRP Instance NAME - Entering
//! MASTER state`; a one-line body; From notification_email_from, To every
//! notification_email; HELO smtp_helo_name. Messages go out one at a time in order from a
//! task of their own: a slow or dead mail server never delays a check or an advert, and a
//! failure is logged and counted, never retried forever.

use crate::config::model::Config;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

/// An alert to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Alert {
    pub subject: String,
    pub body: String,
}

/// Messages sent and failed, for status and metrics (kept by the daemon across reloads).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub sent: AtomicU64,
    pub failed: AtomicU64,
}

enum Msg {
    Send(Alert),
    /// Answered once everything queued before is done.
    Flush(oneshot::Sender<()>),
}

#[derive(Clone)]
pub(crate) struct Mailer {
    tx: mpsc::UnboundedSender<Msg>,
    router_id: String,
}

impl Mailer {
    /// None when no mail can be sent (no smtp_server or no notification_email), which
    /// `check` reports as a warning when smtp_alert is set.
    pub(crate) fn new(cfg: &Config, counters: &Arc<Counters>) -> Option<Mailer> {
        let g = &cfg.global_defs;
        let server = g.smtp_server.clone()?;
        if g.notification_email.is_empty() {
            return None;
        }
        let host = crate::config::short_hostname().unwrap_or_else(|| "localhost".into());
        let from = g
            .notification_email_from
            .clone()
            .unwrap_or_else(|| format!("keepalived@{host}"));
        let helo = g.smtp_helo_name.clone().unwrap_or_else(|| host.clone());
        let router_id = g.router_id.clone().unwrap_or(host);
        let to = g.notification_email.clone();
        let timeout = g.smtp_connect_timeout.as_duration();
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&server.host)
            .port(server.port)
            .timeout(Some(timeout))
            .hello_name(ClientId::Domain(helo))
            .build();
        let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
        let c = counters.clone();
        tokio::spawn(async move {
            while let Some(m) = rx.recv().await {
                let a = match m {
                    Msg::Send(a) => a,
                    Msg::Flush(done) => {
                        let _ = done.send(());
                        continue;
                    }
                };
                let r = match message(&from, &to, &a) {
                    Ok(m) => {
                        // the whole dialogue is bounded, not only the connection
                        match tokio::time::timeout(
                            timeout * 2 + Duration::from_secs(5),
                            transport.send(m),
                        )
                        .await
                        {
                            Ok(r) => r.map(drop).map_err(|e| e.to_string()),
                            Err(_) => Err("the mail server did not finish in time".into()),
                        }
                    }
                    Err(e) => Err(e),
                };
                match r {
                    Ok(()) => {
                        c.sent.fetch_add(1, Ordering::Relaxed);
                        info!("smtp_alert sent: {}", a.subject);
                    }
                    Err(e) => {
                        c.failed.fetch_add(1, Ordering::Relaxed);
                        warn!("smtp_alert '{}' not sent: {e}", a.subject);
                    }
                }
            }
        });
        Some(Mailer { tx, router_id })
    }

    /// Queue an alert; the subject gets keepalived's `[router_id] ` prefix.
    pub(crate) fn send(&self, subject: String, body: String) {
        let _ = self.tx.send(Msg::Send(Alert {
            subject: format!("[{}] {subject}", self.router_id),
            body,
        }));
    }

    /// Wait (at most `limit`) until the alerts queued so far are sent or failed.
    pub(crate) async fn flush(&self, limit: Duration) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Flush(tx)).is_ok() && tokio::time::timeout(limit, rx).await.is_err() {
            warn!("e-mail alerts still queued after {limit:?} at shutdown: abandoned");
        }
    }
}

fn message(from: &str, to: &[String], a: &Alert) -> Result<Message, String> {
    let from: Mailbox = from
        .parse()
        .map_err(|e| format!("notification_email_from '{from}': {e}"))?;
    let mut b = Message::builder()
        .from(from)
        .subject(a.subject.clone())
        .header(ContentType::TEXT_PLAIN)
        .date_now();
    for t in to {
        let mb: Mailbox = t
            .parse()
            .map_err(|e| format!("notification_email '{t}': {e}"))?;
        b = b.to(mb);
    }
    b.body(format!("{}\r\n", a.body)).map_err(|e| e.to_string())
}
