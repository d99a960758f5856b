//! The compatibility matrix's builds and what its probe hosts report.
//!
//! `tests/compat` holds one cargo workspace per interface version — the frozen 1.0,
//! 1.1 and 1.2 SDKs, the stand-in next minor 1.3 and a breaking 2.0 — each with a
//! probe host (not 2.0) and a probe plugin built from the shared sources in
//! `tests/compat/probe`.
//! They build into one target folder, `target/compat`, so abi_stable is compiled once
//! for all of them.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::OnceLock,
};

use crate::{cargo_build, repo_root, Artifacts};

/// The interface versions of `tests/compat`, by folder.
pub const INTERFACES: [(&str, &str); 5] = [
    ("1.0", "sdk-1.0"),
    ("1.1", "sdk-1.1"),
    ("1.2", "sdk-1.2"),
    ("1.3", "sdk-1.3"),
    ("2.0", "sdk-2.0"),
];

/// Every probe host and plugin, built once per test binary.
pub fn builds() -> &'static Artifacts {
    static BUILT: OnceLock<Artifacts> = OnceLock::new();
    BUILT.get_or_init(|| {
        let target = repo_root().join("target/compat");
        let mut all = Artifacts::default();
        for (_, folder) in INTERFACES {
            let manifest = repo_root()
                .join("tests/compat")
                .join(folder)
                .join("Cargo.toml");
            all.merge(cargo_build(&[
                "--workspace",
                "--locked",
                "--manifest-path",
                manifest.to_str().expect("utf-8 path"),
                "--target-dir",
                target.to_str().expect("utf-8 path"),
            ]));
        }
        all
    })
}

/// The probe host built against interface `version` (`"1.0"`, `"1.1"`, `"1.2"`,
/// `"1.3"`).
pub fn probe_host(version: &str) -> &'static Path {
    builds().get(&format!("compat_host_{}", version.replace('.', "_")))
}

/// The probe plugin built against interface `version` (`"1.0"`, `"1.1"`, `"1.2"`,
/// `"1.3"`, `"2.0"`).
pub fn probe_plugin(version: &str) -> &'static Path {
    builds().get(&format!("compat_plugin_{}", version.replace('.', "_")))
}

/// What a probe host printed: one `(step, value)` per line, in order.
#[derive(Debug)]
pub struct ProbeReport {
    /// The host that ran.
    pub host: PathBuf,
    /// The library it was given.
    pub library: PathBuf,
    /// The exit code.
    pub exit: Option<i32>,
    /// The lines, split at the first tab.
    pub lines: Vec<(String, String)>,
}

impl ProbeReport {
    /// Runs `host` on `library`.
    pub fn run(host: &Path, library: &Path) -> ProbeReport {
        let output = Command::new(host)
            .arg(library)
            .stdin(Stdio::null())
            .env_remove("RUST_BACKTRACE")
            .output()
            .expect("the probe host runs");
        let lines = String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|l| match l.split_once('\t') {
                Some((step, value)) => (step.to_owned(), value.to_owned()),
                None => (l.to_owned(), String::new()),
            })
            .collect();
        ProbeReport {
            host: host.to_owned(),
            library: library.to_owned(),
            exit: output.status.code(),
            lines,
        }
    }

    /// The value of the first line of `step`.
    pub fn value(&self, step: &str) -> Option<&str> {
        self.lines
            .iter()
            .find(|(s, _)| s == step)
            .map(|(_, v)| v.as_str())
    }

    /// Every call made, with its answer (`ok`, or `<error kind>: <message>`).
    pub fn calls(&self) -> Vec<(&str, &str)> {
        self.lines
            .iter()
            .filter(|(s, _)| s == "call")
            .filter_map(|(_, v)| v.split_once('\t'))
            .collect()
    }

    /// The calls the plugin lacks, answered with the SDK's default (`default` lines).
    pub fn defaults(&self) -> Vec<&str> {
        self.lines
            .iter()
            .filter(|(s, _)| s == "default")
            .map(|(_, v)| v.split('\t').next().unwrap_or_default())
            .collect()
    }

    /// The values of every line of `step`, in order.
    pub fn values(&self, step: &str) -> Vec<&str> {
        self.lines
            .iter()
            .filter(|(s, _)| s == step)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The answer to call `name`.
    pub fn call(&self, name: &str) -> Option<&str> {
        self.calls()
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, answer)| answer)
    }

    /// The whole output, for assertion messages.
    pub fn transcript(&self) -> String {
        let lines: Vec<String> = self
            .lines
            .iter()
            .map(|(s, v)| format!("{s}\t{v}"))
            .collect();
        format!(
            "{} {} (exit {:?}):\n{}",
            self.host.display(),
            self.library.display(),
            self.exit,
            lines.join("\n")
        )
    }
}
