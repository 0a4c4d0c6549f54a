//! `no_accept` (and `vrrp_strict`, which implies it): a master that is not the address owner
//! must not accept packets addressed to its virtual addresses (RFC 5798 6.4.3). As
//! keepalived does with iptables/nftables, ldirector installs one nftables table of its own,
//! `inet ldirector`, dropping input to those addresses. The addresses exist only on the
//! master, so the table is written once at start and removed at stop; nothing changes on a
//! transition. Note that this drops everything sent to those VIPs, IPVS services included
//! (keepalived's strict mode behaves the same way).

use crate::config::model::Config;
use std::io::Write;
use std::net::IpAddr;
use std::process::{Command, Stdio};

pub(crate) const TABLE: &str = "ldirector";

/// The VIPs of the instances that do not accept, excluding address owners (priority 255).
pub(crate) fn addresses(cfg: &Config) -> Vec<IpAddr> {
    let mut v = Vec::new();
    for i in cfg.vrrp_instance.values() {
        if i.effective.accept || i.priority.0 == 255 {
            continue;
        }
        for a in i
            .virtual_ipaddress
            .iter()
            .chain(&i.virtual_ipaddress_excluded)
        {
            if !v.contains(&a.address.addr) {
                v.push(a.address.addr);
            }
        }
    }
    v
}

/// The nft script for these addresses.
pub(crate) fn ruleset(addrs: &[IpAddr]) -> String {
    let list = |v6: bool| {
        addrs
            .iter()
            .filter(|a| a.is_ipv6() == v6)
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut s = format!(
        "table inet {TABLE} {{}}\ndelete table inet {TABLE}\ntable inet {TABLE} {{\n  chain no_accept {{\n    type filter hook input priority filter; policy accept;\n"
    );
    let (v4, v6) = (list(false), list(true));
    if !v4.is_empty() {
        s.push_str(&format!("    ip daddr {{ {v4} }} drop\n"));
    }
    if !v6.is_empty() {
        s.push_str(&format!("    ip6 daddr {{ {v6} }} drop\n"));
    }
    s.push_str("  }\n}\n");
    s
}

fn nft(script: &str) -> Result<(), String> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("nft (package nftables): {e}"))?;
    if let Some(mut i) = child.stdin.take() {
        i.write_all(script.as_bytes())
            .map_err(|e| format!("nft: {e}"))?;
    }
    let o = child.wait_with_output().map_err(|e| format!("nft: {e}"))?;
    if !o.status.success() {
        return Err(format!(
            "nft: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        ));
    }
    Ok(())
}

/// Install the table (replacing one left by an earlier run).
pub(crate) fn install(addrs: &[IpAddr]) -> Result<(), String> {
    nft(&ruleset(addrs))
}

/// Remove the table.
pub(crate) fn remove() -> Result<(), String> {
    nft(&format!(
        "table inet {TABLE} {{}}\ndelete table inet {TABLE}\n"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ruleset_per_family() {
        let r = ruleset(&[
            "192.0.2.100".parse().unwrap(),
            "2001:db8::100".parse().unwrap(),
        ]);
        assert!(r.contains("ip daddr { 192.0.2.100 } drop"));
        assert!(r.contains("ip6 daddr { 2001:db8::100 } drop"));
        assert!(r.starts_with("table inet ldirector {}\ndelete table inet ldirector\n"));
    }
}
