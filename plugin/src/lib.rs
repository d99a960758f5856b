//! # atrs-office365 — the Office 365 / Microsoft Entra ID integration for ATRS
//!
//! A plugin built on `atrs-host-sdk`: the host loads `libatrs_office365.so` at run
//! time and shows it under Integrations → Office 365. That library is built by the
//! `atrs-office365-cdylib` package (`plugin/cdylib`), which only exports this crate's
//! [`Office365`]; everything else is here. Modules, by concept:
//!
//! - [`fields`]: the account form; [`config`]: values checked into an [`config::AccountConfig`];
//!   [`response_mode`]: how a browser sign-in asks for its answer;
//! - [`cloud`]: national clouds and Microsoft's sign-in hosts; [`saved`]: how accounts are
//!   kept in the host's stores;
//! - [`secret`]: the redacting wrapper for secrets; [`certificate`]: certificate
//!   credentials (client assertions) instead of a client secret;
//! - [`integration`]: the [`atrs_host_sdk::Integration`] the host drives; [`version`]: its version.
//!
//! Verification (shared by every sign-in method):
//!
//! - [`runtime`]: the plugin's own tokio runtime; [`http`]: the bounded, typed HTTP client,
//!   with [`trust`] (extra certificate authorities) and [`request_id`] (`client-request-id`);
//! - [`clock`]: Unix time for expiries and the verified-at fact;
//! - [`discovery`]: endpoints and capabilities from the tenant's OpenID configuration, kept
//!   to the authority's own service; [`issuer`]: whose answers are accepted;
//! - [`aadsts`]: provider errors and the AADSTS table (plain message and fix per code);
//! - [`token`]: token answers and `oauth2` request errors;
//! - [`flow_task`]: a sign-in flow as a task on the runtime, inside the SDK's session;
//! - [`id_token`]: the ID token's claims, checked (iss, aud, exp, nonce);
//!   [`confirm`]: who signed in (Graph `/me`, userinfo, ID token);
//!   [`scopes`]: granted versus requested; [`verified`]: what a success leaves for Save;
//! - [`sign_in`]: the one skeleton both methods share (discover → sign in → confirm);
//! - [`device_code`]: the device code sign-in (RFC 8628);
//! - [`browser`]: the browser sign-in (authorization code + PKCE), with
//!   [`redirect`] (which redirect URI), [`auth_state`] (the single-use `state`),
//!   [`paste`] (the pasted final address, checked for state and RFC 9207 `iss`),
//!   [`loopback`] (the listener that catches it, by query or form post, on 127.0.0.1 and
//!   `[::1]`) and [`inbox`] (where either way delivers it, once).
//!
//! Delivery through a saved account (interface 1.1):
//!
//! - [`delivery`]: the [`atrs_host_sdk::DeliveryJob`] the host polls and cancels;
//!   [`progress`]: bytes sent of total and the cancel signal;
//! - [`graph`]: the Graph client (client-request-id, retry bound, Retry-After), with
//!   [`claims`] (the `cp1` capability and Graph's claims challenges) and [`politeness`]
//!   (the User-Agent, at most four requests in flight per account);
//!   [`delivery_error`]: Graph's refusals mapped to what to do;
//! - [`mail`]: sendMail, or a draft with attachment upload sessions, then send;
//!   [`drive`]: OneDrive / SharePoint simple upload or upload session;
//!   [`upload_session`]: fragments from disk, resumed from the server's ranges, which
//!   [`upload_check`] checks (and the uploadUrl) before they are used.
//!
//! Saved accounts at work:
//!
//! - [`account_token`]: access tokens for the host — the shared [`token_cache`], one
//!   [`refresh`] per account across threads and processes;
//! - [`refresh_error`]: refused for good, transient, or other; [`admin_consent`]: the
//!   address for an administrator; [`refresh_facts`]: what refreshes leave in the settings;
//! - [`health`]: healthy, expiring soon or needs signing in again.

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
pub mod response_mode;
pub mod runtime;
pub mod secret;
pub mod signin;
pub mod version;

pub use integration::Office365;
