#!/usr/bin/env bash
# Build ldirector's packages: target/packages/ldirector_<version>_<arch>.deb and
# ldirector-<version>-1.<arch>.rpm. Needs cargo-deb and cargo-generate-rpm:
#   cargo install --locked cargo-deb cargo-generate-rpm
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked
rm -rf target/assets target/packages
# man pages and completions, from the binary itself
target/release/ldirector assets target/assets >/dev/null
gzip -9n target/assets/man/*
# one stripped binary for both packages (the release profile has no debug info already;
# this drops the symbol table too)
strip --strip-unneeded -o target/assets/ldirector target/release/ldirector
mkdir -p target/packages
cargo deb --no-build --no-strip --output target/packages/
cargo generate-rpm --output target/packages/
ls -1 target/packages/
