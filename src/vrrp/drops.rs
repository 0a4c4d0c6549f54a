//! Why an instance dropped a packet, counted in an array (one slot per reason) rather than
//! a map keyed by strings: the wire's refusals ([`DropReason`], from the codec and the AH
//! check) and the engine's own (who sent it, where to, with what interval), plus the
//! shell's receive and send errors. The names are the metrics' `reason` labels.

use super::packet::DropReason;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    /// The codec or the AH check refused it.
    Wire(DropReason),
    /// From our own address: another daemon sends from it.
    OwnAddress,
    /// TTL / hop limit not 255 (multicast), or outside a unicast peer's min/max.
    BadTtl,
    /// Unicast from an address that is not one of our peers.
    UnknownPeer,
    /// Multicast to another group than ours.
    BadDestination,
    /// VRRPv2 with another advertisement interval than ours.
    IntervalMismatch,
    /// Another address list than ours, in strict mode.
    AddressListMismatch,
    /// The socket reported an error instead of a packet.
    ReceiveError,
    /// An advert of ours could not be sent.
    SendError,
}

/// Every wire reason, in slot order.
const WIRE: [DropReason; 9] = [
    DropReason::TooShort,
    DropReason::BadVersion,
    DropReason::BadType,
    DropReason::BadChecksum,
    DropReason::BadAddressList,
    DropReason::BadInterval,
    DropReason::AuthTypeMismatch,
    DropReason::AuthFailure,
    DropReason::AhReplay,
];

/// The engine's reasons, in slot order after the wire's.
const OWN: [Reason; 8] = [
    Reason::OwnAddress,
    Reason::BadTtl,
    Reason::UnknownPeer,
    Reason::BadDestination,
    Reason::IntervalMismatch,
    Reason::AddressListMismatch,
    Reason::ReceiveError,
    Reason::SendError,
];

const SLOTS: usize = WIRE.len() + OWN.len();

impl Reason {
    fn slot(self) -> usize {
        match self {
            Reason::Wire(w) => WIRE.iter().position(|x| *x == w).unwrap_or(0),
            own => WIRE.len() + OWN.iter().position(|x| *x == own).unwrap_or(0),
        }
    }

    fn of_slot(i: usize) -> Reason {
        match WIRE.get(i) {
            Some(w) => Reason::Wire(*w),
            None => OWN[i - WIRE.len()],
        }
    }

    /// Stable name for counters and metrics.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Reason::Wire(w) => w.name(),
            Reason::OwnAddress => "own_address",
            Reason::BadTtl => "bad_ttl",
            Reason::UnknownPeer => "unknown_peer",
            Reason::BadDestination => "bad_destination",
            Reason::IntervalMismatch => "interval_mismatch",
            Reason::AddressListMismatch => "address_list_mismatch",
            Reason::ReceiveError => "receive_error",
            Reason::SendError => "send_error",
        }
    }
}

impl From<DropReason> for Reason {
    fn from(w: DropReason) -> Reason {
        Reason::Wire(w)
    }
}

/// An instance's drop counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Drops([u64; SLOTS]);

impl Drops {
    /// Count one; the count so far.
    pub(crate) fn add(&mut self, r: Reason) -> u64 {
        let n = &mut self.0[r.slot()];
        *n += 1;
        *n
    }

    pub(crate) fn get(&self, r: Reason) -> u64 {
        self.0[r.slot()]
    }

    pub(crate) fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// The reasons counted at least once, with their counts.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Reason, u64)> + '_ {
        self.0
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, n)| (Reason::of_slot(i), *n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_has_a_slot_and_a_name_of_its_own() {
        let all: Vec<Reason> = (0..SLOTS).map(Reason::of_slot).collect();
        for (i, r) in all.iter().enumerate() {
            assert_eq!(r.slot(), i, "{r:?}");
        }
        let mut names: Vec<&str> = all.iter().map(|r| r.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SLOTS);
        let mut d = Drops::default();
        assert_eq!(d.add(Reason::BadTtl), 1);
        assert_eq!(d.add(Reason::BadTtl), 2);
        d.add(DropReason::AhReplay.into());
        assert_eq!(d.total(), 3);
        assert_eq!(
            d.iter().collect::<Vec<_>>(),
            vec![(Reason::Wire(DropReason::AhReplay), 1), (Reason::BadTtl, 2)]
        );
    }
}
