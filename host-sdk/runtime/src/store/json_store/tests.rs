use std::os::unix::fs::PermissionsExt;

use super::*;

/// One account of a JSON store file: plugin, account, values.
pub(crate) type Entry<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

/// Writes one file of a JSON store by hand, exactly as the earlier version wrote it:
/// pretty JSON `{"version": 1, "plugins": {...}}`, secrets owner-only (mode 0600),
/// settings 0644.
pub(crate) fn write_file(path: &Path, accounts: &[Entry<'_>]) {
    let mut plugins: BTreeMap<String, BTreeMap<String, Values>> = BTreeMap::new();
    for (plugin, account, values) in accounts {
        plugins.entry(plugin.to_string()).or_default().insert(
            account.to_string(),
            values
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
    }
    let text = serde_json::to_string_pretty(
        &serde_json::json!({"version": FILE_VERSION, "plugins": plugins}),
    )
    .unwrap();
    fs::write(path, text).unwrap();
    let secrets = path
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with(SECRETS_FILE));
    let mode = if secrets { 0o600 } else { 0o644 };
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// An owner-only store folder.
fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
    dir
}

/// Every file in `dir` with its content and mode: what "untouched" compares.
fn snapshot(dir: &Path) -> BTreeMap<String, (Vec<u8>, u32)> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                (
                    fs::read(e.path()).unwrap(),
                    meta.permissions().mode() & 0o777,
                ),
            )
        })
        .collect()
}

fn secret(store: &JsonStore, plugin: &str, account: &str, name: &str) -> Option<String> {
    store
        .contents
        .secrets
        .get(plugin)?
        .get(account)?
        .get(name)
        .cloned()
}

fn setting(store: &JsonStore, plugin: &str, account: &str, name: &str) -> Option<String> {
    store
        .contents
        .settings
        .get(plugin)?
        .get(account)?
        .get(name)
        .cloned()
}

#[test]
fn a_folder_without_a_json_store_holds_none_even_with_leftovers() {
    let dir = folder();
    assert_eq!(read(dir.path()).unwrap(), None);
    write_file(&dir.path().join("settings.json.next"), &[("p", "A", &[])]);
    fs::write(dir.path().join(".write-x1"), "{").unwrap();
    assert_eq!(
        read(dir.path()).unwrap(),
        None,
        "an uncommitted change alone"
    );
}

#[test]
fn settings_and_secrets_are_read_whole_and_every_file_is_listed() {
    let dir = folder();
    write_file(
        &dir.path().join(SETTINGS_FILE),
        &[
            ("office365", "Reports", &[("client_id", "c1")]),
            ("other", "X", &[]),
        ],
    );
    write_file(
        &dir.path().join(SECRETS_FILE),
        &[("office365", "Reports", &[("refresh_token", "rt-1")])],
    );
    let store = read(dir.path()).unwrap().unwrap();
    assert_eq!(
        setting(&store, "office365", "Reports", "client_id").as_deref(),
        Some("c1")
    );
    assert_eq!(store.contents.settings["other"]["X"], Values::new());
    assert_eq!(
        secret(&store, "office365", "Reports", "refresh_token").as_deref(),
        Some("rt-1")
    );
    assert_eq!(
        store.files,
        [SETTINGS_FILE, SECRETS_FILE].map(|f| dir.path().join(f))
    );
    assert!(
        !format!("{store:?}").contains("rt-1"),
        "Debug shows no secret"
    );
}

#[test]
fn a_pending_commit_is_read_from_its_next_files_and_nothing_is_renamed() {
    // Cut off after the marker, before any rename: both `.next` files are the store.
    let dir = folder();
    let d = dir.path();
    write_file(&d.join(SETTINGS_FILE), &[("p", "A", &[("v", "old")])]);
    write_file(&d.join(SECRETS_FILE), &[("p", "A", &[("rt", "rt-old")])]);
    write_file(
        &d.join("settings.json.next"),
        &[("p", "A", &[("v", "new")]), ("p", "B", &[])],
    );
    write_file(
        &d.join("secrets.json.next"),
        &[("p", "A", &[("rt", "rt-new")])],
    );
    fs::write(d.join(COMMIT_MARKER), "").unwrap();
    let before = snapshot(d);
    let store = read(d).unwrap().unwrap();
    assert_eq!(setting(&store, "p", "A", "v").as_deref(), Some("new"));
    assert!(store.contents.settings["p"].contains_key("B"));
    assert_eq!(secret(&store, "p", "A", "rt").as_deref(), Some("rt-new"));
    assert_eq!(store.files.len(), 4, "{:?}", store.files);
    assert_eq!(snapshot(d), before, "the folder is left as it was");

    // Cut off after one rename: the renamed file is live, the other still `.next`.
    fs::rename(d.join("settings.json.next"), d.join(SETTINGS_FILE)).unwrap();
    let store = read(d).unwrap().unwrap();
    assert_eq!(setting(&store, "p", "A", "v").as_deref(), Some("new"));
    assert_eq!(secret(&store, "p", "A", "rt").as_deref(), Some("rt-new"));
}

