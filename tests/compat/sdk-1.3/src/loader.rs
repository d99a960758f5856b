//! The host's side: find plugin libraries in a folder, check them, and drive them.
//!
//! Each library is opened once and checked through that open file before `dlopen`: who
//! may have changed it (it, and the plugins folder, must be owned by the host's user or
//! root and writable by no one else; a symbolic link is refused, not followed), its
//! vendor's signature when the host trusts vendor keys ([`load_dir_trusting`]), and its
//! headers (a cut or foreign file is refused). Then that same open file is loaded — on
//! Linux as `/proc/self/fd/N`, so a file swapped under its name in between is never the
//! one that runs (elsewhere by its path again; see [`Untrusted`] for each platform) —
//! with `lib_header_from_path`, and checked against this host's types — never with the
//! cached `RootModule::load_from*`, which hands back the first library loaded for every
//! later call. A plugin built against an older 1.x is checked in the direction that fits
//! it (see the crate docs). Every file gets its own outcome: loaded, or refused with a
//! [`Refusal`] that says why and what to do.
//!
//! Every call into a loaded plugin is bounded by the call timeout
//! ([`set_default_call_timeout`], [`IntegrationHandle::set_call_timeout`]), and so is
//! the library's initialisation (its root module's constructor: one that never returns
//! is refused as [`Refusal::InitTimedOut`]). The call
//! runs on a worker thread that is kept for the next call (handing a call over costs a
//! few microseconds, not a thread start); calls made at the same time, such as a
//! `cancel` while a `poll` waits, each get their own worker.
//!
//! # What loading in process can and cannot contain
//!
//! A plugin runs inside the host's process, with the host's memory and rights. The
//! loader and the ABI contain what a *misbehaving* plugin does by the rules of Rust:
//!
//! - **Refused before it is opened**, so none of its code runs: a library that is a
//!   symbolic link, or that another user could have changed (writable by group or
//!   others, owned by another user than the host's or root; the same for the plugins
//!   folder), and — with trusted vendor keys — one that is unsigned, changed after
//!   signing or signed by an unknown vendor; and a file that is not a library, is cut
//!   short or damaged, or is built for another architecture.
//! - **Refused after it is opened**: a library that exports no root module, speaks
//!   another major interface version, or whose types do not match ([`Refusal`]). Its
//!   ELF constructors (`.init_array`, C++ static initialisers, `#[ctor]`) have already
//!   run by then: the system loader runs them inside `dlopen`, before any check after it
//!   can look, and nothing can stop them. The checks on who may write the files and
//!   signing are what keep foreign code out; the checks after `dlopen` only keep out
//!   libraries built for another host. (A constructor that never returns also hangs
//!   `dlopen`, which holds the system loader's lock: that cannot be bounded in
//!   process.)
//! - **Caught**: a panic in any call, in its initialisation, its manifest or its
//!   destructors comes back as an internal error; the host carries on.
//! - **Cut off**: a call that blocks or loops ends with a `timed_out` error after the
//!   call timeout; the host carries on, and the object refuses further calls until the
//!   stuck one returns (its thread is left running — it cannot be stopped from outside).
//!   Such an error has the same kind as the plugin's own `timed_out` (an expired code);
//!   [`CallFailure::of`] tells them apart, and a plugin cannot forge the host's mark.
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
    sync::{
        atomic::{AtomicUsize, Ordering},
        Mutex, MutexGuard,
    },
    time::Duration,
};

use abi_stable::{
    library::{lib_header_from_path, LibraryError, RootModuleError},
    std_types::{RBox, RResult},
};

use crate::{
    abi::{
        DeliveryAbiBox, DeliveryRequestAbi, DeliveryRequestAbi_NE, HostAbiBox, IntegrationAbiBox,
        PluginModuleRef, SessionAbiBox, TokenRequestAbi,
    },
    account::{AccountHealth, TokenGrant, TokenRequest},
    bounded::{call_once, Bounded},
    call_failure,
    delivery::{DeliveryKind, DeliveryRequest, DeliveryState},
    error::PluginError,
    form::{form_problems, FieldError, FormField, FormValues},
    host::{into_abi, HostServices},
    manifest::Manifest,
    verify::{AccessToken, SessionState, VerifyMethod, VerifyMethod_NE},
    version::INTERFACE_VERSION,
};

