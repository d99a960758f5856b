//! What finding plugins costs: `loader::load_dir` — list the folder, preflight each
//! library, open it, check its layout and read its manifest — on a folder holding the
//! release build of the Office 365 plugin once, and twenty copies of it (the copies
//! after the first are refused as duplicates, after being loaded and read like any).
//!
//! `cargo bench -p atrs-e2e --bench discovery`
//!
//! The first load of each file (the system loader mapping and relocating it) happens
//! once per process, before measuring; the whole `plugins` command, start to exit, is
//! timed with `hyperfine` (see the note in the issue).

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

fn discovery(c: &mut Criterion) {
    let library = atrs_e2e::release_workspace().get("atrs_office365");
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
