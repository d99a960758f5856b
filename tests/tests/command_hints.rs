//! Every command line the host prints as a hint works as printed: each situation that
//! prints one is brought about, each `atrs-test-host …` in backticks is taken from the
//! output and run through a shell (placeholders such as FILE filled in), and it must
//! succeed. A scan of the host's sources makes sure no hint is left out of the list.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use atrs_e2e::{host_binary, plugins_dir, repo_root, sandbox::Sandbox, tmux};
use atrs_mock_idp::{Endpoint, Fault};

const WAIT: Duration = Duration::from_secs(90);

/// The backticked `atrs-test-host …` commands in `text`.
fn hints_in(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (i, piece) in text.split('`').enumerate() {
        if i % 2 == 1 && (piece == "atrs-test-host" || piece.starts_with("atrs-test-host ")) {
            found.push(piece.to_owned());
        }
    }
    found
}

/// What a run printed, both streams.
fn printed(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The host run as a person runs it: no flags added, the folders in the environment.
struct Person<'a> {
    sandbox: &'a Sandbox,
    env: Vec<(String, String)>,
}

impl Person<'_> {
    fn command(&self, program: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env("ATRS_PLUGINS_DIR", self.sandbox.plugins())
            .env("ATRS_STORE", self.sandbox.store())
            .env_remove("ATRS_STORE_DIR")
            .env("ATRS_CALL_TIMEOUT", "20")
            .env_remove("ATRS_TRUSTED_KEYS")
            .env_remove("ATRS_STORE_PLAINTEXT")
            .stdin(Stdio::null());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs the host with `args`; its output.
    fn host(&self, args: &[&str]) -> Output {
        self.command(host_binary(), args)
            .output()
            .expect("host runs")
    }

    /// Runs `line` through `sh -c` with the host on PATH; its output.
    fn shell(&self, line: &str) -> Output {
        let bin = host_binary().parent().unwrap();
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = self.command(Path::new("sh"), &["-c", line]);
        cmd.env("PATH", path);
        cmd.output().expect("sh runs")
    }
}

/// How many FILE placeholders were filled in (each gets a file of its own).
static FILES: AtomicUsize = AtomicUsize::new(0);

/// `hint` with its placeholders filled in; panics on one this test does not know.
fn filled(hint: &str, scratch: &Path) -> String {
    assert!(
        !hint.contains('…'),
        "a printed command must be complete, not elided: `{hint}`"
    );
    hint.split(' ')
        .map(|word| match word {
            "PLUGIN" | "ID" => "office365".to_owned(),
            "NAME" => "'Sales reports'".to_owned(),
            "FILE" => scratch
                .join(format!("key-{}", FILES.fetch_add(1, Ordering::Relaxed)))
                .display()
                .to_string(),
            w if w.len() > 1 && w.chars().all(|c| c.is_ascii_uppercase() || c == '_') => {
                panic!("the hint `{hint}` has a placeholder {w} this test cannot fill in")
            }
            w => w.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Each hint printed in a situation: the situation's name and the hint.
type Seen = Vec<(String, String)>;

fn record(seen: &mut Seen, situation: &str, text: &str) {
    let hints = hints_in(text);
    assert!(
        !hints.is_empty(),
        "{situation}: expected a command hint in:\n{text}"
    );
    for h in hints {
        seen.push((situation.to_owned(), h));
    }
}

/// The hints the host's sources can print: each backticked `atrs-test-host …` inside a
/// string literal of test-host/src or host-sdk/runtime/src.
fn hints_in_sources() -> BTreeSet<(PathBuf, String)> {
    let root = repo_root();
    let mut found = BTreeSet::new();
    let mut folders = vec![
        root.join("test-host/src"),
        root.join("host-sdk/runtime/src"),
    ];
    while let Some(dir) = folders.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for line in text.lines() {
                    let code = line.trim_start();
                    if code.starts_with("//") || !code.contains('"') {
                        continue;
                    }
                    for h in hints_in(code) {
                        found.insert((path.strip_prefix(&root).unwrap().to_owned(), h));
                    }
                }
            }
        }
    }
    found
}

/// Whether the printed `hint` is an instance of `pattern` from the sources, whose
/// `{…}` parts stand for anything.
fn instance_of(hint: &str, pattern: &str) -> bool {
    let mut parts: Vec<&str> = Vec::new();
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        parts.push(&rest[..open]);
        rest = rest[open..]
            .find('}')
            .map_or("", |close| &rest[open + close + 1..]);
        parts.push("\u{0}");
    }
    parts.push(rest);
    let mut at = 0;
    let mut any = false;
    for part in parts {
        if part == "\u{0}" {
            any = true;
            continue;
        }
        let found = if any {
            hint[at..].find(part).map(|i| at + i)
        } else {
            hint[at..].starts_with(part).then_some(at)
        };
        match found {
            Some(i) => at = i + part.len(),
            None => return false,
        }
        any = false;
    }
    at == hint.len() || pattern.ends_with('}')
}

