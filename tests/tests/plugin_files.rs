//! The plugin folder and files: a library runs with the host's rights as soon as it is
//! opened (its ELF constructors run inside `dlopen`), so the host refuses — before
//! opening anything — a plugins folder or a library that another user could have changed,
//! and a library that is a symbolic link. The `elf-constructor` fixture leaves a marker
//! file when it is opened, which tells a refusal before `dlopen` from one after it. A
//! library whose initialisation never returns is refused within the call timeout.

#![cfg(unix)]

use std::{
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::Output,
    time::{Duration, Instant},
};

use atrs_e2e::{fixture, json_result, office365_library, plugins_dir, run_host};
use serde_json::Value;

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Where the `elf-constructor` fixture writes its marker: a file in a folder of its own.
struct Marker {
    _dir: tempfile::TempDir,
    file: PathBuf,
}

impl Marker {
    fn new() -> Marker {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("constructor-ran");
        Marker { _dir: dir, file }
    }

    fn ran(&self) -> bool {
        self.file.exists()
    }
}

/// `--json plugins` over `dir`, the fixture told to leave `marker`.
fn plugins(dir: &Path, marker: &Marker, extra: &[&str]) -> Output {
    let mut args = vec!["--plugins-dir", path(dir), "--json"];
    args.extend(extra);
    args.push("plugins");
    run_host(&args, &[("ATRS_FIXTURE_MARKER", path(&marker.file))])
}

/// The one entry of the result whose file name starts with `prefix`.
fn entry(result: &Value, prefix: &str) -> Value {
    result["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| {
            Path::new(p["path"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with(prefix)
        })
        .unwrap_or_else(|| panic!("no {prefix} in {result}"))
        .clone()
}

fn all_output(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

const CONSTRUCTOR: &str = "libfixture_elf_constructor";

#[test]
fn a_folder_anyone_may_write_is_refused_before_any_library_in_it_is_opened() {
    let marker = Marker::new();
    let dir = plugins_dir(&[fixture("elf-constructor")]);

    // The control: in the runner's own private folder the library is opened — its
    // constructor leaves the marker — and then refused for exporting no plugin.
    let out = plugins(dir.path(), &marker, &[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        entry(&json_result(&out), CONSTRUCTOR)["reason"],
        "not_a_plugin"
    );
    assert!(marker.ran(), "the ELF constructor runs inside dlopen");
    std::fs::remove_file(&marker.file).unwrap();

    // Writable by everyone: nothing in it is opened, and the fix names the folder.
    chmod(dir.path(), 0o777);
    let out = plugins(dir.path(), &marker, &[]);
    chmod(dir.path(), 0o700);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let text = all_output(&out);
    assert!(text.contains("not safe to load code from"), "{text}");
    assert!(text.contains("mode 0777"), "{text}");
    assert!(
        text.contains(&format!("chmod go-w {}", dir.path().display())),
        "{text}"
    );
    assert!(!marker.ran(), "no library in the folder was opened");

    // Writable by the group only: refused too.
    chmod(dir.path(), 0o770);
    let out = plugins(dir.path(), &marker, &[]);
    chmod(dir.path(), 0o700);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(!marker.ran());
}

#[test]
fn a_library_anyone_may_write_is_refused_before_it_is_opened() {
    let marker = Marker::new();
    let dir = plugins_dir(&[fixture("elf-constructor"), office365_library()]);
    let library = dir
        .path()
        .join(fixture("elf-constructor").file_name().unwrap());
    for mode in [0o666, 0o775] {
        chmod(&library, mode);
        let out = plugins(dir.path(), &marker, &[]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let result = json_result(&out);
        let e = entry(&result, CONSTRUCTOR);
        assert_eq!(e["reason"], "untrusted_file", "{e}");
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .contains(&format!("{mode:04o}")),
            "{e}"
        );
        assert!(e["hint"].as_str().unwrap().contains("chmod go-w"), "{e}");
        assert!(!marker.ran(), "mode {mode:o}: the library was never opened");
        // The other libraries of the folder are not held back by it.
        assert_eq!(entry(&result, "libatrs_office365")["status"], "loaded");
    }
}

#[test]
fn a_symlinked_library_is_refused_not_followed() {
    let marker = Marker::new();
    let dir = tempfile::tempdir().unwrap();
    let target = fixture("elf-constructor");
    std::os::unix::fs::symlink(target, dir.path().join(target.file_name().unwrap())).unwrap();
    let out = plugins(dir.path(), &marker, &[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let e = entry(&json_result(&out), CONSTRUCTOR);
    assert_eq!(e["reason"], "untrusted_file", "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("symbolic link"),
        "{e}"
    );
    assert!(e["hint"].as_str().unwrap().contains("readlink"), "{e}");
    assert!(!marker.ran(), "the link was not followed and opened");
}

#[test]
fn a_library_owned_by_another_user_is_refused() {
    // Giving a file away takes root; any other user owns only their own files.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: run as root to give a library to another user (chown)");
        return;
    }
    const NOBODY: u32 = 65534;
    let marker = Marker::new();
    let dir = plugins_dir(&[fixture("elf-constructor")]);
    let library = dir
        .path()
        .join(fixture("elf-constructor").file_name().unwrap());
    std::os::unix::fs::chown(&library, Some(NOBODY), Some(NOBODY)).unwrap();
    let out = plugins(dir.path(), &marker, &[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let e = entry(&json_result(&out), CONSTRUCTOR);
    assert_eq!(e["reason"], "untrusted_file", "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains(&format!("user id {NOBODY}")),
        "{e}"
    );
    assert!(e["hint"].as_str().unwrap().contains("chown"), "{e}");
    assert!(!marker.ran(), "another user's library was never opened");

    // The folder given away: refused as a whole.
    std::os::unix::fs::chown(&library, Some(0), Some(0)).unwrap();
    std::os::unix::fs::chown(dir.path(), Some(NOBODY), Some(NOBODY)).unwrap();
    let out = plugins(dir.path(), &marker, &[]);
    std::os::unix::fs::chown(dir.path(), Some(0), Some(0)).unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        all_output(&out).contains(&format!("user id {NOBODY}")),
        "{out:?}"
    );
    assert!(!marker.ran());
}

#[test]
fn a_library_whose_initialisation_never_returns_is_refused_within_the_call_timeout() {
    let marker = Marker::new();
    let dir = plugins_dir(&[fixture("init-loops"), office365_library()]);
    let started = Instant::now();
    let out = plugins(dir.path(), &marker, &["--call-timeout", "1"]);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let result = json_result(&out);
    let e = entry(&result, "libfixture_init_loops");
    assert_eq!(e["reason"], "init_timed_out", "{e}");
    assert!(e["message"].as_str().unwrap().contains("1 s"), "{e}");
    assert_eq!(entry(&result, "libatrs_office365")["status"], "loaded");
    // One second for the stuck initialisation, the rest for starting the host and
    // loading the other library; a hang would take forever.
    assert!(
        took < Duration::from_secs(20),
        "`plugins` took {took:?} with a 1 s call timeout"
    );
}
