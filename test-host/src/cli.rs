//! The command line: a contract scripts and tests rely on.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// The reference ATRS host: loads integration plugins and drives them.
#[derive(Debug, Parser)]
#[command(name = "atrs-test-host", version, about, long_about = None)]
pub struct Cli {
    /// Folder with plugin libraries [default: this program's folder].
    #[arg(long, env = "ATRS_PLUGINS_DIR", global = true, value_name = "DIR")]
    pub plugins_dir: Option<PathBuf>,

    /// Folder of the account store [default: the user's config folder].
    #[arg(
        long = "store",
        env = "ATRS_STORE_DIR",
        global = true,
        value_name = "DIR"
    )]
    pub store_dir: Option<PathBuf>,

    /// Print JSON lines on stdout (the last line is the result); human text goes to stderr.
    #[arg(long, global = true)]
    pub json: bool,

    /// Show plugin log lines (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Never open a browser; show addresses instead.
    #[arg(long, global = true)]
    pub no_browser: bool,

    /// What to do; with none, on a terminal, the Integrations menu opens.
    #[command(subcommand)]
    pub command: Option<Command>,
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
        /// A form value; repeat for each field.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
    /// Open the interactive Integrations menu.
    Menu,
}
