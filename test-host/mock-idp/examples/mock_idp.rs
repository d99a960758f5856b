//! Runs the mock identity platform standalone, with the same flags as `atrs-test-host mock-idp`:
//! `cargo run -p atrs-mock-idp --example mock_idp -- --port 0 --approve auto`.

use clap::Parser;

/// The mock identity platform on 127.0.0.1.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: atrs_mock_idp::cli::MockIdpArgs,
}

fn main() -> std::process::ExitCode {
    atrs_mock_idp::cli::run(Cli::parse().args)
}
