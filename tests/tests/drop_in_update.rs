//! Drop-in update: one installed host binary, never rebuilt; the Office 365 plugin next
//! to it is replaced by a newer release build; the next host process lists and uses
//! the new version, and the account the old release saved still loads in the new one
//! (settings layout 1 migrated to 2, which adds `written_by`). Going back to the old build refuses the newer
//! layout with a way out instead of misreading it.
//!
//! The two releases are this source built twice with compile-time stamps (see
//! `tests/src/releases.rs`): 0.1.0 writing settings layout 1, 0.2.0 writing layout 2.
//! The vendor signs both builds, and the installed host loads only what its trusted
//! vendor key verifies (`--trusted-keys`).
//! Run with `--nocapture` for the transcript.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    time::Duration,
};

use atrs_e2e::{add_office365_args, host_binary, json_result, releases::previous_and_next};
use atrs_host_sdk::{
    loader,
    signing::{signature_path, SecretKey},
};
use atrs_mock_idp::{defaults, MockConfig, MockIdp};
use atrs_test_host::{
    services::{Browser, LogConfig, PluginServices},
    store::Store,
};
use serde_json::Value;

/// A host installed in a folder of its own, with its plugins beside it (the default
/// plugins folder is the binary's own).
struct Installation {
    _root: tempfile::TempDir,
    host: PathBuf,
    store: PathBuf,
    /// The vendor's signing key, and its public key file the host trusts.
    vendor: SecretKey,
    trusted: PathBuf,
    transcript: Vec<String>,
}

const LIBRARY: &str = "libatrs_office365.so";

impl Installation {
    fn new() -> Installation {
        let root = tempfile::tempdir().unwrap();
        let bin = root.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let host = bin.join("atrs-test-host");
        std::fs::copy(host_binary(), &host).expect("install the host");
        let store = root.path().join("store");
        let vendor = SecretKey::generate().expect("a vendor key");
        let trusted = vendor
            .write_new(&root.path().join("vendor.key"))
            .expect("the vendor key is written");
        Installation {
            _root: root,
            host,
            store,
            vendor,
            trusted,
            transcript: Vec::new(),
        }
    }

    fn plugins_dir(&self) -> &Path {
        self.host.parent().unwrap()
    }

    /// Puts `library`, signed by the vendor, in the plugins folder the way an installer
    /// should: the signature first, then a copy under a temporary name renamed over the old
    /// file in one step.
    fn install_plugin(&mut self, library: &Path, note: &str) {
        let installed = self.plugins_dir().join(LIBRARY);
        let signature = self.vendor.sign(&std::fs::read(library).unwrap(), LIBRARY);
        std::fs::write(signature_path(&installed), signature).unwrap();
        let partial = self.plugins_dir().join(".libatrs_office365.so.partial");
        std::fs::copy(library, &partial).unwrap();
        std::fs::rename(&partial, &installed).unwrap();
        self.transcript.push(format!(
            "$ cp {} bin/{LIBRARY}    # {note}",
            library.display()
        ));
    }

    fn run(&mut self, args: &[&str]) -> (Output, Value) {
        let output = Command::new(&self.host)
            .args(["--store", self.store.to_str().unwrap(), "--json"])
            .args(["--trusted-keys", self.trusted.to_str().unwrap()])
            .args(args)
            .stdin(Stdio::null())
            .env_remove("ATRS_PLUGINS_DIR")
            .env_remove("ATRS_STORE")
            .env_remove("ATRS_STORE_DIR")
            .output()
            .expect("the installed host runs");
        let result = json_result(&output);
        self.transcript
            .push(format!("$ atrs-test-host {}", args.join(" ")));
        (output, result)
    }

    fn add(&mut self, account: &str, mock: &MockIdp) -> Value {
        let args = add_office365_args(
            account,
            defaults::DESKTOP_CLIENT_ID,
            defaults::TENANT_ID,
            None,
            &mock.base_url(),
            "device",
        );
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (output, result) = self.run(&args);
        assert_eq!(output.status.code(), Some(0), "{result}");
        assert_eq!(result["saved"], true);
        self.note(format!(
            "saved \"{account}\", signed in as {}",
            result["user_principal_name"].as_str().unwrap()
        ));
        result
    }

    fn listed_version(&mut self) -> String {
        let (_, result) = self.run(&["plugins"]);
        let entry = &result["plugins"][0];
        assert_eq!(entry["status"], "loaded", "{result}");
        assert_eq!(result["signatures"], "required", "only signed builds load");
        assert_eq!(result["plugins"].as_array().unwrap().len(), 1);
        let version = entry["version"].as_str().unwrap().to_owned();
        self.note(format!("office365 {version} loaded"));
        version
    }

