//! Listing a plugins folder without opening the libraries that have not changed since
//! they were last read: their manifests come from the [`ManifestCache`]; every other
//! library is loaded and checked as [`Catalog::load_trusting`](super::Catalog) would,
//! and its manifest kept. The same rules decide what is listed: sorted by file name, a
//! later library claiming an id already listed is refused as a duplicate.

use std::path::{Path, PathBuf};

use atrs_host_sdk::{
    loader::{self, Refusal},
    signing::{TrustedKeys, SIGNATURE_SUFFIX},
};

use super::Refused;
use serde_json::{json, Value};

use super::{
    folder_error,
    manifest_cache::{CacheKey, FileIdentity, ManifestCache, ManifestInfo},
    CatalogError,
};

/// Where a listed manifest was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadFrom {
    /// The library was loaded and checked now.
    Library,
    /// The cache: the library is the file it was read from before.
    Cache,
}

impl ReadFrom {
    /// Its name in JSON (`library`, `cache`).
    pub fn name(self) -> &'static str {
        match self {
            ReadFrom::Library => "library",
            ReadFrom::Cache => "cache",
        }
    }
}

/// One library of the folder, listed.
#[derive(Debug)]
pub struct Listed {
    /// The library file.
    pub path: PathBuf,
    /// Its manifest and where it was read, or why it was refused.
    pub result: Result<(ManifestInfo, ReadFrom), Refused>,
}

/// Every library of one plugins folder, listed.
#[derive(Debug)]
pub struct Listing {
    /// The folder.
    pub dir: PathBuf,
    /// One entry per library file, in file-name order.
    pub entries: Vec<Listed>,
    /// Whether only signed libraries were accepted (trusted vendor keys were given).
    pub signatures_checked: bool,
}

/// Lists `dir` (only signed libraries with `trusted` vendor keys), opening only the
/// libraries `cache` has no valid manifest for, and keeping theirs in it.
pub fn list(
    dir: &Path,
    trusted: Option<&TrustedKeys>,
    cache: &mut ManifestCache,
) -> Result<Listing, CatalogError> {
    list_reading(dir, trusted, cache, |path| {
        loader::load_file_trusting(path, trusted)
            .map(|library| ManifestInfo::from(library.manifest()))
            .map_err(Refused::from)
    })
}

/// [`list`], reading with `read` the libraries the cache cannot answer for.
pub(crate) fn list_reading(
    dir: &Path,
    trusted: Option<&TrustedKeys>,
    cache: &mut ManifestCache,
    read: impl Fn(&Path) -> Result<ManifestInfo, Refused>,
) -> Result<Listing, CatalogError> {
    let paths = loader::library_paths(dir).map_err(|source| folder_error(dir, source))?;
    let keys = trusted.map(|t| {
        t.keys()
            .iter()
            .map(|k| k.to_file_text())
            .collect::<Vec<_>>()
            .join("")
    });
    let entries = list_with(&paths, keys.as_deref(), cache, read);
    Ok(Listing {
        dir: dir.to_owned(),
        entries,
        signatures_checked: trusted.is_some(),
    })
}

/// [`list`] over `paths`, with `load` for the libraries the cache cannot answer for.
pub(crate) fn list_with(
    paths: &[PathBuf],
    keys: Option<&str>,
    cache: &mut ManifestCache,
    load: impl Fn(&Path) -> Result<ManifestInfo, Refused>,
) -> Vec<Listed> {
    let mut first_of_id: Vec<(String, PathBuf)> = Vec::new();
    paths
        .iter()
        .map(|path| {
            let result = read(path, keys, cache, &load).and_then(|(manifest, from)| {
                match first_of_id.iter().find(|(id, _)| *id == manifest.id) {
                    Some((id, first)) => Err(Refused::Loader(Refusal::DuplicateId {
                        id: id.clone(),
                        first: first.clone(),
                    })),
                    None => {
                        first_of_id.push((manifest.id.clone(), path.clone()));
                        Ok((manifest, from))
                    }
                }
            });
            Listed {
                path: path.clone(),
                result,
            }
        })
        .collect()
}

