//! The manifests of plugin libraries as last read, so a host can list a plugins folder
//! without opening every library in it (as nushell keeps plugin signatures in a registry
//! file and VS Code reads extension manifests without activating them).
//!
//! An entry is used only while its library is the very file it was read from: the same
//! device, inode, size, modification and change times (the change time moves on every
//! write, rename or permission change and cannot be set back by a program), the same
//! signature file beside it when signatures are checked, and the same trusted keys. Any
//! difference and the library is loaded and checked again. Loading a plugin to use it
//! never consults this cache: its first use still gets every check.
//!
//! The cache is one JSON file, owner-only, replaced whole (write, then rename); a cache
//! that is unreadable, damaged, or changeable by another user is ignored, never an error.

use std::{
    collections::BTreeMap,
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use atrs_host_sdk::Manifest;
use serde::{Deserialize, Serialize};

/// The layout this version reads and writes.
const VERSION: u32 = 1;

/// Which file a manifest was read from, as the file system tells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileIdentity {
    dev: u64,
    ino: u64,
    size: u64,
    modified_ns: i128,
    changed_ns: i128,
}

impl FileIdentity {
    /// The identity of the file at `path` (not following a link), or `None` when there
    /// is none.
    pub fn of(path: &Path) -> Option<FileIdentity> {
        let meta = fs::symlink_metadata(path).ok()?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let ns = |secs: i64, nanos: i64| i128::from(secs) * 1_000_000_000 + i128::from(nanos);
            Some(FileIdentity {
                dev: meta.dev(),
                ino: meta.ino(),
                size: meta.size(),
                modified_ns: ns(meta.mtime(), meta.mtime_nsec()),
                changed_ns: ns(meta.ctime(), meta.ctime_nsec()),
            })
        }
        #[cfg(not(unix))]
        {
            let ns = |t: std::io::Result<std::time::SystemTime>| {
                t.ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos() as i128)
            };
            Some(FileIdentity {
                dev: 0,
                ino: 0,
                size: meta.len(),
                modified_ns: ns(meta.modified()),
                changed_ns: ns(meta.created()),
            })
        }
    }
}

/// What a cached manifest is valid for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheKey {
    /// The library file.
    pub library: FileIdentity,
    /// Its signature file, when signatures are checked (`None`: not checked, or absent).
    pub signature: Option<FileIdentity>,
    /// The trusted keys it was checked against (`None`: signatures not checked).
    pub keys: Option<String>,
}

/// A plugin's manifest, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestInfo {
    /// Stable machine id.
    pub id: String,
    /// The name shown under Integrations.
    pub display_name: String,
    /// The plugin's own version.
    pub plugin_version: String,
    /// Who ships it.
    pub vendor: String,
    /// One sentence on what it connects.
    pub description: String,
    /// The interface version it was built against.
    pub sdk_version: String,
}

impl From<&Manifest> for ManifestInfo {
    fn from(m: &Manifest) -> Self {
        ManifestInfo {
            id: m.id.to_string(),
            display_name: m.display_name.to_string(),
            plugin_version: m.plugin_version.to_string(),
            vendor: m.vendor.to_string(),
            description: m.description.to_string(),
            sdk_version: m.sdk_version.to_string(),
        }
    }
}