    fn settings_of(&mut self, account: &str) -> Value {
        let (_, result) = self.run(&["accounts"]);
        let found = result["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["account"] == account)
            .unwrap_or_else(|| panic!("{account} is listed: {result}"))["settings"]
            .clone();
        self.note(format!("\"{account}\": {found}"));
        found
    }

    fn note(&mut self, line: String) {
        self.transcript.push(format!("  → {line}"));
    }

    fn host_bytes(&self) -> Vec<u8> {
        std::fs::read(&self.host).unwrap()
    }

    /// Opens the installed plugin in this process with the host's own services over the
    /// installation's store, as the menu's Edit does, and loads `account`.
    fn load_account_in_process(
        &mut self,
        library: &Path,
        account: &str,
    ) -> Result<atrs_host_sdk::FormValues, atrs_host_sdk::PluginError> {
        let plugin = loader::load_file(library).expect("the plugin loads");
        let services = PluginServices::new(
            "office365",
            Store::open(&self.store).unwrap(),
            LogConfig::from_verbosity(0),
            Browser::Disabled,
        );
        let result = plugin.instantiate(services)?.load_account(account);
        self.transcript.push(format!(
            "  (Edit \"{account}\" with office365 {}) → {}",
            plugin.manifest().plugin_version,
            match &result {
                Ok(values) => values
                    .iter()
                    .map(|v| format!("{}={}", v.key(), v.value()))
                    .collect::<Vec<_>>()
                    .join(" "),
                Err(e) => format!("refused: {e}"),
            }
        ));
        result
    }

    fn print(&self) {
        println!(
            "\nDrop-in update transcript\n\n{}\n",
            self.transcript.join("\n")
        );
    }
}

fn mock() -> MockIdp {
    MockIdp::spawn(MockConfig {
        device_interval_secs: 1,
        auto_approve_delay: Duration::ZERO,
        ..MockConfig::default()
    })
    .expect("mock starts")
}

#[test]
fn a_newer_plugin_build_drops_into_an_installed_host_and_reads_what_the_old_one_saved() {
    let (previous, next) = previous_and_next();
    assert_eq!((previous.version, previous.writes_layout), ("0.1.0", "1"));
    assert_eq!((next.version, next.writes_layout), ("0.2.0", "2"));
    let mock = mock();
    let mut app = Installation::new();
    let host_before = app.host_bytes();

    app.install_plugin(&previous.library, "release 0.1.0, writes settings layout 1");
    assert_eq!(app.listed_version(), "0.1.0");
    app.add("Reports", &mock);
    let old = app.settings_of("Reports");
    assert_eq!(old["schema_version"], "1");
    assert!(old["user_principal_name"].is_string(), "{old}");
    assert!(old.get("written_by").is_none());

    app.install_plugin(&next.library, "release 0.2.0, writes settings layout 2");
    assert_eq!(
        app.listed_version(),
        "0.2.0",
        "the next host process sees the new build"
    );

    let installed = app.plugins_dir().join(LIBRARY);
    let values = app
        .load_account_in_process(&installed, "Reports")
        .expect("the old account loads in the new build");
    assert_eq!(values.get("account_name"), Some("Reports"));
    assert_eq!(values.get("client_id"), Some(defaults::DESKTOP_CLIENT_ID));
    assert_eq!(values.get("tenant_id"), Some(defaults::TENANT_ID));
    assert_eq!(
        values.get("authority"),
        Some(mock.base_url().trim_end_matches('/'))
    );
    assert_eq!(values.get("mail"), None, "facts are not form values");

    app.add("Invoices", &mock);
    let new = app.settings_of("Invoices");
    assert_eq!(new["schema_version"], "2");
    assert_eq!(new["written_by"], "0.2.0");
    assert_eq!(new["user_principal_name"], old["user_principal_name"]);

    let (output, result) = app.run(&["remove", "Reports"]);
    assert_eq!(output.status.code(), Some(0), "{result}");
    app.note("the new build removed the account the old one saved".into());

    assert!(
        app.host_bytes() == host_before,
        "the host binary was never rebuilt"
    );
    app.note("host binary unchanged (same bytes as installed)".into());
    app.print();
}

#[test]
fn going_back_to_the_older_build_refuses_the_newer_layout_with_a_way_out() {
    let (previous, next) = previous_and_next();
    let mock = mock();
    let mut app = Installation::new();
    app.install_plugin(&next.library, "release 0.2.0");
    app.add("Reports", &mock);
    app.install_plugin(&previous.library, "back to release 0.1.0");
    assert_eq!(app.listed_version(), "0.1.0");
    let e = app
        .load_account_in_process(&previous.library, "Reports")
        .expect_err("0.1.0 cannot read layout 2");
    assert_eq!(
        e.message(),
        "This account was saved by a newer Office 365 plugin (settings layout 2)."
    );
    assert!(e
        .hint()
        .unwrap()
        .contains("Install that plugin version again"));
    app.print();
}
