//! The command line: a contract scripts and tests rely on.

use std::{path::PathBuf, time::Duration};

use clap::{Parser, Subcommand};

/// The reference ATRS host: loads integration plugins and drives them.
#[derive(Debug, Parser)]
#[command(name = "atrs-test-host", version, about, long_about = None)]
pub struct Cli {
    /// Folder with plugin libraries [default: this program's folder].
    #[arg(long, env = "ATRS_PLUGINS_DIR", global = true, value_name = "DIR")]
    pub plugins_dir: Option<PathBuf>,

    /// Folder of the account store (its database, `accounts.db`), or a
    /// `postgres://user@host/db` URL for a store several servers share [default: the
    /// user's config folder] [env: ATRS_STORE; its older name ATRS_STORE_DIR is read
    /// when ATRS_STORE is not set].
    // The variables are read by `Cli::store_location`, not by clap, whose help would
    // show their values: a URL's password.
    #[arg(long = "store", global = true, value_name = "DIR|URL")]
    pub store_dir: Option<PathBuf>,

    /// Print JSON lines on stdout (the last line is the result); human text goes to stderr.
    #[arg(long, global = true)]
    pub json: bool,

    /// Show plugin log lines (-v warnings and info, -vv debug); errors are always shown.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Never open a browser; show addresses instead.
    #[arg(long, global = true)]
    pub no_browser: bool,

    /// Give up on a plugin call after this many seconds [default: 60; `check`: 5].
    #[arg(long, env = "ATRS_CALL_TIMEOUT", global = true, value_name = "SECONDS", value_parser = seconds)]
    pub call_timeout: Option<Duration>,

    /// Load only plugin libraries signed by one of these vendor public keys (a file of
    /// `.pub` keys); without it every library loads unsigned, as a developer's host does.
    #[arg(long, env = "ATRS_TRUSTED_KEYS", global = true, value_name = "FILE")]
    pub trusted_keys: Option<PathBuf>,

    /// Run each plugin in a process of its own (atrs-plugin-runner): a plugin that
    /// crashes or hangs fails the command with a typed error instead of ending the host.
    #[arg(long, env = "ATRS_ISOLATE", global = true)]
    pub isolate: bool,

    /// What to do; with none, on a terminal, the Integrations menu opens.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The environment variable naming the store (what `--store` takes).
pub const STORE_ENV: &str = "ATRS_STORE";

/// The older name of [`STORE_ENV`]: read only when `ATRS_STORE` is not set.
pub const STORE_ENV_OLDER: &str = "ATRS_STORE_DIR";

impl Cli {
    /// Where accounts are saved as the command line and environment say, in this order:
    /// `--store`, `ATRS_STORE`, `ATRS_STORE_DIR` (an empty value counts as unset);
    /// `None`: the default folder.
    pub fn store_location(&self) -> Option<PathBuf> {
        self.store_location_with(|name| std::env::var_os(name))
    }

