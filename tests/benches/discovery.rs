//! What finding plugins costs, on a folder holding the release build of the Office 365
//! plugin once, and twenty copies of it (the copies after the first are refused as
//! duplicates, after being read like any):
//!
//! - `discovery/plugins_{1,20}`: the whole `atrs-test-host plugins` command, start to
//!   exit, its manifest cache warm (nothing changed since the last listing);
//!   `discovery/plugins_{1,20}_no_cache` the same with the cache turned off, so every
//!   library is opened and checked, as before the cache;
//! - `load_dir/{1,20}_files`: `loader::load_dir` in process — list the folder, preflight
//!   each library, open it, check its layout and read its manifest (the first load of
//!   each file, the system loader mapping and relocating it, happens before measuring).
//!
//! `cargo bench -p atrs-e2e --bench discovery`

use std::path::Path;

use atrs_host_sdk::loader;
use criterion::{criterion_group, criterion_main, Criterion};

/// A folder holding `copies` copies of `library`.
fn folder_of(library: &Path, copies: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for i in 0..copies {
        let name = format!(
            "libatrs_office365_{i:02}.{}",
            std::env::consts::DLL_EXTENSION
        );
        std::fs::copy(library, dir.path().join(name)).expect("copy library");
    }
    dir
}

/// Runs `host plugins` over `dir` with the manifest cache `cache` ("" turns it off).
fn plugins_command(host: &Path, dir: &Path, cache: &str) {
    let out = std::process::Command::new(host)
        .args(["--plugins-dir", dir.to_str().unwrap(), "--json", "plugins"])
        .env("ATRS_MANIFEST_CACHE", cache)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("the host runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn discovery(c: &mut Criterion) {
    let built = atrs_e2e::release_workspace();
    let (library, host) = (built.get("atrs_office365"), built.get("atrs_test_host"));
    let scratch = tempfile::tempdir().expect("temp dir");
    for copies in [1, 20] {
        let dir = folder_of(library, copies);
        let cache = scratch.path().join(format!("manifests-{copies}.json"));
        let cache = cache.to_str().unwrap();
        plugins_command(host, dir.path(), cache);
        c.bench_function(&format!("discovery/plugins_{copies}"), |b| {
            b.iter(|| plugins_command(host, dir.path(), cache))
        });
        c.bench_function(&format!("discovery/plugins_{copies}_no_cache"), |b| {
            b.iter(|| plugins_command(host, dir.path(), ""))
        });
    }
    for copies in [1, 20] {
        let dir = folder_of(library, copies);
        let first = loader::load_dir(dir.path()).expect("folder readable");
        assert!(first[0].result.is_ok(), "the plugin loads: {first:?}");
        c.bench_function(&format!("load_dir/{copies}_files"), |b| {
            b.iter(|| loader::load_dir(dir.path()).expect("folder readable"))
        });
    }
}

criterion_group!(benches, discovery);
criterion_main!(benches);
