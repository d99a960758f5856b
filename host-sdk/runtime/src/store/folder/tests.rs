use super::*;

fn values(pairs: &[(&str, &str)]) -> Values {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn settings_and_secrets_live_in_separate_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = FolderStore::open(dir.path().join("s")).unwrap();
    store
        .write_settings("office365", "Reports", &values(&[("client_id", "abc")]))
        .unwrap();
    store
        .write_secret("office365", "Reports", "refresh_token", "rt-secret")
        .unwrap();
    let settings = fs::read_to_string(store.dir().join(SETTINGS_FILE)).unwrap();
    let secrets = fs::read_to_string(store.dir().join(SECRETS_FILE)).unwrap();
    assert!(settings.contains("abc") && !settings.contains("rt-secret"));
    assert!(secrets.contains("rt-secret") && !secrets.contains("abc"));
    assert_eq!(store.list("office365").unwrap(), vec!["Reports"]);
    assert_eq!(
        store
            .read_secret("office365", "Reports", "refresh_token")
            .unwrap()
            .as_deref(),
        Some("rt-secret")
    );
    store.remove_secrets("office365", "Reports").unwrap();
    store.remove_settings("office365", "Reports").unwrap();
    assert!(store.all_accounts().unwrap().is_empty());
}

#[test]
fn write_account_replaces_settings_and_secrets_and_moves_a_renamed_account() {
    let dir = tempfile::tempdir().unwrap();
    let store = FolderStore::open(dir.path()).unwrap();
    store
        .write_account(
            "p",
            "Sales mailbox",
            &values(&[("client_id", "a")]),
            &values(&[("client_secret", "s1"), ("refresh_token", "r1")]),
            None,
        )
        .unwrap();
    store
        .write_account(
            "p",
            "Sales reports",
            &values(&[("client_id", "a")]),
            &values(&[("refresh_token", "r2")]),
            Some("Sales mailbox"),
        )
        .unwrap();
    assert_eq!(store.list("p").unwrap(), vec!["Sales reports"]);
    assert_eq!(
        store
            .read_secret("p", "Sales mailbox", "client_secret")
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .read_secret("p", "Sales reports", "refresh_token")
            .unwrap()
            .as_deref(),
        Some("r2")
    );
    // The secrets are replaced as a whole: nothing of the old set stays behind.
    assert_eq!(
        store
            .read_secret("p", "Sales reports", "client_secret")
            .unwrap(),
        None
    );
    store.remove_account("p", "Sales reports").unwrap();
    assert!(store.all_accounts().unwrap().is_empty());
    let secrets = fs::read_to_string(dir.path().join(SECRETS_FILE)).unwrap();
    assert!(!secrets.contains("r2"), "{secrets}");
}

/// The files as a crash between the steps of a commit leaves them.
fn crash_mid_commit(marker: bool) -> (tempfile::TempDir, FolderStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = FolderStore::open(dir.path()).unwrap();
    store
        .write_account(
            "p",
            "A",
            &values(&[("v", "old")]),
            &values(&[("s", "old")]),
            None,
        )
        .unwrap();
    let newer = FolderStore::open(dir.path().join("scratch")).unwrap();
    newer
        .write_account(
            "p",
            "A",
            &values(&[("v", "new")]),
            &values(&[("s", "new")]),
            None,
        )
        .unwrap();
    // The settings file already renamed into place, the secrets one still `.next`.
    fs::copy(newer.path(Kind::Settings), store.next_path(Kind::Settings)).unwrap();
    fs::copy(newer.path(Kind::Secrets), store.next_path(Kind::Secrets)).unwrap();
    if marker {
        fs::write(dir.path().join(COMMIT_MARKER), "").unwrap();
        fs::rename(store.next_path(Kind::Settings), store.path(Kind::Settings)).unwrap();
    }
    (dir, store)
}

#[test]
fn a_commit_cut_off_after_its_marker_is_finished_by_the_next_reader() {
    let (dir, store) = crash_mid_commit(true);
    assert_eq!(
        store.read_secret("p", "A", "s").unwrap().as_deref(),
        Some("new")
    );
    assert_eq!(store.read_settings("p", "A").unwrap().unwrap()["v"], "new");
    assert!(!dir.path().join(COMMIT_MARKER).exists());
    assert!(!store.next_path(Kind::Secrets).exists());
}

