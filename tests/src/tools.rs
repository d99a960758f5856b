//! Programs a test needs from the machine (a C compiler, Mono): found on `PATH`, or the
//! test says it was skipped — except in CI (`CI` set), where `.ci/run` installs them and
//! a missing one fails the test.

use std::path::PathBuf;

/// `program` on `PATH`; `None` (after printing why the test is skipped) when it is
/// missing outside CI. Panics in CI when it is missing.
pub fn required(program: &str, debian_package: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have `{program}`: .ci/run installs Debian's {debian_package}"
        );
        eprintln!("SKIPPED: `{program}` is not installed (apt-get install {debian_package}); CI runs this test.");
    }
    found
}