    /// [`Cli::store_location`] with the environment read through `var`.
    fn store_location_with(
        &self,
        var: impl Fn(&str) -> Option<std::ffi::OsString>,
    ) -> Option<PathBuf> {
        let given = self.store_dir.clone().map(PathBuf::into_os_string);
        [given, var(STORE_ENV), var(STORE_ENV_OLDER)]
            .into_iter()
            .flatten()
            .find(|named| !named.is_empty())
            .map(PathBuf::from)
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every library in the plugins folder: loaded, or refused and why.
    Plugins,
    /// Show the form fields a plugin describes.
    Form {
        /// The plugin id (see `plugins`).
        plugin: String,
    },
    /// Check form values and show per-field errors.
    Validate {
        /// The plugin id.
        plugin: String,
        /// A form value; repeat for each field (secret fields: --set-secret).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// A secret field read from standard input (one line each, in order), or from a
        /// hidden prompt on a terminal, so the secret never appears in the command line.
        #[arg(long = "set-secret", value_name = "KEY")]
        set_secret: Vec<String>,
    },
    /// Open the interactive Integrations menu.
    Menu,
    /// Add an account: fill the form, verify, and save (Add → Verify → Save & Close).
    Add {
        /// The plugin id.
        plugin: String,
        /// A form value; repeat for each field (secret fields: --set-secret).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// A secret field read from standard input (one line each, in order), or from a
        /// hidden prompt on a terminal, so the secret never appears in the command line.
        #[arg(long = "set-secret", value_name = "KEY")]
        set_secret: Vec<String>,
        /// Replace a saved account of the same name (without it, that is refused).
        #[arg(long)]
        replace: bool,
        /// How to verify (default: the first way the plugin offers — for most, a
        /// device code).
        #[arg(long, value_enum)]
        verify: Option<VerifyArg>,
        /// With --verify browser: also catch the redirect on a loopback port.
        #[arg(long)]
        loopback: bool,
        /// With --verify browser: the final browser address (`-` reads it from stdin).
        #[arg(long, value_name = "ADDRESS|-")]
        paste: Option<String>,
        /// Verify only; do not save.
        #[arg(long)]
        no_save: bool,
        /// Give up after this many seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 900)]
        timeout: u64,
    },
    /// The whole flow against the embedded mock identity platform, no account needed.
    Demo {
        /// Drive the menu yourself (on a terminal) instead of watching it play.
        #[arg(long)]
        interactive: bool,
        /// Seconds the simulated user takes to approve the sign-in.
        #[arg(long, value_name = "SECONDS", default_value_t = 3)]
        approve_after: u64,
    },
    /// Run the mock identity platform on 127.0.0.1 until interrupted; the first stdout
    /// line is JSON with `base_url` and the directory (tenants, apps, users).
    #[command(after_help = atrs_mock_idp::cli::CONTROL_HELP)]
    MockIdp(atrs_mock_idp::cli::MockIdpArgs),
    /// List saved accounts (never their secrets): one line each; the details of one
    /// with its NAME, of every one with --all.
    Accounts {
        /// One account to show in detail.
        account: Option<String>,
        /// Every account in detail, with the plugin's internal settings (layout
        /// version, writer).
        #[arg(long)]
        all: bool,
    },
    /// An access token for a saved account: expiry, scopes, from cache or refreshed.
    Token {
        /// The account name.
        account: String,
        /// The plugin, when several have an account of that name.
        #[arg(long)]
        plugin: Option<String>,
        /// Scopes to ask for (space- or comma-separated) [default: the account's].
        #[arg(long, value_name = "S")]
        scopes: Option<String>,
        /// Print the token itself (it grants access: keep it out of logs).
        #[arg(long)]
        show_token: bool,
        /// Refresh even when a cached token is still valid.
        #[arg(long)]
        force: bool,
    },
    /// Renew saved accounts that are due (their sign-in lapses within 14 days), one line
    /// each; exit 3 when any needs sign-in again or its app credential expired. Made for a scheduler.
    Refresh {
        /// One account [default: with --all, every saved account].
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        account: Option<String>,
        /// Every saved account.
        #[arg(long)]
        all: bool,
        /// The plugin, when several have an account of that name.
        #[arg(long)]
        plugin: Option<String>,
        /// Renew even accounts that are not due.
        #[arg(long)]
        force: bool,
    },
    /// Remove a saved account and its secrets.
    Remove {
        /// The account name.
        account: String,
        /// The plugin, when several have an account of that name.
        #[arg(long)]
        plugin: Option<String>,
    },
    /// Send an e-mail through a saved account (attachments streamed from disk).
    Send(SendCli),
    /// Send a short test message through a saved account, to prove sending works.
    SendTest {
        /// The account name.
        account: String,
        /// Who gets it.
        #[arg(long, value_name = "ADDR")]
        to: String,
    },
    /// Upload a file to a OneDrive or SharePoint folder through a saved account.
    Upload(UploadCli),
    /// Manage the account store itself.
    Store {
        /// What to do with it.
        #[command(subcommand)]
        action: StoreAction,
    },
    /// Check a plugin library for conformance, check by check (for plugin authors);
    /// exit 0 when none fails, 1 when any fails. Checks that need real values do not
    /// run without `--set` and say which to give.
    Check {
        /// The plugin library file (`lib<name>.so`).
        library: PathBuf,
        /// A form value for the verification the check starts; repeat for each field.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Count a check that did not run (for want of `--set` values) as failed: for CI.
        #[arg(long)]
        strict: bool,
    },
    /// For vendors: make a signing key pair; the secret key goes to FILE (owner-only, never
    /// overwritten), the public key to FILE.pub (give that to hosts).
    Keygen {
        /// Where the secret key goes.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// For vendors: sign a plugin library; the signature goes beside it (LIB.minisig).
    Sign {
        /// The secret key file `keygen` wrote.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The plugin library.
        library: PathBuf,
    },
}

/// What `store` does.
#[derive(Debug, Subcommand)]
pub enum StoreAction {
    /// Seal every saved secret again under a new random key, in one transaction (a
    /// plain-text store gets sealed), and put the new key where the store finds it
    /// (ATRS_STORE_KEY=secret-service or =file moves it there).
    RotateKey,
}

/// `atrs-test-host mock-idp`, parsed on its own: only its own flags apply there.
#[derive(Debug, Parser)]
#[command(
    name = "atrs-test-host mock-idp",
    bin_name = "atrs-test-host mock-idp",
    about = "Run the mock identity platform on 127.0.0.1 until interrupted; the first stdout line is JSON with `base_url` and the directory (tenants, apps, users).",
    after_help = atrs_mock_idp::cli::CONTROL_HELP
)]
pub struct MockIdpCli {
    /// The server's settings.
    #[command(flatten)]
    pub args: atrs_mock_idp::cli::MockIdpArgs,
}

/// `send`'s arguments.
#[derive(Debug, clap::Args)]
pub struct SendCli {
    /// The account name.
    pub account: String,
    /// A recipient; repeat for more.
    #[arg(long, value_name = "ADDR", required = true)]
    pub to: Vec<String>,
    /// A copy recipient; repeat for more.
    #[arg(long, value_name = "ADDR")]
    pub cc: Vec<String>,
    /// A blind-copy recipient; repeat for more.
    #[arg(long, value_name = "ADDR")]
    pub bcc: Vec<String>,
    /// Send as this mailbox (one the account may send as).
    #[arg(long, value_name = "ADDR")]
    pub from: Option<String>,
    /// The subject line.
    #[arg(long)]
    pub subject: Option<String>,
    /// The body text.
    #[arg(long, conflicts_with = "body_file")]
    pub body: Option<String>,
    /// Read the body from this file.
    #[arg(long, value_name = "FILE")]
    pub body_file: Option<PathBuf>,
    /// The body is HTML.
    #[arg(long)]
    pub html: bool,
    /// A file to attach; repeat for more.
    #[arg(long, value_name = "FILE")]
    pub attach: Vec<PathBuf>,
}

/// `upload`'s arguments.
#[derive(Debug, clap::Args)]
pub struct UploadCli {
    /// The account name.
    pub account: String,
    /// The file to upload.
    pub file: PathBuf,
    /// The destination folder, e.g. Reports/2026 (for integrations that put files in
    /// folders; one that takes files at its own endpoint needs none).
    #[arg(long, value_name = "PATH")]
    pub to_folder: Option<String>,
    /// A SharePoint site address (default: the account's OneDrive).
    #[arg(long, value_name = "URL")]
    pub site: Option<String>,
    /// The name in the folder [default: the file's].
    #[arg(long)]
    pub name: Option<String>,
    /// What to do when the name is taken.
    #[arg(long, value_enum, default_value_t = ConflictArg::Rename)]
    pub conflict: ConflictArg,
}

/// `upload --conflict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ConflictArg {
    /// Overwrite the existing file.
    Replace,
    /// Keep both; the new file gets a free name.
    Rename,
    /// Refuse.
    Fail,
}