impl From<&ManifestInfo> for Manifest {
    fn from(m: &ManifestInfo) -> Self {
        Manifest {
            id: m.id.as_str().into(),
            display_name: m.display_name.as_str().into(),
            plugin_version: m.plugin_version.as_str().into(),
            vendor: m.vendor.as_str().into(),
            description: m.description.as_str().into(),
            sdk_version: m.sdk_version.as_str().into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    key: CacheKey,
    manifest: ManifestInfo,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Stored {
    version: u32,
    /// By the library's absolute path.
    entries: BTreeMap<PathBuf, Entry>,
}

/// The manifest cache of one host.
#[derive(Debug, Default)]
pub struct ManifestCache {
    file: Option<PathBuf>,
    stored: Stored,
    changed: bool,
}

impl ManifestCache {
    /// The cache kept in `file` (read now; `None`: kept in memory only).
    pub fn open(file: Option<PathBuf>) -> ManifestCache {
        let stored = file
            .as_deref()
            .filter(|f| is_ours(f))
            .and_then(|f| fs::read(f).ok())
            .and_then(|bytes| serde_json::from_slice::<Stored>(&bytes).ok())
            .filter(|s| s.version == VERSION)
            .unwrap_or_default();
        ManifestCache {
            file,
            stored,
            changed: false,
        }
    }

    /// The manifest read from `library` while it had `key`.
    pub fn get(&self, library: &Path, key: &CacheKey) -> Option<&ManifestInfo> {
        self.stored
            .entries
            .get(library)
            .filter(|e| &e.key == key)
            .map(|e| &e.manifest)
    }

    /// Keeps `manifest`, read from `library` while it had `key`.
    pub fn put(&mut self, library: &Path, key: CacheKey, manifest: ManifestInfo) {
        let entry = Entry { key, manifest };
        self.stored.entries.insert(library.to_owned(), entry);
        self.changed = true;
    }

    /// Forgets `library` (it is gone, or no longer loads).
    pub fn forget(&mut self, library: &Path) {
        self.changed |= self.stored.entries.remove(library).is_some();
    }

    /// Writes the cache back when it changed: owner-only, replaced whole. A cache that
    /// cannot be written costs the next listing a load, nothing more.
    pub fn save(&mut self) -> std::io::Result<()> {
        let Some(file) = self.file.as_deref().filter(|_| self.changed) else {
            return Ok(());
        };
        let dir = file.parent().unwrap_or(Path::new("."));
        create_owner_only_dir(dir)?;
        self.stored.version = VERSION;
        let mut temp = tempfile::NamedTempFile::new_in(dir)?;
        temp.write_all(&serde_json::to_vec(&self.stored).map_err(std::io::Error::other)?)?;
        temp.as_file().sync_all()?;
        temp.persist(file).map_err(|e| e.error)?;
        self.changed = false;
        Ok(())
    }
}

/// Whether `file` is a regular file that only its owner, who runs this process, may
/// change (a cache someone else could write would let them choose what is listed).
fn is_ours(file: &Path) -> bool {
    let Ok(meta) = fs::symlink_metadata(file) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        meta.file_type().is_file() && meta.uid() == me && meta.mode() & 0o022 == 0
    }
    #[cfg(not(unix))]
    {
        meta.file_type().is_file()
    }
}

fn create_owner_only_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(id: &str) -> ManifestInfo {
        ManifestInfo {
            id: id.into(),
            display_name: "Office 365".into(),
            plugin_version: "0.1.0".into(),
            vendor: "ATRS".into(),
            description: "Mail".into(),
            sdk_version: "1.1.0".into(),
        }
    }

    fn key_of(path: &Path) -> CacheKey {
        CacheKey {
            library: FileIdentity::of(path).unwrap(),
            signature: None,
            keys: None,
        }
    }

    #[test]
    fn an_entry_serves_only_the_same_file_and_survives_a_save() {
        let dir = tempfile::tempdir().unwrap();
        let library = dir.path().join("libp.so");
        fs::write(&library, b"one").unwrap();
        let file = dir.path().join("cache").join("manifests.json");
        let mut cache = ManifestCache::open(Some(file.clone()));
        cache.put(&library, key_of(&library), manifest("p"));
        cache.save().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "owner-only: {mode:o}");
        }
        let again = ManifestCache::open(Some(file.clone()));
        assert_eq!(again.get(&library, &key_of(&library)), Some(&manifest("p")));

        // Written again with the same size and its modification time set back: the
        // change time still moved.
        let before = FileIdentity::of(&library).unwrap();
        let old = fs::metadata(&library).unwrap().modified().unwrap();
        fs::write(&library, b"two").unwrap();
        fs::File::options()
            .write(true)
            .open(&library)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let after = FileIdentity::of(&library).unwrap();
        assert_ne!(before, after, "{before:?}");
        assert_eq!(again.get(&library, &key_of(&library)), None);
    }

    #[test]
    fn a_damaged_or_foreign_cache_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("manifests.json");
        fs::write(&file, b"{ not json").unwrap();
        let cache = ManifestCache::open(Some(file.clone()));
        assert!(cache.stored.entries.is_empty());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let library = dir.path().join("libp.so");
            fs::write(&library, b"x").unwrap();
            let mut cache = ManifestCache::open(Some(file.clone()));
            cache.put(&library, key_of(&library), manifest("p"));
            cache.save().unwrap();
            fs::set_permissions(&file, fs::Permissions::from_mode(0o666)).unwrap();
            let foreign = ManifestCache::open(Some(file));
            assert_eq!(
                foreign.get(&library, &key_of(&library)),
                None,
                "others may write it"
            );
        }
    }
}
