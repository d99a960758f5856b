//! The account store as the host binary uses it: SQLite in the store folder, secrets
//! sealed under a store key, today's JSON store imported on first open.
//!
//! - A JSON store from the earlier version, with a commit a crash left pending, is
//!   imported whole on the first run, reported once on stderr, its files kept read-only.
//! - `accounts` says where accounts live (backend, sealed, key source), never the key.
//! - A named key file (`ATRS_STORE_KEY_FILE`): used; missing, wrong or open to others →
//!   a clear error with the fix, and nothing destroyed.
//! - `store rotate-key` seals everything again under a new key; the account keeps working.
//! - Plain text only with `ATRS_STORE_PLAINTEXT=1`, and `accounts` says so.
//! - The store is named by `--store`, else `ATRS_STORE` (a folder or a `postgres://`
//!   URL), else the older `ATRS_STORE_DIR`; `--help` says so.

use std::{
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    time::Duration,
};

use atrs_e2e::json_store::write_file;
use atrs_e2e::{
    run_host,
    sandbox::{Finished, Sandbox, StoreFiles},
};
use atrs_test_host::store::KeyOptions;

const WAIT: Duration = Duration::from_secs(60);

/// A folder for key files, apart from the store, and the key file path in it.
fn key_place() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("store.key");
    (dir, key)
}

fn named(key: &Path) -> KeyOptions {
    KeyOptions {
        key_file: Some(key.to_owned()),
        ..KeyOptions::default()
    }
}

fn ok(what: &str, run: Finished) -> Finished {
    assert!(run.succeeded(), "{what}: {}", run.transcript());
    run
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_json_store_with_a_pending_commit_is_imported_whole_once_and_kept_read_only() {
    let (_keys, key) = key_place();
    let sandbox = Sandbox::instant(&[("ATRS_STORE_KEY_FILE", key.to_str().unwrap())]);
    let dir = sandbox.store();
    // Today's JSON store: two accounts, then a rewrite of one cut off by a crash after
    // its commit marker (settings renamed into place, secrets still `.next`, the old
    // `secrets.json` beside it).
    write_file(
        &dir.join("settings.json"),
        &[
            ("office365", "Reports", &[("client_id", "c1-new")]),
            ("office365", "Sales", &[("client_id", "c2")]),
        ],
    );
    write_file(
        &dir.join("secrets.json"),
        &[
            (
                "office365",
                "Reports",
                &[("refresh_token", "rt-reports-old")],
            ),
            ("office365", "Sales", &[("refresh_token", "rt-sales")]),
        ],
    );
    write_file(
        &dir.join("secrets.json.next"),
        &[
            (
                "office365",
                "Reports",
                &[("refresh_token", "rt-reports-new")],
            ),
            ("office365", "Sales", &[("refresh_token", "rt-sales")]),
        ],
    );
    std::fs::write(dir.join(".commit"), "").unwrap();

    let first = ok("accounts", sandbox.run(&["accounts"], WAIT));
    let told = |run: &Finished| {
        run.stderr
            .matches("Imported 2 saved account(s) and 2 secret(s) from the JSON store")
            .count()
    };
    assert_eq!(told(&first), 1, "{}", first.transcript());
    assert!(
        first.stderr.contains(
            "settings.json, secrets.json and secrets.json.next kept read-only as a backup (secrets.json and secrets.json.next hold the secrets in plain text"
        ),
        "{}",
        first.stderr
    );
    assert!(
        first
            .stderr
            .contains(&format!("Created the store key {}", key.display())),
        "{}",
        first.stderr
    );
    let listed = first.result().expect("a result line");
    let names: Vec<&str> = listed["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["account"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Reports", "Sales"]);

    let second = ok("accounts", sandbox.run(&["accounts"], WAIT));
    assert_eq!(told(&second), 0, "told once: {}", second.stderr);
    assert!(
        !second.stderr.contains("Created the store key"),
        "{}",
        second.stderr
    );

    let files = StoreFiles::try_read_with(dir, &named(&key)).unwrap();
    assert_eq!(
        files.settings_of("Reports")["client_id"],
        "c1-new",
        "the pending commit was read as committed"
    );
    assert_eq!(
        files.secrets_of("Reports")["refresh_token"],
        "rt-reports-new"
    );
    assert_eq!(files.secrets_of("Sales")["refresh_token"], "rt-sales");
    for file in ["settings.json", "secrets.json", "secrets.json.next"] {
        assert_eq!(mode(&dir.join(file)), 0o400, "{file} is a read-only backup");
    }
    assert!(
        dir.join(".commit").exists(),
        "nothing renamed or removed: the backup is the folder as it was"
    );
    let db = std::fs::read(dir.join("accounts.db")).unwrap();
    assert!(
        !db.windows(14).any(|w| w == b"rt-reports-new"),
        "imported secrets are sealed"
    );
}