pub use crate::bounded::{default_call_timeout, set_default_call_timeout, DEFAULT_CALL_TIMEOUT};
pub use crate::call_failure::CallFailure;
pub use crate::plugin_file::{Untrusted, UntrustedFolder};

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
    /// The host trusts vendor keys and the library has no signature beside it
    /// ([`load_dir_trusting`]); it was not opened.
    #[error("it is not signed, and this host loads only plugins signed by a trusted vendor")]
    Unsigned,
    /// The library's signature does not verify; it was not opened.
    #[error("its signature is not valid: {detail}")]
    BadSignature {
        /// What failed.
        detail: String,
    },
    /// Signed by a key the host does not trust; it was not opened.
    #[error("it is signed with vendor key {key_id}, which this host does not trust")]
    UnknownVendor {
        /// The key that signed it (minisign's notation).
        key_id: String,
    },
    /// The file is a symbolic link, not a regular file, writable by group or others, or
    /// owned by another user than the host's (root excepted); it was not opened (see
    /// [`Untrusted`]).
    #[error("it may not be trusted: {problem}")]
    UntrustedFile {
        /// What is wrong with it.
        problem: Untrusted,
    },
    /// The library's initialisation (its root module's constructor) did not return
    /// within the call timeout; the host went on without it.
    #[error("its initialisation did not return within {} s", limit.as_secs_f64())]
    InitTimedOut {
        /// How long the host waited.
        limit: Duration,
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
            Refusal::Unsigned => "unsigned",
            Refusal::BadSignature { .. } => "bad_signature",
            Refusal::UnknownVendor { .. } => "unknown_vendor",
            Refusal::UntrustedFile { .. } => "untrusted_file",
            Refusal::InitTimedOut { .. } => "init_timed_out",
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
            Refusal::Unsigned => format!(
                "Install the vendor's signed build (its signature file, LIBRARY.{}, goes beside the library), or remove the library.",
                crate::signing::SIGNATURE_SUFFIX
            ),
            Refusal::BadSignature { .. } => {
                "Do not use this file: it was changed after its vendor signed it (or the signature is damaged). Reinstall the plugin from its vendor.".into()
            }
            Refusal::UnknownVendor { .. } => {
                "If you trust this vendor, add its public key to the trusted keys file; otherwise remove the library.".into()
            }
            Refusal::UntrustedFile { problem } => problem.fix(false),
            Refusal::InitTimedOut { .. } => {
                "This is a bug in the plugin (its initialisation does not return); report it to its vendor, and remove the library until it is fixed.".into()
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
/// one plugin id, the first keeps it and the second is refused. No signature is checked:
/// see [`load_dir_trusting`].
pub fn load_dir(dir: &Path) -> std::io::Result<Vec<LoadOutcome>> {
    load_dir_trusting(dir, None)
}

/// [`load_dir`], and with `trusted` vendor keys only libraries whose detached signature
/// ([`crate::signing`]) verifies against one of them: the others are refused
/// ([`Refusal::Unsigned`], [`Refusal::BadSignature`], [`Refusal::UnknownVendor`]) before
/// they are opened, so none of their code runs.
pub fn load_dir_trusting(
    dir: &Path,
    trusted: Option<&crate::signing::TrustedKeys>,
) -> std::io::Result<Vec<LoadOutcome>> {
    Ok(load_all_trusting(library_paths(dir)?, trusted))
}

/// The library files [`load_dir`] would load from `dir`, sorted by file name, after the
/// same check of the folder (who may change it); nothing is opened.
pub fn library_paths(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    crate::plugin_file::check_folder(dir)?;
    // Every entry with a library's name is tried, links included: a link is refused
    // with its reason rather than skipped without a word.
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| is_library_file(p) && !p.is_dir())
        .collect();
    paths.sort();
    Ok(paths)
}

/// Loads the given libraries, refusing later duplicates of a plugin id.
///
/// Each file is checked as [`load_dir`] checks the files of its folder ([`Untrusted`]);
/// the folders they are in are not (that is [`load_dir`]'s check).
///
/// The files are checked and opened on a few threads at once — most of the time goes
/// to comparing each library's type layouts with the host's, which needs no lock — and
/// the outcomes come back in the order given, with "later" meaning later in that order.
pub fn load_all(paths: impl IntoIterator<Item = PathBuf>) -> Vec<LoadOutcome> {
    load_all_trusting(paths, None)
}

/// [`load_all`], checking signatures first when `trusted` keys are given (see
/// [`load_dir_trusting`]).
pub fn load_all_trusting(
    paths: impl IntoIterator<Item = PathBuf>,
    trusted: Option<&crate::signing::TrustedKeys>,
) -> Vec<LoadOutcome> {
    let paths: Vec<PathBuf> = paths.into_iter().collect();
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    paths
        .iter()
        .zip(load_each(&paths, trusted))
        .map(|(path, loaded)| {
            let result = loaded.and_then(|library| {
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
            LoadOutcome {
                path: path.clone(),
                result,
            }
        })
        .collect()
}

/// At most this many threads load libraries at once.
const LOADING_THREADS: usize = 8;

/// [`load_file`] for each of `paths`, spread over up to [`LOADING_THREADS`] threads
/// (one per core); the results in the order of `paths`.
fn load_each(
    paths: &[PathBuf],
    trusted: Option<&crate::signing::TrustedKeys>,
) -> Vec<Result<PluginLibrary, Refusal>> {
    let load_file = |path: &Path| load_one(path, trusted);
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(LOADING_THREADS)
        .min(paths.len());
    if threads <= 1 {
        return paths.iter().map(|p| load_file(p)).collect();
    }
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<Option<Result<PluginLibrary, Refusal>>>> =
        Mutex::new(paths.iter().map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(path) = paths.get(i) else { break };
                let result = load_file(path);
                done.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(result);
            });
        }
    });
    done.into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .map(|result| result.expect("every file was loaded"))
        .collect()
}

