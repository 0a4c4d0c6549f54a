//! VRRP (RFC 3768 version 2, RFC 5798 version 3).

pub mod ah;
pub mod announce;
pub mod drops;
pub mod engine;
pub mod machine;
pub mod notification;
pub mod packet;
pub mod shell;
pub mod socket;
pub mod spec;
pub mod track;
