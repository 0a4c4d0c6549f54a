//! What the VRRP engine reports to the notifier: keepalived's notify arguments, typed
//! (`INSTANCE|GROUP NAME STATE PRIORITY`). The words are keepalived's; scripts, FIFO lines
//! and e-mail are the notifier's business.

use super::machine::State;

/// Who changed: an instance or a sync group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Subject {
    Instance,
    Group,
}

impl Subject {
    pub(crate) fn word(self) -> &'static str {
        match self {
            Subject::Instance => "INSTANCE",
            Subject::Group => "GROUP",
        }
    }
}

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Change {
    Master,
    Backup,
    Fault,
    /// The daemon stops.
    Stop,
    /// A reload removed the instance (keepalived's notify_deleted).
    Deleted,
    /// notify_priority_changes: the effective priority of a master or backup changed.
    MasterPriority,
    BackupPriority,
}

impl Change {
    /// A transition into `s` (Initialize is not reported).
    pub(crate) fn into_state(s: State) -> Option<Change> {
        match s {
            State::Initialize => None,
            State::Backup => Some(Change::Backup),
            State::Master => Some(Change::Master),
            State::Fault => Some(Change::Fault),
        }
    }

    pub(crate) fn word(self) -> &'static str {
        match self {
            Change::Master => "MASTER",
            Change::Backup => "BACKUP",
            Change::Fault => "FAULT",
            Change::Stop => "STOP",
            Change::Deleted => "DELETED",
            Change::MasterPriority => "MASTER_PRIORITY",
            Change::BackupPriority => "BACKUP_PRIORITY",
        }
    }

    /// A change of state (not of priority alone): scripts and e-mail are for these.
    pub(crate) fn is_transition(self) -> bool {
        !matches!(self, Change::MasterPriority | Change::BackupPriority)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub(crate) struct Notification {
    pub subject: Subject,
    pub name: String,
    pub change: Change,
    /// The instance's priority; 0 for a group, as keepalived.
    pub priority: u8,
}
