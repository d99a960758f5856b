//! The folder backend: settings and secrets in two JSON files under one folder.
//!
//! `settings.json` holds plain values; `secrets.json` (mode 0600) holds secrets. Both
//! map plugin id → account name → name → value. Every change is one transaction under
//! an exclusive lock on `.lock`: the changed files are written next to the live ones
//! (`*.next`, fsynced), a `.commit` marker says both are complete, then each is renamed
//! into place and the marker removed. Whoever opens the store next finishes a commit
//! that a crash interrupted (marker present) or drops its leftovers (no marker), so a
//! reader — or a crash at any point — sees all of a change or none of it, never new
//! settings beside old secrets. Reads take a shared lock; on a store the user may not
//! write (read-only folder or media), reads still work.
//!
//! [`FolderStore::lock_named`] gives named locks shared by every process on the store.

use std::{
    collections::BTreeMap,
    fs::{self, File, OpenOptions},
    io::Write,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};

use super::{
    lock_holder,
    named_lock::{self, NamedLock},
    AccountRef, AccountStore, Change, Contents, KeySource, StoreError, StoreInfo, StoreLock,
    Values, FILE_VERSION,
};

#[derive(Serialize, Deserialize, Default, Clone, PartialEq)]
struct StoreFile {
    version: u64,
    plugins: BTreeMap<String, BTreeMap<String, Values>>,
}

const SETTINGS_FILE: &str = "settings.json";
const SECRETS_FILE: &str = "secrets.json";
const LOCK_FILE: &str = ".lock";
/// The longest a change or a read waits for the store lock.
const LOCK_WAIT: Duration = Duration::from_secs(10);
/// How long one try waits before the next while the lock is held elsewhere.
const LOCK_RETRY: Duration = Duration::from_millis(10);
const COMMIT_MARKER: &str = ".commit";
const NEXT_SUFFIX: &str = ".next";
/// Temporary files of writes under way start so; any found while the store is locked
/// belong to a writer that died (a crash, SIGKILL) and are removed.
const TEMP_PREFIX: &str = ".write-";
/// What earlier versions of this host named their temporary files (`tempfile`'s default).
const OLD_TEMP_PREFIX: &str = ".tmp";

/// Which of the two files.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Settings,
    Secrets,
}

const KINDS: [Kind; 2] = [Kind::Settings, Kind::Secrets];

impl Kind {
    fn file_name(self) -> &'static str {
        match self {
            Kind::Settings => SETTINGS_FILE,
            Kind::Secrets => SECRETS_FILE,
        }
    }

    fn mode(self) -> u32 {
        match self {
            Kind::Settings => 0o644,
            Kind::Secrets => 0o600,
        }
    }
}

/// Both files as one change works on them.
struct Files {
    settings: StoreFile,
    secrets: StoreFile,
}

impl Files {
    fn get(&self, kind: Kind) -> &StoreFile {
        match kind {
            Kind::Settings => &self.settings,
            Kind::Secrets => &self.secrets,
        }
    }
}

/// An account store in one folder: today's JSON files.
#[derive(Debug, Clone)]
pub struct FolderStore {
    dir: PathBuf,
}

/// How a lock on the store is held.
enum LockMode {
    Shared,
    Exclusive,
}

impl FolderStore {
    /// Opens the store in `dir`; a folder that does not exist yet is created,
    /// owner-only. An existing folder keeps its permissions.
    pub fn open(dir: impl Into<PathBuf>) -> Result<FolderStore, StoreError> {
        let given = dir.into();
        let dir = std::path::absolute(&given).unwrap_or(given);
        match fs::metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(StoreError::NotAFolder { path: dir }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                fs::create_dir_all(&dir).map_err(|source| StoreError::Io {
                    action: "create",
                    path: dir.clone(),
                    folder: dir.clone(),
                    source,
                })?;
                set_mode(&dir, 0o700)?;
            }
            Err(source) => {
                return Err(StoreError::Io {
                    action: "open",
                    path: dir.clone(),
                    folder: dir,
                    source,
                })
            }
        }
        Ok(FolderStore { dir })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Reads both files: a damaged file, or one written by a newer version, is found
    /// here, before anything else is done with the store.
    pub fn check(&self) -> Result<(), StoreError> {
        self.read_both().map(drop)
    }

