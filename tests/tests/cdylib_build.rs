//! `atrs_conformance::CdylibBuild`, the helper an author's `cargo test` uses to build
//! and find the plugin library: in our workspace it finds the library in the
//! workspace's target folder (not the package's); a plugin crate of its own, built into
//! the folder `CARGO_TARGET_DIR` names, is rebuilt when its source changes, so the
//! checks never see a stale library; a package without a cdylib, an unknown package and
//! a build that fails each end with what to do.

use std::{fs, path::Path};

use atrs_conformance::{BuildError, CdylibBuild};
use atrs_e2e::{json_result, office365_library, repo_root, run_host};

#[test]
fn in_a_workspace_the_library_is_found_in_the_workspace_target_folder() {
    // With the packages of the suite's own build beside it, so that cargo unifies the
    // same features and builds the very library the other tests load (alone, the
    // plugin's SDK would lack the `host` feature the host turns on, and each build would
    // relink the other's library).
    let mut build = CdylibBuild::new(repo_root().join("plugin/cdylib"), "atrs-office365-cdylib");
    for package in ["atrs-test-host", "atrs-host-c", "atrs-host-runtime"] {
        build = build.arg("-p").arg(package);
    }
    let built = build.build().expect("the Office 365 plugin builds");
    assert_eq!(built, office365_library());
    assert!(built.is_file());

    // The library crate under it is not a cdylib: cargo is not even asked to build it.
    let err = CdylibBuild::new(repo_root().join("plugin"), "atrs-office365")
        .build()
        .unwrap_err();
    assert!(matches!(err, BuildError::NotACdylib { .. }), "{err:?}");
    assert!(err.to_string().contains("CdylibBuild::package"), "{err}");

    let err = CdylibBuild::new(repo_root().join("plugin"), "no-such-plugin")
        .build()
        .unwrap_err();
    assert!(matches!(err, BuildError::NoSuchPackage { .. }), "{err:?}");
}

/// A minimal plugin crate (outside our workspace, as an author's is) whose version is
/// `version`, or whose source does not compile when `broken`.
fn write_plugin(dir: &Path, version: &str, broken: bool) {
    let sdk = repo_root().join("host-sdk");
    fs::create_dir_all(dir.join("src")).unwrap();
    // The fixtures' lock file and profile: the dependencies they built are reused.
    fs::copy(
        repo_root().join("tests/fixtures/Cargo.lock"),
        dir.join("Cargo.lock"),
    )
    .unwrap();
    fs::write(
        dir.join("Cargo.toml"),
        format!(
            r#"[package]
name = "author-plugin"
version = "{version}"
edition = "2021"
publish = false

[lib]
crate-type = ["cdylib"]

[dependencies]
atrs-host-sdk = {{ path = {sdk:?} }}
abi_stable = "0.11.3"

[workspace]

[profile.dev]
debug = "line-tables-only"

[profile.dev.package."*"]
debug = false
"#
        ),
    )
    .unwrap();
    let body = if broken { "this is not Rust" } else { "" };
    fs::write(
        dir.join("src/lib.rs"),
        format!(
            r#"use atrs_host_sdk::prelude::*;

pub struct Author;

impl Integration for Author {{
    fn manifest() -> Manifest {{
        Manifest::new("author", "Author", "{version}", "Tests", "A plugin that changes.")
    }}
    fn new(_host: Host) -> Result<Self, PluginError> {{
        Ok(Author)
    }}
    fn describe(&self) -> Vec<FormField> {{
        vec![FormField::new(ACCOUNT_NAME, "Account name", FieldKind::Text).required()]
    }}
    fn start_verification(
        &mut self,
        _values: &FormValues,
        _method: VerifyMethod,
    ) -> Result<Box<dyn VerificationSession>, PluginError> {{
        Err(PluginError::unsupported("No verification."))
    }}
    fn save(&mut self, _values: &FormValues) -> Result<(), PluginError> {{
        Err(PluginError::unsupported("No saving."))
    }}
    fn load_account(&self, _account: &str) -> Result<FormValues, PluginError> {{
        Err(PluginError::unsupported("No accounts."))
    }}
    fn remove_account(&mut self, _account: &str) -> Result<(), PluginError> {{
        Err(PluginError::unsupported("No accounts."))
    }}
}}

export_plugin!(Author);
{body}
"#
        ),
    )
    .unwrap();
}

/// The version in the manifest of the library at `path`, as the host reads it.
fn loaded_version(path: &Path) -> String {
    let out = run_host(&["check", "--json", path.to_str().unwrap()], &[]);
    let result = json_result(&out);
    result["plugin"]["version"]
        .as_str()
        .unwrap_or_else(|| panic!("no plugin version in {result:#}"))
        .to_owned()
}

#[test]
fn a_changed_plugin_is_rebuilt_into_the_target_folder_cargo_is_given() {
    let crate_dir = tempfile::tempdir().unwrap();
    let target = repo_root().join("target/fixtures");
    let build = CdylibBuild::new(crate_dir.path(), "author-plugin")
        .env("CARGO_TARGET_DIR", &target)
        .profile("dev");

    write_plugin(crate_dir.path(), "0.1.0", false);
    let first = build.build().expect("the plugin builds");
    let name = format!(
        "{}author_plugin{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    assert_eq!(first, target.join("debug").join(&name));
    assert_eq!(loaded_version(&first), "0.1.0");

    // The author changes the plugin: the next test run checks the new library.
    write_plugin(crate_dir.path(), "0.2.0", false);
    let second = build.build().expect("the changed plugin builds");
    assert_eq!(second, first);
    assert_eq!(loaded_version(&second), "0.2.0");

    // A plugin that does not compile is an error saying so, not the old library.
    write_plugin(crate_dir.path(), "0.3.0", true);
    let err = build.build().unwrap_err();
    assert!(matches!(err, BuildError::BuildFailed { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("`cargo build` of author-plugin failed"),
        "{err}"
    );
}
