//! `plugins` lists a folder without opening the libraries it has read before: their
//! manifests come from the manifest cache while each library is the very file it was
//! read from. A library that changed (rewritten, replaced, or only touched) is opened
//! and checked again, and a cache another user could change is ignored.
//!
//! That an unchanged library is not opened is shown by the listing's `read_from` and
//! proven with a counting loader in `atrs_host_runtime::catalog::listing`'s unit tests;
//! here the `elf-constructor` fixture's marker proves that a replaced file is opened.

#![cfg(unix)]

use std::{
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
};

use atrs_e2e::{fixture, json_result, office365_library, plugins_dir, run_host};
use serde_json::Value;

struct World {
    plugins: tempfile::TempDir,
    scratch: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        World {
            plugins: plugins_dir(&[office365_library()]),
            scratch: tempfile::tempdir().unwrap(),
        }
    }

    fn cache(&self) -> PathBuf {
        self.scratch
            .path()
            .join("cache")
            .join("plugin-manifests.json")
    }

    fn marker(&self) -> PathBuf {
        self.scratch.path().join("constructor-ran")
    }

    fn library(&self) -> PathBuf {
        self.plugins
            .path()
            .join(office365_library().file_name().unwrap())
    }

    /// `--json plugins`: the one entry, as listed.
    fn list(&self) -> Value {
        let out = run_host(
            &[
                "--plugins-dir",
                self.plugins.path().to_str().unwrap(),
                "--json",
                "plugins",
            ],
            &[
                ("ATRS_MANIFEST_CACHE", self.cache().to_str().unwrap()),
                ("ATRS_FIXTURE_MARKER", self.marker().to_str().unwrap()),
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let result = json_result(&out);
        let entries = result["plugins"].as_array().unwrap();
        assert_eq!(entries.len(), 1, "{result:#}");
        entries[0].clone()
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn an_unchanged_library_is_listed_from_the_cache_and_a_changed_one_is_checked_again() {
    let w = World::new();
    let first = w.list();
    assert_eq!(first["status"], "loaded", "{first:#}");
    assert_eq!(first["id"], "office365");
    assert_eq!(first["read_from"], "library");
    assert_eq!(mode(&w.cache()) & 0o077, 0, "the cache is owner-only");

    let second = w.list();
    assert_eq!(second["read_from"], "cache", "{second:#}");
    for field in [
        "id",
        "name",
        "version",
        "vendor",
        "description",
        "sdk_version",
    ] {
        assert_eq!(first[field], second[field], "{field}");
    }

    // Only its times change: checked again all the same.
    let file = std::fs::File::options()
        .write(true)
        .open(w.library())
        .unwrap();
    file.set_modified(std::time::SystemTime::now()).unwrap();
    drop(file);
    assert_eq!(w.list()["read_from"], "library");
    assert_eq!(w.list()["read_from"], "cache");

    // Replaced by another library under the same name: opened (its constructor ran)
    // and refused, never listed from the old entry.
    std::fs::remove_file(w.library()).unwrap();
    std::fs::copy(fixture("elf-constructor"), w.library()).unwrap();
    let replaced = w.list();
    assert_eq!(replaced["status"], "refused", "{replaced:#}");
    assert!(w.marker().exists(), "the new file was opened and checked");
}

#[test]
fn a_cache_others_could_change_is_ignored() {
    let w = World::new();
    assert_eq!(w.list()["read_from"], "library");
    std::fs::set_permissions(w.cache(), std::fs::Permissions::from_mode(0o666)).unwrap();
    assert_eq!(
        w.list()["read_from"],
        "library",
        "a cache others may write is not read"
    );
}
