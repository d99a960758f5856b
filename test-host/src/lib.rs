//! # atrs-test-host — the reference ATRS host
//!
//! Loads integration plugins from a folder (through `atrs-host-sdk`'s loader), lends
//! them host services backed by an account store, and drives them from the command
//! line or an interactive Integrations menu. Modules, by concept:
//!
//! - [`cli`]: the command line; [`commands`]: one module per command;
//! - [`catalog`]: the plugins folder; [`context`]: what every command gets;
//! - [`store`]: settings and secrets on disk; [`services`]: host services per plugin;
//! - [`menu`]: the interactive Integrations menu, over a [`menu::Prompter`];
//! - [`form_input`]: `--set` values and forms as JSON; [`output`]: text or JSON lines;
//!   [`present`]: how errors and verified accounts are worded, menu and commands alike;
//! - [`error`] and [`exit`]: failures and exit codes; [`interrupt`]: Ctrl-C as a flag;
//!   [`live_line`]: the line redrawn in place on a terminal;
//! - [`session_driver`]: runs a verification session for the menu and `add` alike;
//!
//! The mock identity platform lives in the `atrs-mock-idp` crate, re-exported as
//! [`mock_idp`].

pub mod browser_url;
pub mod catalog;
pub mod cli;
pub mod commands;
pub mod context;
pub mod error;
pub mod exit;
pub mod form_input;
pub mod health_view;
pub mod interrupt;
pub mod live_line;
pub mod menu;
pub mod output;
pub mod present;
pub mod process_guard;
pub mod secret_input;
pub mod services;
pub mod session_driver;
pub mod store;
pub mod terminal_text;

pub use atrs_mock_idp as mock_idp;
