//! `atrs-plugin-runner [--describe] LIBRARY [--call-timeout-ms N] [--log-level L]
//! [--trusted-keys FILE]`: loads one plugin library and serves it to the host that
//! started it over standard input and output (see `atrs_host_runtime::runner`); with
//! `--describe`, says what the library holds and ends. Hosts start it; people do not. It is given no
//! secret: the plugin's settings and secrets reach it only through service calls.

use std::{io::BufReader, path::PathBuf, process::ExitCode};

use atrs_host_runtime::{catalog::described, process_guard, runner, RuntimeOptions};
use atrs_host_sdk::signing::TrustedKeys;

/// `--describe`: loads and checks the library (only when signed by one of the trusted
/// keys, if given), prints its manifest or why it was refused as one JSON line, and
/// ends — for a host that never opens a library itself.
fn describe_library(library: &std::path::Path, trusted: Option<&std::path::Path>) -> ExitCode {
    let trusted = match trusted.map(TrustedKeys::read).transpose() {
        Ok(keys) => keys,
        Err(e) => {
            eprintln!("atrs-plugin-runner: the trusted keys could not be read ({e})");
            return ExitCode::from(2);
        }
    };
    println!("{}", described::describe_here(library, trusted.as_ref()));
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    // The runner holds the plugin's secrets in memory, as the host does.
    if let Err(e) = process_guard::no_core_dumps() {
        eprintln!("atrs-plugin-runner: core dumps could not be turned off ({e})");
    }
    process_guard::install_panic_hook(0);
    let mut args = std::env::args_os().skip(1).peekable();
    let describe = args.next_if(|a| a == "--describe").is_some();
    let Some(library) = args.next().map(PathBuf::from) else {
        eprintln!("usage: atrs-plugin-runner LIBRARY [--call-timeout-ms N] [--log-level L] [--trusted-keys FILE] (started by an ATRS host)");
        return ExitCode::from(2);
    };
    let mut options = RuntimeOptions::default();
    while let Some(flag) = args.next() {
        let value = args.next().and_then(|v| v.into_string().ok());
        match (flag.to_str(), value) {
            (Some("--call-timeout-ms"), Some(v)) => options.call_timeout_ms = v.parse().ok(),
            (Some("--log-level"), Some(v)) => options.log_level = Some(v),
            (Some("--trusted-keys"), Some(v)) => options.trusted_keys = Some(PathBuf::from(v)),
            _ => {
                eprintln!("atrs-plugin-runner: unknown argument {flag:?}");
                return ExitCode::from(2);
            }
        }
    }
    if describe {
        return describe_library(&library, options.trusted_keys.as_deref());
    }
    let stdin = BufReader::new(std::io::stdin());
    match runner::serve(library, options, stdin, std::io::stdout()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("atrs-plugin-runner: {e}");
            ExitCode::from(1)
        }
    }
}
