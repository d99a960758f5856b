//! Where the store key comes from: the key file an administrator names
//! (`ATRS_STORE_KEY_FILE`, owner-only, outside the store), the freedesktop Secret
//! Service (`ATRS_STORE_KEY=secret-service`, see [`super::secret_service`]), else an
//! owner-only key file the host keeps in the user's configuration folder, apart from
//! every store. A key file holds the 32 key bytes in base64 (one line) or raw.
//!
//! Which one a **new** store gets ([`KeyOptions::key_store`], `ATRS_STORE_KEY`):
//! 1. `ATRS_STORE_KEY_FILE` set: that file.
//! 2. `ATRS_STORE_KEY=secret-service` (or `keyring`): the Secret Service, or a typed error
//!    saying why not; `ATRS_STORE_KEY=file`: the host's key file.
//! 3. Nothing set (`auto`): the Secret Service when a session bus is reachable with a
//!    Secret Service running or startable on it; otherwise the host's key file. A
//!    PostgreSQL store (shared by servers) always takes a key file.
//!
//! An **existing** store uses the source that sealed it, which it records: a store
//! sealed from the Secret Service looks there whatever `ATRS_STORE_KEY` says (an
//! `ATRS_STORE_KEY_FILE` naming a copy of its key is the way back when the item is
//! lost), and every store sealed before (no record) keeps using its key file. `store
//! rotate-key` moves a store to the source the settings name.

use std::{
    fs,
    io::{ErrorKind, Write},
    path::{Path, PathBuf},
};

use base64::Engine;
use serde::Serialize;
use zeroize::Zeroizing;

use super::{
    seal::{StoreKey, KEY_LEN},
    trust, StoreError,
};

/// The environment variable naming the key file.
pub const KEY_FILE_ENV: &str = "ATRS_STORE_KEY_FILE";
/// The environment variable that allows a new store to keep secrets in plain text
/// (`1`), and an existing plain-text store to be used.
pub const PLAINTEXT_ENV: &str = "ATRS_STORE_PLAINTEXT";
/// The environment variable choosing where a new store's key is kept: `secret-service`
/// (or `keyring`), `file`, or `auto` (the default).
pub const KEY_STORE_ENV: &str = "ATRS_STORE_KEY";
/// The host's own key files, inside the user's configuration folder.
const HOST_KEYS_DIR: &str = "atrs-store-keys";
/// The host's key for stores that have none of their own.
const DEFAULT_KEY: &str = "default.key";
/// A key being put in place (a rotation); see [`pending`].
const NEXT_SUFFIX: &str = ".next";

/// Where a store's key comes from, as a person is told (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KeySource {
    /// No key: secrets are kept in plain text (an explicit opt-in).
    None,
    /// The key file named by `ATRS_STORE_KEY_FILE`.
    NamedFile {
        /// The key file.
        path: PathBuf,
    },
    /// A key file the host keeps in the user's configuration folder.
    HostFile {
        /// The key file.
        path: PathBuf,
    },
    /// An item of the freedesktop Secret Service (gnome-keyring, KWallet).
    SecretService {
        /// The item's label, as the keyring shows it.
        label: String,
        /// The item's `store` attribute (with `application=atrs`).
        store_id: String,
    },
    /// The store is the host application's own (reached by service calls), as it
    /// describes its key.
    Application {
        /// The application's words.
        description: String,
    },
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::None => f.write_str("none (secrets in plain text)"),
            KeySource::NamedFile { path } => {
                write!(f, "key file {} ({KEY_FILE_ENV})", path.display())
            }
            KeySource::HostFile { path } => {
                write!(f, "key file {} (the host's own)", path.display())
            }
            KeySource::SecretService { label, store_id } => write!(
                f,
                "Secret Service item \"{label}\" (application={} store={store_id})",
                super::secret_service::APPLICATION
            ),
            KeySource::Application { description } => f.write_str(description),
        }
    }
}

impl KeySource {
    /// The key file, if any.
    pub fn path(&self) -> Option<&Path> {
        match self {
            KeySource::None | KeySource::Application { .. } | KeySource::SecretService { .. } => {
                None
            }
            KeySource::NamedFile { path } | KeySource::HostFile { path } => Some(path),
        }
    }
}

/// Where a new store's key is kept (`ATRS_STORE_KEY`); see the module's documentation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum KeyStore {
    /// The Secret Service when one is reachable, else the host's key file.
    #[default]
    Auto,
    /// A key file (the named one, else the host's own).
    File,
    /// The freedesktop Secret Service, or an error saying why not.
    SecretService,
    /// A setting this version does not know (refused when a store is opened).
    Unknown(String),
}