    /// Everything the store holds, after its recovery (a commit a crash interrupted is
    /// finished first): what an import into another backend copies.
    pub fn contents(&self) -> Result<Contents, StoreError> {
        let files = self.read_both()?;
        Ok(Contents {
            settings: files.settings.plugins,
            secrets: files.secrets.plugins,
        })
    }

    /// Account names of `plugin` with saved settings, sorted.
    pub fn list(&self, plugin: &str) -> Result<Vec<String>, StoreError> {
        let file = self.read(Kind::Settings)?;
        Ok(file
            .plugins
            .get(plugin)
            .map(|a| a.keys().cloned().collect())
            .unwrap_or_default())
    }

    /// Every saved account of every plugin.
    pub fn all_accounts(&self) -> Result<Vec<AccountRef>, StoreError> {
        let file = self.read(Kind::Settings)?;
        Ok(file
            .plugins
            .iter()
            .flat_map(|(plugin, accounts)| {
                accounts.keys().map(move |account| AccountRef {
                    plugin: plugin.clone(),
                    account: account.clone(),
                })
            })
            .collect())
    }

    /// The settings of one account.
    pub fn read_settings(&self, plugin: &str, account: &str) -> Result<Option<Values>, StoreError> {
        Ok(account_of(&self.read(Kind::Settings)?, plugin, account).cloned())
    }

    /// Replaces the settings of one account.
    pub fn write_settings(
        &self,
        plugin: &str,
        account: &str,
        values: &Values,
    ) -> Result<(), StoreError> {
        self.transact(|files| {
            put_account(&mut files.settings, plugin, account, values.clone());
        })
    }

    /// Deletes the settings of one account.
    pub fn remove_settings(&self, plugin: &str, account: &str) -> Result<(), StoreError> {
        self.transact(|files| remove_account(&mut files.settings, plugin, account))
    }

    /// One secret of one account.
    pub fn read_secret(
        &self,
        plugin: &str,
        account: &str,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        let file = self.read(Kind::Secrets)?;
        Ok(account_of(&file, plugin, account).and_then(|s| s.get(name).cloned()))
    }

    /// Stores one secret of one account.
    pub fn write_secret(
        &self,
        plugin: &str,
        account: &str,
        name: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        self.transact(|files| {
            files
                .secrets
                .plugins
                .entry(plugin.to_owned())
                .or_default()
                .entry(account.to_owned())
                .or_default()
                .insert(name.to_owned(), value.to_owned());
        })
    }

    /// Deletes every secret of one account.
    pub fn remove_secrets(&self, plugin: &str, account: &str) -> Result<(), StoreError> {
        self.transact(|files| remove_account(&mut files.secrets, plugin, account))
    }

    /// One transaction: `account` gets exactly `settings` and `secrets`, and the
    /// account `replaces` (a rename's old name), if given, is removed with all its
    /// secrets. Every reader and every crash sees all of it or none of it.
    pub fn write_account(
        &self,
        plugin: &str,
        account: &str,
        settings: &Values,
        secrets: &Values,
        replaces: Option<&str>,
    ) -> Result<(), StoreError> {
        self.transact(|files| {
            if let Some(old) = replaces.filter(|old| *old != account) {
                remove_account(&mut files.settings, plugin, old);
                remove_account(&mut files.secrets, plugin, old);
            }
            put_account(&mut files.settings, plugin, account, settings.clone());
            if secrets.is_empty() {
                remove_account(&mut files.secrets, plugin, account);
            } else {
                put_account(&mut files.secrets, plugin, account, secrets.clone());
            }
        })
    }

