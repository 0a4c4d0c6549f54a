//! Print a generated keepalived.conf: `cargo run --example gen_config -- SERVICES REAL_SERVERS`
//! (default 2284 37298, the scale of keepalived issue #2318). Used by benches/config_parse.sh.

#[path = "../benches/common/gen.rs"]
mod gen;

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let services = args.first().copied().unwrap_or(2284);
    let real_servers = args.get(1).copied().unwrap_or(37298);
    print!("{}", gen::keepalived_conf(services, real_servers));
}
