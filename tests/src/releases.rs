//! The Office 365 plugin built as two releases, for the drop-in update test.
//!
//! A vendor's previous and next release come from two commits. Building an old commit
//! would compile the plugin's whole dependency tree again in a second target folder
//! (minutes on two cores). Instead the plugin reads two compile-time switches:
//! `ATRS_OFFICE365_VERSION` stamps the manifest version, as a release pipeline does,
//! and `ATRS_OFFICE365_SETTINGS_LAYOUT=1` makes it keep settings as release 0.1.0 did
//! — write layout 1 and refuse later layouts (see `plugin/src/account/saved.rs`). Cargo tracks both (`option_env!`), so each
//! release build recompiles the plugin crate alone, incrementally — seconds. The plain
//! build is restored afterwards, so tests that load the workspace's plugin find it as
//! usual.

use std::{
    path::{Path, PathBuf},
    sync::OnceLock,
};

use crate::{cargo_build, cargo_build_with_env, repo_root};

/// One release build, copied out of the target folder.
#[derive(Debug, Clone)]
pub struct Release {
    /// The version in its manifest.
    pub version: &'static str,
    /// The settings layout it writes (and the newest it reads).
    pub writes_layout: &'static str,
    /// `target/releases/<version>/libatrs_office365.so`.
    pub library: PathBuf,
}

/// The previous release (0.1.0, settings layout 1) and the next (0.2.0, the current
/// layout), built once per test binary.
pub fn previous_and_next() -> &'static (Release, Release) {
    static BUILT: OnceLock<(Release, Release)> = OnceLock::new();
    BUILT.get_or_init(|| {
        let previous = build("0.1.0", "1");
        let next = build("0.2.0", "2");
        // Back to the plain build for everything else in this target folder.
        cargo_build(&["-p", "atrs-office365-cdylib", "-p", "atrs-test-host"]);
        (previous, next)
    })
}

fn build(version: &'static str, layout: &'static str) -> Release {
    let mut env = vec![("ATRS_OFFICE365_VERSION", version)];
    if layout == "1" {
        env.push(("ATRS_OFFICE365_SETTINGS_LAYOUT", "1"));
    }
    // The same packages as the plain build, so features resolve the same and only the
    // plugin crate is rebuilt.
    let built = cargo_build_with_env(
        &["-p", "atrs-office365-cdylib", "-p", "atrs-test-host"],
        &env,
    );
    let library = copy_out(built.get("atrs_office365"), version);
    Release {
        version,
        writes_layout: layout,
        library,
    }
}

fn copy_out(library: &Path, version: &str) -> PathBuf {
    let folder = repo_root().join("target/releases").join(version);
    std::fs::create_dir_all(&folder).expect("create the release folder");
    let to = folder.join(library.file_name().expect("a library file name"));
    std::fs::copy(library, &to).expect("copy the release build");
    to
}
