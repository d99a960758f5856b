//! # atrs-office365 — the Office 365 / Microsoft Entra ID integration for ATRS
//!
//! A plugin built on `atrs-host-sdk`: the host loads `libatrs_office365.so` at run
//! time and shows it under Integrations → Office 365. Modules, by concept:
//!
//! - [`fields`]: the account form; [`config`]: values checked into an [`config::AccountConfig`];
//! - [`cloud`]: national clouds; [`saved`]: how accounts are kept in the host's stores;
//! - [`secret`]: the redacting wrapper for secrets;
//! - [`integration`]: the [`atrs_host_sdk::Integration`] the host drives.
//!
//! Verification (shared by every sign-in method):
//!
//! - [`runtime`]: the plugin's own tokio runtime; [`http`]: the bounded, typed HTTP client;
//! - [`clock`]: Unix time for expiries and the verified-at fact;
//! - [`discovery`]: endpoints from the tenant's OpenID configuration;
//! - [`aadsts`]: provider errors and the AADSTS table (plain message and fix per code);
//! - [`token`]: token answers and `oauth2` request errors;
//! - [`session`]: the [`atrs_host_sdk::VerificationSession`] state machine (poll, cancel);
//! - [`confirm`]: who signed in (Graph `/me`, userinfo, ID token);
//!   [`scopes`]: granted versus requested; [`verified`]: what a success leaves for Save;
//! - [`device_code`]: the device code sign-in (RFC 8628);
//! - [`browser`]: the browser sign-in (authorization code + PKCE), with
//!   [`redirect`] (which redirect URI), [`auth_state`] (the single-use `state`),
//!   [`paste`] (the pasted final address), [`loopback`] (the listener that catches it)
//!   and [`inbox`] (where either way delivers it, once).
//!
//! Saved accounts at work:
//!
//! - [`account_token`]: access tokens for the host — the shared [`token_cache`], one
//!   [`refresh`] per account across threads and processes;
//! - [`refresh_error`]: refused for good, transient, or other; [`admin_consent`]: the
//!   address for an administrator; [`refresh_facts`]: what refreshes leave in the settings;
//! - [`health`]: healthy, expiring soon or needs signing in again.

#![warn(missing_docs)]

pub mod aadsts;
pub mod account_http;
pub mod account_token;
pub mod admin_consent;
pub mod auth_state;
pub mod browser;
pub mod clock;
pub mod cloud;
pub mod config;
pub mod confirm;
pub mod device_code;
pub mod discovery;
pub mod fields;
pub mod health;
pub mod http;
pub mod id_token;
pub mod inbox;
pub mod integration;
pub mod issuer;
pub mod loopback;
pub mod paste;
pub mod redirect;
pub mod refresh;
pub mod refresh_error;
pub mod refresh_facts;
pub mod release;
pub mod request_id;
pub mod response_mode;
pub mod runtime;
pub mod saved;
pub mod scopes;
pub mod secret;
pub mod session;
pub mod token;
pub mod token_cache;
pub mod trust;
pub mod verified;

pub use integration::Office365;

atrs_host_sdk::export_plugin!(Office365);
