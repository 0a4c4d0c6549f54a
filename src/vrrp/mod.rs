//! VRRP (RFC 3768 version 2, RFC 5798 version 3): the director election. So far the
//! advertisement codec and the sans-IO state machine; the I/O shell follows (issue 3).

pub mod machine;
pub mod packet;
pub mod socket;
