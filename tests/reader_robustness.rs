//! The fuzz target's property, run in the normal test suite over a deterministic stream of
//! mutated inputs (the corpus with bytes flipped, cut and spliced): the readers never
//! panic, whatever they are given. `cargo fuzz run config_reader` explores further.

use ldirector::config::{load_str, toml_format, Format};
use std::path::Path;

/// xorshift: deterministic, no dependency
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn seeds() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in [
        "tests/keepalived",
        "tests/keepalived/full.d",
        "tests/keepalived/invalid",
        "tests/keepalived/fallbacks",
        "conf",
    ] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() {
                out.push(std::fs::read(p).unwrap());
            }
        }
    }
    out
}

const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"\"",
    b"'",
    b"\\",
    b"$",
    b"${X}",
    b"$X=",
    b"~SEQ(n,1,3)",
    b"@",
    b"@^",
    b"!",
    b"#",
    b"\n",
    b"include ",
    b"255",
    b"-1",
    b"4294967296",
    b"0.0000001",
    b"::",
    b"/33",
    b"\0",
    b"[",
    b"]",
    b"= ",
    b"[[virtual_server]]\n",
];

#[test]
fn mutated_configs_never_panic() {
    let seeds = seeds();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..1500 {
        let mut data = seeds[round % seeds.len()].clone();
        for _ in 0..=rng.below(8) {
            let at = rng.below(data.len() + 1);
            match rng.below(4) {
                0 if !data.is_empty() => {
                    let i = rng.below(data.len());
                    data[i] = rng.next() as u8;
                }
                1 => {
                    let t = TOKENS[rng.below(TOKENS.len())];
                    data.splice(at..at, t.iter().copied());
                }
                2 if !data.is_empty() => {
                    let end = (at + rng.below(40)).min(data.len());
                    data.drain(at..end);
                }
                _ => {
                    let other = &seeds[rng.below(seeds.len())];
                    let from = rng.below(other.len());
                    let to = (from + rng.below(200)).min(other.len());
                    data.splice(at..at, other[from..to].iter().copied());
                }
            }
        }
        let text = String::from_utf8_lossy(&data);
        for format in [Format::Keepalived, Format::Toml] {
            let l = load_str("m.conf", &text, format, Some("lb1"));
            let _ = l.diags.render();
            if l.is_valid() {
                let t = toml_format::write(&l.config).expect("a valid model writes as TOML");
                let back = load_str("back.toml", &t, Format::Toml, None);
                assert!(
                    back.is_valid(),
                    "written TOML must read back:\n{}\n{t}",
                    back.diags.render()
                );
            }
        }
    }
}

/// Inputs the fuzzer (`cargo fuzz run config_reader`) found crashing, kept as regressions.
#[test]
fn fuzzer_findings_stay_fixed() {
    for text in [
        "vrrp_instance C{track_file{{",
        "vrrp_sync_group G{group{{",
        "virtual_server_group W{{",
        // a multi-byte character across the 8-byte auth_pass limit
        "vrrp_instance V{authentication{auth_type PASS\nauth_pass 123456\u{2603}x}}",
    ] {
        for format in [Format::Keepalived, Format::Toml] {
            let l = load_str("f.conf", text, format, None);
            assert!(!l.is_valid(), "{text}");
        }
    }
}

/// The fuzzer's own artifacts (crashes and a 10-second timeout before the work bound).
#[test]
fn fuzzer_artifacts_load() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-findings");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let data = std::fs::read(e.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&data);
        for format in [Format::Keepalived, Format::Toml] {
            let l = load_str("artifact", &text, format, Some("lb1"));
            let _ = l.diags.render();
        }
        n += 1;
    }
    assert!(n >= 3);
}

#[test]
fn expansion_bombs_are_bounded() {
    // parameters doubling on every level, and nested ~SEQ
    let bombs = [
        "$A=x\n$B=$A $A\n$C=$B $B\n$D=$C $C\n$E=$D $D\n$F=$E $E\n$G=$F $F\n$H=$G $G\n$I=$H $H\n$J=$I $I\n$K=$J $J\n$L=$K $K\n$M=$L $L\n$N=$M $M\n$O=$N $N\n$P=$O $O\n$Q=$P $P\n$R=$Q $Q\n$S=$R $R\n$T=$S $S\n$U=$T $T\n$T\n",
        "$A=$A$A\n$A\n",
        "~SEQ(a, 1, 1000000) ~SEQ(b, 1, 1000000) x $a $b\n",
    ];
    for b in bombs {
        let l = load_str("bomb.conf", b, Format::Keepalived, None);
        assert!(!l.is_valid(), "a bomb is an error, not a hang: {b}");
    }
}

/// Only regular files are read: `include /dev/zero` (never ends) and an included FIFO
/// (blocks until a writer comes) are refused at once, naming the line; so is a main file
/// that is a FIFO. A reload or `check` must never hang on them.
#[test]
fn devices_and_fifos_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.conf");
    nix::unistd::mkfifo(
        &fifo,
        nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR,
    )
    .unwrap();
    let conf = dir.path().join("k.conf");
    std::fs::write(
        &conf,
        format!(
            "include /dev/zero\ninclude {}\nvrrp_instance V {{\n}}\n",
            fifo.display()
        ),
    )
    .unwrap();
    let opts = ldirector::config::LoadOptions::default();
    let l = ldirector::config::load(&conf, &opts);
    let text = l.diags.render();
    assert!(
        text.contains("k.conf:1:1: error: '/dev/zero' is not a regular file"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "k.conf:2:1: error: '{}' is not a regular file",
            fifo.display()
        )),
        "{text}"
    );
    let l = ldirector::config::load(&fifo, &opts);
    assert!(l.diags.render().contains("is not a regular file"));
}