/// The signature check of the open library `opened`, as a refusal.
fn signed(
    path: &Path,
    opened: &crate::plugin_file::OpenedLibrary,
    trusted: &crate::signing::TrustedKeys,
) -> Result<(), Refusal> {
    use crate::signing::SignatureProblem;
    crate::signing::verify_open_library(path, &opened.file, trusted)
        .map(drop)
        .map_err(|problem| match problem {
            SignatureProblem::Unsigned => Refusal::Unsigned,
            SignatureProblem::BadSignature { detail } => Refusal::BadSignature { detail },
            SignatureProblem::UnknownVendor { key_id } => Refusal::UnknownVendor {
                key_id: key_id.to_string(),
            },
        })
}

/// Loads and checks one library (no signature is checked: see [`load_dir_trusting`]).
pub fn load_file(path: &Path) -> Result<PluginLibrary, Refusal> {
    load_one(path, None)
}

/// [`load_file`], checking its signature first when `trusted` keys are given (see
/// [`load_dir_trusting`]).
pub fn load_file_trusting(
    path: &Path,
    trusted: Option<&crate::signing::TrustedKeys>,
) -> Result<PluginLibrary, Refusal> {
    load_one(path, trusted)
}

/// Opens `path` once, checks the open file (who may have changed it, its signature when
/// `trusted` keys are given, its headers) and loads that same file; then checks its
/// types and runs its initialisation within the call timeout.
fn load_one(
    path: &Path,
    trusted: Option<&crate::signing::TrustedKeys>,
) -> Result<PluginLibrary, Refusal> {
    use crate::plugin_file::OpenProblem;
    let opened = crate::plugin_file::open(path).map_err(|problem| match problem {
        OpenProblem::Untrusted(problem) => Refusal::UntrustedFile { problem },
        OpenProblem::Io(e) => Refusal::NotAPlugin {
            detail: format!("it cannot be opened ({e})"),
        },
    })?;
    if let Some(keys) = trusted {
        signed(path, &opened, keys)?;
    }
    crate::preflight::check_file(&opened.file).map_err(|e| Refusal::NotAPlugin { detail: e.0 })?;
    let header = open_library(path, opened)?;
    let module = init_within_timeout(header)?;
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

/// `dlopen`s the open library (through its descriptor where the platform allows) and
/// finds its header; a refusal names the library by `path`.
fn open_library(
    path: &Path,
    opened: crate::plugin_file::OpenedLibrary,
) -> Result<&'static abi_stable::library::LibHeader, Refusal> {
    opened.load(|load_path| {
        let result = lib_header_from_path(load_path);
        let mapped = !matches!(result, Err(LibraryError::OpenError { .. }));
        // Worked out while the descriptor is open: the refusal may read the file.
        let result = result.map_err(|e| match refusal_of(e) {
            Refusal::NotAPlugin { detail } => Refusal::NotAPlugin {
                detail: detail.replace(
                    &load_path.display().to_string(),
                    &path.display().to_string(),
                ),
            },
            other => other,
        });
        (result, mapped)
    })
}

