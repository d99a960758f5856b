//! The JSON store of earlier versions, read once to be imported into a new database
//! ([`super::sqlite::import`]); nothing writes it any more.
//!
//! Its layout: `settings.json` (plain values) and `secrets.json` (secrets, in plain
//! text) in the store folder, each `{"version": 1, "plugins": {plugin: {account: {name:
//! value}}}}`. A change of both files was written as `*.next` copies and then a
//! `.commit` marker before the copies were renamed into place, so a crash could leave:
//! - the marker: the change was committed, and each `*.next` still there is the
//!   committed file (it is read instead of the live one);
//! - `*.next` files (or `.write-*`, `.tmp*` temporary files) without a marker: a change
//!   never committed, ignored.
//!
//! Reading changes nothing in the folder (no rename, no removal): the files stay as
//! they were, a backup of the store as the earlier version left it. Each file read must
//! pass the store's trust rules (a regular file, not a symbolic link, owned by you or
//! root, not writable by group or others); a file of a newer layout is refused with the
//! words every store uses ([`StoreError::Newer`]).

use std::{
    collections::BTreeMap,
    fs::{self, File},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use serde::Deserialize;

use super::{
    lock_holder,
    trust::{self, Role},
    Contents, StoreError, Values,
};

/// The layout version this reader knows; a newer one is refused.
pub const FILE_VERSION: u64 = 1;
/// The settings file.
pub const SETTINGS_FILE: &str = "settings.json";
/// The secrets file.
pub const SECRETS_FILE: &str = "secrets.json";
/// The marker of a committed change whose `*.next` files were not all renamed yet.
pub const COMMIT_MARKER: &str = ".commit";
/// The suffix of a change's copy of a file.
pub const NEXT_SUFFIX: &str = ".next";
/// The earlier version's store lock: a writer still running there holds it.
const LOCK_FILE: &str = ".lock";
/// The longest the read waits for such a writer.
const LOCK_WAIT: Duration = Duration::from_secs(10);
const LOCK_RETRY: Duration = Duration::from_millis(10);

/// A JSON store found in a folder, as its last committed change left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonStore {
    /// Its accounts, secrets included.
    pub contents: Contents,
    /// Every file of it in the folder (live files and `*.next` copies, committed or
    /// not), in a fixed order: all of them are kept, untouched, as the backup.
    pub files: Vec<PathBuf>,
}

#[derive(Deserialize)]
struct StoreFile {
    plugins: BTreeMap<String, BTreeMap<String, Values>>,
}

/// Reads the JSON store in `dir`; `None` when the folder holds none (no `settings.json`,
/// no `secrets.json`, no commit marker; uncommitted leftovers alone are no store).
pub fn read(dir: &Path) -> Result<Option<JsonStore>, StoreError> {
    read_waiting(dir, LOCK_WAIT)
}

/// [`read`], waiting at most `wait` for an earlier version's writer.
fn read_waiting(dir: &Path, wait: Duration) -> Result<Option<JsonStore>, StoreError> {
    let committed = dir.join(COMMIT_MARKER).exists();
    if !committed
        && ![SETTINGS_FILE, SECRETS_FILE]
            .iter()
            .any(|f| dir.join(f).exists())
    {
        return Ok(None);
    }
    let _writer_done = wait_for_writer(dir, wait)?;
    // Taken again under the lock: a writer may have finished in between.
    let committed = dir.join(COMMIT_MARKER).exists();
    let settings = read_file(dir, SETTINGS_FILE, committed)?;
    let secrets = read_file(dir, SECRETS_FILE, committed)?;
    let files = [SETTINGS_FILE, SECRETS_FILE]
        .iter()
        .flat_map(|name| [name.to_string(), format!("{name}{NEXT_SUFFIX}")])
        .map(|name| dir.join(name))
        .filter(|path| path.exists())
        .collect();
    Ok(Some(JsonStore {
        contents: Contents { settings, secrets },
        files,
    }))
}

/// The committed content of one file: its `*.next` copy while the commit marker is
/// there, else the file itself; a missing file holds no account.
fn read_file(
    dir: &Path,
    name: &str,
    committed: bool,
) -> Result<BTreeMap<String, BTreeMap<String, Values>>, StoreError> {
    let next = dir.join(format!("{name}{NEXT_SUFFIX}"));
    let path = if committed && next.exists() {
        next
    } else {
        dir.join(name)
    };
    trust::check(&path, Role::File)?;
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(source) => {
            return Err(StoreError::Io {
                action: "read",
                path,
                folder: dir.to_owned(),
                source,
            })
        }
    };
    parse(&text, &path).map(|file| file.plugins)
}

/// Parses a store file, telling a newer layout apart from a damaged file.
fn parse(text: &str, path: &Path) -> Result<StoreFile, StoreError> {
    // Only where it broke: serde_json's own message may quote the content (a secret).
    let damaged = |e: serde_json::Error| StoreError::Corrupt {
        path: path.to_owned(),
        detail: format!("unreadable JSON at line {} column {}", e.line(), e.column()),
    };
    let value: serde_json::Value = serde_json::from_str(text).map_err(damaged)?;
    match value.get("version").and_then(serde_json::Value::as_u64) {
        Some(FILE_VERSION) => {}
        Some(version) if version > FILE_VERSION => {
            return Err(StoreError::Newer {
                path: path.to_owned(),
                version,
                supported: FILE_VERSION,
            })
        }
        _ => {
            return Err(StoreError::Corrupt {
                path: path.to_owned(),
                detail: "it has no valid layout version".into(),
            })
        }
    }
    serde_json::from_value(value).map_err(|_| StoreError::Corrupt {
        path: path.to_owned(),
        detail: "its accounts are not a map of names to text values".into(),
    })
}

/// Waits (bounded) until no earlier version's writer is in the middle of a change: a
/// shared lock on its `.lock`, when there is one, held while the files are read. Never
/// creates a file.
fn wait_for_writer(dir: &Path, wait: Duration) -> Result<Option<File>, StoreError> {
    let path = dir.join(LOCK_FILE);
    let file = match File::open(&path) {
        Ok(file) => file,
        // No lock file: no writer ever locked here. Unreadable: nobody may write here.
        Err(_) => return Ok(None),
    };
    let deadline = Instant::now() + wait;
    loop {
        match file.try_lock_shared() {
            // Unlocked when the file is closed (dropped).
            Ok(()) => return Ok(Some(file)),
            Err(fs::TryLockError::WouldBlock) => {}
            Err(fs::TryLockError::Error(source)) => {
                return Err(StoreError::Io {
                    action: "lock",
                    path,
                    folder: dir.to_owned(),
                    source,
                })
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(StoreError::LockBusy {
                name: path.display().to_string(),
                waited: wait,
                held_by: lock_holder::holder_of(&path, lock_holder::Span::Any),
            });
        }
        std::thread::sleep(left.min(LOCK_RETRY));
    }
}

#[cfg(test)]
pub(crate) mod tests;
