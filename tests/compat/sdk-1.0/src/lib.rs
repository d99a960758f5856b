//! # atrs-host-sdk — the stable ABI between ATRS hosts and integration plugins
//!
//! A plugin is a `cdylib` that implements [`Integration`] and calls
//! [`export_plugin!`] once. A host loads it at run time with [`loader`]. Both sides
//! compile against this crate only; the ABI is checked by `abi_stable` when loading.
//!
//! ## A complete plugin
//!
//! ```
//! use atrs_host_sdk::{
//!     export_plugin, FieldError, FieldKind, FixedSession, FormField, FormValues, Host,
//!     Integration, Manifest, PluginError, SessionState, VerificationSession,
//!     VerifiedAccount, VerifyMethod,
//! };
//!
//! pub struct Hello { host: Host }
//!
//! impl Integration for Hello {
//!     fn manifest() -> Manifest {
//!         Manifest::new("hello", "Hello", "0.1.0", "Example Ltd", "Says hello to an account.")
//!     }
//!     fn new(host: Host) -> Result<Self, PluginError> { Ok(Hello { host }) }
//!     fn describe(&self) -> Vec<FormField> {
//!         vec![FormField::new("account_name", "Account name", FieldKind::Text).required()]
//!     }
//!     fn validate(&self, values: &FormValues) -> Vec<FieldError> {
//!         match values.get_trimmed("account_name") {
//!             Some(_) => vec![],
//!             None => vec![FieldError::new("account_name", "Account name is empty.")
//!                 .with_hint("Type a name to recognise this account by.")],
//!         }
//!     }
//!     fn start_verification(&mut self, values: &FormValues, _: VerifyMethod)
//!         -> Result<Box<dyn VerificationSession>, PluginError> {
//!         let name = values.get_trimmed("account_name").unwrap_or_default();
//!         let account = VerifiedAccount {
//!             account_name: name.into(), user_principal_name: name.into(),
//!             display_name: name.into(), user_id: None.into(), tenant_id: "local".into(),
//!             granted_scopes: Default::default(), missing_scopes: Default::default(),
//!         };
//!         Ok(Box::new(FixedSession::new(SessionState::verified(account))))
//!     }
//!     fn save(&mut self, values: &FormValues) -> Result<(), PluginError> {
//!         let name = values.get_trimmed("account_name").unwrap_or_default();
//!         self.host.settings_write(name, &Default::default())
//!     }
//! }
//!
//! export_plugin!(Hello);
//! # fn main() {}
//! ```
//!
//! Its `Cargo.toml` says `crate-type = ["cdylib"]` and depends on `atrs-host-sdk = "1"`
//! and `abi_stable = "0.11"` (the export attribute names it). Try it with
//! `atrs-test-host --plugins-dir <folder with the .so> plugins`.
//!
//! ## What crosses the boundary
//!
//! | item | direction | type |
//! |---|---|---|
//! | root module: manifest + constructor | plugin → host | [`abi::PluginModule`] (prefix type) |
//! | integration: describe, validate, start verification, save, load, remove, access token, close | host → plugin | [`abi::IntegrationAbi`] (`sabi_trait`) |
//! | verification session: poll, submit pasted text, cancel | host → plugin | [`abi::SessionAbi`] (`sabi_trait`) |
//! | host services: log, open URL, settings store, secrets store | plugin → host | [`abi::HostAbi`] (`sabi_trait`) |
//! | errors | both | [`PluginError`] (kind, message, hint, field, provider code, trace and correlation ids) |
//!
//! Every exported call, on both sides, catches panics and returns an internal
//! [`PluginError`] instead: nothing unwinds or aborts across the boundary.
//!
//! ## Evolution rules
//!
//! The interface version is [`INTERFACE_VERSION`] (`1.0.0`), set by hand. Within
//! major version 1:
//!
//! 1. New methods go **after** the method marked `#[sabi(last_prefix_field)]` in a
//!    trait, and new fields after the marked field of the root module — never
//!    between, never removed, never reordered.
//! 2. Every method added after 1.0 has a default body in [`Integration`] /
//!    [`VerificationSession`] and in the ABI trait, so a 1.0 plugin loaded by a 1.y
//!    host answers with the default, and a 1.y plugin in a 1.0 host is simply not
//!    asked.
//! 3. Root-module fields added after 1.0 are read through the optional accessors the
//!    prefix type generates; a host treats a missing one as "not supported".
//! 4. Enums that may grow ([`ErrorKind`], [`FieldKind`], [`VerifyMethod`],
//!    [`SessionState`], [`LogLevel`]) cross as `abi_stable` non-exhaustive enums. A
//!    side that receives a variant it does not know falls back as documented on each
//!    (an unknown field kind is shown as text, an unknown error kind is internal).
//! 5. Structs passed by value ([`Manifest`], [`FormField`], [`PluginError`], …) are
//!    frozen in 1.x; new data goes in new methods or in `details` key/values.
//! 6. Anything else is a breaking change and needs interface `2.0.0`; the loader
//!    refuses a plugin of another major with a message naming both versions.
//!
//! ## Compatibility
//!
//! | plugin built against | host built against | result |
//! |---|---|---|
//! | 1.0 | 1.0 | loads; every call works |
//! | 1.0 | 1.y (y > 0) | loads; methods added after 1.0 return their defaults |
//! | 1.y | 1.0 | loads; the host never calls what it does not know; unknown enum variants fall back |
//! | 2.x | 1.y | refused: `incompatible_version`, naming both versions |
//! | 1.x with a changed type but the same version | 1.y | refused: `layout_mismatch` |
//! | not built with this SDK | any | refused: `not_a_plugin` |

#![warn(missing_docs)]

pub mod abi;
mod error;
mod form;
mod guard;
mod host;
pub mod loader;
mod manifest;
pub mod plugin;
mod preflight;
mod secret;
pub mod testing;
mod verify;
mod version;

pub use error::{ErrorKind, ErrorKind_NE, PluginError};
pub use form::{
    ChoiceOption, FieldError, FieldKind, FieldKind_NE, FieldValue, FormField, FormValues, KeyValue,
};
pub use host::{Host, HostServices, LogLevel, LogLevel_NE, Settings};
pub use manifest::Manifest;
pub use plugin::{FixedSession, Integration, VerificationSession};
pub use verify::{
    AccessToken, MissingScope, SessionState, SessionState_NE, VerifiedAccount, VerifyMethod,
    VerifyMethod_NE,
};
pub use version::{INTERFACE_MAJOR, INTERFACE_VERSION};
