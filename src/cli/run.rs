//! `ldirector run`: its options and logging; the daemon itself is `crate::daemon`.

use super::ConfigArgs;
use clap::Args;
use std::path::PathBuf;
use tracing::info;

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Directory for this daemon's pid file (and control socket)
    #[arg(long, value_name = "DIR", default_value = "/run/ldirector")]
    pub run_dir: PathBuf,
    /// Log as JSON lines instead of text
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Serve /metrics, /status and /healthz over HTTP on ADDR:PORT (read-only; off by
    /// default; the TOML config's global_defs.http_listen too)
    #[arg(long, value_name = "ADDR:PORT")]
    pub http_listen: Option<std::net::SocketAddr>,
    /// Leave the IPVS services in the kernel when stopping
    #[arg(long)]
    pub dont_release_ipvs: bool,
    /// Run only the VRRP half (keepalived's -P): virtual servers are left alone
    #[arg(short = 'P', long = "vrrp", conflicts_with = "check_only")]
    pub vrrp_only: bool,
    /// Run only the IPVS and health-check half (keepalived's -C): no VRRP, no static
    /// addresses, routes or rules
    #[arg(short = 'C', long = "check", id = "check_only")]
    pub check_only: bool,
    /// keepalived's -n (do not fork), accepted for drop-in units: ldirector runs in the foreground
    #[arg(short = 'n', long = "dont-fork")]
    pub dont_fork: bool,
    /// keepalived's -l (log to the console), accepted: ldirector logs to stderr
    #[arg(short = 'l', long = "log-console")]
    pub log_console: bool,
    /// keepalived's -D (detailed log), accepted: ldirector's info level is already detailed
    /// (LDIRECTOR_LOG=debug for more)
    #[arg(short = 'D', long = "log-detail")]
    pub log_detail: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

fn init_logging(f: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LDIRECTOR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false);
    let _ = match f {
        LogFormat::Text => b.try_init(),
        LogFormat::Json => b.json().try_init(),
    };
}

pub fn run(a: &RunArgs) -> i32 {
    init_logging(a.log_format);
    if a.dont_fork || a.log_console || a.log_detail {
        info!("-n / -l / -D accepted for keepalived compatibility: ldirector runs in the foreground and logs to stderr");
    }
    crate::daemon::run(crate::daemon::Options {
        path: a.config.path(),
        load: a.config.load_options(),
        run_dir: a.run_dir.clone(),
        http_listen: a.http_listen,
        dont_release_ipvs: a.dont_release_ipvs,
        vrrp_only: a.vrrp_only,
        check_only: a.check_only,
    })
}