/// What a command-line error says, as text without styling: its `error:` line (the
/// argument it is about included) and clap's `tip:` line, if any.
pub fn usage_detail(e: &clap::Error) -> (String, Option<String>) {
    let text = e.render().to_string();
    let mut message = None;
    let mut tip = None;
    for line in text.lines().map(str::trim) {
        if let Some(m) = line.strip_prefix("error: ").filter(|_| message.is_none()) {
            message = Some(m.to_owned());
        } else if let Some(t) = line.strip_prefix("tip: ").filter(|_| tip.is_none()) {
            tip = Some(t.to_owned());
        }
    }
    let message = message.unwrap_or_else(|| {
        e.kind()
            .as_str()
            .unwrap_or("invalid command line")
            .to_owned()
    });
    let message = if message.ends_with('.') {
        message
    } else {
        format!("{message}.")
    };
    (message, tip)
}

/// Parses a positive number of seconds (fractions allowed).
fn seconds(text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(s) if s > 0.0 => Duration::try_from_secs_f64(s)
            .map_err(|_| format!("`{text}` seconds is more than this host can wait")),
        _ => Err(format!("`{text}` is not a positive number of seconds")),
    }
}

/// How `add` verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum VerifyArg {
    /// Show a code and a URL; sign in on any device.
    Device,
    /// Sign in in a browser, then paste the final address (or catch it on loopback).
    Browser,
    /// Check the credentials or endpoint directly, with nobody signing in.
    Direct,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_detail_names_the_argument_at_fault() {
        let e = Cli::try_parse_from(["atrs-test-host", "refesh"]).unwrap_err();
        let (message, tip) = usage_detail(&e);
        assert!(message.contains("'refesh'"), "{message}");
        assert!(tip.is_some_and(|t| t.contains("refresh")));
        let e = Cli::try_parse_from(["atrs-test-host", "accounts", "--nope"]).unwrap_err();
        assert!(usage_detail(&e).0.contains("--nope"));
    }

    #[test]
    fn the_store_is_the_flag_or_atrs_store_else_the_older_atrs_store_dir() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| std::ffi::OsString::from(v))
            }
        };
        let both = env(&[(STORE_ENV, "/new"), (STORE_ENV_OLDER, "/older")]);
        let mut cli =
            Cli::try_parse_from(["atrs-test-host", "--store", "/flag", "plugins"]).unwrap();
        assert_eq!(cli.store_location_with(both), Some("/flag".into()));
        cli.store_dir = None;
        assert_eq!(cli.store_location_with(both), Some("/new".into()));
        let older = env(&[(STORE_ENV_OLDER, "/older")]);
        assert_eq!(cli.store_location_with(older), Some("/older".into()));
        let empty_new = env(&[(STORE_ENV, ""), (STORE_ENV_OLDER, "/older")]);
        assert_eq!(cli.store_location_with(empty_new), Some("/older".into()));
        assert_eq!(cli.store_location_with(env(&[(STORE_ENV, "")])), None);
        assert_eq!(cli.store_location_with(env(&[])), None);
    }

    #[test]
    fn seconds_are_positive_and_bounded() {
        assert_eq!(seconds("1.5"), Ok(Duration::from_millis(1500)));
        for bad in ["0", "-1", "NaN", "x"] {
            assert!(
                seconds(bad).unwrap_err().contains("not a positive"),
                "{bad}"
            );
        }
        for huge in ["1e30", "inf"] {
            assert!(seconds(huge).unwrap_err().contains("more than"), "{huge}");
        }
    }
}
