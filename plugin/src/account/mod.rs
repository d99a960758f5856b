//! The saved account at work, after its sign-in: what the host's stores keep for it and
//! the access tokens the host asks for.
//!
//! - [`saved`]: every key of the settings and secrets stores, and how settings written by
//!   earlier releases are brought to the current layout;
//! - [`account_token`]: access tokens for the host — the shared [`token_cache`], one
//!   [`refresh`] per account across threads and processes, the parsed values kept in
//!   [`account_memo`], requests sent through [`account_http`];
//! - [`refresh_error`]: refused for good, transient, or other; [`refresh_facts`]: what
//!   refreshes leave in the settings;
//! - [`health`]: healthy, expiring soon or needs signing in again, with
//!   [`secret_expiry`] (the client secret's expiry date);
//! - [`settings_display`]: how hosts show the saved settings.
//!
//! May import: [`crate::authority`], [`crate::net`] and the top-level form and leaves
//! (`config`, `fields`, `certificate`, `secret`, `clock`, `runtime`, `version`). Never
//! `signin` (a sign-in builds on an account, not the reverse) or `delivery`.

pub mod account_http;
pub mod account_memo;
pub mod account_token;
pub mod health;
pub mod refresh;
pub mod refresh_error;
pub mod refresh_facts;
pub mod saved;
pub mod secret_expiry;
pub mod settings_display;
pub mod token_cache;
