//! A library's manifest read in a runner (`atrs-plugin-runner --describe LIBRARY`): a
//! host that isolates its plugins never opens a library itself, so a library that
//! crashes or hangs while it loads is refused with what happened, and the host goes on.

use std::{
    ffi::OsStr,
    io::Read,
    path::{Path, PathBuf},
    process::Stdio,
    sync::mpsc,
    time::Duration,
};

use atrs_host_sdk::{loader, signing::TrustedKeys};
use serde_json::Value;

use super::{
    entry_json, folder_error,
    listing::{list_reading, list_with, Listing},
    manifest_cache::{ManifestCache, ManifestInfo},
    Catalog, CatalogError, CatalogPlugin, Entry, Refused,
};
use crate::{isolation::how_it_ended, runner_environment};

/// How libraries are described: which runner, with which trusted keys, within what.
#[derive(Debug, Clone)]
pub struct Describer {
    /// The `atrs-plugin-runner` executable.
    pub program: PathBuf,
    /// The trusted vendor keys file the runner checks signatures with.
    pub trusted_keys: Option<PathBuf>,
    /// How long one library may take to load and describe itself.
    pub bound: Duration,
}

fn text(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_default().to_owned()
}

impl Describer {
    /// The manifest of `library`, as a runner that loaded and checked it says; or why
    /// it was refused, by that runner's loader or because the runner did not survive.
    pub fn describe(&self, library: &Path) -> Result<ManifestInfo, Refused> {
        let mut command = runner_environment::runner_command(
            &self.program,
            None,
            [OsStr::new("--describe"), library.as_os_str()],
            self.trusted_keys.as_deref(),
        );
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command.spawn().map_err(|e| Refused::Reported {
            code: "runner_missing".into(),
            message: format!(
                "it could not be read: the plugin runner {} did not start ({e})",
                self.program.display()
            ),
            hint: "Check that atrs-plugin-runner is installed beside the host (or name it with ATRS_PLUGIN_RUNNER or the runtime's `runner` option).".into(),
        })?;
        let mut stdout = child.stdout.take().expect("piped");
        let (said, answer) = mpsc::channel();
        std::thread::spawn(move || {
            let mut all = String::new();
            let _ = stdout.read_to_string(&mut all);
            let _ = said.send(all);
        });
        let output = answer.recv_timeout(self.bound);
        let timed_out = output.is_err();
        if timed_out {
            let _ = child.kill();
        }
        let status = child.wait();
        let described = output
            .ok()
            .and_then(|all| serde_json::from_str::<Value>(all.trim()).ok());
        match (described, status) {
            (Some(entry), _) if entry["status"] == "loaded" => Ok(ManifestInfo {
                id: text(&entry, "id"),
                display_name: text(&entry, "name"),
                plugin_version: text(&entry, "version"),
                vendor: text(&entry, "vendor"),
                description: text(&entry, "description"),
                sdk_version: text(&entry, "sdk_version"),
            }),
            (Some(entry), _) => Err(Refused::Reported {
                code: text(&entry, "reason"),
                message: text(&entry, "message"),
                hint: text(&entry, "hint"),
            }),
            (None, _) if timed_out => Err(Refused::Reported {
                code: "hung_while_loading".into(),
                message: format!(
                    "it did not finish loading within {} s and was stopped",
                    self.bound.as_secs_f64()
                ),
                hint: "Remove it from the plugins folder and report it to its vendor; the host goes on without it.".into(),
            }),
            (None, Ok(status)) if status.success() => Err(stopped("it ended without a word")),
            (None, Ok(status)) => Err(stopped(&how_it_ended(status))),
            (None, Err(e)) => Err(stopped(&e.to_string())),
        }
    }
}

/// A library whose runner did not survive loading it.
fn stopped(how: &str) -> Refused {
    Refused::Reported {
        code: "crashed_while_loading".into(),
        message: format!("it stopped the process that loaded it ({how})"),
        hint: "Remove it from the plugins folder and report it to its vendor; the host goes on without it.".into(),
    }
}

/// The runner's side: `library` loaded and checked here (only when signed by one of
/// `trusted`, if given), as one JSON object — its manifest, or why it was refused.
pub fn describe_here(library: &Path, trusted: Option<&TrustedKeys>) -> Value {
    let catalog = Catalog::file_trusting(library, trusted);
    entry_json(&catalog.entries()[0])
}

/// [`super::listing::list`], with the libraries the cache cannot answer for described
/// by runners (the `describer` checks signatures with the same keys): this process
/// opens none.
pub fn list(
    dir: &Path,
    trusted: Option<&TrustedKeys>,
    cache: &mut ManifestCache,
    describer: &Describer,
) -> Result<Listing, CatalogError> {
    list_reading(dir, trusted, cache, |path| describer.describe(path))
}

impl Catalog {
    /// Every library in `dir`, each described by a runner of its own (see
    /// [`Describer`]); the same rules as [`Catalog::load_trusting`] decide what is
    /// listed, and this process opens none of them.
    pub fn describe(dir: &Path, describer: &Describer) -> Result<Catalog, CatalogError> {
        let paths = loader::library_paths(dir).map_err(|source| folder_error(dir, source))?;
        let mut no_cache = ManifestCache::open(None);
        let listed = list_with(&paths, None, &mut no_cache, |path| describer.describe(path));
        Ok(Catalog {
            dir: dir.to_owned(),
            entries: listed
                .into_iter()
                .map(|l| Entry {
                    result: l.result.map(|(manifest, _)| CatalogPlugin::Described {
                        path: l.path.clone(),
                        manifest: (&manifest).into(),
                    }),
                    path: l.path,
                })
                .collect(),
            signatures_checked: describer.trusted_keys.is_some(),
        })
    }
}
