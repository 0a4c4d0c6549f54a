//! The VMACs (use_vmac) and ipvlans (use_ipvlan) this daemon made: made before the instances that name them,
//! removed when a reload drops them, at the stop, and when the guard is dropped (a start
//! that fails leaves none behind).

use crate::net::rtnl::Rtnl;
use crate::net::vmac::{self, Made, Vmac};
use tracing::{error, info, warn};

/// The VMACs (use_vmac) this daemon made: removed when dropped, so a start that fails
/// leaves none behind.
#[derive(Default)]
pub(crate) struct Vmacs(Vec<Made>);

impl Vmacs {
    /// Take over the ones of `wanted` a predecessor binary left (`ldirector upgrade`);
    /// `make` then makes the others.
    pub(crate) fn adopt(&mut self, wanted: &[Vmac]) {
        let Ok(mut nl) = Rtnl::open() else { return };
        for w in wanted {
            if let Ok(Some(m)) = vmac::adopt(&mut nl, w) {
                info!("{}: {} taken over", w.what(), w.name);
                self.0.push(m);
            }
        }
    }

    /// Make the ones of `wanted` not made yet.
    pub(crate) fn make(&mut self, wanted: &[Vmac]) -> Result<(), String> {
        let missing: Vec<_> = wanted
            .iter()
            .filter(|w| !self.0.iter().any(|m| m.vmac == **w))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let mut nl = Rtnl::open().map_err(|e| format!("{}: rtnetlink: {e}", missing[0].what()))?;
        for w in missing {
            let m = vmac::create(&mut nl, w).map_err(|e| format!("{}: {e}", w.what()))?;
            info!("{}: {} made on {}", w.what(), w.name, w.base);
            self.0.push(m);
        }
        let macvlan = wanted
            .iter()
            .any(|w| matches!(w.kind, vmac::Kind::Macvlan(_)));
        if let Some(w) = macvlan.then(vmac::rp_filter_problem).flatten() {
            warn!("{w}");
        }
        Ok(())
    }

    /// Remove the ones `wanted` no longer has.
    pub(crate) fn keep_only(&mut self, wanted: &[Vmac]) {
        let (keep, gone): (Vec<_>, Vec<_>) = std::mem::take(&mut self.0)
            .into_iter()
            .partition(|m| wanted.contains(&m.vmac));
        self.0 = keep;
        if gone.is_empty() {
            return;
        }
        match Rtnl::open() {
            Ok(mut nl) => {
                for m in gone.iter().rev() {
                    match vmac::remove(&mut nl, m) {
                        Ok(()) => info!("{}: {} removed", m.vmac.what(), m.vmac.name),
                        Err(e) => warn!("{}: removing {}: {e}", m.vmac.what(), m.vmac.name),
                    }
                }
            }
            Err(e) => error!("use_vmac: rtnetlink: {e}; VMACs left behind"),
        }
    }
}

impl Drop for Vmacs {
    fn drop(&mut self) {
        self.keep_only(&[]);
    }
}
