//! Load a file's bytes as both formats the way the fuzz target does, and time it:
//! `cargo run --release --example load_text -- FILE` (for fuzzer findings).
use ldirector::config::{load_str, Format};

fn main() {
    let path = std::env::args().nth(1).expect("FILE");
    let data = std::fs::read(&path).expect("read");
    let text = String::from_utf8_lossy(&data);
    for format in [Format::Keepalived, Format::Toml] {
        let t = std::time::Instant::now();
        let l = load_str("input", &text, format, Some("lb1"));
        println!(
            "{format:?}: {:?}, {} diagnostics",
            t.elapsed(),
            l.diags.items.len()
        );
    }
}
