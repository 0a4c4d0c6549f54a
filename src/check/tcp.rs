//! TCP_CHECK: a connection within connect_timeout is success. The probe socket honours
//! keepalived's generic options: bindto / bind_port (source), bind_if (SO_BINDTODEVICE) and
//! fwmark (SO_MARK, so the probe can follow the real forwarding path). The connection is
//! closed normally, without keepalived's SO_LINGER (whose blocking close stalled its checker).

use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

/// Where and how to connect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    pub addr: SocketAddr,
    pub bind: Option<SocketAddr>,
    pub bind_if: Option<String>,
    pub fwmark: Option<u32>,
    /// How long the connection (and what follows) may take; zero: not bounded here (the
    /// scheduler abandons the probe at its deadline).
    pub timeout: Duration,
}

impl Target {
    /// The address family of the target.
    pub(crate) fn domain(&self) -> Domain {
        if self.addr.is_ipv4() {
            Domain::IPV4
        } else {
            Domain::IPV6
        }
    }

    /// keepalived's generic options on a probe's socket: bind_if (SO_BINDTODEVICE), fwmark
    /// (SO_MARK) and the source address `bind` (bindto / bind_port, as the protocol uses
    /// them). Every checker's socket goes through here.
    pub(crate) fn apply(&self, s: &Socket, bind: Option<SocketAddr>) -> io::Result<()> {
        if let Some(dev) = &self.bind_if {
            s.bind_device(Some(dev.as_bytes()))?;
        }
        if let Some(m) = self.fwmark {
            s.set_mark(m)?;
        }
        if let Some(b) = bind {
            s.bind(&b.into())?;
        }
        Ok(())
    }
}

/// `f` within `t` (zero: unbounded here); Err(what) on time-out.
pub(crate) async fn within<T>(
    t: Duration,
    f: impl std::future::Future<Output = T>,
) -> Result<T, tokio::time::error::Elapsed> {
    if t.is_zero() {
        Ok(f.await)
    } else {
        tokio::time::timeout(t, f).await
    }
}

/// A connected socket to the target (shared by the checkers that speak over TCP).
pub(crate) async fn connect(t: &Target) -> io::Result<tokio::net::TcpStream> {
    // non-blocking from the start: no fcntl round trips (thousands of probes a second)
    let s = Socket::new(t.domain(), Type::STREAM.nonblocking(), Some(Protocol::TCP))?;
    t.apply(&s, t.bind)?;
    let sock = tokio::net::TcpSocket::from_std_stream(std::net::TcpStream::from(s));
    match within(t.timeout, sock.connect(t.addr)).await {
        Ok(r) => r,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no connection within {:?}", t.timeout),
        )),
    }
}

/// The probe: Ok when the connection is made.
pub(crate) async fn probe(t: &Target) -> io::Result<()> {
    connect(t).await.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn open_closed_and_silent_ports() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let t = |addr| Target {
            addr,
            bind: None,
            bind_if: None,
            fwmark: None,
            timeout: Duration::from_millis(300),
        };
        assert!(probe(&t(addr)).await.is_ok());
        drop(l);
        let e = probe(&t(addr)).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
        // 192.0.2.1 (documentation range) is not routed here: a timeout or an error, in
        // bounded time
        let r = tokio::time::timeout(
            Duration::from_secs(2),
            probe(&t("192.0.2.1:9".parse().unwrap())),
        )
        .await;
        assert!(matches!(r, Ok(Err(_))), "{r:?}");
    }
}
