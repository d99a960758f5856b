//! Support for the end-to-end tests: build the real libraries and binaries they load,
//! lay out plugin folders, and run the host binary.
//!
//! Every test builds what it loads (once per test binary), so `cargo test` passes
//! from a fresh clone with no earlier build:
//! - the workspace's plugin and host with the same cargo and target folder as the tests;
//! - the deliberately broken fixture plugins (`tests/fixtures`, a workspace of their
//!   own) into `target/fixtures`, so they never sit next to the real host.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    sync::OnceLock,
};

use serde_json::Value;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_owned()
}

/// What one `cargo build` produced, by crate name: libraries and executables.
#[derive(Debug, Default)]
pub struct Artifacts {
    by_name: BTreeMap<String, PathBuf>,
}

impl Artifacts {
    /// The artifact of crate target `name` (a library's `.so`, or an executable).
    pub fn get(&self, name: &str) -> &Path {
        self.by_name.get(name).unwrap_or_else(|| {
            panic!(
                "cargo built no artifact named {name}; built: {:?}",
                self.by_name.keys()
            )
        })
    }
}

/// Runs `cargo build` with `args` and collects the artifacts from its JSON messages.
fn cargo_build(args: &[&str]) -> Artifacts {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .arg("build")
        .arg("--message-format=json-render-diagnostics")
        .args(args)
        .current_dir(repo_root())
        .stderr(Stdio::inherit())
        .output()
        .expect("cargo runs");
    assert!(output.status.success(), "cargo build {args:?} failed");
    let mut artifacts = Artifacts::default();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        let name = msg["target"]["name"]
            .as_str()
            .unwrap_or_default()
            .replace('-', "_");
        if let Some(exe) = msg["executable"].as_str() {
            artifacts.by_name.insert(name, PathBuf::from(exe));
            continue;
        }
        let cdylib = msg["filenames"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .find(|f| f.ends_with(&format!(".{}", std::env::consts::DLL_EXTENSION)));
        if let Some(lib) = cdylib {
            artifacts.by_name.insert(name, PathBuf::from(lib));
        }
    }
    artifacts
}

/// The real Office 365 plugin library and the host binary, built once.
pub fn workspace() -> &'static Artifacts {
    static BUILT: OnceLock<Artifacts> = OnceLock::new();
    BUILT.get_or_init(|| cargo_build(&["-p", "atrs-office365", "-p", "atrs-test-host"]))
}

/// The built `libatrs_office365.so`.
pub fn office365_library() -> &'static Path {
    workspace().get("atrs_office365")
}

/// The built `atrs-test-host` binary.
pub fn host_binary() -> &'static Path {
    workspace().get("atrs_test_host")
}

/// The fixture plugins, built once.
pub fn fixtures() -> &'static Artifacts {
    static BUILT: OnceLock<Artifacts> = OnceLock::new();
    BUILT.get_or_init(|| {
        let manifest = repo_root().join("tests/fixtures/Cargo.toml");
        let target = repo_root().join("target/fixtures");
        cargo_build(&[
            "--manifest-path",
            manifest.to_str().expect("utf-8 path"),
            "--target-dir",
            target.to_str().expect("utf-8 path"),
        ])
    })
}

/// The built library of fixture `name` (e.g. `init-panics`).
pub fn fixture(name: &str) -> &'static Path {
    fixtures().get(&format!("fixture_{}", name.replace('-', "_")))
}

/// A temporary plugins folder holding copies of `libraries` (keeping their file names).
pub fn plugins_dir(libraries: &[&Path]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for lib in libraries {
        let name = lib.file_name().expect("library file name");
        std::fs::copy(lib, dir.path().join(name)).expect("copy library");
    }
    dir
}

/// Runs the host binary with `args`, no stdin, and the given extra environment.
pub fn run_host(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(host_binary());
    command.args(args).stdin(Stdio::null());
    command
        .env_remove("ATRS_PLUGINS_DIR")
        .env_remove("ATRS_STORE_DIR")
        .env_remove("RUST_BACKTRACE");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("host runs")
}

/// The JSON lines of a `--json` run's stdout; panics if any line is not JSON.
pub fn json_lines(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}"))
        })
        .collect()
}

/// The last JSON line (the result) of a `--json` run.
pub fn json_result(output: &Output) -> Value {
    let lines = json_lines(output);
    let last = lines.last().cloned().unwrap_or_else(|| {
        panic!(
            "no JSON on stdout; stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert_eq!(
        last["type"], "result",
        "the last line is the result: {last}"
    );
    last
}
