//! The host's side: find plugin libraries in a folder, check them, and drive them.
//!
//! Each library is checked before `dlopen` (a cut or foreign file is refused from its
//! headers), opened with `lib_header_from_path` and checked against this host's types —
//! never with the cached `RootModule::load_from*`, which hands back the first library
//! loaded for every later call. A plugin built against an older 1.x is checked in the
//! direction that fits it (see the crate docs). Every file gets its own outcome: loaded,
//! or refused with a [`Refusal`] that says why and what to do.
//!
//! Every call into a loaded plugin is bounded by the call timeout
//! ([`set_default_call_timeout`], [`IntegrationHandle::set_call_timeout`]). The call
//! runs on a worker thread that is kept for the next call (handing a call over costs a
//! few microseconds, not a thread start); calls made at the same time, such as a
//! `cancel` while a `poll` waits, each get their own worker.
//!
//! # What loading in process can and cannot contain
//!
//! A plugin runs inside the host's process, with the host's memory and rights. The
//! loader and the ABI contain what a *misbehaving* plugin does by the rules of Rust:
//!
//! - **Refused before any of its code runs**: a file that is not a library, is cut
//!   short or damaged, is built for another architecture, exports no root module, speaks
//!   another major interface version, or whose types do not match ([`Refusal`]).
//! - **Caught**: a panic in any call, in its initialisation, its manifest or its
//!   destructors comes back as an internal error; the host carries on.
//! - **Cut off**: a call that blocks or loops ends with a `timed_out` error after the
//!   call timeout; the host carries on, and the object refuses further calls until the
//!   stuck one returns (its thread is left running — it cannot be stopped from outside).
//!
//! It cannot contain what ends or corrupts the process itself. Each of these kills the
//! host with every unsaved change in it, and nothing in this crate can prevent it:
//!
//! - `abort()` — a failed C assertion, a panic in a library built with
//!   `panic = "abort"`, a panic while panicking: the process ends with `SIGABRT`;
//! - a stack overflow: Rust's runtime prints "thread '…' has overflowed its stack" and
//!   aborts (`SIGABRT`);
//! - a memory fault — a null or dangling pointer, a wild write: `SIGSEGV` or `SIGBUS`,
//!   or, worse, memory silently corrupted and the host failing later, anywhere;
//! - `exit()`, signal handlers or process-wide state changed (the working directory,
//!   environment, locale), file descriptors closed behind the host's back;
//! - memory or threads it leaks, and time it burns on its own threads.
//!
//! The end-to-end tests (`tests/tests/crashes.rs`) run the host against a plugin that
//! aborts, one that overflows its stack and one that reads through a null pointer, and
//! check that each ends the process at once by the signal named above. A host that must
//! survive plugins it does not trust should run each one in a helper process of its own
//! and talk to it over a pipe.

use std::{
    collections::HashMap,
    ffi::OsStr,
    fmt,
    path::{Path, PathBuf},
    sync::{Mutex, MutexGuard},
    time::Duration,
};

use abi_stable::{
    library::{lib_header_from_path, LibraryError, RootModuleError},
    std_types::RResult,
};

use crate::{
    abi::{
        DeliveryAbiBox, DeliveryRequestAbi, DeliveryRequestAbi_NE, HostAbiBox, IntegrationAbiBox,
        PluginModuleRef, SessionAbiBox, TokenRequestAbi,
    },
    account::{AccountHealth, TokenGrant, TokenRequest},
    bounded::{call_once, Bounded},
    delivery::{DeliveryKind, DeliveryRequest, DeliveryState},
    error::PluginError,
    form::{form_problems, FieldError, FormField, FormValues},
    host::{into_abi, HostServices},
    manifest::Manifest,
    verify::{AccessToken, SessionState, VerifyMethod, VerifyMethod_NE},
    version::INTERFACE_VERSION,
};

pub use crate::bounded::{default_call_timeout, set_default_call_timeout, DEFAULT_CALL_TIMEOUT};

