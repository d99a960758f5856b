//! # atrs-host-sdk — the stable ABI between ATRS hosts and integration plugins
//!
//! A plugin is a `cdylib` that implements [`Integration`] and calls
//! [`export_plugin!`] once. A host loads it at run time with `loader` (the `host` feature). Both sides
//! compile against this crate only; the ABI is checked by `abi_stable` when loading.
//!
//! ## A complete plugin
//!
//! This is `examples/hello_plugin.rs`, the template to copy (it is compiled as a test
//! of these docs, and built and loaded by the end-to-end tests):
//!
//! ```
#![doc = include_str!("../examples/hello_plugin.rs")]
//! # fn main() {}
//! ```
//!
//! ## Write your first plugin
//!
//! 1. `cargo new --lib my-plugin`, then in its `Cargo.toml`:
//!    ```toml
//!    [lib]
//!    crate-type = ["cdylib"]
//!
//!    [dependencies]
//!    atrs-host-sdk = "1"
//!    abi_stable = "0.11"   # the export attribute names it
//!    ```
//! 2. Copy the plugin above into `src/lib.rs` and make it yours: a unique lower-case
//!    `id` in the [`Manifest`]; the fields in `describe` (mark anything secret
//!    [`FieldKind::Secret`], give every key once; the default `validate` already
//!    names empty required fields); the ways you verify in
//!    [`Integration::verify_methods`] (a code, a browser sign-in, or
//!    [`VerifyMethod::Direct`] — a test request with nobody signing in; the host
//!    offers only these); your verification in `start_verification`, written as
//!    straight-line code in [`session::Session::spawn`] — report with
//!    `working` / `show_code` / `open_browser`, wait with `pause` / `wait_for_paste`
//!    (they end at once when the host cancels), hand
//!    [`session::Reporter::cancel_token`] to your threads and requests so they end
//!    within [`session::CANCEL_WAIT`] too ([`cancel`] shows how with a blocking HTTP
//!    client), return a [`session::Success`]. Keep your accounts with a
//!    [`FormStore`] ([`Integration::form_store`]): `save` refuses values that were
//!    not verified, Edit and Re-verify keep a saved secret unless a new one is typed,
//!    a rename is one transaction — or implement `save`, `load_account` and
//!    `remove_account` through [`Host`] yourself; never in files of your own.
//!    Deliveries: [`Integration::delivery_kinds`], and [`delivering::Delivery::spawn`]
//!    in `start_delivery`. Calls may come from any thread; a panic becomes an
//!    internal error for the host, but is still a bug.
//!
//!    `examples/webhook_plugin` is the second example: no sign-in (a signed test
//!    request), files pushed to an endpoint ([`DeliveryKind::Push`]), and a blocking
//!    HTTP client that a cancel ends at once.
//! 3. `cargo build --release`, then try it with the reference host:
//!    `atrs-test-host check target/release/libmy_plugin.so` runs the conformance
//!    checks (form, validation, cancelling, closing, no panics on odd input, secrets)
//!    and says how to fix each failure (`--set KEY=VALUE` gives the values a
//!    verification needs; the `atrs-conformance` crate runs the same checks from your
//!    `cargo test`, building your library first with `build_this_cdylib`); `atrs-test-host --plugins-dir target/release
//!    plugins` lists it, and `form`, `validate`, `add` and the menu drive it.
//!
//! ## Two sides, two surfaces
//!
//! | you write | you use | turn on |
//! |---|---|---|
//! | a plugin | the crate root ([`prelude`]): [`Integration`], [`export_plugin!`], the form, error, verification, account and delivery types, [`session`], [`VerifiedValues`], [`Host`]; [`testing`] for unit tests; the `atrs-conformance` crate for the host's checks in your `cargo test` | nothing |
//! | a host | `loader` (load a folder, bounded calls into plugins, handles for sessions and deliveries, `CallFailure` to tell the host's own timeouts from the plugin's) and [`HostServices`] | the `host` feature |
//!
//! [`abi`] is what crosses the boundary; neither side writes its types by hand.
//!
//! ## What crosses the boundary
//!
//! | item | direction | type |
//! |---|---|---|
//! | root module: manifest + constructor | plugin → host | [`abi::PluginModule`] (prefix type) |
//! | integration: describe, validate, start verification, save, load, remove, access token, close | host → plugin | [`abi::IntegrationAbi`] (`sabi_trait`) |
//! | *1.1:* token (cache or refresh), account health, save replacing (rename), delivery kinds, start delivery | host → plugin | [`abi::IntegrationAbi`], after the 1.0 cut |
//! | verification session: poll, submit pasted text, cancel | host → plugin | [`abi::SessionAbi`] (`sabi_trait`) |
//! | *1.1:* delivery job: poll (progress, receipt), cancel | host → plugin | [`abi::DeliveryAbi`] (`sabi_trait`) |
//! | host services: log, open URL, settings store, secrets store | plugin → host | [`abi::HostAbi`] (`sabi_trait`) |
//! | *1.1:* one-transaction account write (and rename), locks shared across processes | plugin → host | [`abi::HostAbi`], after the 1.0 cut |
//! | *1.2:* verification methods offered, settings display | host → plugin | [`abi::IntegrationAbi`], after the 1.1 methods |
//! | *1.2:* whether a session had ended before the cancel | host → plugin | [`abi::SessionAbi`], after the 1.0 cut |
//! | *1.2:* store generation | plugin → host | [`abi::HostAbi`], after the 1.1 methods |
//! | *1.2:* [`VerifyMethod::Direct`], [`DeliveryKind::Push`] with [`PushRequest`], [`HealthState::CredentialExpired`], [`ShownAs`] | both | variants appended to the non-exhaustive enums |
//! | errors | both | [`PluginError`] (kind, message, hint, field, provider code, trace and correlation ids) |
//!
//! Every exported call, on both sides, catches panics and returns an internal
//! [`PluginError`] instead: nothing unwinds or aborts across the boundary. The host
//! side bounds every call by a timeout (`loader::set_default_call_timeout`), so a
//! plugin that blocks costs the host one abandoned thread, not its responsiveness.
//!
//! ## What hosts show
//!
//! - **Verify**: the first of [`Integration::verify_methods`] as "Verify", the others
//!   under "Verify ▾" ("With a Code", "With Browser", "Directly"). The result line is
//!   [`VerifiedAccount::headline`]: "signed in as Adele Vance (adele@contoso.com) in
//!   tenant …", or for a direct verification "connected to … (…)"
//!   ([`VerifiedAccount::connection`]). Each missing permission follows on its own
//!   line with its hint.
//! - **Saved settings**: under the labels of [`Integration::settings_display`]; a
//!   [`ShownAs::Date`] (Unix seconds) as a local date and how long ago or until, a
//!   [`ShownAs::Url`] as an address to open, [`ShownAs::Hidden`] only when the user
//!   asks for everything. Settings not described: under their own key, a `*_at`
//!   number as a date ([`SettingDisplay::fallback`]). Secrets are never shown.
//! - **Health** ([`AccountHealth`]): the state in words (healthy, expiring soon,
//!   needs sign-in again, app credential expired), the plugin's reason and fix, and
//!   its dates as local dates.
//! - **Receipts** ([`DeliveryReceipt`]): the summary line, then the id, the web
//!   address to open, and each detail (request ids for support).
//! - **Errors**: the message, then the hint as "fix:", the provider code; the field
//!   is highlighted in a form.
//!
//! ## Evolution rules
//!
//! The interface version is [`INTERFACE_VERSION`] (`1.2.0`), set by hand. Within
//! major version 1:
//!
//! 1. New methods go **after** the method marked `#[sabi(last_prefix_field)]` in a
//!    trait, and new fields after the marked field of the root module — never
//!    between, never removed, never reordered.
//! 2. Every method added after 1.0 has a default body in [`Integration`] /
//!    [`VerificationSession`] and in the ABI trait. A host calling it on a plugin
//!    built before it existed runs that default; a host built before it existed
//!    never calls it.
//! 3. Root-module fields added after 1.0 are read through the optional accessors the
//!    prefix type generates; a host treats a missing one as "not supported".
//! 4. Enums that may grow ([`ErrorKind`], [`FieldKind`], [`VerifyMethod`],
//!    [`SessionState`], [`LogLevel`], [`HealthState`], [`DeliveryKind`], [`ShownAs`])
//!    cross as `abi_stable` non-exhaustive enums and only gain variants at the end. A
//!    side that receives a variant it does not know falls back as documented on each
//!    (an unknown field kind is shown as text, an unknown error kind is internal, an
//!    unknown method is unsupported or not offered, an unknown health state is
//!    expiring soon, an unknown delivery kind is not offered, an unknown display is
//!    text).
//! 5. Structs passed by value ([`Manifest`], [`FormField`], [`PluginError`], …) are
//!    frozen in 1.x; new data goes in new methods or in `details` key/values.
//! 6. Anything else is a breaking change and needs interface `2.0.0`; the loader
//!    refuses a plugin of another major with a message naming both versions.
//! 7. Each released minor version is frozen in `tests/compat/` (`sdk-1.0`,
//!    `sdk-1.1`, `sdk-1.2`); the compatibility matrix builds hosts and plugins
//!    against the frozen copies and the live crate and loads every pairing.
//!
//! `abi_stable` on its own only accepts a library built against the same or a *newer*
//! minor version than the host. The loader also accepts an *older* one, after checking
//! the layouts the other way round — the host's types must extend the plugin's — which
//! rules 1–4 guarantee (see `compatibility.rs`).
//!
//! ## Compatibility
//!
//! What the matrix (`tests/tests/compat_matrix.rs`) proves with separately built
//! binaries — 1.0, 1.1 and 1.2 as released (frozen in `tests/compat/sdk-1.0`,
//! `sdk-1.1`, `sdk-1.2`), a stand-in "next minor" 1.3 (1.2 plus one appended method
//! and one appended field kind), and the plugins built with this crate:
//!
//! | plugin built against | host built against | result |
//! |---|---|---|
//! | 1.0 | 1.0 | loads; every call works |
//! | 1.x | 1.y (y > x) | loads; methods added after 1.x return their defaults (1.1 calls: `unsupported` with detail `missing_call`, no delivery kinds; 1.2: `verify_methods` device code and browser, no `settings_display`, `ended_before_cancel` false) |
//! | 1.y | 1.x (y > x) | loads; the host never calls what it does not know; unknown enum variants fall back (a `credential_expired` health shows as expiring soon, a `push` delivery kind is not listed, a URL field is text); host services it lacks answer their defaults (`account_write`: separate writes; `store_generation`: none) |
//! | 1.x and 1.y side by side | 1.z | all load, in any order |
//! | 2.x | 1.y | refused: `incompatible_version`, naming both versions |
//! | 1.x with a changed type but the same version | 1.y | refused: `layout_mismatch` |
//! | not built with this SDK | any | refused: `not_a_plugin` |

