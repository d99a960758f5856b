//! The plugins folder: what loaded, what was refused, and finding a plugin by id;
//! listing it without opening unchanged libraries ([`listing`], [`manifest_cache`]);
//! and, for a host that isolates its plugins, reading each library's manifest in a
//! runner so the host itself never opens one ([`described`]).

pub mod described;
pub mod listing;
pub mod manifest_cache;

use std::path::{Path, PathBuf};

use atrs_host_sdk::{
    loader::{self, IntegrationHandle, PluginLibrary},
    signing::TrustedKeys,
    HostServices, Manifest, PluginError,
};
use serde_json::{json, Value};

use manifest_cache::ManifestInfo;

/// One library of the folder: the plugin it holds, or why it was refused.
#[derive(Debug)]
pub struct Entry {
    /// The library file.
    pub path: PathBuf,
    /// The plugin, or why it was refused.
    pub result: Result<CatalogPlugin, Refused>,
}

/// A plugin the catalog found: loaded in this process, or described by the runner that
/// loaded it (a host that isolates its plugins never opens one itself).
#[derive(Debug)]
pub enum CatalogPlugin {
    /// Loaded and checked in this process.
    Loaded(PluginLibrary),
    /// Loaded and checked by a runner, which said what it holds.
    Described {
        /// The library file.
        path: PathBuf,
        /// Its manifest, as the runner read it.
        manifest: Manifest,
    },
}

impl CatalogPlugin {
    /// The plugin's manifest.
    pub fn manifest(&self) -> &Manifest {
        match self {
            CatalogPlugin::Loaded(library) => library.manifest(),
            CatalogPlugin::Described { manifest, .. } => manifest,
        }
    }

    /// The library file.
    pub fn path(&self) -> &Path {
        match self {
            CatalogPlugin::Loaded(library) => library.path(),
            CatalogPlugin::Described { path, .. } => path,
        }
    }

    /// An instance in this process lent `services`; a described plugin runs only in its
    /// runner, so asking for one here is refused.
    pub fn instantiate(
        &self,
        services: impl HostServices,
    ) -> Result<IntegrationHandle, PluginError> {
        match self {
            CatalogPlugin::Loaded(library) => library.instantiate(services),
            CatalogPlugin::Described { manifest, .. } => Err(PluginError::internal(format!(
                "The {} plugin runs in a process of its own here and cannot be opened in the host's.",
                manifest.display_name
            ))
            .with_hint("Reach it through the runtime's requests (the host isolates its plugins).")),
        }
    }
}

/// Why a library was refused: by this process's loader, or by the runner that tried it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Refused {
    /// The loader's own refusal.
    #[error(transparent)]
    Loader(#[from] loader::Refusal),
    /// What a runner reported (its loader's refusal), or what became of the runner.
    #[error("{message}")]
    Reported {
        /// The refusal's code (`not_a_plugin`, `crashed_while_loading`, …).
        code: String,
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
}

impl Refused {
    /// The refusal's code.
    pub fn code(&self) -> &str {
        match self {
            Refused::Loader(r) => r.code(),
            Refused::Reported { code, .. } => code,
        }
    }

    /// How to fix it.
    pub fn hint(&self) -> String {
        match self {
            Refused::Loader(r) => r.hint(),
            Refused::Reported { hint, .. } => hint.clone(),
        }
    }
}

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
    entries: Vec<Entry>,
    signatures_checked: bool,
}

fn entries(outcomes: Vec<loader::LoadOutcome>) -> Vec<Entry> {
    outcomes
        .into_iter()
        .map(|o| Entry {
            path: o.path,
            result: o.result.map(CatalogPlugin::Loaded).map_err(Refused::from),
        })
        .collect()
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
            entries: entries(outcomes),
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
            entries: entries(vec![loader::LoadOutcome {
                path: path.to_owned(),
                result: loader::load_file_trusting(path, trusted),
            }]),
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

    /// One entry per library file, in file-name order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The plugins that loaded.
    pub fn plugins(&self) -> impl Iterator<Item = &CatalogPlugin> {
        self.entries.iter().filter_map(|o| o.result.as_ref().ok())
    }

    /// The loaded plugin with `id`, or an error that lists what is there.
    pub fn find(&self, id: &str) -> Result<&CatalogPlugin, CatalogError> {
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
            refused: self.entries.iter().filter(|o| o.result.is_err()).count(),
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

/// One entry as JSON.
pub fn entry_json(entry: &Entry) -> Value {
    match &entry.result {
        Ok(p) => manifest_json(&entry.path, &ManifestInfo::from(p.manifest())),
        Err(r) => refusal_json(&entry.path, r),
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
fn refusal_json(path: &Path, r: &Refused) -> Value {
    json!({
        "path": path,
        "status": "refused",
        "reason": r.code(),
        "message": r.to_string(),
        "hint": r.hint(),
    })
}
