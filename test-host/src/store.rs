//! The account store: settings and secrets in two files under one folder.
//!
//! `settings.json` holds plain values; `secrets.json` (mode 0600) holds secrets. Both
//! map plugin id → account name → name → value. Every change is a read-modify-write
//! under an exclusive lock on `.lock`, written to a temporary file, fsynced and renamed
//! into place, so two processes writing at once lose nothing and a crash never leaves
//! a half-written file.

use std::{
    collections::BTreeMap,
    fs::{self, File, OpenOptions},
    io::Write,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

/// Plain values of one account, by name.
pub type Values = BTreeMap<String, String>;

/// What went wrong with the store, and where.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file system refused.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done ("read", "write", "create", "lock").
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A store file is not what this host writes.
    #[error("{} is damaged: {detail}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        detail: String,
    },
}

impl StoreError {
    /// How to fix it.
    pub fn hint(&self) -> String {
        match self {
            StoreError::Io { path, .. } => format!(
                "Check that {} exists and that you may write to it, or choose another folder with --store.",
                path.parent().unwrap_or(path).display()
            ),
            StoreError::Corrupt { path, .. } => format!(
                "Restore {} from a backup, or move it aside to start with no saved accounts.",
                path.display()
            ),
        }
    }
}

#[derive(Serialize, Deserialize, Default)]
struct StoreFile {
    version: u32,
    plugins: BTreeMap<String, BTreeMap<String, Values>>,
}

const FILE_VERSION: u32 = 1;
const SETTINGS_FILE: &str = "settings.json";
const SECRETS_FILE: &str = "secrets.json";
const LOCK_FILE: &str = ".lock";

/// Which of the two files.
#[derive(Clone, Copy)]
enum Kind {
    Settings,
    Secrets,
}

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

/// An account store in one folder.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// An account as listed: plugin id and account name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountRef {
    /// The plugin that owns it.
    pub plugin: String,
    /// The account name.
    pub account: String,
}

impl Store {
    /// The folder used when neither `--store` nor `ATRS_STORE_DIR` is given.
    pub fn default_dir() -> PathBuf {
        dirs::config_dir()
            .unwrap_or_else(|| PathBuf::from("."))
            .join("atrs-test-host")
    }

    /// Opens (creating if needed, owner-only) the store in `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Store, StoreError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|source| StoreError::Io {
            action: "create",
            path: dir.clone(),
            source,
        })?;
        set_mode(&dir, 0o700)?;
        Ok(Store { dir })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
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
        Ok(self
            .read(Kind::Settings)?
            .plugins
            .get(plugin)
            .and_then(|a| a.get(account))
            .cloned())
    }

    /// Replaces the settings of one account.
    pub fn write_settings(
        &self,
        plugin: &str,
        account: &str,
        values: &Values,
    ) -> Result<(), StoreError> {
        self.update(Kind::Settings, |file| {
            file.plugins
                .entry(plugin.to_owned())
                .or_default()
                .insert(account.to_owned(), values.clone());
        })
    }

    /// Deletes the settings of one account.
    pub fn remove_settings(&self, plugin: &str, account: &str) -> Result<(), StoreError> {
        self.update(Kind::Settings, |file| remove_account(file, plugin, account))
    }

    /// One secret of one account.
    pub fn read_secret(
        &self,
        plugin: &str,
        account: &str,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        let file = self.read(Kind::Secrets)?;
        Ok(file
            .plugins
            .get(plugin)
            .and_then(|a| a.get(account))
            .and_then(|s| s.get(name))
            .cloned())
    }

    /// Stores one secret of one account.
    pub fn write_secret(
        &self,
        plugin: &str,
        account: &str,
        name: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        self.update(Kind::Secrets, |file| {
            let account = file
                .plugins
                .entry(plugin.to_owned())
                .or_default()
                .entry(account.to_owned())
                .or_default();
            account.insert(name.to_owned(), value.to_owned());
        })
    }

    /// Deletes every secret of one account.
    pub fn remove_secrets(&self, plugin: &str, account: &str) -> Result<(), StoreError> {
        self.update(Kind::Secrets, |file| remove_account(file, plugin, account))
    }

    fn path(&self, kind: Kind) -> PathBuf {
        self.dir.join(kind.file_name())
    }

    fn read(&self, kind: Kind) -> Result<StoreFile, StoreError> {
        let _lock = self.lock()?;
        self.read_unlocked(kind)
    }

    fn read_unlocked(&self, kind: Kind) -> Result<StoreFile, StoreError> {
        let path = self.path(kind);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(StoreFile {
                    version: FILE_VERSION,
                    ..Default::default()
                })
            }
            Err(source) => {
                return Err(StoreError::Io {
                    action: "read",
                    path,
                    source,
                })
            }
        };
        let file: StoreFile = serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
            path: path.clone(),
            // Only where it broke: serde_json's own message may quote the content (a secret).
            detail: format!("unreadable JSON at line {} column {}", e.line(), e.column()),
        })?;
        if file.version != FILE_VERSION {
            return Err(StoreError::Corrupt {
                path,
                detail: format!(
                    "layout version {} is not the supported {FILE_VERSION}",
                    file.version
                ),
            });
        }
        Ok(file)
    }

    fn update(&self, kind: Kind, change: impl FnOnce(&mut StoreFile)) -> Result<(), StoreError> {
        let _lock = self.lock()?;
        let mut file = self.read_unlocked(kind)?;
        change(&mut file);
        file.version = FILE_VERSION;
        self.write_atomically(kind, &file)
    }

    fn write_atomically(&self, kind: Kind, file: &StoreFile) -> Result<(), StoreError> {
        let path = self.path(kind);
        let io = |action, source| StoreError::Io {
            action,
            path: path.clone(),
            source,
        };
        let text = serde_json::to_string_pretty(file).expect("a map of strings always serializes");
        let mut temp = tempfile::NamedTempFile::new_in(&self.dir).map_err(|e| io("create", e))?;
        // Permissions first, content second: a secret is never readable by others, not even briefly.
        set_file_mode(temp.as_file(), &path, kind.mode())?;
        temp.write_all(text.as_bytes())
            .map_err(|e| io("write", e))?;
        temp.as_file().sync_all().map_err(|e| io("write", e))?;
        temp.persist(&path).map_err(|e| io("write", e.error))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io("write", e))?;
        Ok(())
    }

    fn lock(&self) -> Result<File, StoreError> {
        let path = self.dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| StoreError::Io {
                action: "lock",
                path: path.clone(),
                source,
            })?;
        file.lock().map_err(|source| StoreError::Io {
            action: "lock",
            path,
            source,
        })?;
        // Unlocked when the file is closed (dropped).
        Ok(file)
    }
}