#![warn(missing_docs)]

pub mod abi;
mod account;
#[cfg(feature = "host")]
mod answer;
#[cfg(feature = "host")]
mod bounded;
#[cfg(feature = "host")]
mod call_failure;
pub mod cancel;
#[cfg(feature = "host")]
mod compatibility;
pub mod delivering;
mod delivery;
mod error;
mod form;
mod form_store;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod guard;
mod host;
#[cfg(feature = "host")]
pub mod loader;
mod log_level;
mod manifest;
pub mod plugin;
#[cfg(feature = "host")]
mod plugin_file;
#[cfg(feature = "host")]
mod preflight;
mod secret;
pub mod session;
mod setting_display;
#[cfg(feature = "host")]
pub mod signing;
pub mod testing;
mod verified_values;
mod verify;
mod version;
#[cfg(feature = "host")]
mod workers;

pub use account::{AccountHealth, HealthState, TokenGrant, TokenRequest, TokenSource};
pub use delivery::{
    Attachment, ConflictBehavior, DeliveryJob, DeliveryKind, DeliveryReceipt, DeliveryRequest,
    DeliveryState, FileRequest, MailRequest, PushRequest,
};
pub use error::{ErrorKind, PluginError};
pub use form::{
    form_problems, ChoiceOption, FieldError, FieldKind, FieldValue, FormField, FormValues,
    KeyValue, ACCOUNT_NAME,
};
pub use form_store::FormStore;
pub use host::{Host, HostLock, HostServices, Secrets, Settings};
pub use log_level::LogLevel;
pub use manifest::Manifest;
pub use plugin::{form_checks, FixedSession, Integration, VerificationSession};
pub use setting_display::{SettingDisplay, ShownAs};
pub use verified_values::VerifiedValues;
pub use verify::{AccessToken, MissingScope, SessionState, VerifiedAccount, VerifyMethod};
pub use version::{INTERFACE_MAJOR, INTERFACE_VERSION};

