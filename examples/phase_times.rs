//! Time each phase of reading a keepalived.conf: `cargo run --release --example phase_times -- FILE`.
use ldirector::config::{self, keepalived, Diagnostics};
use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).expect("FILE");
    let opts = keepalived::Options::default();
    let mut d = Diagnostics::default();
    let t = Instant::now();
    let lines = keepalived::lines::read_file(path.as_ref(), &opts, &mut d);
    let t1 = t.elapsed();
    let t2 = t.elapsed();
    let mut b = keepalived::tree::Builder::default();
    let mut done = Vec::new();
    let mut r = keepalived::read::Reader::new(&mut d);
    for line in &lines {
        b.feed(line, r.diags(), &mut done);
        for n in done.drain(..) {
            r.root_node(&n);
        }
    }
    b.finish(r.diags(), &mut done);
    let (mut cfg, locs) = (r.cfg, r.locs);
    let t3 = t.elapsed();
    config::resolve::resolve(&mut cfg);
    let t4 = t.elapsed();
    config::validate::validate(&cfg, &locs, &mut d);
    let t5 = t.elapsed();
    drop(lines);
    let t6 = t.elapsed();
    println!("lines {t1:?} ({:?}) tree+read {:?} resolve {:?} validate {:?} drop {:?}", t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5);
}