/// Why a library was not loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The file is not a loadable library, or exports no ATRS plugin.
    #[error("not an ATRS plugin: {detail}")]
    NotAPlugin {
        /// What the system or the check said.
        detail: String,
    },
    /// Built against another major interface version.
    #[error("built against plugin interface {found}, but this host speaks interface {expected} (major {major} only)", major = expected.split('.').next().unwrap_or("?"))]
    IncompatibleVersion {
        /// The host's interface version.
        expected: String,
        /// The library's interface version.
        found: String,
    },
    /// Same version number, but the types differ: built against a changed SDK.
    #[error("its interface types do not match this host's: {detail}")]
    LayoutMismatch {
        /// The first lines of abi_stable's report.
        detail: String,
    },
    /// The library's initialisation panicked.
    #[error("it panicked while initialising")]
    InitPanicked,
    /// The library's initialisation returned an error.
    #[error("its initialisation failed: {detail}")]
    InitFailed {
        /// What it reported.
        detail: String,
    },
    /// The manifest could not be read or is incomplete.
    #[error("its manifest is unusable: {detail}")]
    InvalidManifest {
        /// What is wrong.
        detail: String,
    },
    /// Another library already registered this plugin id.
    #[error("plugin id `{id}` is already provided by {}", first.display())]
    DuplicateId {
        /// The id both claim.
        id: String,
        /// The library that was loaded first (and kept).
        first: PathBuf,
    },
}

impl Refusal {
    /// A stable machine name for the reason (`not_a_plugin`, `incompatible_version`, …).
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NotAPlugin { .. } => "not_a_plugin",
            Refusal::IncompatibleVersion { .. } => "incompatible_version",
            Refusal::LayoutMismatch { .. } => "layout_mismatch",
            Refusal::InitPanicked => "init_panicked",
            Refusal::InitFailed { .. } => "init_failed",
            Refusal::InvalidManifest { .. } => "invalid_manifest",
            Refusal::DuplicateId { .. } => "duplicate_id",
        }
    }

    /// What the user can do about it.
    pub fn hint(&self) -> String {
        match self {
            Refusal::NotAPlugin { .. } => {
                "Remove the file from the plugins folder, or replace it with a plugin built with atrs-host-sdk.".into()
            }
            Refusal::IncompatibleVersion { expected, .. } => format!(
                "Install a build of the plugin made with atrs-host-sdk {}.x, or a host that speaks its interface.",
                expected.split('.').next().unwrap_or("?")
            ),
            Refusal::LayoutMismatch { .. } => {
                "Rebuild the plugin against a released atrs-host-sdk; its interface was changed without a new version.".into()
            }
            Refusal::InitPanicked | Refusal::InitFailed { .. } | Refusal::InvalidManifest { .. } => {
                "This is a bug in the plugin; report it to its vendor.".into()
            }
            Refusal::DuplicateId { .. } => {
                "Keep one build of each plugin in the plugins folder and remove the other.".into()
            }
        }
    }
}

/// The result of trying one file.
#[derive(Debug)]
pub struct LoadOutcome {
    /// The file tried.
    pub path: PathBuf,
    /// The plugin, or why it was refused.
    pub result: Result<PluginLibrary, Refusal>,
}

/// A loaded, checked plugin library.
pub struct PluginLibrary {
    path: PathBuf,
    manifest: Manifest,
    module: PluginModuleRef,
}

impl fmt::Debug for PluginLibrary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginLibrary")
            .field("path", &self.path)
            .field("manifest", &self.manifest)
            .finish()
    }
}

impl PluginLibrary {
    /// Where it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What it says about itself.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Creates an integration instance lending it `services`; its calls are bounded by
    /// the [default call timeout](set_default_call_timeout).
    pub fn instantiate(
        &self,
        services: impl HostServices,
    ) -> Result<IntegrationHandle, PluginError> {
        instantiate_with(self.module.instantiate(), into_abi(services))
    }
}

/// The plugin's constructor, as the root module exports it.
type Constructor = extern "C" fn(HostAbiBox) -> RResult<IntegrationAbiBox, PluginError>;