#[test]
fn a_commit_cut_off_before_its_marker_leaves_the_old_account() {
    let (_dir, store) = crash_mid_commit(false);
    assert_eq!(store.read_settings("p", "A").unwrap().unwrap()["v"], "old");
    assert_eq!(
        store.read_secret("p", "A", "s").unwrap().as_deref(),
        Some("old")
    );
    assert!(!store.next_path(Kind::Settings).exists());
}

#[test]
fn a_reader_never_sees_new_settings_with_old_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    let store = FolderStore::open(&path).unwrap();
    store
        .write_account(
            "p",
            "A",
            &values(&[("v", "0")]),
            &values(&[("s", "0")]),
            None,
        )
        .unwrap();
    let writer = {
        let path = path.clone();
        std::thread::spawn(move || {
            let store = FolderStore::open(&path).unwrap();
            for i in 1..=40 {
                let n = i.to_string();
                store
                    .write_account("p", "A", &values(&[("v", &n)]), &values(&[("s", &n)]), None)
                    .unwrap();
            }
        })
    };
    let reader = FolderStore::open(&path).unwrap();
    loop {
        let done = writer.is_finished();
        let files = reader.read_both().unwrap();
        let v = &account_of(&files.settings, "p", "A").unwrap()["v"];
        let s = &account_of(&files.secrets, "p", "A").unwrap()["s"];
        assert_eq!(v, s, "settings and secrets from different transactions");
        if done {
            break;
        }
    }
    writer.join().unwrap();
}

#[cfg(unix)]
#[test]
fn secrets_file_is_owner_only_and_a_new_folder_too() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store = FolderStore::open(dir.path().join("new")).unwrap();
    store.write_secret("p", "a", "n", "v").unwrap();
    let mode = fs::metadata(store.dir().join(SECRETS_FILE))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let dir_mode = fs::metadata(store.dir()).unwrap().permissions().mode();
    assert_eq!(dir_mode & 0o777, 0o700);
}

#[cfg(unix)]
#[test]
fn an_existing_folder_keeps_its_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o750)).unwrap();
    FolderStore::open(dir.path())
        .unwrap()
        .write_secret("p", "a", "n", "v")
        .unwrap();
    let mode = fs::metadata(dir.path()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o750);
}

#[cfg(unix)]
#[test]
fn a_read_only_store_can_be_read_and_a_write_names_the_store_folder() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro");
    // Written without a lock file, as another tool might leave it.
    fs::create_dir(&path).unwrap();
    fs::write(
        path.join(SETTINGS_FILE),
        r#"{"version":1,"plugins":{"p":{"A":{"k":"v"}}}}"#,
    )
    .unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o500)).unwrap();
    let probe = path.join("probe");
    if fs::write(&probe, "").is_ok() {
        // Running as root: permissions do not stop writes, so there is nothing to test.
        let _ = fs::remove_file(probe);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o700)).unwrap();
        return;
    }
    let store = FolderStore::open(&path).unwrap();
    assert_eq!(store.list("p").unwrap(), vec!["A"]);
    store.check().unwrap();
    let e = store.write_settings("p", "B", &Values::new()).unwrap_err();
    assert!(
        e.hint().contains(&path.display().to_string()),
        "{}",
        e.hint()
    );
    let mode = fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o500, "the folder's mode is left alone");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o700)).unwrap();
}

#[test]
fn a_file_as_the_store_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("afile");
    fs::write(&file, "").unwrap();
    let e = FolderStore::open(&file).unwrap_err();
    assert!(matches!(e, StoreError::NotAFolder { .. }), "{e}");
    assert!(e.to_string().contains("afile"), "{e}");
    assert!(e.hint().contains("afile"), "{}", e.hint());
}

