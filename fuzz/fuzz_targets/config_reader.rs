//! Arbitrary bytes through both config readers, resolve, validate and the TOML writer:
//! never a panic, never a hang.
#![no_main]

use ldirector::config::{load_str, toml_format, Format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for format in [Format::Keepalived, Format::Toml] {
        let l = load_str("fuzz.conf", &text, format, Some("lb1"));
        let _ = l.diags.render();
        if l.is_valid() {
            let _ = toml_format::write(&l.config);
        }
    }
});