fn instantiate_with(
    constructor: Constructor,
    host: HostAbiBox,
) -> Result<IntegrationHandle, PluginError> {
    let inner = call_once("new", move || constructor(host).into_result())?;
    Ok(IntegrationHandle {
        inner: Bounded::new(Mutex::new(inner)),
    })
}

/// Whether `path` has the file name ending of a dynamic library on this platform.
pub fn is_library_file(path: &Path) -> bool {
    path.extension() == Some(OsStr::new(std::env::consts::DLL_EXTENSION))
}

/// Loads every library in `dir` (sorted by file name), one outcome per library file.
///
/// Files without the platform's library ending are skipped. When two libraries claim
/// one plugin id, the first keeps it and the second is refused.
pub fn load_dir(dir: &Path) -> std::io::Result<Vec<LoadOutcome>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && is_library_file(p))
        .collect();
    paths.sort();
    Ok(load_all(paths))
}

/// Loads the given libraries in order, refusing later duplicates of a plugin id.
pub fn load_all(paths: impl IntoIterator<Item = PathBuf>) -> Vec<LoadOutcome> {
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    paths
        .into_iter()
        .map(|path| {
            let result = load_file(&path).and_then(|library| {
                let id = library.manifest.id.to_string();
                match seen.get(&id) {
                    Some(first) => Err(Refusal::DuplicateId {
                        id,
                        first: first.clone(),
                    }),
                    None => {
                        seen.insert(id, path.clone());
                        Ok(library)
                    }
                }
            });
            LoadOutcome { path, result }
        })
        .collect()
}

/// Loads and checks one library.
pub fn load_file(path: &Path) -> Result<PluginLibrary, Refusal> {
    crate::preflight::check(path).map_err(|e| Refusal::NotAPlugin { detail: e.0 })?;
    // The system loader searches its library path for a bare file name; an absolute
    // path makes it open exactly the file that was checked.
    let absolute = std::path::absolute(path).map_err(|e| Refusal::NotAPlugin {
        detail: format!("its path cannot be resolved ({e})"),
    })?;
    let header = lib_header_from_path(&absolute).map_err(refusal_of)?;
    let module = crate::compatibility::init_root_module(header).map_err(refusal_of)?;
    let read_manifest = module.manifest();
    let manifest = call_once("manifest", move || read_manifest().into_result()).map_err(|e| {
        Refusal::InvalidManifest {
            detail: e.message().to_owned(),
        }
    })?;
    let missing = manifest.missing_fields();
    if !missing.is_empty() {
        return Err(Refusal::InvalidManifest {
            detail: format!("empty {}", missing.join(", ")),
        });
    }
    Ok(PluginLibrary {
        path: path.to_owned(),
        manifest,
        module,
    })
}

fn refusal_of(error: LibraryError) -> Refusal {
    match error {
        LibraryError::OpenError { err, .. } => Refusal::NotAPlugin {
            detail: format!("the system could not load it ({err})"),
        },
        LibraryError::GetSymbolError {
            library, symbol, ..
        } => {
            let expected = String::from_utf8_lossy(&symbol);
            let expected = expected.trim_end_matches('\0');
            let lookalikes = crate::preflight::root_module_lookalikes(&library, expected);
            let detail = match lookalikes.first() {
                None => "it is a library, but exports no ATRS plugin root module".to_owned(),
                Some(found) => format!(
                    "it exports no root module named `{expected}`, only `{found}`, which looks like one under a mangled name (built without `export_plugin!`, or with another abi_stable)"
                ),
            };
            Refusal::NotAPlugin { detail }
        }
        LibraryError::InvalidAbiHeader(_) | LibraryError::InvalidCAbi { .. } => {
            Refusal::NotAPlugin {
                detail: "it was built with an incompatible abi_stable".into(),
            }
        }
        LibraryError::ParseVersionError(e) => Refusal::InvalidManifest {
            detail: format!("its interface version is unreadable ({e})"),
        },
        LibraryError::IncompatibleVersionNumber {
            expected_version,
            actual_version,
            ..
        } => Refusal::IncompatibleVersion {
            expected: expected_version.to_string(),
            found: actual_version.to_string(),
        },
        LibraryError::AbiInstability(e) => Refusal::LayoutMismatch {
            detail: summarize(&e.to_string()),
        },
        LibraryError::RootModule {
            err: RootModuleError::Unwound,
            ..
        } => Refusal::InitPanicked,
        LibraryError::RootModule {
            err: RootModuleError::Returned(e),
            ..
        } => Refusal::InitFailed {
            detail: e.to_string(),
        },
        other => Refusal::NotAPlugin {
            detail: other.to_string(),
        },
    }
}