impl KeyStore {
    /// Reads a setting: `auto`, `file`, `secret-service` or `keyring` (any case).
    pub fn parse(text: &str) -> KeyStore {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => KeyStore::Auto,
            "file" => KeyStore::File,
            "secret-service" | "secret_service" | "secretservice" | "keyring" => {
                KeyStore::SecretService
            }
            _ => KeyStore::Unknown(text.to_owned()),
        }
    }
}

/// How a store finds its key, and whether it may keep secrets in plain text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyOptions {
    /// The key file an administrator names; `None`: the host's own.
    pub key_file: Option<PathBuf>,
    /// Where a new store's key is kept (`ATRS_STORE_KEY`).
    pub key_store: KeyStore,
    /// The D-Bus address of the session bus to reach the Secret Service on; `None`:
    /// the session's own (`DBUS_SESSION_BUS_ADDRESS`).
    pub secret_service_bus: Option<String>,
    /// Where the host keeps its own key files; `None`: the user's configuration folder.
    pub host_keys_dir: Option<PathBuf>,
    /// Plain text allowed (a new store then seals nothing).
    pub plaintext: bool,
}

impl KeyOptions {
    /// From `ATRS_STORE_KEY_FILE`, `ATRS_STORE_KEY` and `ATRS_STORE_PLAINTEXT`.
    pub fn from_env() -> KeyOptions {
        KeyOptions {
            key_file: std::env::var_os(KEY_FILE_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            key_store: KeyStore::parse(&std::env::var(KEY_STORE_ENV).unwrap_or_default()),
            secret_service_bus: None,
            host_keys_dir: None,
            plaintext: std::env::var(PLAINTEXT_ENV).is_ok_and(|v| v.trim() == "1"),
        }
    }

    fn host_dir(&self) -> Result<PathBuf, StoreError> {
        self.host_keys_dir
            .clone()
            .or_else(|| dirs::config_dir().map(|d| d.join(HOST_KEYS_DIR)))
            .ok_or_else(|| StoreError::KeyFile {
                path: PathBuf::from(HOST_KEYS_DIR),
                reason: "this user has no configuration folder to keep it in".into(),
                fix: format!("Name a key file with {KEY_FILE_ENV}."),
            })
    }

    /// Where the key of the store `store_id` is looked for: the named file, else the
    /// host's key of this store (after a rotation), else the host's default key.
    pub(crate) fn source(&self, store_id: &str) -> Result<KeySource, StoreError> {
        if let Some(path) = &self.key_file {
            return Ok(KeySource::NamedFile {
                path: std::path::absolute(path).unwrap_or_else(|_| path.clone()),
            });
        }
        let dir = self.host_dir()?;
        let own = dir.join(format!("{store_id}.key"));
        let path = if own.exists() {
            own
        } else {
            dir.join(DEFAULT_KEY)
        };
        Ok(KeySource::HostFile { path })
    }

    /// Where a rotation puts the store's new key: the named file, else a host key file
    /// of this store's own (the default key may serve other stores).
    pub(crate) fn rotation_target(&self, store_id: &str) -> Result<KeySource, StoreError> {
        match &self.key_file {
            Some(_) => self.source(store_id),
            None => Ok(KeySource::HostFile {
                path: self.host_dir()?.join(format!("{store_id}.key")),
            }),
        }
    }
}

/// Refuses a key file inside the store folder (a copy of the store would carry its key).
pub(crate) fn outside_store(key: &Path, store_dir: &Path) -> Result<(), StoreError> {
    let canonical = |p: &Path| fs::canonicalize(p).unwrap_or_else(|_| p.to_owned());
    let key_dir = canonical(key.parent().unwrap_or(key));
    if key_dir.starts_with(canonical(store_dir)) {
        return Err(StoreError::KeyFile {
            path: key.to_owned(),
            reason: "it is inside the store folder, so every copy of the store carries its key"
                .into(),
            fix: "Keep the key file outside the store folder, and name that path.".into(),
        });
    }
    Ok(())
}

/// Reads the key in `path`: `None` when the file does not exist.
pub(crate) fn load(path: &Path) -> Result<Option<StoreKey>, StoreError> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        _ => trust::check_key_file(path)?,
    }
    let bytes = Zeroizing::new(fs::read(path).map_err(|source| StoreError::Io {
        action: "read",
        path: path.to_owned(),
        folder: path.parent().unwrap_or(path).to_owned(),
        source,
    })?);
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    if bytes.len() == KEY_LEN {
        key.copy_from_slice(&bytes);
    } else {
        let text = std::str::from_utf8(&bytes).unwrap_or("").trim();
        let decoded = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .unwrap_or_default(),
        );
        if decoded.len() != KEY_LEN {
            return Err(StoreError::KeyFile {
                path: path.to_owned(),
                reason: format!("it does not hold a {KEY_LEN}-byte key"),
                fix: format!(
                    "Put the store's key in it: {KEY_LEN} bytes, in base64 on one line (`head -c {KEY_LEN} /dev/urandom | base64` makes a new one, for a new store)."
                ),
            });
        }
        key.copy_from_slice(&decoded);
    }
    Ok(Some(StoreKey::from_bytes(&key)))
}

