//! The command line: `ldirector check`, `convert`, `run`, `reload`, `status`, `demo`.

pub mod check;
pub mod convert;
pub mod demo;
pub mod run;

use crate::config::{self, Format, LoadOptions};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "ldirector",
    version,
    about = "Load-balancer director: VRRP, IPVS and health checks; reads keepalived.conf"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check a configuration: exit 0 when valid (warnings allowed), 1 when not.
    Check(check::CheckArgs),
    /// Convert a keepalived.conf to ldirector's TOML (printed on stdout).
    Convert(convert::ConvertArgs),
    /// Run the director (foreground): VRRP, IPVS, health checks, notifications.
    Run(run::RunArgs),
    /// Ask the running daemon to reload its configuration (exit 1 if it is refused).
    Reload(crate::control::client::ReloadArgs),
    /// Show the running daemon's VRRP instances, virtual and real servers.
    Status(crate::control::client::StatusArgs),
    /// A demo in network namespaces: two directors, a client, a crash and a takeover.
    Demo(demo::DemoArgs),
}

/// Options shared by every command that reads a configuration.
#[derive(Args, Debug, Clone)]
pub struct ConfigArgs {
    /// Configuration file [default: /etc/ldirector/ldirector.toml, then /etc/keepalived/keepalived.conf]
    #[arg(short = 'f', long = "config-file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// File format [default: toml for *.toml, else keepalived]
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// The id matched by keepalived's `@ID` lines [default: the short host name]
    #[arg(long, value_name = "ID")]
    pub config_id: Option<String>,
}

impl ConfigArgs {
    pub fn path(&self) -> PathBuf {
        self.file.clone().unwrap_or_else(config::default_path)
    }

    pub fn load(&self) -> config::Loaded {
        config::load(
            &self.path(),
            &LoadOptions {
                format: self.format,
                config_id: self.config_id.clone(),
            },
        )
    }
}

/// Run the command; the process exit code.
pub fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Check(a) => check::run(&a),
        Command::Convert(a) => convert::run(&a),
        Command::Run(a) => run::run(&a),
        Command::Reload(a) => crate::control::client::reload(&a),
        Command::Status(a) => crate::control::client::status(&a),
        Command::Demo(a) => demo::run(&a),
    }
}
