//! Receive VRRP adverts on an interface and print them (debugging aid):
//! `ip netns exec NS cargo run --example vrrp_recv -- IFACE SRC [GROUP]`.
use ldirector::vrrp::socket::VrrpSocket;
use std::net::IpAddr;
use std::time::Duration;

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let src: IpAddr = a[1].parse().expect("SRC");
    let group: Option<IpAddr> = a.get(2).map(|g| g.parse().expect("GROUP"));
    let s = match (src, group) {
        (IpAddr::V6(s), g) => VrrpSocket::open_v6(
            &a[0],
            s,
            g.and_then(|g| match g {
                IpAddr::V6(g) => Some(g),
                _ => None,
            }),
        ),
        (IpAddr::V4(s), g) => VrrpSocket::open_v4(
            &a[0],
            s,
            g.and_then(|g| match g {
                IpAddr::V4(g) => Some(g),
                _ => None,
            }),
            false,
        ),
    }
    .expect("open");
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    for _ in 0..3 {
        println!("{:?}", s.recv());
    }
}
