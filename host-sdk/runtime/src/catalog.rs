//! The plugins folder: what loaded, what was refused, and finding a plugin by id; and
//! listing it without opening unchanged libraries ([`listing`], [`manifest_cache`]).

pub mod listing;
pub mod manifest_cache;

use std::path::{Path, PathBuf};

use atrs_host_sdk::{
    loader::{self, LoadOutcome, PluginLibrary},
    signing::TrustedKeys,
};
use serde_json::{json, Value};

use manifest_cache::ManifestInfo;

/// Why the catalog could not answer.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The plugins folder could not be read.
    #[error("Cannot read the plugins folder {}: {source}.", dir.display())]
    Folder {
        /// The folder.
        dir: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The plugins folder could be changed by another user, so nothing in it was opened.
    #[error("Refused to load plugins: {source}")]
    UntrustedFolder {
        /// What is wrong with the folder, and its fix.
        source: loader::UntrustedFolder,
    },
    /// No loaded plugin has the id asked for.
    #[error("No plugin with id `{id}` is loaded from {} (loaded: {}; refused: {refused}).", dir.display(), if loaded.is_empty() { "none".to_owned() } else { loaded.join(", ") })]
    NotLoaded {
        /// The id asked for.
        id: String,
        /// The folder.
        dir: PathBuf,
        /// The ids that did load.
        loaded: Vec<String>,
        /// How many libraries were refused.
        refused: usize,
    },
}

impl CatalogError {
    /// How to fix it, in command-line words.
    pub fn hint(&self) -> &'static str {
        match self {
            CatalogError::Folder { .. } => "Point --plugins-dir (or ATRS_PLUGINS_DIR) at the folder that holds the plugin libraries.",
            CatalogError::UntrustedFolder { .. } => "Make the plugins folder yours (or root's) and writable by you only, or point --plugins-dir (or ATRS_PLUGINS_DIR) at one that is.",
            CatalogError::NotLoaded { .. } => "Run `atrs-test-host plugins` to see every library and why any was refused.",
        }
    }
}

/// The folder used when neither `--plugins-dir` nor `ATRS_PLUGINS_DIR` is given: the
/// running binary's own folder, so `target/release/atrs-test-host` finds
/// `target/release/libatrs_office365.so`.
pub fn default_plugins_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Every library of one plugins folder, loaded or refused.
#[derive(Debug)]
pub struct Catalog {
    dir: PathBuf,
    outcomes: Vec<LoadOutcome>,
    signatures_checked: bool,
}

impl Catalog {
    /// Loads every library in `dir`.
    pub fn load(dir: &Path) -> Result<Catalog, CatalogError> {
        Catalog::load_trusting(dir, None)
    }

    /// Loads every library in `dir`; with `trusted` vendor keys only signed ones (the
    /// others are refused before they are opened).
    pub fn load_trusting(
        dir: &Path,
        trusted: Option<&TrustedKeys>,
    ) -> Result<Catalog, CatalogError> {
        let outcomes =
            loader::load_dir_trusting(dir, trusted).map_err(|source| folder_error(dir, source))?;
        Ok(Catalog {
            dir: dir.to_owned(),
            outcomes,
            signatures_checked: trusted.is_some(),
        })
    }

    /// One library file alone (a plugin runner's): loaded, or refused with the reason.
    pub fn file(path: &Path) -> Catalog {
        Catalog::file_trusting(path, None)
    }

    /// [`Catalog::file`], with `trusted` vendor keys only when signed by one of them:
    /// a runner checks the signature of the very file it opens, so a library swapped
    /// after the host checked it is refused.
    pub fn file_trusting(path: &Path, trusted: Option<&TrustedKeys>) -> Catalog {
        Catalog {
            dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            outcomes: vec![LoadOutcome {
                path: path.to_owned(),
                result: loader::load_file_trusting(path, trusted),
            }],
            signatures_checked: trusted.is_some(),
        }
    }

    /// Whether only signed libraries were loaded (trusted vendor keys were given).
    pub fn signatures_checked(&self) -> bool {
        self.signatures_checked
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// One outcome per library file, in file-name order.
    pub fn outcomes(&self) -> &[LoadOutcome] {
        &self.outcomes
    }

    /// The plugins that loaded.
    pub fn plugins(&self) -> impl Iterator<Item = &PluginLibrary> {
        self.outcomes.iter().filter_map(|o| o.result.as_ref().ok())
    }

    /// The loaded plugin with `id`, or an error that lists what is there.
    pub fn find(&self, id: &str) -> Result<&PluginLibrary, CatalogError> {
        if let Some(p) = self.plugins().find(|p| p.manifest().id.as_str() == id) {
            return Ok(p);
        }
        Err(CatalogError::NotLoaded {
            id: id.to_owned(),
            dir: self.dir.clone(),
            loaded: self
                .plugins()
                .map(|p| p.manifest().id.to_string())
                .collect(),
            refused: self.outcomes.iter().filter(|o| o.result.is_err()).count(),
        })
    }
}

/// The error for a plugins folder that could not be listed.
fn folder_error(dir: &Path, source: std::io::Error) -> CatalogError {
    match source
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<loader::UntrustedFolder>())
    {
        Some(untrusted) => CatalogError::UntrustedFolder {
            source: untrusted.clone(),
        },
        None => CatalogError::Folder {
            dir: dir.to_owned(),
            source,
        },
    }
}

/// One outcome as JSON.
pub fn outcome_json(outcome: &LoadOutcome) -> Value {
    match &outcome.result {
        Ok(p) => manifest_json(&outcome.path, &ManifestInfo::from(p.manifest())),
        Err(r) => refusal_json(&outcome.path, r),
    }
}

/// A loaded library's manifest as JSON.
fn manifest_json(path: &Path, m: &ManifestInfo) -> Value {
    json!({
        "path": path,
        "status": "loaded",
        "id": m.id,
        "name": m.display_name,
        "version": m.plugin_version,
        "vendor": m.vendor,
        "description": m.description,
        "sdk_version": m.sdk_version,
    })
}

/// A refused library as JSON.
fn refusal_json(path: &Path, r: &loader::Refusal) -> Value {
    json!({
        "path": path,
        "status": "refused",
        "reason": r.code(),
        "message": r.to_string(),
        "hint": r.hint(),
    })
}