    /// Removes an account's settings and secrets in one transaction.
    pub fn remove_account(&self, plugin: &str, account: &str) -> Result<(), StoreError> {
        self.transact(|files| {
            remove_account(&mut files.settings, plugin, account);
            remove_account(&mut files.secrets, plugin, account);
        })
    }

    /// Takes the named lock `name`, shared by every process on this store, waiting at
    /// most `wait`; released when the returned guard is dropped or this process ends.
    pub fn lock_named(&self, name: &str, wait: Duration) -> Result<NamedLock, StoreError> {
        named_lock::acquire(&self.dir, name, wait)
    }

    fn path(&self, kind: Kind) -> PathBuf {
        self.dir.join(kind.file_name())
    }

    fn next_path(&self, kind: Kind) -> PathBuf {
        self.dir.join(format!("{}{NEXT_SUFFIX}", kind.file_name()))
    }

    fn io(&self, action: &'static str, path: PathBuf, source: std::io::Error) -> StoreError {
        StoreError::Io {
            action,
            path,
            folder: self.dir.clone(),
            source,
        }
    }

    fn read(&self, kind: Kind) -> Result<StoreFile, StoreError> {
        let _lock = self.lock(LockMode::Shared)?;
        self.settle();
        self.read_unlocked(kind)
    }

    fn read_both(&self) -> Result<Files, StoreError> {
        let _lock = self.lock(LockMode::Shared)?;
        self.settle();
        Ok(Files {
            settings: self.read_unlocked(Kind::Settings)?,
            secrets: self.read_unlocked(Kind::Secrets)?,
        })
    }

    /// Finishes a commit a crash interrupted, or drops the leftovers of one that never
    /// got its marker. Best effort: on a store nobody may write, reads fall back to
    /// reading a committed `.next` file in place (see [`FolderStore::live_path`]).
    fn settle(&self) {
        let marker = self.dir.join(COMMIT_MARKER);
        if marker.exists() {
            let finished =
                KINDS.iter().all(
                    |&kind| match fs::rename(self.next_path(kind), self.path(kind)) {
                        Ok(()) => true,
                        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
                    },
                );
            if finished && fs::remove_file(&marker).is_ok() {
                let _ = sync_dir(&self.dir);
            }
        } else {
            for kind in KINDS {
                let _ = fs::remove_file(self.next_path(kind));
            }
        }
        // Temporary files are made under the exclusive lock only, so while any lock is
        // held every one left is a dead writer's (it may hold a copy of the secrets).
        if let Ok(entries) = fs::read_dir(&self.dir) {
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with(TEMP_PREFIX) || name.starts_with(OLD_TEMP_PREFIX) {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
    }

    /// The file that holds `kind`'s committed content: its `.next` while a commit's
    /// marker is still there, else the file itself.
    fn live_path(&self, kind: Kind) -> PathBuf {
        let next = self.next_path(kind);
        if self.dir.join(COMMIT_MARKER).exists() && next.exists() {
            next
        } else {
            self.path(kind)
        }
    }

    fn read_unlocked(&self, kind: Kind) -> Result<StoreFile, StoreError> {
        let path = self.live_path(kind);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(StoreFile {
                    version: FILE_VERSION,
                    ..Default::default()
                })
            }
            Err(source) => return Err(self.io("read", self.path(kind), source)),
        };
        parse(&text, &self.path(kind))
    }

