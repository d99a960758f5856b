//! Builds a plugin's library for its own `cargo test`, and says where it is.
//!
//! `cargo test` does not rebuild a cdylib-only crate for its integration tests, and
//! the file's place depends on the target folder (`CARGO_TARGET_DIR`, the workspace's,
//! `build.target-dir`), the profile, the target triple and the operating system's
//! naming (`lib<name>.so`, `lib<name>.dylib`, `<name>.dll`). So a test never guesses a
//! path: [`build_this_cdylib`] runs `cargo build` for the package whose tests are
//! running, with the profile (and target) the tests were built with, and returns the
//! file cargo reports having built — up to date, wherever it is.
//!
//! ```no_run
//! let library = atrs_conformance::build_this_cdylib().expect("the plugin builds");
//! atrs_conformance::run(&atrs_conformance::Options::new(library)).assert_no_failures();
//! ```
//!
//! Where the cdylib is another package of the workspace (a thin `cdylib` crate over a
//! library crate, as the Office 365 plugin does), name it:
//! `CdylibBuild::this_package()?.package("my-plugin-cdylib").build()`.
//!
//! The target folder is cargo's own choice (`CARGO_TARGET_DIR`, `build.target-dir`,
//! the workspace's `target`), as for `cargo build` in a shell; tests run with a
//! `--target-dir` flag build into the default folder unless you pass the same flag
//! with [`CdylibBuild::arg`]. The profile is the one the tests were built with (read
//! from where the test executable is), else `dev`; [`CdylibBuild::profile`] chooses.
//! Cargo sees the tests' environment without the variables it set for the test
//! itself ([`cargo_command`]).

use std::{
    ffi::OsString,
    path::{Path, PathBuf},
    process::{Command, ExitStatus, Stdio},
};

use serde_json::Value;

/// Why the library could not be built or found; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The test does not run under cargo, so the package is unknown.
    #[error("{variable} is not set, so the package whose tests run is unknown. Run the tests with `cargo test`, or name the package: CdylibBuild::new(env!(\"CARGO_MANIFEST_DIR\"), env!(\"CARGO_PKG_NAME\")).")]
    NotUnderCargo {
        /// The variable cargo sets for a test.
        variable: &'static str,
    },
    /// Cargo could not be started.
    #[error(
        "could not run {cargo}: {source}. Install Rust with cargo, or set CARGO to cargo's path."
    )]
    CargoDidNotRun {
        /// The program run.
        cargo: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// `cargo metadata` failed or answered with something unreadable.
    #[error("`cargo metadata` for {manifest} failed: {why}. Run `cargo metadata --no-deps --manifest-path {manifest}` to see why.")]
    Metadata {
        /// The manifest asked about.
        manifest: String,
        /// What went wrong.
        why: String,
    },
    /// The package is not in the workspace of the manifest.
    #[error("there is no package {package} in the workspace of {manifest}. Name a package of that workspace (its `name` in Cargo.toml).")]
    NoSuchPackage {
        /// The package asked for.
        package: String,
        /// The manifest it was looked for from.
        manifest: String,
    },
    /// The package has no `cdylib` target.
    #[error("package {package} builds no cdylib, so there is no plugin library to check. Add `[lib] crate-type = [\"cdylib\"]` to its Cargo.toml, or name the package that builds the library with CdylibBuild::package.")]
    NotACdylib {
        /// The package.
        package: String,
    },
    /// `cargo build` failed (cargo printed its errors above).
    #[error("`cargo build` of {package} failed ({status}); cargo's errors are printed above. Fix them and run the tests again.")]
    BuildFailed {
        /// The package.
        package: String,
        /// How cargo exited.
        status: ExitStatus,
    },
    /// Cargo built the package but reported no library file.
    #[error("`cargo build` of {package} reported no library file for its cdylib target {target}. Check that the package's [lib] has crate-type = [\"cdylib\"].")]
    NoLibrary {
        /// The package.
        package: String,
        /// The cdylib target's name.
        target: String,
    },
}

/// A `cargo build` of one package's cdylib, with the profile and target of the running
/// tests unless told otherwise.
#[derive(Debug, Clone)]
pub struct CdylibBuild {
    manifest: PathBuf,
    package: String,
    profile: Option<String>,
    env: Vec<(OsString, OsString)>,
    args: Vec<OsString>,
}

/// Builds the cdylib of the package whose tests are running and returns its path:
/// `CdylibBuild::this_package()?.build()`.
pub fn build_this_cdylib() -> Result<PathBuf, BuildError> {
    CdylibBuild::this_package()?.build()
}

impl CdylibBuild {
    /// The package whose tests are running, from the variables `cargo test` sets
    /// (`CARGO_MANIFEST_DIR`, `CARGO_PKG_NAME`).
    pub fn this_package() -> Result<Self, BuildError> {
        Self::from_vars(|name| std::env::var_os(name))
    }

