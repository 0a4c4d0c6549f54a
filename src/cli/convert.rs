//! `ldirector convert`: a keepalived.conf (or TOML) as ldirector's TOML.

use super::ConfigArgs;
use crate::config::{toml_format, Severity};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ConvertArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Write the TOML to this file instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn run(a: &ConvertArgs) -> i32 {
    let path = a.config.path();
    let loaded = a.config.load();
    eprint!("{}", loaded.diags.render());
    if !loaded.is_valid() {
        eprintln!(
            "{}: not converted: {} error(s)",
            path.display(),
            loaded.diags.error_count()
        );
        return 1;
    }
    let body = match toml_format::write(&loaded.config) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{}: cannot write TOML: {e}", path.display());
            return 1;
        }
    };
    let mut out = format!(
        "# ldirector configuration converted from {}\n# by ldirector {} (`ldirector convert`). See docs/config.md.\n",
        path.display(),
        env!("CARGO_PKG_VERSION")
    );
    let warnings: Vec<_> = loaded
        .diags
        .items
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .collect();
    if !warnings.is_empty() {
        out.push_str("#\n# Not carried over or changed on the way (warnings):\n");
        for w in warnings {
            out.push_str(&format!("#   {w}\n"));
        }
    }
    out.push('\n');
    out.push_str(&body);
    match &a.output {
        None => {
            print!("{out}");
            0
        }
        Some(o) => match std::fs::write(o, out) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("cannot write {}: {e}", o.display());
                1
            }
        },
    }
}
