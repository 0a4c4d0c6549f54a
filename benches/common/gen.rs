//! A keepalived.conf at the scale of keepalived issue #2318: many virtual servers, each with
//! real servers and a TCP_CHECK. Addresses come from 198.18.0.0/15 (benchmarking, RFC 2544).

use std::fmt::Write;

pub fn keepalived_conf(services: usize, real_servers: usize) -> String {
    let mut s = String::with_capacity(real_servers * 120);
    s.push_str("global_defs {\n    router_id bench\n}\n\n");
    s.push_str("vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    advert_int 1\n    virtual_ipaddress {\n        198.18.0.1/16 dev eth0\n    }\n}\n\n");
    let base = real_servers / services.max(1);
    let extra = real_servers % services.max(1);
    let mut rs_n = 0usize;
    for v in 0..services {
        let vip = format!("198.18.{}.{}", 1 + v / 250, 1 + v % 250);
        let port = 80 + (v % 3) as u16;
        let _ = writeln!(s, "virtual_server {vip} {port} {{");
        s.push_str("    delay_loop 6\n    lb_algo wrr\n    lb_kind NAT\n    protocol TCP\n\n");
        let n = base + usize::from(v < extra);
        for _ in 0..n {
            let rip = format!("198.19.{}.{}", rs_n / 250, 1 + rs_n % 250);
            rs_n += 1;
            let _ = writeln!(
                s,
                "    real_server {rip} 8080 {{\n        weight 1\n        TCP_CHECK {{\n            connect_timeout 3\n        }}\n    }}"
            );
        }
        s.push_str("}\n\n");
    }
    s
}
