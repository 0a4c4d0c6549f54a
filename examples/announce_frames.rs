//! Print the announcement frames for an address as hex (`cargo run --example
//! announce_frames -- 192.0.2.100` or an IPv6 address), to inspect with a packet decoder.
use ldirector::net::garp;

fn main() {
    let mac = [0x02, 0, 0x5e, 0, 0x01, 0x33];
    for a in std::env::args().skip(1) {
        let frame: Vec<u8> = match a.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(v)) => garp::gratuitous_arp(mac, v).to_vec(),
            Ok(std::net::IpAddr::V6(v)) => garp::unsolicited_na(mac, v, false).to_vec(),
            Err(e) => {
                eprintln!("{a}: {e}");
                std::process::exit(2);
            }
        };
        println!(
            "{}",
            frame.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
    }
}
