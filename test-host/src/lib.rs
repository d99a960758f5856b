//! # atrs-test-host — the reference ATRS host
//!
//! Loads integration plugins from a folder (through `atrs-host-sdk`'s loader), lends
//! them host services backed by an account store, and drives them from the command
//! line or an interactive Integrations menu. Modules, by concept:
//!
//! - [`cli`]: the command line; [`commands`]: one module per command;
//! - [`context`]: what every command gets;
//! - from the host runtime (`atrs-host-runtime`), re-exported: [`catalog`] (the
//!   plugins folder), [`store`] (where accounts live), [`services`] (host services per
//!   plugin), [`session_driver`] (runs a verification session for any view) and
//!   [`process_guard`] (core dumps off, a panic hook that prints no payload);
//! - [`menu`]: the interactive Integrations menu, over a [`menu::Prompter`];
//! - [`form_input`]: `--set` values and forms as JSON; [`output`]: text or JSON lines;
//!   [`present`]: how errors and verified accounts are worded, menu and commands alike;
//! - [`error`] and [`exit`]: failures and exit codes; [`interrupt`]: Ctrl-C as a flag;
//!   [`live_line`]: the line redrawn in place on a terminal;
//! - [`terminal_text`]: server text cleaned of control characters before it is shown;
//!   [`secret_input`]: secrets from standard input or a hidden prompt, never argv;
//!
//! The mock identity platform lives in the `atrs-mock-idp` crate, re-exported as
//! [`mock_idp`].

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
pub mod secret_input;
pub mod symbols;
pub mod terminal_text;

pub use atrs_host_runtime::{catalog, process_guard, services, session_driver, store};
pub use atrs_mock_idp as mock_idp;
