//! `atrs-test-host`: the reference ATRS host binary.

use std::{io::IsTerminal, process::ExitCode, time::Duration};

use atrs_host_sdk::VerifyMethod;

use atrs_test_host::{
    catalog::default_plugins_dir,
    cli::{self, Cli, Command, MockIdpCli, StoreAction, VerifyArg},
    commands::{self, add::AddRequest, demo::DemoOptions, refresh::RefreshArgs, token::TokenArgs},
    context::{Context, Isolation},
    error::CommandError,
    exit::Exit,
    menu,
    output::Output,
    process_guard,
    services::{Browser, LogConfig},
    store::Store,
};
use clap::Parser;

fn main() -> ExitCode {
    // Before anything holds a secret: no core dumps, and panics say where, not what (the
    // full message with -vv, read from the raw arguments so a usage error is covered too).
    let _ = process_guard::no_core_dumps();
    process_guard::install_panic_hook(raw_verbosity());
    // `mock-idp` has flags of its own only: the host's global flags do nothing there.
    if std::env::args_os().nth(1).is_some_and(|a| a == "mock-idp") {
        return match MockIdpCli::try_parse_from(std::env::args_os().skip(1)) {
            Ok(cli) => atrs_mock_idp::cli::run(cli.args),
            Err(e) => usage_error(e),
        };
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let store_location = cli.store_location();
    let ctx = Context {
        output: Output::new(cli.json),
        plugins_dir: cli.plugins_dir.clone().unwrap_or_else(default_plugins_dir),
        store_dir: store_location.clone().unwrap_or_else(Store::default_dir),
        log: LogConfig::from_verbosity(cli.verbose),
        browser: if cli.no_browser {
            Browser::Disabled
        } else {
            Browser::System
        },
        trusted_keys: cli.trusted_keys.clone(),
        isolation: cli.isolate.then(|| Isolation::new(cli.call_timeout)),
    };
    if let Some(timeout) = cli.call_timeout {
        atrs_host_sdk::loader::set_default_call_timeout(Some(timeout));
    }
    let keep_store = store_location.is_some();
    match cli.command {
        // These two print their own results: the server's first line, the checks table.
        Some(Command::MockIdp(args)) => atrs_mock_idp::cli::run(args),
        Some(Command::Check {
            library,
            set,
            strict,
        }) => {
            let args = commands::check::CheckArgs {
                library: &library,
                set: &set,
                call_timeout: cli.call_timeout.unwrap_or(commands::check::DEFAULT_CALL_TIMEOUT),
                strict,
            };
            commands::check::run(&ctx, &args)
        }
        Some(Command::Plugins) => finish(&ctx, "plugins", commands::plugins::run(&ctx)),
        Some(Command::Keygen { out }) => {
            finish(&ctx, "keygen", commands::signing::keygen(&ctx, &out))
        }
        Some(Command::Sign { key, library }) => {
            finish(&ctx, "sign", commands::signing::sign(&ctx, &key, &library))
        }
        Some(Command::Form { plugin }) => finish(&ctx, "form", commands::form::run(&ctx, &plugin)),
        Some(Command::Validate { plugin, set, set_secret }) => {
            finish(&ctx, "validate", commands::validate::run(&ctx, &plugin, &set, &set_secret))
        }
        Some(Command::Menu) => finish(&ctx, "menu", menu::run_on_terminal(&ctx)),
        Some(Command::Add { plugin, set, set_secret, replace, verify, loopback, paste, no_save, timeout }) => {
            if paste.as_deref() == Some("-") && !set_secret.is_empty() {
                let e = CommandError::usage("--paste - and --set-secret both read standard input.")
                    .with_hint("Give the address with --paste ADDRESS, or use --loopback.");
                return finish(&ctx, "add", Err(e));
            }
            let request = AddRequest {
                plugin,
                set,
                set_secret,
                replace,
                method: verify.map(|v| match v {
                    VerifyArg::Device => VerifyMethod::DeviceCode,
                    VerifyArg::Browser => VerifyMethod::Browser { loopback },
                    VerifyArg::Direct => VerifyMethod::Direct,
                }),
                paste,
                no_save,
                timeout: Duration::from_secs(timeout),
            };
            finish(&ctx, "add", commands::add::run(&ctx, &request))
        }
        Some(Command::Demo { interactive, approve_after }) => {
            let options = DemoOptions {
                interactive,
                approve_after: Duration::from_secs(approve_after),
                keep_store,
            };
            finish(&ctx, "demo", commands::demo::run(&ctx, &options))
        }
        Some(Command::Send(args)) => finish(&ctx, "send", commands::send::run(&ctx, &args.into())),
        Some(Command::SendTest { account, to }) => {
            finish(&ctx, "send-test", commands::send::run_test(&ctx, &account, &to))
        }
        Some(Command::Upload(args)) => finish(&ctx, "upload", commands::upload::run(&ctx, &args.into())),
        Some(Command::Accounts { account, all }) => {
            finish(&ctx, "accounts", commands::accounts::run(&ctx, account.as_deref(), all))
        }
        Some(Command::Token { account, plugin, scopes, show_token, force }) => {
            let args = TokenArgs { account, plugin, scopes, show_token, force };
            finish(&ctx, "token", commands::token::run(&ctx, &args))
        }
        Some(Command::Refresh { account, all: _, plugin, force }) => {
            let args = RefreshArgs { account, plugin, force };
            finish(&ctx, "refresh", commands::refresh::run(&ctx, &args))
        }
        Some(Command::Store { action: StoreAction::RotateKey }) => {
            finish(&ctx, "store-rotate-key", commands::store::rotate_key(&ctx))
        }
        Some(Command::Remove { account, plugin }) => {
            finish(&ctx, "remove", commands::remove::run(&ctx, &account, plugin.as_deref()))
        }
        None if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() => {
            finish(&ctx, "menu", menu::run_on_terminal(&ctx))
        }
        None => finish(
            &ctx,
            "menu",
            Err(CommandError::usage("No command given, and there is no terminal for the Integrations menu.")
                .with_hint("Run a command (see `atrs-test-host --help`), or run it in a terminal for the menu.")),
        ),
    }
}

/// Prints a command's failure (a result line under `--json`) and gives its exit code.
fn finish(ctx: &Context, command: &str, result: Result<(), CommandError>) -> ExitCode {
    match result {
        Ok(()) => Exit::Success.into(),
        Err(e) => {
            ctx.output.failure(command, &e);
            e.exit.into()
        }
    }
}

/// Prints a command-line error (as a JSON result line under `--json`) and exits 2.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let json = std::env::args().any(|a| a == "--json");
    let shown = matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion);
    if shown && json {
        // Under --json stdout holds JSON lines only: the text goes to stderr and the
        // result line carries it.
        let text = e.render().to_string();
        eprint!("{text}");
        let command = if e.kind() == ErrorKind::DisplayHelp {
            "help"
        } else {
            "version"
        };
        Output::new(true).result(command, serde_json::json!({ "text": text }));
        return Exit::Success.into();
    }
    if shown {
        let _ = e.print();
        return Exit::Success.into();
    }
    if json {
        let (message, tip) = cli::usage_detail(&e);
        let hint = match tip {
            Some(tip) => {
                format!("Note: {tip}. `atrs-test-host --help` lists the commands and flags.")
            }
            None => "Run `atrs-test-host --help` for the commands and flags.".to_owned(),
        };
        let error = CommandError::usage(format!("Invalid command line: {message}")).with_hint(hint);
        Output::new(true).failure("usage", &error);
        let _ = e.print();
        return Exit::InvalidInput.into();
    }
    let _ = e.print();
    Exit::InvalidInput.into()
}

/// `-v` count from the raw arguments (`-vv`, `-v -v`, `--verbose`), before parsing.
fn raw_verbosity() -> u8 {
    std::env::args()
        .skip(1)
        .take_while(|a| a != "--")
        .map(|a| match a.as_str() {
            "--verbose" => 1,
            s if s.starts_with('-') && !s.starts_with("--") && s[1..].chars().all(|c| c == 'v') => {
                s.len() - 1
            }
            _ => 0,
        })
        .sum::<usize>()
        .min(u8::MAX as usize) as u8
}