#[test]
fn concurrent_writers_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let path = path.clone();
            std::thread::spawn(move || {
                // A store per thread: separate lock handles, as separate processes have.
                let store = FolderStore::open(&path).unwrap();
                for i in 0..10 {
                    let account = format!("acct-{t}-{i}");
                    store
                        .write_settings("p", &account, &values(&[("i", "x")]))
                        .unwrap();
                    store.write_secret("p", &account, "s", "v").unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let store = FolderStore::open(&path).unwrap();
    assert_eq!(store.list("p").unwrap().len(), 80);
    let secrets: StoreFile =
        serde_json::from_str(&fs::read_to_string(path.join(SECRETS_FILE)).unwrap()).unwrap();
    assert_eq!(secrets.plugins["p"].len(), 80);
}

#[test]
fn a_damaged_file_is_reported_without_its_content() {
    let dir = tempfile::tempdir().unwrap();
    let store = FolderStore::open(dir.path()).unwrap();
    fs::write(
        dir.path().join(SECRETS_FILE),
        "{\"version\":1,\"plugins\":{\"p\":\"topsecret\"",
    )
    .unwrap();
    let e = store.read_secret("p", "a", "n").unwrap_err();
    assert!(matches!(e, StoreError::Corrupt { .. }));
    assert!(!e.to_string().contains("topsecret"), "{e}");
    assert!(e.hint().contains("move it aside"));
    // Valid JSON of the wrong shape is damaged too, and still not quoted.
    fs::write(
        dir.path().join(SECRETS_FILE),
        "{\"version\":1,\"plugins\":{\"p\":\"topsecret\"}}",
    )
    .unwrap();
    let e = store.check().unwrap_err();
    assert!(matches!(e, StoreError::Corrupt { .. }));
    assert!(!e.to_string().contains("topsecret"), "{e}");
}

#[test]
fn a_file_from_a_newer_version_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let store = FolderStore::open(dir.path()).unwrap();
    fs::write(
        dir.path().join(SETTINGS_FILE),
        r#"{"version":99,"plugins":{},"new_feature":[1,2]}"#,
    )
    .unwrap();
    let e = store.check().unwrap_err();
    assert!(matches!(e, StoreError::Newer { version: 99, .. }), "{e}");
    assert!(e.to_string().contains("written by a newer version"), "{e}");
    // Nothing is written over it.
    assert!(store.write_settings("p", "a", &Values::new()).is_err());
    assert!(fs::read_to_string(dir.path().join(SETTINGS_FILE))
        .unwrap()
        .contains("new_feature"));
}

#[test]
fn named_locks_exclude_each_other_across_store_handles() {
    let dir = tempfile::tempdir().unwrap();
    let a = FolderStore::open(dir.path()).unwrap();
    let b = FolderStore::open(dir.path()).unwrap();
    let held = a
        .lock_named("office365/refresh/Sales", Duration::ZERO)
        .unwrap();
    assert!(matches!(
        b.lock_named("office365/refresh/Sales", Duration::from_millis(20)),
        Err(StoreError::LockBusy { .. })
    ));
    drop(held);
    b.lock_named("office365/refresh/Sales", Duration::ZERO)
        .unwrap();
}

#[test]
fn temporary_files_of_a_dead_writer_are_removed_by_the_next_user_of_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = FolderStore::open(dir.path()).unwrap();
    store
        .write_account(
            "p",
            "A",
            &values(&[("v", "1")]),
            &values(&[("s", "1")]),
            None,
        )
        .unwrap();
    // What a writer killed in the middle of writing leaves: temporary copies.
    for name in [".write-abc123", ".tmpXyZ987"] {
        fs::write(dir.path().join(name), "{\"secret\":\"copy\"}").unwrap();
    }
    fs::write(dir.path().join("notes.txt"), "kept").unwrap();
    assert_eq!(
        store.read_secret("p", "A", "s").unwrap().as_deref(),
        Some("1")
    );
    let mut left: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [".lock", "notes.txt", "secrets.json", "settings.json"]
    );
}

#[test]
fn a_store_lock_held_elsewhere_ends_in_a_clear_error_within_its_bound() {
    let dir = tempfile::tempdir().unwrap();
    let store = FolderStore::open(dir.path()).unwrap();
    store.write_settings("p", "A", &Values::new()).unwrap();
    let holder = File::open(dir.path().join(LOCK_FILE)).unwrap();
    holder.lock().unwrap();
    let started = std::time::Instant::now();
    let e = store.write_settings("p", "B", &Values::new()).unwrap_err();
    assert!(started.elapsed() >= LOCK_WAIT);
    assert!(matches!(e, StoreError::LockBusy { .. }), "{e}");
    assert!(e.is_lock_wait());
    // The holder is this process (the kernel names it on Linux).
    let held_by = match &e {
        StoreError::LockBusy { held_by, .. } => held_by.clone(),
        _ => None,
    };
    if cfg!(target_os = "linux") {
        assert_eq!(held_by.map(|h| h.pid), Some(std::process::id()), "{e}");
    }
    assert!(
        e.hint().contains("then run the command again"),
        "{}",
        e.hint()
    );
    drop(holder);
    store.write_settings("p", "B", &Values::new()).unwrap();
}
