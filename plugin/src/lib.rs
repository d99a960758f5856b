//! # atrs-office365 — the Office 365 / Microsoft Entra ID integration for ATRS
//!
//! A plugin built on `atrs-host-sdk`: the host loads `libatrs_office365.so` at run
//! time and shows it under Integrations → Office 365. Modules, by concept:
//!
//! - [`fields`]: the account form; [`config`]: values checked into an [`config::AccountConfig`];
//! - [`cloud`]: national clouds; [`saved`]: how accounts are kept in the host's stores;
//! - [`secret`]: the redacting wrapper for secrets;
//! - [`integration`]: the [`atrs_host_sdk::Integration`] the host drives.

pub mod cloud;
pub mod config;
pub mod fields;
pub mod integration;
pub mod saved;
pub mod secret;

pub use integration::Office365;

atrs_host_sdk::export_plugin!(Office365);
