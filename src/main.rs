use clap::Parser;

fn main() {
    let cli = ldirector::cli::Cli::parse();
    std::process::exit(ldirector::cli::run(cli));
}