    /// Reads both files, applies `change`, and commits the files it changed.
    fn transact(&self, change: impl FnOnce(&mut Files)) -> Result<(), StoreError> {
        let _lock = self.lock(LockMode::Exclusive)?;
        self.settle();
        let before = Files {
            settings: self.read_unlocked(Kind::Settings)?,
            secrets: self.read_unlocked(Kind::Secrets)?,
        };
        let mut after = Files {
            settings: before.settings.clone(),
            secrets: before.secrets.clone(),
        };
        change(&mut after);
        let changed: Vec<Kind> = KINDS
            .into_iter()
            .filter(|&k| before.get(k) != after.get(k))
            .collect();
        match changed.as_slice() {
            [] => Ok(()),
            // One file: its rename alone is atomic.
            [kind] => {
                let temp = self.write_temp(*kind, after.get(*kind))?;
                let path = self.path(*kind);
                temp.persist(&path)
                    .map_err(|e| self.io("write", path, e.error))?;
                sync_dir(&self.dir).map_err(|e| self.io("write", self.dir.clone(), e))
            }
            kinds => self.commit(kinds, &after),
        }
    }

    fn commit(&self, kinds: &[Kind], files: &Files) -> Result<(), StoreError> {
        let sync = |e| self.io("write", self.dir.clone(), e);
        for &kind in kinds {
            let next = self.next_path(kind);
            self.write_temp(kind, files.get(kind))?
                .persist(&next)
                .map_err(|e| self.io("write", next, e.error))?;
        }
        sync_dir(&self.dir).map_err(sync)?;
        let marker = self.dir.join(COMMIT_MARKER);
        let temp = self
            .temp_file()
            .map_err(|e| self.io("create", self.dir.clone(), e))?;
        temp.as_file()
            .sync_all()
            .map_err(|e| self.io("write", marker.clone(), e))?;
        temp.persist(&marker)
            .map_err(|e| self.io("write", marker.clone(), e.error))?;
        sync_dir(&self.dir).map_err(sync)?;
        for &kind in kinds {
            fs::rename(self.next_path(kind), self.path(kind))
                .map_err(|e| self.io("write", self.path(kind), e))?;
        }
        sync_dir(&self.dir).map_err(sync)?;
        fs::remove_file(&marker).map_err(|e| self.io("write", marker, e))?;
        sync_dir(&self.dir).map_err(sync)
    }

    /// A new temporary file in the folder, named so [`FolderStore::settle`] knows it.
    fn temp_file(&self) -> std::io::Result<tempfile::NamedTempFile> {
        tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .tempfile_in(&self.dir)
    }

    /// `file` written and fsynced to a temporary file in the folder, mode set first.
    fn write_temp(
        &self,
        kind: Kind,
        file: &StoreFile,
    ) -> Result<tempfile::NamedTempFile, StoreError> {
        let path = self.path(kind);
        let mut file = file.clone();
        file.version = FILE_VERSION;
        let text = serde_json::to_string_pretty(&file).expect("a map of strings always serializes");
        let mut temp = self
            .temp_file()
            .map_err(|e| self.io("create", self.dir.clone(), e))?;
        // Permissions first, content second: a secret is never readable by others, not even briefly.
        set_file_mode(temp.as_file(), &path, kind.mode(), &self.dir)?;
        temp.write_all(text.as_bytes())
            .map_err(|e| self.io("write", path.clone(), e))?;
        temp.as_file()
            .sync_all()
            .map_err(|e| self.io("write", path, e))?;
        Ok(temp)
    }

    /// The store lock; `None` for a shared lock on a store whose lock file cannot be
    /// created (nobody may write there, so there is no writer to wait for).
    fn lock(&self, mode: LockMode) -> Result<Option<File>, StoreError> {
        let path = self.dir.join(LOCK_FILE);
        let opened = match mode {
            LockMode::Exclusive => OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path),
            LockMode::Shared => match File::open(&path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&path),
                other => other,
            },
        };
        let file = match (opened, &mode) {
            (Ok(file), _) => file,
            (Err(e), LockMode::Shared) if cannot_write(&e) => return Ok(None),
            (Err(e), _) => return Err(self.io("lock", path, e)),
        };
        // Bounded: another process (or user) holding the lock for ever ends in a clear
        // error, not a hang.
        let deadline = Instant::now() + LOCK_WAIT;
        loop {
            let tried = match mode {
                LockMode::Shared => file.try_lock_shared(),
                LockMode::Exclusive => file.try_lock(),
            };
            match tried {
                // Unlocked when the file is closed (dropped).
                Ok(()) => return Ok(Some(file)),
                Err(std::fs::TryLockError::WouldBlock) => {}
                Err(std::fs::TryLockError::Error(e)) => return Err(self.io("lock", path, e)),
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(StoreError::LockBusy {
                    name: path.display().to_string(),
                    waited: LOCK_WAIT,
                    held_by: lock_holder::holder_of(&path, lock_holder::Span::Any),
                });
            }
            std::thread::sleep(left.min(LOCK_RETRY));
        }
    }
}