/// The gist of abi_stable's (very long) layout report: what was expected, what was
/// found, and the kinds of error.
fn summarize(report: &str) -> String {
    let lines: Vec<&str> = report.lines().map(str::trim).collect();
    let described_after = |heading: &str| -> Option<String> {
        let start = lines.iter().position(|l| *l == heading)?;
        let section = &lines[start + 1..];
        let ty = section.iter().find_map(|l| l.strip_prefix("type:"))?;
        let package = section
            .iter()
            .find_map(|l| l.strip_prefix("package:"))
            .unwrap_or("?");
        Some(format!("{ty} ({})", package.replace('\'', "")))
    };
    let mut errors: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("Error:"))
        .collect();
    errors.dedup();
    match (
        described_after("Layout of expected type:"),
        described_after("Layout of found type:"),
    ) {
        (Some(expected), Some(found)) => {
            format!("expected {expected}, found {found}: {}", errors.join("; "))
        }
        _ => lines
            .iter()
            .filter(|l| !l.is_empty())
            .take(4)
            .copied()
            .collect::<Vec<_>>()
            .join(" | "),
    }
}

/// The host's handle to one integration instance.
///
/// Every call is bounded by the call timeout (see [`set_default_call_timeout`]): a
/// plugin that does not answer in time yields a `timed_out` error, and while that call
/// is still running every later call fails at once, naming it.
pub struct IntegrationHandle {
    inner: Bounded<Mutex<IntegrationAbiBox>>,
}

impl fmt::Debug for IntegrationHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IntegrationHandle { .. }")
    }
}

/// The instance behind the lock that makes it shareable with a worker thread.
fn instance(lock: &Mutex<IntegrationAbiBox>) -> MutexGuard<'_, IntegrationAbiBox> {
    // Calls are guarded inside the plugin, so a poisoned lock holds a usable instance.
    lock.lock().unwrap_or_else(|p| p.into_inner())
}

impl IntegrationHandle {
    /// How long each call may take (`None`: no limit).
    pub fn call_timeout(&self) -> Option<Duration> {
        self.inner.timeout()
    }

    /// Changes how long each call, and each call on sessions started later, may take.
    pub fn set_call_timeout(&mut self, timeout: Option<Duration>) {
        self.inner.set_timeout(timeout);
    }

