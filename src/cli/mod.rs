//! The command line: `ldirector check`, `convert`, `run`, `reload`, `status`, `demo`.

pub mod assets;
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
    about = "Load-balancer director: VRRP, IPVS and health checks; reads keepalived.conf",
    long_about = "Load-balancer director for Linux: VRRP (v2, v3; IPv4, IPv6) elects the active \
director, which holds the virtual addresses; the kernel's IPVS balances traffic over the real \
servers that health checks find up. It reads keepalived.conf as keepalived does, or its own \
TOML (ldirector.toml(5)), and runs beside keepalived peers.",
    after_long_help = "Files: /etc/ldirector/ldirector.toml, then /etc/keepalived/keepalived.conf \
(the configuration when -f is not given); /run/ldirector/ (ldirector.pid, the control socket \
ldirector.sock, ldirector.data written on SIGUSR1).\n\nSignals: SIGHUP reloads (as `ldirector \
reload`), SIGTERM and SIGINT stop (priority-0 adverts, VIPs removed, down notifications), \
SIGUSR1 writes the state, SIGUSR2 hands over to the binary on disk (as `ldirector upgrade`).\n\nSee also: ldirector.toml(5), keepalived.conf(5), ipvsadm(8)."
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
    /// Show the running daemon's VRRP instances, virtual and real servers, anycast blocks.
    Status(crate::control::client::StatusArgs),
    /// Hand the running daemon over to the binary now on disk, with no VRRP transition and
    /// no IPVS change (same PID; SIGUSR2 does the same). Exit 1 if it was refused (the
    /// daemon goes on), 2 if the running daemon is too old to hand over.
    Upgrade(crate::control::client::UpgradeArgs),
    /// Drain (withdraw, keep serving) or resume the running daemon's anycast announcements.
    Anycast(crate::control::client::AnycastArgs),
    /// A demo in network namespaces: two directors, a client, a crash and a takeover.
    Demo(demo::DemoArgs),
    /// Write the man pages and shell completions (for packaging).
    #[command(hide = true)]
    Assets(assets::AssetsArgs),
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
        config::load(&self.path(), &self.load_options())
    }

    pub fn load_options(&self) -> LoadOptions {
        LoadOptions {
            format: self.format,
            config_id: self.config_id.clone(),
        }
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
        Command::Anycast(a) => crate::control::client::anycast(&a),
        Command::Upgrade(a) => crate::control::client::upgrade(&a),
        Command::Demo(a) => demo::run(&a),
        Command::Assets(a) => assets::run(&a),
    }
}
