//! `ldirector check`: validate a configuration, print diagnostics, optionally dump the model.

use super::ConfigArgs;
use crate::config::validate;
use clap::Args;

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Print the effective model as JSON (when valid)
    #[arg(long)]
    pub dump_json: bool,
    /// Also check against this machine: interfaces, script paths, script security
    #[arg(long)]
    pub host: bool,
}

pub fn run(a: &CheckArgs) -> i32 {
    let path = a.config.path();
    let mut loaded = a.config.load();
    if a.host && loaded.is_valid() && crate::net::netns::enter_configured(&mut loaded) {
        validate::host(&loaded.config, &loaded.locs, &mut loaded.diags);
    }
    eprint!("{}", loaded.diags.render());
    let (e, w) = (loaded.diags.error_count(), loaded.diags.warning_count());
    if e > 0 {
        eprintln!(
            "{}: invalid: {e} error{}, {w} warning{}",
            path.display(),
            plural(e),
            plural(w)
        );
        return 1;
    }
    if a.dump_json {
        match serde_json::to_string_pretty(&loaded.config) {
            Ok(j) => println!("{j}"),
            Err(err) => {
                eprintln!("{}: cannot write JSON: {err}", path.display());
                return 1;
            }
        }
    }
    eprintln!("{}: valid ({w} warning{})", path.display(), plural(w));
    // The process ends here: leave the model to the kernel rather than free it piece by
    // piece (tens of milliseconds for a configuration with tens of thousands of servers).
    std::mem::forget(loaded);
    0
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