#[test]
fn accounts_says_where_accounts_live_and_never_the_key() {
    let sandbox = Sandbox::instant(&[]);
    ok("add", sandbox.add_device("Reports", &[], WAIT));
    let run = ok("accounts", sandbox.run(&["accounts"], WAIT));
    let result = run.result().unwrap();
    let db = sandbox.store().join("accounts.db");
    assert_eq!(result["store"], db.to_str().unwrap());
    assert_eq!(result["backend"], "sqlite");
    assert_eq!(result["sealed"], true);
    assert_eq!(result["key_source"]["kind"], "host_file");
    let key_path = result["key_source"]["path"].as_str().unwrap().to_owned();
    assert!(
        !key_path.starts_with(sandbox.store().to_str().unwrap()),
        "the key is apart from the store"
    );
    assert!(
        run.stderr.contains(&format!(
            "Accounts live in {} (sqlite; secrets sealed (XChaCha20-Poly1305), key file {key_path} (the host's own)).",
            db.display()
        )),
        "{}",
        run.stderr
    );
    let key = std::fs::read_to_string(&key_path).unwrap();
    assert_eq!(mode(Path::new(&key_path)), 0o600);
    assert!(
        !run.transcript().contains(key.trim()),
        "the key is never shown"
    );
}

#[test]
fn a_named_key_file_is_used_and_a_missing_wrong_or_open_one_is_a_clear_error_that_destroys_nothing()
{
    let (_keys, key) = key_place();
    let sandbox = Sandbox::instant(&[("ATRS_STORE_KEY_FILE", key.to_str().unwrap())]);
    let added = ok("add", sandbox.add_device("Reports", &[], WAIT));
    assert!(
        added
            .stderr
            .contains(&format!("Created the store key {}", key.display())),
        "{}",
        added.stderr
    );
    ok("token", sandbox.run(&["token", "Reports", "--force"], WAIT));
    let kept = std::fs::read(&key).unwrap();

    std::fs::rename(&key, key.with_extension("aside")).unwrap();
    let missing = sandbox.run(&["token", "Reports"], WAIT);
    assert_eq!(missing.code, Some(1), "{}", missing.transcript());
    assert!(
        missing
            .transcript()
            .contains(&format!("the store key {} is missing", key.display())),
        "{}",
        missing.transcript()
    );
    assert!(
        missing.transcript().contains("Nothing was changed"),
        "{}",
        missing.transcript()
    );
    assert!(!key.exists(), "no new key replaces a missing one");

    std::fs::write(&key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let wrong = sandbox.run(&["accounts"], WAIT);
    assert_eq!(wrong.code, Some(1), "{}", wrong.transcript());
    assert!(
        wrong.transcript().contains("does not open the store"),
        "{}",
        wrong.transcript()
    );

    std::fs::write(&key, &kept).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let open = sandbox.run(&["accounts"], WAIT);
    assert_eq!(open.code, Some(1), "{}", open.transcript());
    assert!(
        open.transcript()
            .contains("readable or writable by group or others (mode 644)"),
        "{}",
        open.transcript()
    );
    assert!(
        open.transcript()
            .contains(&format!("chmod 600 {}", key.display())),
        "{}",
        open.transcript()
    );

    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let token = ok(
        "token after the key is back",
        sandbox.run(&["token", "Reports", "--force"], WAIT),
    );
    assert!(token.result().is_some());
    assert!(StoreFiles::try_read_with(sandbox.store(), &named(&key))
        .unwrap()
        .secrets_of("Reports")["refresh_token"]
        .is_string());
}

#[test]
fn rotating_the_key_reseals_every_secret_and_the_account_keeps_working() {
    let (_keys, key) = key_place();
    let sandbox = Sandbox::instant(&[("ATRS_STORE_KEY_FILE", key.to_str().unwrap())]);
    ok("add", sandbox.add_device("Reports", &[], WAIT));
    let before = StoreFiles::try_read_with(sandbox.store(), &named(&key)).unwrap();
    let old_key = std::fs::read(&key).unwrap();
    let rotated = ok("rotate", sandbox.run(&["store", "rotate-key"], WAIT));
    let result = rotated.result().unwrap();
    assert!(result["secrets"].as_u64().unwrap() >= 1, "{result}");
    assert_eq!(result["key_source"]["path"], key.to_str().unwrap());
    assert_ne!(
        std::fs::read(&key).unwrap(),
        old_key,
        "a new key in the named file"
    );
    assert_eq!(mode(&key), 0o600);
    let after = StoreFiles::try_read_with(sandbox.store(), &named(&key)).unwrap();
    assert_eq!(
        after, before,
        "every secret opens under the new key, unchanged"
    );
    ok(
        "token after rotation",
        sandbox.run(&["token", "Reports", "--force"], WAIT),
    );

    // The old key no longer opens the store.
    let (_old_place, old) = key_place();
    std::fs::write(&old, &old_key).unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o600)).unwrap();
    let e = StoreFiles::try_read_with(sandbox.store(), &named(&old)).unwrap_err();
    assert!(e.contains("does not open the store"), "{e}");
}