#[test]
fn leftovers_without_a_marker_are_ignored_and_kept() {
    let dir = folder();
    let d = dir.path();
    write_file(&d.join(SETTINGS_FILE), &[("p", "A", &[("v", "old")])]);
    write_file(&d.join(SECRETS_FILE), &[("p", "A", &[("rt", "rt-old")])]);
    write_file(
        &d.join("settings.json.next"),
        &[("p", "A", &[("v", "new")])],
    );
    write_file(
        &d.join("secrets.json.next"),
        &[("p", "A", &[("rt", "rt-new")])],
    );
    fs::write(d.join(".write-abc123"), "{\"version\": 1, \"plug").unwrap();
    fs::write(d.join(".tmpXyZ"), "half").unwrap();
    let before = snapshot(d);
    let store = read(d).unwrap().unwrap();
    assert_eq!(setting(&store, "p", "A", "v").as_deref(), Some("old"));
    assert_eq!(secret(&store, "p", "A", "rt").as_deref(), Some("rt-old"));
    assert_eq!(snapshot(d), before, "nothing is removed");
}

#[test]
fn a_newer_layout_is_refused_with_todays_words_and_a_damaged_file_without_its_content() {
    let dir = folder();
    let d = dir.path();
    fs::write(d.join(SETTINGS_FILE), r#"{"version": 2, "plugins": {}}"#).unwrap();
    let e = read(d).unwrap_err();
    assert!(matches!(e, StoreError::Newer { version: 2, .. }), "{e}");
    assert!(
        e.to_string().contains(
            "settings.json was written by a newer version of atrs-test-host (store layout 2; this version reads layout 1)"
        ),
        "{e}"
    );

    fs::write(
        d.join(SETTINGS_FILE),
        r#"{"version": 1, "plugins": {"p": {"A": {"k": 1}}}}"#,
    )
    .unwrap();
    let e = read(d).unwrap_err();
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e}");

    fs::write(d.join(SETTINGS_FILE), r#"{"plugins": {}}"#).unwrap();
    assert!(matches!(read(d), Err(StoreError::Corrupt { .. })));

    write_file(&d.join(SETTINGS_FILE), &[]);
    fs::write(
        d.join(SECRETS_FILE),
        r#"{"version": 1, "plugins": {"p": {"A": {"rt": "rt-very-secret"#,
    )
    .unwrap();
    let e = read(d).unwrap_err();
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e}");
    assert!(e.to_string().contains("secrets.json"), "{e}");
    assert!(!e.to_string().contains("rt-very-secret"), "{e}");

    // A committed `.next` copy is checked the same way, and named.
    write_file(&d.join(SECRETS_FILE), &[]);
    fs::write(
        d.join("secrets.json.next"),
        r#"{"version": 7, "plugins": {}}"#,
    )
    .unwrap();
    fs::write(d.join(COMMIT_MARKER), "").unwrap();
    let e = read(d).unwrap_err();
    assert!(
        e.to_string()
            .contains("secrets.json.next was written by a newer version"),
        "{e}"
    );
}

#[test]
fn a_file_others_may_write_or_a_symlink_is_refused() {
    let dir = folder();
    let d = dir.path();
    write_file(&d.join(SETTINGS_FILE), &[("p", "A", &[])]);
    fs::set_permissions(d.join(SETTINGS_FILE), fs::Permissions::from_mode(0o666)).unwrap();
    let e = read(d).unwrap_err();
    assert!(matches!(e, StoreError::Untrusted { .. }), "{e}");
    assert!(e.to_string().contains("writable by group or others"), "{e}");

    fs::remove_file(d.join(SETTINGS_FILE)).unwrap();
    let elsewhere = folder();
    write_file(
        &elsewhere.path().join(SECRETS_FILE),
        &[("p", "A", &[("rt", "x")])],
    );
    std::os::unix::fs::symlink(elsewhere.path().join(SECRETS_FILE), d.join(SECRETS_FILE)).unwrap();
    let e = read(d).unwrap_err();
    assert!(e.to_string().contains("symbolic link"), "{e}");
}

#[test]
fn a_writer_of_the_earlier_version_mid_change_is_waited_for_within_a_bound() {
    let dir = folder();
    let d = dir.path();
    write_file(&d.join(SETTINGS_FILE), &[("p", "A", &[])]);
    let writer = File::create(d.join(LOCK_FILE)).unwrap();
    writer.lock().unwrap();
    let e = read_waiting(d, Duration::from_millis(50)).unwrap_err();
    assert!(matches!(e, StoreError::LockBusy { .. }), "{e}");
    assert!(e.to_string().contains(".lock"), "{e}");
    drop(writer);
    assert!(read_waiting(d, Duration::from_millis(50))
        .unwrap()
        .is_some());
}
