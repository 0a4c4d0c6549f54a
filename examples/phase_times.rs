//! Time reading a keepalived.conf: `cargo run --release --example phase_times -- FILE`.
use ldirector::config::{self, keepalived, Diagnostics};
use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).expect("FILE");
    let opts = keepalived::Options::default();
    let mut d = Diagnostics::default();
    struct Null(usize);
    impl keepalived::lines::LineSink for Null {
        fn line(&mut self, text: &str, _: config::Loc, _: &mut Diagnostics) {
            self.0 += text.len();
        }
    }
    let t = Instant::now();
    let mut null = Null(0);
    keepalived::lines::read_file(path.as_ref(), &opts, &mut d, &mut null);
    println!("lines to a null sink {:?} ({} bytes)", t.elapsed(), null.0);
    struct TreeOnly(keepalived::tree::Builder, keepalived::tree::Tree, usize);
    impl keepalived::lines::LineSink for TreeOnly {
        fn line(&mut self, text: &str, loc: config::Loc, d: &mut Diagnostics) {
            self.0.feed(text, loc, d, &mut self.1);
            if self.0.idle() {
                self.2 += self.1.len();
                self.1.clear();
            }
        }
    }
    let t = Instant::now();
    let mut tree = TreeOnly(Default::default(), Default::default(), 0);
    keepalived::lines::read_file(path.as_ref(), &opts, &mut d, &mut tree);
    println!(
        "lines + statements (dropped) {:?} ({} top-level)",
        t.elapsed(),
        tree.2
    );
    let t = Instant::now();
    let mut lines: Vec<keepalived::lines::Line> = Vec::new();
    keepalived::lines::read_file(path.as_ref(), &opts, &mut d, &mut lines);
    let t1 = t.elapsed();
    drop(lines);
    let t = Instant::now();
    let (mut cfg, locs) = keepalived::read_file(path.as_ref(), &opts, &mut d);
    let t2 = t.elapsed();
    config::resolve::resolve(&mut cfg);
    let t3 = t.elapsed();
    config::validate::validate(&cfg, &locs, &mut d);
    let t4 = t.elapsed();
    println!(
        "lines alone {t1:?}; lines+tree+read (two threads) {t2:?} resolve {:?} validate {:?}",
        t3 - t2,
        t4 - t3
    );
}