#[test]
fn every_command_hint_the_host_prints_runs_as_printed() {
    let sandbox = Sandbox::instant(&[]);
    let person = Person {
        sandbox: &sandbox,
        env: Vec::new(),
    };
    let scratch = tempfile::tempdir().unwrap();
    let added = sandbox.add_device("Sales reports", &[], WAIT);
    assert_eq!(added.code, Some(0), "{}", added.stderr);
    let mut seen: Seen = Vec::new();

    let cases: &[(&str, &[&str])] = &[
        ("an unknown command under --json", &["--json", "nosuch"]),
        ("no command and no terminal", &[]),
        ("the menu without a terminal", &["menu"]),
        ("an unknown plugin", &["form", "nope"]),
        ("the accounts list", &["accounts"]),
        ("an unknown account", &["token", "Nobody"]),
        ("a near account name", &["token", "sales report"]),
        (
            "sending through an unknown account",
            &["send-test", "Nobody", "--to", "a@example.com"],
        ),
        (
            "an unknown secret field",
            &["add", "office365", "--set-secret", "nope"],
        ),
        (
            "signing with a missing key",
            &["sign", "--key", "/nonexistent/key", "/nonexistent/lib.so"],
        ),
        (
            "a missing trusted keys file",
            &["--trusted-keys", "/nonexistent/keys.pub", "plugins"],
        ),
    ];
    for (situation, args) in cases {
        let out = person.host(args);
        record(&mut seen, situation, &printed(&out));
    }

    // A renewal that fails on the network, for one account and for all.
    sandbox.mock.set_fault(Endpoint::Token, Fault::Reset);
    for (situation, args) in [
        (
            "one account not renewed",
            &["refresh", "Sales reports", "--force"][..],
        ),
        ("accounts not renewed", &["refresh", "--all", "--force"][..]),
    ] {
        let out = person.host(args);
        assert_ne!(out.status.code(), Some(0), "{}", printed(&out));
        record(&mut seen, situation, &printed(&out));
    }
    sandbox.mock.clear_faults();

    // A plain-text store opened without the opt-in.
    let plain = Sandbox::instant(&[("ATRS_STORE_PLAINTEXT", "1")]);
    let added = plain.add_device("Plain", &[], WAIT);
    assert_eq!(added.code, Some(0), "{}", added.stderr);
    let plain_person = Person {
        sandbox: &plain,
        env: Vec::new(),
    };
    let out = plain_person.host(&["accounts"]);
    record(&mut seen, "a plain-text store", &printed(&out));
    let plain_hints: Vec<String> = hints_in(&printed(&out));

    // The menu with no plugin loaded (needs a terminal).
    if tmux::available() {
        let empty = plugins_dir(&[]);
        let store = tempfile::tempdir().unwrap();
        let term = tmux::Terminal::start(
            host_binary(),
            &["menu"],
            &[
                ("ATRS_PLUGINS_DIR", empty.path().to_str().unwrap()),
                ("ATRS_STORE", store.path().to_str().unwrap()),
            ],
            200,
            30,
        );
        term.exit_code();
        record(&mut seen, "the menu with no plugin", &term.screen());
    }

    // Every hint runs as printed (in the sandbox it was printed for).
    for (situation, hint) in &seen {
        let line = filled(hint, scratch.path());
        let owner = if plain_hints.contains(hint) && situation == "a plain-text store" {
            &plain_person
        } else {
            &person
        };
        let out = owner.shell(&line);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{situation}: the hint `{hint}` (run as `{line}`) failed:\n{}",
            printed(&out)
        );
    }

    // And every hint in the sources was seen.
    let printed_hints: BTreeSet<&str> = seen.iter().map(|(_, h)| h.as_str()).collect();
    let missing: Vec<String> = hints_in_sources()
        .into_iter()
        .filter(|(_, pattern)| !printed_hints.iter().any(|h| instance_of(h, pattern)))
        .map(|(file, pattern)| format!("{}: `{pattern}`", file.display()))
        .collect();
    assert!(
        missing.is_empty() || !tmux::available() && missing.iter().all(|m| m.contains("menu/")),
        "hints in the sources no situation here printed (add one):\n{}",
        missing.join("\n")
    );
}

#[test]
fn a_pattern_with_format_arguments_matches_its_instances() {
    assert!(instance_of(
        "atrs-test-host refresh 'Sales reports' --force",
        "atrs-test-host refresh {name} --force"
    ));
    assert!(instance_of(
        "atrs-test-host accounts",
        "atrs-test-host accounts"
    ));
    assert!(!instance_of(
        "atrs-test-host accounts --all",
        "atrs-test-host accounts"
    ));
    assert!(instance_of("atrs-test-host refresh --all", "{}"));
}