    /// The name of a call that timed out and is still running inside the plugin.
    pub fn stuck_call(&self) -> Option<&'static str> {
        self.inner.stuck_call()
    }

    /// The form fields, in display order.
    ///
    /// A malformed form (an empty or repeated key, a choice without options) is refused
    /// with an internal error that lists every problem: values could not be told apart.
    pub fn describe(&self) -> Result<Vec<FormField>, PluginError> {
        let fields = self.describe_unchecked()?;
        let problems = form_problems(&fields);
        if problems.is_empty() {
            return Ok(fields);
        }
        let mut error = PluginError::internal(format!(
            "The plugin described a malformed form: {}.",
            problems.join("; ")
        ))
        .with_hint("This is a bug in the plugin; report it to its vendor. `atrs-test-host check <library>` shows it too.");
        for problem in problems {
            error = error.with_detail("form_problem", problem);
        }
        Err(error)
    }

    /// The form fields exactly as the plugin sent them, without the checks of
    /// [`IntegrationHandle::describe`]: for conformance tools.
    pub fn describe_unchecked(&self) -> Result<Vec<FormField>, PluginError> {
        self.inner.call("describe", Duration::ZERO, |i| {
            Ok(instance(i).describe().into_result()?.into_vec())
        })
    }

    /// Per-field problems with `values`.
    pub fn validate(&self, values: &FormValues) -> Result<Vec<FieldError>, PluginError> {
        let values = values.clone();
        self.inner.call("validate", Duration::ZERO, move |i| {
            Ok(instance(i).validate(&values).into_result()?.into_vec())
        })
    }

    /// Starts verifying `values` with `method`.
    pub fn start_verification(
        &mut self,
        values: &FormValues,
        method: VerifyMethod,
    ) -> Result<SessionHandle, PluginError> {
        let values = values.clone();
        let session = self
            .inner
            .call("start_verification", Duration::ZERO, move |i| {
                instance(i)
                    .start_verification(&values, VerifyMethod_NE::new(method))
                    .into_result()
            })?;
        let mut inner = Bounded::new(session);
        inner.set_timeout(self.inner.timeout());
        Ok(SessionHandle { inner })
    }

    /// Saves `values` (refused unless exactly these values were verified).
    pub fn save(&mut self, values: &FormValues) -> Result<(), PluginError> {
        let values = values.clone();
        self.inner.call("save", Duration::ZERO, move |i| {
            instance(i).save(&values).into_result()
        })
    }

    /// The saved values of `account`, secrets left out.
    pub fn load_account(&self, account: &str) -> Result<FormValues, PluginError> {
        let account = account.to_owned();
        self.inner.call("load_account", Duration::ZERO, move |i| {
            instance(i)
                .load_account(account.as_str().into())
                .into_result()
        })
    }

    /// Deletes `account` and its secrets.
    pub fn remove_account(&mut self, account: &str) -> Result<(), PluginError> {
        let account = account.to_owned();
        self.inner.call("remove_account", Duration::ZERO, move |i| {
            instance(i)
                .remove_account(account.as_str().into())
                .into_result()
        })
    }

    /// An access token for the saved `account`.
    pub fn access_token(&self, account: &str) -> Result<AccessToken, PluginError> {
        let account = account.to_owned();
        self.inner.call("access_token", Duration::ZERO, move |i| {
            instance(i)
                .access_token(account.as_str().into())
                .into_result()
        })
    }

    /// Added in 1.1: an access token for the saved `account` (from the plugin's cache,
    /// or refreshed). A 1.0 plugin answers `unsupported`.
    pub fn token(&self, account: &str, request: &TokenRequest) -> Result<TokenGrant, PluginError> {
        let account = account.to_owned();
        let request = TokenRequestAbi::from(request);
        self.inner.call("token", Duration::ZERO, move |i| {
            Ok(instance(i)
                .token(account.as_str().into(), &request)
                .into_result()?
                .into())
        })
    }

    /// Added in 1.1: how the saved `account` stands. A 1.0 plugin answers
    /// `unsupported`.
    pub fn account_health(&self, account: &str) -> Result<AccountHealth, PluginError> {
        let account = account.to_owned();
        self.inner.call("account_health", Duration::ZERO, move |i| {
            Ok(instance(i)
                .account_health(account.as_str().into())
                .into_result()?
                .into())
        })
    }

    /// Added in 1.1: saves `values` in place of the saved account `previous` (a rename
    /// is a move). A 1.0 plugin, which lacks the call, gets [`IntegrationHandle::save`]
    /// and then, when the name changed, [`IntegrationHandle::remove_account`].
    pub fn save_replacing(
        &mut self,
        values: &FormValues,
        previous: &str,
    ) -> Result<(), PluginError> {
        let owned = values.clone();
        let previous_owned = previous.to_owned();
        let result = self.inner.call("save_replacing", Duration::ZERO, move |i| {
            instance(i)
                .save_replacing(&owned, previous_owned.as_str().into())
                .into_result()
        });
        match result {
            Err(e) if is_missing_call(&e) => {
                self.save(values)?;
                if values.get_trimmed(crate::form::ACCOUNT_NAME) != Some(previous) {
                    self.remove_account(previous)?;
                }
                Ok(())
            }
            other => other,
        }
    }

    /// Added in 1.1: the kinds of delivery the integration offers (none for a 1.0
    /// plugin, or when the call fails).
    pub fn delivery_kinds(&self) -> Vec<DeliveryKind> {
        self.inner
            .call("delivery_kinds", Duration::ZERO, |i| {
                Ok(instance(i)
                    .delivery_kinds()
                    .into_iter()
                    .filter_map(|k| k.as_enum().ok().copied())
                    .collect())
            })
            .unwrap_or_default()
    }

    /// Added in 1.1: starts delivering `request` through the saved `account`.
    pub fn start_delivery(
        &self,
        account: &str,
        request: &DeliveryRequest,
    ) -> Result<DeliveryHandle, PluginError> {
        let account = account.to_owned();
        let request = DeliveryRequestAbi_NE::new(DeliveryRequestAbi::try_from(request)?);
        let job = self
            .inner
            .call("start_delivery", Duration::ZERO, move |i| {
                instance(i)
                    .start_delivery(account.as_str().into(), &request)
                    .into_result()
            })?;
        let mut inner = Bounded::new(job);
        inner.set_timeout(self.inner.timeout());
        Ok(DeliveryHandle { inner })
    }

    /// Added in 1.2: where users read how to set the integration up; `None` from
    /// plugins built against 1.0 or 1.1, which lack the call (or when it fails).
    pub fn help_url(&self) -> Option<String> {
        self.inner
            .call("help_url", Duration::ZERO, |i| {
                Ok(instance(i).help_url().into_option().map(String::from))
            })
            .ok()
            .flatten()
    }

    /// Discards unsaved changes.
    pub fn close(&mut self) -> Result<(), PluginError> {
        self.inner.call("close", Duration::ZERO, |i| {
            instance(i).close().into_result()
        })
    }
}

