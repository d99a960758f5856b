//! # atrs-office365 — the Office 365 / Microsoft Entra ID integration for ATRS
//!
//! A plugin built on `atrs-host-sdk`: the host loads `libatrs_office365.so` at run
//! time and shows it under Integrations → Office 365. That library is built by the
//! `atrs-office365-cdylib` package (`plugin/cdylib`), which only exports this crate's
//! [`Office365`]; everything else is here.
//!
//! ## Map, in the order to read it
//!
//! 1. The top: what ties the folders together.
//!    - [`integration`]: the [`atrs_host_sdk::Integration`] the host drives — form,
//!      validation, verify, save, tokens, health, delivery — handing each to a folder;
//!    - [`fields`]: the account form; [`config`]: its values checked into an
//!      [`config::AccountConfig`], with [`certificate`] (certificate credentials instead of
//!      a client secret, from PEM or PKCS#12 files), [`response_mode`] (how a browser sign-in asks for its answer) and
//!      [`sign_in_kind`] (a user signs in, or an application account with nobody signing in);
//!    - shared leaves: [`secret`] (the redacting wrapper for secrets), [`clock`] (Unix
//!      time), [`runtime`] (the plugin's own tokio runtime), [`version`].
//! 2. [`signin`]: getting a first verified account — the skeleton both methods share
//!    (discover → sign in → confirm), device code, browser (state, paste, loopback
//!    listener, inbox), the ID token, who signed in (answering a claims challenge on
//!    `/me`), what a success leaves for Save.
//! 3. [`account`]: the saved account at work — the stores' keys, the token cache, one
//!    refresh per account across threads and processes, refresh errors and facts, health,
//!    the client secret's expiry.
//! 4. [`delivery`]: delivery through a saved account (interface 1.1) — the job the host
//!    polls, the Graph client, mail, drive, upload sessions and their checks, Graph's
//!    refusals.
//! 5. [`authority`]: the identity platform as all three speak to it — discovery, issuer,
//!    token answers, AADSTS errors, scopes, claims challenges, redirect URIs, admin
//!    consent, which deliveries the granted permissions allow.
//! 6. [`net`]: the network layer under everything — the bounded HTTP client, extra
//!    certificate authorities, `client-request-id`, national clouds, provider text made
//!    safe.
//!
//! ## Layers
//!
//! A module imports only from layers below its own (each folder's module doc says the
//! same for that folder; `module-circles.py plugin/src` prints 0):
//!
//! | layer | may import |
//! |---|---|
//! | `integration` | anything; nothing imports it |
//! | [`signin`] | `account`, `authority`, `net`, the form and leaves |
//! | [`account`], [`delivery`] | `authority`, `net`, the form and leaves (never each other) |
//! | [`authority`] | `net`, the form and leaves |
//! | form: `fields`, `config`, `certificate` | `net`, the leaves |
//! | [`net`] | the leaves |
//! | leaves: `secret`, `clock`, `random`, `runtime`, `version`, `response_mode`, `sign_in_kind` | nothing of the plugin's own |
//!
//! Unit tests may reach further to build their inputs (a test of `net` may build a config).

#![warn(missing_docs)]

pub mod account;
pub mod authority;
pub mod certificate;
pub mod clock;
pub mod config;
pub mod delivery;
pub mod fields;
pub mod integration;
pub mod net;
pub mod random;
pub mod response_mode;
pub mod runtime;
pub mod secret;
pub mod sign_in_kind;
pub mod signin;
pub mod version;

pub use integration::Office365;