/// Everything an integration's author uses, in one import:
/// `use atrs_host_sdk::prelude::*;`.
///
/// By concern: the plugin ([`Integration`], [`export_plugin!`], [`Manifest`], [`Host`]
/// and its [`Settings`], [`Secrets`], [`HostLock`], [`LogLevel`]); the form
/// ([`FormField`], [`FieldKind`], [`ChoiceOption`], [`FormValues`], [`FieldValue`],
/// [`FieldError`], [`form_checks`], [`form_problems`], [`ACCOUNT_NAME`]); errors
/// ([`PluginError`], [`ErrorKind`], [`KeyValue`]); verification ([`VerifyMethod`],
/// [`session::Session`], [`session::Reporter`], [`session::Success`],
/// [`session::FlowGuard`], [`VerificationSession`], [`FixedSession`],
/// [`SessionState`], [`VerifiedAccount`], [`VerifiedValues`]); cancelling
/// ([`cancel::CancelToken`], [`session::CANCEL_WAIT`]); storage by default
/// ([`FormStore`]); the saved account ([`AccessToken`], [`MissingScope`],
/// [`TokenRequest`], [`TokenSource`], [`TokenGrant`], [`AccountHealth`],
/// [`HealthState`], [`SettingDisplay`], [`ShownAs`]); delivery ([`DeliveryKind`],
/// [`DeliveryRequest`], [`MailRequest`], [`Attachment`], [`FileRequest`],
/// [`PushRequest`], [`ConflictBehavior`], [`DeliveryJob`], [`DeliveryState`],
/// [`DeliveryReceipt`], [`delivering::Delivery`], [`delivering::Progress`]). Unit tests
/// add [`testing`].
pub mod prelude {
    pub use crate::cancel::CancelToken;
    pub use crate::delivering::{Delivery, Progress};
    pub use crate::session::{FlowGuard, Reporter, Session, Success, CANCEL_WAIT};
    pub use crate::{
        export_plugin, form_checks, form_problems, AccessToken, AccountHealth, Attachment,
        ChoiceOption, ConflictBehavior, DeliveryJob, DeliveryKind, DeliveryReceipt,
        DeliveryRequest, DeliveryState, ErrorKind, FieldError, FieldKind, FieldValue, FileRequest,
        FixedSession, FormField, FormStore, FormValues, HealthState, Host, HostLock, Integration,
        KeyValue, LogLevel, MailRequest, Manifest, MissingScope, PluginError, PushRequest, Secrets,
        SessionState, SettingDisplay, Settings, ShownAs, TokenGrant, TokenRequest, TokenSource,
        VerificationSession, VerifiedAccount, VerifiedValues, VerifyMethod, ACCOUNT_NAME,
    };
}
