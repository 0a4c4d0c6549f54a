//! IPVS's `sloppy_tcp` / `sloppy_sctp` while an active-active service runs: a director
//! must take up a flow it did not see start (ECMP moved it from a director that was lost,
//! drained or added), which IPVS does only with these set. Set when a configuration asks
//! (start, reload) and put back as they were when none does, at the stop, and when the
//! guard is dropped (a start that fails).

use crate::config::model::Protocol;
use crate::config::Config;
use tracing::{info, warn};

const DIR: &str = "/proc/sys/net/ipv4/vs";

/// The settings changed, with the values they had.
#[derive(Default)]
pub(crate) struct Sloppy(Vec<(&'static str, String)>);

/// The sysctls `cfg`'s active-active services need: TCP ones sloppy_tcp, SCTP ones
/// sloppy_sctp, fwmark ones (any protocol) both.
fn needed(cfg: &Config) -> Vec<&'static str> {
    let mut want = Vec::new();
    for a in cfg.anycast.values() {
        for i in a.active_services(cfg) {
            let vs = &cfg.virtual_server[i];
            let keys: &[&'static str] = match (vs.fwmark, vs.protocol) {
                (Some(_), _) => &["sloppy_tcp", "sloppy_sctp"],
                (None, Protocol::Tcp) => &["sloppy_tcp"],
                (None, Protocol::Sctp) => &["sloppy_sctp"],
                (None, Protocol::Udp) => &[],
            };
            for k in keys {
                if !want.contains(k) {
                    want.push(*k);
                }
            }
        }
    }
    want
}

impl Sloppy {
    /// Set what `cfg` needs (IPVS must be loaded: after the IPVS thread started), put back
    /// what it no longer needs.
    pub(crate) fn follow(&mut self, cfg: &Config) {
        let want = needed(cfg);
        let (keep, gone): (Vec<_>, Vec<_>) = std::mem::take(&mut self.0)
            .into_iter()
            .partition(|(k, _)| want.contains(k));
        self.0 = keep;
        restore(&gone);
        for k in want {
            if self.0.iter().any(|(x, _)| *x == k) {
                continue;
            }
            let path = format!("{DIR}/{k}");
            match std::fs::read_to_string(&path) {
                Ok(old) => {
                    let old = old.trim().to_string();
                    if old == "1" {
                        continue;
                    }
                    match std::fs::write(&path, "1") {
                        Ok(()) => {
                            info!("active-active: net.ipv4.vs.{k} = 1 (was {old})");
                            self.0.push((k, old));
                        }
                        Err(e) => warn!("active-active: net.ipv4.vs.{k}: {e}: a director will not take up flows another one started"),
                    }
                }
                Err(e) => warn!("active-active: net.ipv4.vs.{k}: {e} (is IPVS loaded?): a director will not take up flows another one started"),
            }
        }
    }

    /// Put every setting back.
    /// What was set and the values to restore, for a successor binary.
    pub(crate) fn saved(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .map(|(k, old)| ((*k).to_string(), old.clone()))
            .collect()
    }

    /// Take over what a predecessor binary set (restored at the stop as it would have).
    pub(crate) fn adopt(&mut self, saved: &[(String, String)]) {
        for (k, old) in saved {
            let key = ["sloppy_tcp", "sloppy_sctp"].into_iter().find(|x| x == k);
            if let Some(key) = key.filter(|k| !self.0.iter().any(|(x, _)| x == k)) {
                self.0.push((key, old.clone()));
            }
        }
    }

    pub(crate) fn release(&mut self) {
        restore(&std::mem::take(&mut self.0));
    }
}

fn restore(set: &[(&'static str, String)]) {
    for (k, old) in set {
        match std::fs::write(format!("{DIR}/{k}"), old) {
            Ok(()) => info!("active-active: net.ipv4.vs.{k} back to {old}"),
            Err(e) => warn!("active-active: net.ipv4.vs.{k} back to {old}: {e}"),
        }
    }
}

impl Drop for Sloppy {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_str, Format};

    #[test]
    fn active_active_services_need_their_protocols_sloppy() {
        let conf = |proto: &str, aa: &str| {
            format!(
                "anycast A {{\n address 192.0.2.80\n {aa}\n}}\nvirtual_server 192.0.2.80 80 {{\n lb_algo mh\n lb_kind DR\n protocol {proto}\n real_server 198.51.100.1 80 {{\n }}\n}}\n"
            )
        };
        let need = |c: &str| {
            let l = load_str("t.conf", c, Format::Keepalived, None);
            assert!(l.is_valid(), "{}", l.diags.render());
            needed(&l.config)
        };
        assert_eq!(need(&conf("TCP", "active_active")), ["sloppy_tcp"]);
        assert_eq!(need(&conf("SCTP", "active_active")), ["sloppy_sctp"]);
        assert!(need(&conf("UDP", "active_active")).is_empty());
        assert!(need(&conf("TCP", "")).is_empty(), "not active-active");
    }
}