/// The manifest of `path`: from the cache while the file (and its signature) is the
/// one it was read from, else loaded, checked and kept.
fn read(
    path: &Path,
    keys: Option<&str>,
    cache: &mut ManifestCache,
    load: &impl Fn(&Path) -> Result<ManifestInfo, Refused>,
) -> Result<(ManifestInfo, ReadFrom), Refused> {
    let key = FileIdentity::of(path).map(|library| CacheKey {
        library,
        signature: keys.and_then(|_| FileIdentity::of(&signature_path(path))),
        keys: keys.map(str::to_owned),
    });
    if let Some(found) = key.as_ref().and_then(|k| cache.get(path, k)) {
        return Ok((found.clone(), ReadFrom::Cache));
    }
    match load(path) {
        Ok(manifest) => {
            // The identity is taken again after loading: a file replaced meanwhile is
            // not kept under the old one's.
            let after = FileIdentity::of(path);
            if let Some(key) = key.filter(|k| Some(&k.library) == after.as_ref()) {
                cache.put(path, key, manifest.clone());
            }
            Ok((manifest, ReadFrom::Library))
        }
        Err(refusal) => {
            cache.forget(path);
            Err(refusal)
        }
    }
}

/// The detached signature beside `library`.
fn signature_path(library: &Path) -> PathBuf {
    let mut name = library.as_os_str().to_owned();
    name.push(".");
    name.push(SIGNATURE_SUFFIX);
    PathBuf::from(name)
}

/// A listed library as JSON, shaped as [`super::entry_json`] shapes a loaded one,
/// plus `read_from`.
pub fn listed_json(listed: &Listed) -> Value {
    match &listed.result {
        Ok((m, from)) => {
            let mut value = super::manifest_json(&listed.path, m);
            value["read_from"] = json!(from.name());
            value
        }
        Err(r) => super::refusal_json(&listed.path, r),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn manifest(id: &str) -> ManifestInfo {
        ManifestInfo {
            id: id.into(),
            display_name: id.into(),
            plugin_version: "1.0.0".into(),
            vendor: "v".into(),
            description: "d".into(),
            sdk_version: "1.1.0".into(),
        }
    }

    #[test]
    fn unchanged_libraries_are_not_loaded_again_and_a_changed_one_is() {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = (0..3)
            .map(|i| {
                let p = dir.path().join(format!("lib{i}.so"));
                std::fs::write(&p, format!("library {i}")).unwrap();
                p
            })
            .collect();
        let loads = Cell::new(0);
        let load = |p: &Path| {
            loads.set(loads.get() + 1);
            match p.file_name().unwrap().to_str().unwrap() {
                "lib2.so" => Err(Refused::Loader(Refusal::InitPanicked)),
                "lib1.so" => Ok(manifest("a")),
                _ => Ok(manifest("a")),
            }
        };
        let mut cache = ManifestCache::open(None);
        let first = list_with(&paths, None, &mut cache, load);
        assert_eq!(loads.get(), 3);
        assert!(matches!(first[0].result, Ok((_, ReadFrom::Library))));
        assert!(
            matches!(&first[1].result, Err(Refused::Loader(Refusal::DuplicateId { id, first })) if id == "a" && first == &paths[0]),
            "{:?}",
            first[1]
        );
        assert!(matches!(
            first[2].result,
            Err(Refused::Loader(Refusal::InitPanicked))
        ));

        let second = list_with(&paths, None, &mut cache, load);
        assert_eq!(loads.get(), 4, "only the refused library is opened again");
        assert!(matches!(second[0].result, Ok((_, ReadFrom::Cache))));
        assert!(
            matches!(
                second[1].result,
                Err(Refused::Loader(Refusal::DuplicateId { .. }))
            ),
            "the duplicate rule holds for cached manifests: {:?}",
            second[1]
        );

        std::fs::write(&paths[0], "library 0, rebuilt").unwrap();
        let third = list_with(&paths, None, &mut cache, load);
        assert_eq!(loads.get(), 6, "the changed library is checked again");
        assert!(matches!(third[0].result, Ok((_, ReadFrom::Library))));
    }

    #[test]
    fn with_signatures_a_new_signature_or_other_keys_mean_a_new_check() {
        let dir = tempfile::tempdir().unwrap();
        let library = dir.path().join("libp.so");
        std::fs::write(&library, "p").unwrap();
        std::fs::write(signature_path(&library), "sig 1").unwrap();
        let paths = vec![library.clone()];
        let loads = Cell::new(0);
        let load = |_: &Path| {
            loads.set(loads.get() + 1);
            Ok(manifest("p"))
        };
        let mut cache = ManifestCache::open(None);
        list_with(&paths, Some("key A"), &mut cache, load);
        list_with(&paths, Some("key A"), &mut cache, load);
        assert_eq!(loads.get(), 1);
        list_with(&paths, Some("key B"), &mut cache, load);
        assert_eq!(loads.get(), 2, "other trusted keys");
        std::fs::write(signature_path(&library), "sig 2, longer").unwrap();
        list_with(&paths, Some("key B"), &mut cache, load);
        assert_eq!(loads.get(), 3, "a new signature file");
        list_with(&paths, None, &mut cache, load);
        assert_eq!(loads.get(), 4, "read without checking signatures");
    }
}
