//! The store key kept by the freedesktop Secret Service, through the real host binary:
//! gnome-keyring on a private D-Bus session bus that the test starts itself
//! (`Keyring::start`: skipped, and said, where `dbus-daemon` or `gnome-keyring-daemon`
//! is missing; in CI, where `.ci/run` installs them, a failure).
//!
//! - `ATRS_STORE_KEY=secret-service`: a new store's key goes to the keyring as an item
//!   with `application=atrs store=<id> slot=current`, no key file is written, the host
//!   says so once; later host processes (with nothing set, or `file` asked for) read the
//!   secrets with it; `accounts` shows the key source, never the key.
//! - A locked keyring: the command fails with the typed error and how to unlock it,
//!   changing nothing.
//! - No session bus: `ATRS_STORE_KEY=secret-service` fails with exit 5 and what to do.
//! - The key is in no file of the store folder and in no output.

use std::{path::Path, time::Duration};

use atrs_e2e::sandbox::{Finished, Sandbox};
use atrs_test_host::store::secret_service::throwaway::Keyring;

const WAIT: Duration = Duration::from_secs(60);

fn ok(what: &str, run: Finished) -> Finished {
    assert!(run.succeeded(), "{what}: {}", run.transcript());
    run
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn folder_bytes(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        all.extend(std::fs::read(entry.path()).unwrap_or_default());
    }
    all
}

#[test]
fn a_store_sealed_with_a_key_in_the_secret_service_works_across_processes_and_says_so() {
    let Some(keyring) = Keyring::start() else {
        return;
    };
    let config = tempfile::tempdir().unwrap();
    let mut sandbox = Sandbox::instant(&[
        ("DBUS_SESSION_BUS_ADDRESS", &keyring.address),
        ("XDG_CONFIG_HOME", config.path().to_str().unwrap()),
        ("ATRS_STORE_KEY", "secret-service"),
    ]);
    let mut transcripts = String::new();
    let added = ok("add", sandbox.add_device("Reports", &[], WAIT));
    transcripts += &added.transcript();
    assert!(
        added
            .stderr
            .contains("Created the store key in the Secret Service (Secret Service item \"ATRS account store key ("),
        "{}",
        added.stderr
    );
    assert!(
        added
            .stderr
            .contains("secret-tool lookup application atrs store"),
        "{}",
        added.stderr
    );

    let items = keyring.items();
    assert_eq!(items.len(), 1, "{items:?}");
    let (attributes, label) = &items[0];
    assert_eq!(attributes["application"], "atrs");
    assert_eq!(attributes["slot"], "current");
    let store_id = attributes["store"].clone();
    let db = sandbox.store().join("accounts.db");
    assert_eq!(label, &format!("ATRS account store key ({})", db.display()));
    assert!(
        !config.path().join("atrs-store-keys").exists(),
        "no key file was written"
    );

    // Other processes, with nothing set and with a file asked for: the store's record
    // decides, and the secrets open (a forced refresh reads the refresh token).
    for setting in ["auto", "file"] {
        sandbox.set_env("ATRS_STORE_KEY", setting);
        let token = ok("token", sandbox.run(&["token", "Reports", "--force"], WAIT));
        transcripts += &token.transcript();
        let accounts = ok("accounts", sandbox.run(&["accounts"], WAIT));
        transcripts += &accounts.transcript();
        let result = accounts.result().unwrap();
        assert_eq!(result["sealed"], true);
        assert_eq!(result["key_source"]["kind"], "secret_service", "{result}");
        assert_eq!(result["key_source"]["store_id"], store_id.as_str());
        assert_eq!(result["key_source"]["label"], label.as_str());
        assert!(
            accounts.stderr.contains(&format!(
                "Accounts live in {} (sqlite; secrets sealed (XChaCha20-Poly1305), Secret Service item \"{label}\" (application=atrs store={store_id})).",
                db.display()
            )),
            "{}",
            accounts.stderr
        );
        assert!(
            !accounts.stderr.contains("Created the store key"),
            "said once"
        );
    }
    let files = sandbox.files();
    assert!(
        files.secrets_of("Reports").get("refresh_token").is_some(),
        "{:?}",
        files.secrets_of("Reports")
    );
    assert!(!config.path().join("atrs-store-keys").exists());

    // The key: in no output, in no file of the store.
    let key = keyring.key_text(&store_id).unwrap();
    let key = key.trim();
    let raw = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, key).unwrap();
    assert!(!transcripts.contains(key));
    let bytes = folder_bytes(sandbox.store());
    assert!(!contains(&bytes, key.as_bytes()) && !contains(&bytes, &raw));

    // Locked: a typed error that says how to unlock, and nothing changed.
    let before = folder_bytes(sandbox.store());
    keyring.lock();
    let locked = sandbox.run(&["token", "Reports"], WAIT);
    assert_eq!(locked.code, Some(1), "{}", locked.transcript());
    let error = &locked.result().unwrap()["error"];
    assert_eq!(
        error["message"],
        "The account store failed: the keyring collection \"Login\" that holds the store key is locked."
    );
    let hint = error["hint"].as_str().unwrap();
    assert!(
        hint.starts_with("Unlock the keyring collection \"Login\""),
        "{hint}"
    );
    assert!(hint.ends_with("Nothing was changed."), "{hint}");
    assert!(!locked.transcript().contains(key));
    assert_eq!(folder_bytes(sandbox.store()), before, "nothing was changed");
}

#[test]
fn asking_for_the_secret_service_without_a_session_bus_fails_saying_what_to_do() {
    let nowhere = tempfile::tempdir().unwrap();
    let address = format!("unix:path={}", nowhere.path().join("bus").display());
    let config = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::instant(&[
        ("DBUS_SESSION_BUS_ADDRESS", &address),
        ("XDG_CONFIG_HOME", config.path().to_str().unwrap()),
        ("ATRS_STORE_KEY", "secret-service"),
    ]);
    let run = sandbox.run(&["accounts"], WAIT);
    assert_eq!(run.code, Some(5), "{}", run.transcript());
    let error = &run.result().unwrap()["error"];
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("no D-Bus session bus can be reached"),
        "{message}"
    );
    let hint = error["hint"].as_str().unwrap();
    assert!(hint.contains("ATRS_STORE_KEY=file"), "{hint}");
    assert!(!config.path().join("atrs-store-keys").exists());

    // Nothing set: the host's key file, as on any headless machine.
    let mut sandbox = sandbox;
    sandbox.set_env("ATRS_STORE_KEY", "auto");
    let accounts = ok("accounts", sandbox.run(&["accounts"], WAIT));
    let result = accounts.result().unwrap();
    assert_eq!(result["key_source"]["kind"], "host_file", "{result}");
    assert!(config
        .path()
        .join("atrs-store-keys")
        .join("default.key")
        .exists());
}
