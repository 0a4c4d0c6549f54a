//! VRRP (RFC 3768 version 2, RFC 5798 version 3).

pub(crate) mod ah;
pub(crate) mod announce;
pub(crate) mod drops;
pub(crate) mod engine;
pub(crate) mod machine;
pub(crate) mod notification;
pub mod packet;
pub(crate) mod shell;
pub mod socket;
pub(crate) mod spec;
pub(crate) mod track;
