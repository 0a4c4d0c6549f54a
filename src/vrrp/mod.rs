//! VRRP (RFC 3768 version 2, RFC 5798 version 3): the director election. So far the
//! advertisement codec; the sans-IO state machine and its I/O shell follow (issue 3).

pub mod packet;