fn remove_account(file: &mut StoreFile, plugin: &str, account: &str) {
    if let Some(accounts) = file.plugins.get_mut(plugin) {
        accounts.remove(account);
        if accounts.is_empty() {
            file.plugins.remove(plugin);
        }
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|source| StoreError::Io {
        action: "protect",
        path: path.to_owned(),
        source,
    })
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> Result<(), StoreError> {
    Ok(())
}

#[cfg(unix)]
fn set_file_mode(file: &File, path: &Path, mode: u32) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(|source| StoreError::Io {
            action: "protect",
            path: path.to_owned(),
            source,
        })
}

#[cfg(not(unix))]
fn set_file_mode(_file: &File, _path: &Path, _mode: u32) -> Result<(), StoreError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> Values {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn settings_and_secrets_live_in_separate_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s")).unwrap();
        store
            .write_settings("office365", "Reports", &values(&[("client_id", "abc")]))
            .unwrap();
        store
            .write_secret("office365", "Reports", "refresh_token", "rt-secret")
            .unwrap();
        let settings = fs::read_to_string(store.dir().join(SETTINGS_FILE)).unwrap();
        let secrets = fs::read_to_string(store.dir().join(SECRETS_FILE)).unwrap();
        assert!(settings.contains("abc") && !settings.contains("rt-secret"));
        assert!(secrets.contains("rt-secret") && !secrets.contains("abc"));
        assert_eq!(store.list("office365").unwrap(), vec!["Reports"]);
        assert_eq!(
            store
                .read_secret("office365", "Reports", "refresh_token")
                .unwrap()
                .as_deref(),
            Some("rt-secret")
        );
        store.remove_secrets("office365", "Reports").unwrap();
        store.remove_settings("office365", "Reports").unwrap();
        assert!(store.all_accounts().unwrap().is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn secrets_file_is_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.write_secret("p", "a", "n", "v").unwrap();
        let mode = fs::metadata(store.dir().join(SECRETS_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = fs::metadata(store.dir()).unwrap().permissions().mode();
        assert_eq!(dir_mode & 0o777, 0o700);
    }

    #[test]
    fn concurrent_writers_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_owned();
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let path = path.clone();
                std::thread::spawn(move || {
                    // A store per thread: separate lock handles, as separate processes have.
                    let store = Store::open(&path).unwrap();
                    for i in 0..10 {
                        let account = format!("acct-{t}-{i}");
                        store
                            .write_settings("p", &account, &values(&[("i", "x")]))
                            .unwrap();
                        store.write_secret("p", &account, "s", "v").unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.list("p").unwrap().len(), 80);
        let secrets: StoreFile =
            serde_json::from_str(&fs::read_to_string(path.join(SECRETS_FILE)).unwrap()).unwrap();
        assert_eq!(secrets.plugins["p"].len(), 80);
    }

    #[test]
    fn a_damaged_file_is_reported_without_its_content() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        fs::write(
            dir.path().join(SECRETS_FILE),
            "{\"version\":1,\"plugins\":{\"p\":\"topsecret\"",
        )
        .unwrap();
        let e = store.read_secret("p", "a", "n").unwrap_err();
        assert!(matches!(e, StoreError::Corrupt { .. }));
        assert!(!e.to_string().contains("topsecret"), "{e}");
        assert!(e.hint().contains("move it aside"));
    }
}