/// The host's handle to a running verification; share it (`Arc`) to cancel from
/// another thread. Calls are bounded like the integration's that started it.
pub struct SessionHandle {
    inner: Bounded<SessionAbiBox>,
}

impl fmt::Debug for SessionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionHandle { .. }")
    }
}

impl SessionHandle {
    /// Waits up to `timeout` for a change, then returns the current state.
    ///
    /// A state this host does not know is reported as [`SessionState::Working`]; a
    /// plugin that does not answer within `timeout` plus the call timeout ends the
    /// session as [`SessionState::Failed`] with a `timed_out` error.
    pub fn poll(&self, timeout: Duration) -> SessionState {
        let millis = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        let state = self.inner.call("poll", timeout, move |s| {
            Ok(s.poll(millis)
                .as_enum()
                .cloned()
                .unwrap_or_else(|_| SessionState::Working {
                    message: "Working… (this plugin reports a state this host does not know)"
                        .into(),
                }))
        });
        state.unwrap_or_else(SessionState::failed)
    }

    /// Hands over the address the user pasted.
    pub fn submit(&self, pasted: &str) -> Result<(), PluginError> {
        let pasted = pasted.to_owned();
        self.inner.call("submit", Duration::ZERO, move |s| {
            s.submit(pasted.as_str().into()).into_result()
        })
    }

    /// Stops the verification at once. Tried even while another call is stuck, since
    /// cancelling may be what unblocks it.
    pub fn cancel(&self) {
        let _ = self
            .inner
            .call_even_if_stuck("cancel", Duration::ZERO, |s| {
                s.cancel();
                Ok(())
            });
    }
}

/// The state a host shows for a delivery state it does not know.
fn unknown_delivery_state() -> DeliveryState {
    DeliveryState::Running {
        message: "Delivering… (this plugin reports a state this host does not know)".into(),
        bytes_sent: 0,
        bytes_total: 0,
    }
}

/// Whether `error` is the default answer of a call the plugin was built without.
fn is_missing_call(error: &PluginError) -> bool {
    error.kind() == crate::ErrorKind::Unsupported
        && error.details().any(|(k, _)| k == "missing_call")
}