/// Writes a new key owner-only to `path`'s pending name (`path` + `.next`), fsynced;
/// [`commit_pending`] puts it in place.
pub(crate) fn write_pending(path: &Path, key: &[u8; KEY_LEN]) -> Result<PathBuf, StoreError> {
    let next = pending(path);
    write_new(&next, key, true)?;
    Ok(next)
}

/// Puts a pending key in place.
pub(crate) fn commit_pending(path: &Path) -> Result<(), StoreError> {
    fs::rename(pending(path), path).map_err(|source| io("write", path, source))?;
    sync_parent(path);
    Ok(())
}

/// The name a new key of `path` waits under until its store is sealed with it.
pub(crate) fn pending(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(NEXT_SUFFIX);
    PathBuf::from(name)
}

/// Creates the key file `path` holding `key`, owner-only, in an owner-only folder; when
/// another process created it first, `Ok(false)` (the caller reads that one).
pub(crate) fn create(path: &Path, key: &[u8; KEY_LEN]) -> Result<bool, StoreError> {
    write_new(path, key, false)
}

fn write_new(path: &Path, key: &[u8; KEY_LEN], replace: bool) -> Result<bool, StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    if !dir.exists() {
        fs::create_dir_all(dir).map_err(|source| io("create", dir, source))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                .map_err(|source| io("protect", dir, source))?;
        }
    }
    // tempfile creates its files owner-only (0600).
    let mut temp = tempfile::Builder::new()
        .prefix(".key-")
        .tempfile_in(dir)
        .map_err(|source| io("create", dir, source))?;
    let text = Zeroizing::new(format!(
        "{}\n",
        base64::engine::general_purpose::STANDARD.encode(key)
    ));
    temp.write_all(text.as_bytes())
        .and_then(|_| temp.as_file().sync_all())
        .map_err(|source| io("write", path, source))?;
    let placed = if replace {
        temp.persist(path).map(drop)
    } else {
        temp.persist_noclobber(path).map(drop)
    };
    match placed {
        Ok(()) => {
            sync_parent(path);
            Ok(true)
        }
        Err(e) if !replace && e.error.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(io("write", path, e.error)),
    }
}

fn sync_parent(path: &Path) {
    if let Some(dir) = path.parent() {
        let _ = fs::File::open(dir).and_then(|d| d.sync_all());
    }
}

fn io(action: &'static str, path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io {
        action,
        path: path.to_owned(),
        folder: path.parent().unwrap_or(path).to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_key_file_is_owner_only_and_loads_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join("k.key");
        let (key, bytes) = StoreKey::generate();
        assert!(create(&path, &bytes).unwrap());
        assert!(!create(&path, &bytes).unwrap(), "a second creator yields");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(path.parent().unwrap()), 0o700);
        }
        let loaded = load(&path).unwrap().unwrap();
        let sealed = key.seal(&["x"], b"v");
        assert!(loaded.open(&["x"], &sealed).is_some());
        assert!(load(&dir.path().join("none")).unwrap().is_none());
    }

    #[test]
    fn a_key_file_without_a_key_is_refused_without_quoting_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        fs::write(&path, "not-a-key-at-all\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        }
        let e = load(&path).unwrap_err();
        assert!(e.to_string().contains("does not hold a 32-byte key"), "{e}");
        assert!(!e.to_string().contains("not-a-key"), "{e}");
    }

    #[test]
    fn a_key_inside_the_store_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = outside_store(&dir.path().join("k"), dir.path()).unwrap_err();
        assert!(e.to_string().contains("inside the store folder"), "{e}");
        outside_store(&dir.path().join("k"), &dir.path().join("store")).unwrap();
    }
}
