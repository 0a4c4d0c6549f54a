//! Parse + resolve + validate of a keepalived.conf with 2,284 virtual servers and 37,298
//! real servers (keepalived issue #2318's scale), and of its TOML conversion.
//! Side by side with `keepalived -t`: benches/config_parse.sh.

use criterion::{criterion_group, criterion_main, Criterion};
use ldirector::config::{load_str, toml_format, Format};

#[path = "common/gen.rs"]
mod gen;

fn bench(c: &mut Criterion) {
    let conf = gen::keepalived_conf(2284, 37298);
    let loaded = load_str("bench.conf", &conf, Format::Keepalived, None);
    assert!(loaded.is_valid(), "{}", loaded.diags.render());
    let toml = toml_format::write(&loaded.config).expect("TOML");
    let mut g = c.benchmark_group("config");
    g.sample_size(10);
    g.bench_function("keepalived.conf 2284 vs / 37298 rs", |b| {
        b.iter(|| load_str("bench.conf", &conf, Format::Keepalived, None))
    });
    g.bench_function("toml 2284 vs / 37298 rs", |b| {
        b.iter(|| load_str("bench.toml", &toml, Format::Toml, None))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