#[test]
fn plain_text_is_an_explicit_opt_in_and_accounts_says_so() {
    let sandbox = Sandbox::instant(&[("ATRS_STORE_PLAINTEXT", "1")]);
    ok("add", sandbox.add_device("Reports", &[], WAIT));
    let run = ok("accounts", sandbox.run(&["accounts"], WAIT));
    assert!(
        run.stderr
            .contains("secrets in PLAIN TEXT (allowed by ATRS_STORE_PLAINTEXT=1)"),
        "{}",
        run.stderr
    );
    assert_eq!(run.result().unwrap()["sealed"], false);
    assert_eq!(
        run.result().unwrap()["key_source"],
        serde_json::json!({"kind": "none"})
    );

    // Without the opt-in, the same store is refused with both ways out.
    let mut refused = sandbox.command(&["accounts"]);
    refused.env_remove("ATRS_STORE_PLAINTEXT");
    let out = refused.output().unwrap();
    // Under --json the error is the result line on stdout.
    let stderr = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("keeps its secrets in plain text, which was not allowed"),
        "{stderr}"
    );
    assert!(
        stderr.contains("store rotate-key") && stderr.contains("ATRS_STORE_PLAINTEXT=1"),
        "{stderr}"
    );
}

/// `accounts` run with the store named only by `env` (and `flags`): which store it
/// listed, and the run.
fn accounts_in(sandbox: &Sandbox, flags: &[&str], env: &[(&str, &str)]) -> (String, Finished) {
    let mut args = flags.to_vec();
    args.push("accounts");
    let mut command = sandbox.command_naming_no_store(&args);
    command.envs(env.iter().copied());
    let run = ok("accounts", Sandbox::run_command(command, WAIT));
    let store = run.result().unwrap()["store"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (store, run)
}

#[test]
fn atrs_store_names_the_store_and_wins_over_the_older_atrs_store_dir() {
    let (_keys, key) = key_place();
    let sandbox = Sandbox::instant(&[("ATRS_STORE_KEY_FILE", key.to_str().unwrap())]);
    ok("add", sandbox.add_device("Reports", &[], WAIT));
    let saved = sandbox.store().to_str().unwrap();
    let saved_db = sandbox.store().join("accounts.db");
    let saved_db = saved_db.to_str().unwrap();
    let other = tempfile::tempdir().unwrap();
    let other_dir = other.path().to_str().unwrap();
    let other_db = other.path().join("accounts.db");
    let listed = |run: &Finished| run.result().unwrap()["accounts"].as_array().unwrap().len();

    // ATRS_STORE alone: the folder it names.
    let (store, run) = accounts_in(&sandbox, &[], &[("ATRS_STORE", saved)]);
    assert_eq!(store, saved_db, "{}", run.transcript());
    assert_eq!(listed(&run), 1, "{}", run.transcript());
    // The older spelling alone still works.
    let (store, run) = accounts_in(&sandbox, &[], &[("ATRS_STORE_DIR", saved)]);
    assert_eq!(store, saved_db, "{}", run.transcript());
    assert_eq!(listed(&run), 1, "{}", run.transcript());
    // Both set: ATRS_STORE wins.
    let (store, run) = accounts_in(
        &sandbox,
        &[],
        &[("ATRS_STORE", other_dir), ("ATRS_STORE_DIR", saved)],
    );
    assert_eq!(store, other_db.to_str().unwrap(), "{}", run.transcript());
    assert_eq!(listed(&run), 0, "{}", run.transcript());
    // An empty ATRS_STORE counts as unset: the older spelling is used.
    let (store, run) = accounts_in(
        &sandbox,
        &[],
        &[("ATRS_STORE", ""), ("ATRS_STORE_DIR", saved)],
    );
    assert_eq!(store, saved_db, "{}", run.transcript());
    // --store wins over both.
    let (store, run) = accounts_in(
        &sandbox,
        &["--store", saved],
        &[("ATRS_STORE", other_dir), ("ATRS_STORE_DIR", other_dir)],
    );
    assert_eq!(store, saved_db, "{}", run.transcript());
    assert_eq!(listed(&run), 1, "{}", run.transcript());

    // A postgres:// URL in ATRS_STORE is a PostgreSQL store (here one nobody serves: a
    // closed loopback port), over a folder in ATRS_STORE_DIR; its password never shown.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let url = format!("postgres://atrs:pw-never-shown@127.0.0.1:{port}/atrs");
    let mut command = sandbox.command_naming_no_store(&["accounts"]);
    command.envs([("ATRS_STORE", url.as_str()), ("ATRS_STORE_DIR", saved)]);
    let down = Sandbox::run_command(command, WAIT);
    assert_eq!(down.code, Some(5), "{}", down.transcript());
    assert!(
        down.transcript().contains(&format!(
            "server postgres://atrs@127.0.0.1:{port}/atrs cannot be reached"
        )),
        "{}",
        down.transcript()
    );
    assert!(
        !down.transcript().contains("pw-never-shown"),
        "{}",
        down.transcript()
    );

    // --help documents the names and which wins, and never shows their values (a
    // URL's password).
    let help = run_host(
        &["--help"],
        &[("ATRS_STORE", &url), ("ATRS_STORE_DIR", &url)],
    );
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains(
            "[env: ATRS_STORE; its older name ATRS_STORE_DIR is read when ATRS_STORE is not set]"
        ),
        "{help}"
    );
    assert!(!help.contains("pw-never-shown"), "{help}");
}