fn cannot_write(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
    )
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

fn account_of<'a>(file: &'a StoreFile, plugin: &str, account: &str) -> Option<&'a Values> {
    file.plugins.get(plugin).and_then(|a| a.get(account))
}

fn put_account(file: &mut StoreFile, plugin: &str, account: &str, values: Values) {
    file.plugins
        .entry(plugin.to_owned())
        .or_default()
        .insert(account.to_owned(), values);
}

fn remove_account(file: &mut StoreFile, plugin: &str, account: &str) {
    if let Some(accounts) = file.plugins.get_mut(plugin) {
        accounts.remove(account);
        if accounts.is_empty() {
            file.plugins.remove(plugin);
        }
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir).and_then(|d| d.sync_all())
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|source| StoreError::Io {
        action: "protect",
        path: path.to_owned(),
        folder: path.to_owned(),
        source,
    })
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> Result<(), StoreError> {
    Ok(())
}

#[cfg(unix)]
fn set_file_mode(file: &File, path: &Path, mode: u32, folder: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(|source| StoreError::Io {
            action: "protect",
            path: path.to_owned(),
            folder: folder.to_owned(),
            source,
        })
}

#[cfg(not(unix))]
fn set_file_mode(_file: &File, _path: &Path, _mode: u32, _folder: &Path) -> Result<(), StoreError> {
    Ok(())
}

impl AccountStore for FolderStore {
    fn info(&self) -> StoreInfo {
        StoreInfo {
            backend: "folder",
            location: self.dir.display().to_string(),
            sealed: false,
            key_source: KeySource::None,
        }
    }

    fn check(&self) -> Result<(), StoreError> {
        FolderStore::check(self)
    }

    fn accounts(&self, plugin: Option<&str>) -> Result<Vec<AccountRef>, StoreError> {
        let mut all = self.all_accounts()?;
        all.retain(|a| plugin.is_none_or(|p| p == a.plugin));
        Ok(all)
    }

    fn read_settings(&self, plugin: &str, account: &str) -> Result<Option<Values>, StoreError> {
        FolderStore::read_settings(self, plugin, account)
    }

    fn read_secret(
        &self,
        plugin: &str,
        account: &str,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        FolderStore::read_secret(self, plugin, account, name)
    }

    fn apply(&self, plugin: &str, change: Change<'_>) -> Result<(), StoreError> {
        match change {
            Change::Settings { account, values } => self.write_settings(plugin, account, values),
            Change::RemoveSettings { account } => self.remove_settings(plugin, account),
            Change::Secret {
                account,
                name,
                value,
            } => self.write_secret(plugin, account, name, value),
            Change::RemoveSecrets { account } => self.remove_secrets(plugin, account),
            Change::Account {
                account,
                settings,
                secrets,
                replaces,
            } => self.write_account(plugin, account, settings, secrets, replaces),
            Change::RemoveAccount { account } => self.remove_account(plugin, account),
        }
    }

    fn lock(&self, name: &str, wait: Duration) -> Result<StoreLock, StoreError> {
        let held = self.lock_named(name, wait)?;
        Ok(StoreLock::new(name, held))
    }
}

#[cfg(test)]
mod tests;