    fn from_vars(var: impl Fn(&str) -> Option<OsString>) -> Result<Self, BuildError> {
        let dir = var("CARGO_MANIFEST_DIR").ok_or(BuildError::NotUnderCargo {
            variable: "CARGO_MANIFEST_DIR",
        })?;
        let package = var("CARGO_PKG_NAME").ok_or(BuildError::NotUnderCargo {
            variable: "CARGO_PKG_NAME",
        })?;
        Ok(Self::new(dir, package.to_string_lossy()))
    }

    /// The package `package` of the workspace whose member (or root) is the folder
    /// `manifest_dir`.
    pub fn new(manifest_dir: impl Into<PathBuf>, package: impl Into<String>) -> Self {
        CdylibBuild {
            manifest: manifest_dir.into().join("Cargo.toml"),
            package: package.into(),
            profile: None,
            env: Vec::new(),
            args: Vec::new(),
        }
    }

    /// Another package of the same workspace: the one that builds the cdylib.
    pub fn package(mut self, package: impl Into<String>) -> Self {
        self.package = package.into();
        self
    }

    /// A cargo profile (`dev`, `release`, or one of your own) instead of the tests' own.
    pub fn profile(mut self, profile: impl Into<String>) -> Self {
        self.profile = Some(profile.into());
        self
    }

    /// An environment variable for cargo (`CARGO_TARGET_DIR`, say); cargo otherwise
    /// sees the tests' environment.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// One more argument for `cargo build` (`--features`, `x`, …).
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Runs `cargo build` for the package's library and returns the file built. Cargo
    /// rebuilds what changed and prints its errors to stderr.
    pub fn build(&self) -> Result<PathBuf, BuildError> {
        let metadata = self.metadata()?;
        let package =
            find_package(&metadata, &self.package).ok_or_else(|| BuildError::NoSuchPackage {
                package: self.package.clone(),
                manifest: self.manifest.display().to_string(),
            })?;
        let target = cdylib_target(package).ok_or_else(|| BuildError::NotACdylib {
            package: self.package.clone(),
        })?;
        let package_manifest = package["manifest_path"].as_str().unwrap_or_default();
        let layout = match &self.profile {
            Some(profile) => Layout {
                profile: profile.clone(),
                triple: None,
            },
            None => metadata["target_directory"]
                .as_str()
                .zip(std::env::current_exe().ok())
                .and_then(|(dir, exe)| Layout::of_test(Path::new(dir), &exe))
                .unwrap_or_default(),
        };
        let mut command = self.cargo();
        command
            .arg("build")
            .arg("--message-format=json-render-diagnostics")
            .arg("--manifest-path")
            .arg(&self.manifest)
            .args(["-p", &self.package, "--lib", "--profile", &layout.profile]);
        if let Some(triple) = &layout.triple {
            command.args(["--target", triple]);
        }
        let output = command
            .args(&self.args)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .map_err(|source| self.did_not_run(source))?;
        if !output.status.success() {
            return Err(BuildError::BuildFailed {
                package: self.package.clone(),
                status: output.status,
            });
        }
        let messages = String::from_utf8_lossy(&output.stdout);
        library_in(&messages, package_manifest, &target).ok_or_else(|| BuildError::NoLibrary {
            package: self.package.clone(),
            target,
        })
    }

    /// `cargo metadata` of the workspace, without dependencies.
    fn metadata(&self) -> Result<Value, BuildError> {
        let manifest = self.manifest.display().to_string();
        let output = self
            .cargo()
            .args([
                "metadata",
                "--format-version",
                "1",
                "--no-deps",
                "--manifest-path",
            ])
            .arg(&self.manifest)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| self.did_not_run(source))?;
        if !output.status.success() {
            let said = String::from_utf8_lossy(&output.stderr);
            return Err(BuildError::Metadata {
                manifest,
                why: said
                    .trim()
                    .lines()
                    .last()
                    .unwrap_or("no reason given")
                    .into(),
            });
        }
        serde_json::from_slice(&output.stdout).map_err(|e| BuildError::Metadata {
            manifest,
            why: format!("its answer is not JSON ({e})"),
        })
    }

    /// [`cargo_command`] with this build's variables.
    fn cargo(&self) -> Command {
        let mut command = cargo_command();
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }

    fn did_not_run(&self, source: std::io::Error) -> BuildError {
        BuildError::CargoDidNotRun {
            cargo: cargo_program().to_string_lossy().into_owned(),
            source,
        }
    }
}