/// The host's handle to a running delivery (added in 1.1); share it (`Arc`) to cancel
/// from another thread. Calls are bounded like the integration's that started it.
pub struct DeliveryHandle {
    inner: Bounded<DeliveryAbiBox>,
}

impl fmt::Debug for DeliveryHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeliveryHandle { .. }")
    }
}

impl DeliveryHandle {
    /// Waits up to `timeout` for progress, then returns the current state.
    ///
    /// A state this host does not know is reported as still running; a plugin that
    /// does not answer within `timeout` plus the call timeout ends the delivery as
    /// [`DeliveryState::Failed`] with a `timed_out` error.
    pub fn poll(&self, timeout: Duration) -> DeliveryState {
        let millis = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        let state = self.inner.call("poll", timeout, move |d| {
            Ok(d.poll(millis)
                .into_enum()
                .map(DeliveryState::from)
                .unwrap_or_else(|_| unknown_delivery_state()))
        });
        state.unwrap_or_else(DeliveryState::Failed)
    }

    /// Stops the delivery at once. Tried even while another call is stuck.
    pub fn cancel(&self) {
        let _ = self
            .inner
            .call_even_if_stuck("cancel", Duration::ZERO, |d| {
                d.cancel();
                Ok(())
            });
    }
}

/// Creates an instance of the in-process integration `T`, through the same ABI adapter
/// a loaded library uses: for host tests and hosts that link a plugin statically.
pub fn instantiate_in_process<T: crate::Integration>(
    services: impl HostServices,
) -> Result<IntegrationHandle, PluginError> {
    let module = crate::plugin::root_module_for::<T>();
    instantiate_with(module.instantiate(), into_abi(services))
}

/// The manifest of the in-process integration `T`, as a host would read it.
pub fn manifest_in_process<T: crate::Integration>() -> Result<Manifest, PluginError> {
    let module = crate::plugin::root_module_for::<T>();
    (module.manifest())().into_result()
}

/// The interface version this host speaks, for messages.
pub fn host_interface_version() -> &'static str {
    INTERFACE_VERSION
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_file_named_like_a_library_is_not_a_plugin() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir
            .path()
            .join(format!("fake.{}", std::env::consts::DLL_EXTENSION));
        std::fs::write(&fake, b"this is not ELF").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"ignored").unwrap();
        let outcomes = load_dir(dir.path()).unwrap();
        assert_eq!(outcomes.len(), 1, "only library files are tried");
        let refusal = outcomes[0].result.as_ref().unwrap_err();
        assert_eq!(refusal.code(), "not_a_plugin");
        assert!(
            refusal.to_string().contains("not an ELF shared library"),
            "{refusal}"
        );
    }

    #[test]
    fn layout_reports_are_summarized_to_their_gist() {
        let report = "Compared <this>:\n  type:PrefixRef\nLayout of expected type:\n    type:PluginModule\n    package:'atrs-host-sdk' version:'1.0.0'\nLayout of found type:\n    type:SkewedModule\n    package:'fixture' version:'0.1.0'\nError:mismatched type\nError:mismatched type\n";
        assert_eq!(
            summarize(report),
            "expected PluginModule (atrs-host-sdk version:1.0.0), found SkewedModule (fixture version:0.1.0): mismatched type"
        );
        assert_eq!(summarize("a\n\nb"), "a | b");
    }

    #[test]
    fn handles_can_move_to_other_threads() {
        fn send_sync<T: Send + Sync>() {}
        fn send<T: Send>() {}
        send_sync::<SessionHandle>();
        send::<IntegrationHandle>();
        send::<PluginLibrary>();
    }

    #[test]
    fn refusal_messages_name_both_versions() {
        let r = Refusal::IncompatibleVersion {
            expected: "1.0.0".into(),
            found: "2.0.0".into(),
        };
        let text = r.to_string();
        assert!(text.contains("2.0.0") && text.contains("1.0.0"), "{text}");
        assert!(r.hint().contains("1.x"));
    }
}