/// Runs the library's root module constructor on a worker, within the default call
/// timeout: a library whose initialisation never returns is refused and left running
/// there, and the host goes on.
fn init_within_timeout(
    header: &'static abi_stable::library::LibHeader,
) -> Result<PluginModuleRef, Refusal> {
    let limit = default_call_timeout();
    call_once("init_root_module", move || {
        Ok(crate::compatibility::init_root_module(header).map_err(refusal_of))
    })
    .unwrap_or_else(|e| {
        Err(match CallFailure::of(&e) {
            CallFailure::HostTimedOut { .. } => Refusal::InitTimedOut {
                limit: limit.unwrap_or_default(),
            },
            _ => Refusal::InitFailed {
                detail: e.message().to_owned(),
            },
        })
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

    /// Added in 1.2: the verification methods the integration offers, in its order
    /// (show only these). A plugin built before 1.2 — or one whose answer fails —
    /// gets what hosts offered before: [`VerifyMethod::before_1_2`]. Methods this
    /// host does not know are left out.
    pub fn verify_methods(&self) -> Vec<VerifyMethod> {
        let offered = self.inner.call("verify_methods", Duration::ZERO, |i| {
            Ok(instance(i)
                .verify_methods()
                .into_iter()
                .filter_map(|m| m.as_enum().ok().cloned())
                .collect::<Vec<_>>())
        });
        match offered {
            Ok(methods) if !methods.is_empty() => methods,
            _ => VerifyMethod::before_1_2(),
        }
    }

    /// Added in 1.2: how the integration wants its saved settings shown (none from a
    /// plugin built before 1.2, or when the call fails: use
    /// [`crate::SettingDisplay::fallback`]).
    pub fn settings_display(&self) -> Vec<crate::SettingDisplay> {
        self.inner
            .call("settings_display", Duration::ZERO, |i| {
                Ok(instance(i).settings_display().into_vec())
            })
            .unwrap_or_default()
    }

    /// Added in 1.3: where users read how to set the integration up; `None` from
    /// plugins built against 1.0, 1.1 or 1.2, which lack the call (or when it fails).
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
            let state =
                s.poll(millis)
                    .as_enum()
                    .cloned()
                    .unwrap_or_else(|_| SessionState::Working {
                        message: "Working… (this plugin reports a state this host does not know)"
                            .into(),
                    });
            Ok(match state {
                SessionState::Failed(e) => {
                    SessionState::failed(call_failure::from_plugin(RBox::into_inner(e)))
                }
                other => other,
            })
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

    /// Added in 1.2: whether the session had already ended (verified or failed) when
    /// the last [`SessionHandle::cancel`] arrived, so that cancel changed nothing.
    /// `false` from a plugin built before 1.2 (it cannot say) or one that does not
    /// answer.
    pub fn ended_before_cancel(&self) -> bool {
        self.inner
            .call("ended_before_cancel", Duration::ZERO, |s| {
                Ok(s.ended_before_cancel())
            })
            .unwrap_or(false)
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
            Ok(match d.poll(millis).into_enum().map(DeliveryState::from) {
                Ok(DeliveryState::Failed(e)) => DeliveryState::Failed(call_failure::from_plugin(e)),
                Ok(state) => state,
                Err(_) => unknown_delivery_state(),
            })
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