/// Cargo as a test should run it: the cargo running the tests (`CARGO`, else `cargo`
/// from the path), without the variables cargo set for the running test (see
/// why below), so that what it builds is what `cargo build` from
/// a shell builds, and nothing is rebuilt back and forth between the two.
///
/// Build scripts that watch those variables (`ring`'s, `cc`'s) would otherwise see them
/// change between `cargo test` and the build a test starts, and rebuild themselves and
/// everything above them on every run, both ways.
pub fn cargo_command() -> Command {
    let mut command = Command::new(cargo_program());
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(set_for_the_test) {
            command.env_remove(name);
        }
    }
    command
}

/// The cargo running the tests (`CARGO`), else `cargo` from the path.
fn cargo_program() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Whether `name` is a variable cargo sets for the test it runs (its package's
/// manifest folder, name and version, …).
fn set_for_the_test(name: &str) -> bool {
    const EXACT: [&str; 8] = [
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_MANIFEST_LINKS",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "OUT_DIR",
    ];
    EXACT.contains(&name) || name.starts_with("CARGO_PKG_") || name.starts_with("CARGO_BIN_EXE_")
}

/// The package named `name` in `cargo metadata`'s answer.
fn find_package<'a>(metadata: &'a Value, name: &str) -> Option<&'a Value> {
    metadata["packages"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)
}

/// The name of the package's cdylib target (the library's name, `my_plugin`).
fn cdylib_target(package: &Value) -> Option<String> {
    package["targets"]
        .as_array()?
        .iter()
        .find(|t| crate_types(t).any(|k| k == "cdylib"))
        .and_then(|t| t["name"].as_str())
        .map(str::to_owned)
}

fn crate_types(target: &Value) -> impl Iterator<Item = &str> {
    target["crate_types"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// The library file cargo's JSON messages report for cdylib target `target` of the
/// package at `manifest`: the one named as this system names libraries, else any of
/// `.so`, `.dylib`, `.dll` (a cross build).
fn library_in(messages: &str, manifest: &str, target: &str) -> Option<PathBuf> {
    let artifact = messages
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["manifest_path"] == manifest)
        .find(|m| {
            m["target"]["name"] == target && crate_types(&m["target"]).any(|k| k == "cdylib")
        })?;
    let files: Vec<&str> = artifact["filenames"]
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let native = format!(
        "{}{}{}",
        std::env::consts::DLL_PREFIX,
        target,
        std::env::consts::DLL_SUFFIX
    );
    let named = |f: &str| {
        Path::new(f)
            .file_name()
            .is_some_and(|n| n == native.as_str())
    };
    let any_library = |f: &str| [".so", ".dylib", ".dll"].iter().any(|s| f.ends_with(s));
    files
        .iter()
        .copied()
        .find(|f| named(f))
        .or_else(|| files.iter().copied().find(|f| any_library(f)))
        .map(PathBuf::from)
}

/// Which profile and target the running tests were built with, read from where the
/// test executable is: `<target dir>/[<triple>/]<profile folder>/deps/<test>`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Layout {
    profile: String,
    triple: Option<String>,
}

impl Default for Layout {
    /// Cargo's own default: the `dev` profile, for this machine.
    fn default() -> Self {
        Layout {
            profile: "dev".into(),
            triple: None,
        }
    }
}

impl Layout {
    /// The layout of the test executable `exe` under `target_dir`; `None` when it is not
    /// a test cargo built there (copied elsewhere, or run by another tool).
    fn of_test(target_dir: &Path, exe: &Path) -> Option<Layout> {
        let relative = exe.strip_prefix(target_dir).ok()?;
        let parts: Vec<&str> = relative.iter().filter_map(|p| p.to_str()).collect();
        let (triple, folder) = match parts.as_slice() {
            [folder, "deps", _] => (None, *folder),
            [triple, folder, "deps", _] => (Some((*triple).to_owned()), *folder),
            _ => return None,
        };
        // The `dev` and `test` profiles build into `debug`, `release` and `bench` into
        // `release`, every other profile into a folder of its own name.
        let profile = match folder {
            "debug" => "dev",
            other => other,
        };
        Some(Layout {
            profile: profile.to_owned(),
            triple,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_tests_profile_and_target_come_from_where_the_test_runs() {
        let target = Path::new("/w/target");
        let layout = |exe: &str| Layout::of_test(target, Path::new(exe));
        assert_eq!(
            layout("/w/target/debug/deps/conformance-0a1b"),
            Some(Layout::default())
        );
        assert_eq!(
            layout("/w/target/release/deps/conformance-0a1b").map(|l| l.profile),
            Some("release".into())
        );
        assert_eq!(
            layout("/w/target/ci/deps/t-1").map(|l| l.profile),
            Some("ci".into())
        );
        assert_eq!(
            layout("/w/target/aarch64-apple-darwin/release/deps/t-1"),
            Some(Layout {
                profile: "release".into(),
                triple: Some("aarch64-apple-darwin".into())
            })
        );
        // Not a test cargo built in that folder: the caller falls back to `dev`.
        assert_eq!(layout("/elsewhere/debug/deps/t-1"), None);
        assert_eq!(layout("/w/target/debug/t-1"), None);
    }

    fn artifact(manifest: &str, name: &str, kinds: &[&str], files: &[&str]) -> String {
        json!({
            "reason": "compiler-artifact",
            "manifest_path": manifest,
            "target": {"name": name, "crate_types": kinds},
            "filenames": files,
            "fresh": true,
        })
        .to_string()
    }

    #[test]
    fn the_library_is_the_cdylib_of_the_package_asked_for() {
        let lib = format!(
            "{}my_plugin{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        );
        let messages = [
            artifact(
                "/w/dep/Cargo.toml",
                "dep",
                &["lib"],
                &["/t/debug/deps/libdep.rlib"],
            ),
            // Another package's library of the same name is not ours.
            artifact(
                "/w/other/Cargo.toml",
                "my_plugin",
                &["cdylib"],
                &["/t/other.so"],
            ),
            "not json: a line cargo printed".into(),
            artifact(
                "/w/plugin/Cargo.toml",
                "my_plugin",
                &["cdylib", "rlib"],
                &[
                    "/t/debug/libmy_plugin.rlib",
                    &format!("/t/debug/{lib}"),
                    "/t/debug/my_plugin.pdb",
                ],
            ),
            json!({"reason": "build-finished", "success": true}).to_string(),
        ]
        .join("\n");
        assert_eq!(
            library_in(&messages, "/w/plugin/Cargo.toml", "my_plugin"),
            Some(PathBuf::from(format!("/t/debug/{lib}")))
        );
        assert_eq!(library_in(&messages, "/w/dep/Cargo.toml", "dep"), None);
        assert_eq!(library_in("", "/w/plugin/Cargo.toml", "my_plugin"), None);
    }

    #[test]
    fn a_package_without_a_cdylib_target_is_told_how_to_add_one() {
        let metadata = json!({"packages": [
            {"name": "core", "targets": [{"name": "core", "crate_types": ["lib"]}]},
            {"name": "core-cdylib", "targets": [{"name": "my_plugin", "crate_types": ["cdylib"]}]},
        ]});
        let core = find_package(&metadata, "core").unwrap();
        assert_eq!(cdylib_target(core), None);
        let cdylib = find_package(&metadata, "core-cdylib").unwrap();
        assert_eq!(cdylib_target(cdylib).as_deref(), Some("my_plugin"));
        assert!(find_package(&metadata, "missing").is_none());
        let said = BuildError::NotACdylib {
            package: "core".into(),
        }
        .to_string();
        assert!(
            said.contains("crate-type = [\"cdylib\"]") && said.contains("CdylibBuild::package"),
            "{said}"
        );
    }

    #[test]
    fn only_what_cargo_set_for_the_test_is_left_out_of_the_build() {
        for name in [
            "CARGO_MANIFEST_DIR",
            "CARGO_PKG_NAME",
            "CARGO_PKG_VERSION_MAJOR",
            "CARGO_BIN_EXE_atrs-test-host",
            "OUT_DIR",
        ] {
            assert!(set_for_the_test(name), "{name}");
        }
        for name in [
            "CARGO_TARGET_DIR",
            "CARGO_HOME",
            "CARGO_PROFILE_DEV_DEBUG",
            "CARGO_BUILD_TARGET",
            "RUSTFLAGS",
            "PATH",
        ] {
            assert!(!set_for_the_test(name), "{name}");
        }
    }

    #[test]
    fn outside_cargo_the_error_says_how_to_name_the_package() {
        let none = CdylibBuild::from_vars(|_| None).unwrap_err();
        assert!(matches!(
            none,
            BuildError::NotUnderCargo {
                variable: "CARGO_MANIFEST_DIR"
            }
        ));
        assert!(none.to_string().contains("cargo test"), "{none}");
        let no_name = CdylibBuild::from_vars(|v| {
            (v == "CARGO_MANIFEST_DIR").then(|| OsString::from("/w/plugin"))
        })
        .unwrap_err();
        assert!(no_name.to_string().starts_with("CARGO_PKG_NAME is not set"));
        let build = CdylibBuild::from_vars(|v| match v {
            "CARGO_MANIFEST_DIR" => Some("/w/plugin".into()),
            _ => Some("my-plugin".into()),
        })
        .unwrap()
        .package("my-plugin-cdylib");
        assert_eq!(build.manifest, Path::new("/w/plugin/Cargo.toml"));
        assert_eq!(build.package, "my-plugin-cdylib");
    }
}
