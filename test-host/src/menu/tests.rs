use std::cell::RefCell;

use atrs_host_sdk::{loader, FormValues, Integration};
use atrs_office365::Office365;

use super::*;
use crate::{
    services::{Browser, LogConfig, PluginServices},
    store::Store,
};

fn plugin<'a>(store: &'a Store) -> MenuPlugin<'a> {
    MenuPlugin {
        manifest: Office365::manifest(),
        open: Box::new(move || {
            let services = PluginServices::new(
                "office365",
                store.clone(),
                LogConfig::from_verbosity(0),
                Browser::Disabled,
            );
            Ok(loader::instantiate_in_process::<Office365>(services)?.into())
        }),
        accounts: Box::new(move || Ok(store.list("office365")?)),
        store: Box::new(move || Ok(store.info())),
        prefill: FormValues::new(),
    }
}

fn run_script(answers: Vec<ScriptedAnswer>) -> (Vec<String>, Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let transcript = RefCell::new(Vec::new());
    {
        let plugins = vec![plugin(&store)];
        let mut p = ScriptedPrompter::new(answers);
        run(&mut p, &plugins).unwrap();
        *transcript.borrow_mut() = p.transcript;
    }
    (transcript.into_inner(), store, dir)
}

fn t(s: &str) -> ScriptedAnswer {
    ScriptedAnswer::Type(s.into())
}

fn pick(s: &str) -> ScriptedAnswer {
    ScriptedAnswer::Pick(s.into())
}

#[test]
fn the_health_view_says_where_accounts_live_and_never_the_key() {
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("store.key");
    let options = crate::store::KeyOptions {
        key_file: Some(key.clone()),
        ..Default::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with(dir.path(), &options).unwrap();
    let plugins = vec![plugin(&store)];
    let mut p = ScriptedPrompter::new(vec![pick("Office 365"), pick("Back"), pick("Quit")]);
    run(&mut p, &plugins).unwrap();
    let text = p.transcript.join("\n");
    let line = format!(
        "Accounts live in {} (sqlite; secrets sealed (XChaCha20-Poly1305), key file {} (ATRS_STORE_KEY_FILE)).",
        dir.path().join("accounts.db").display(),
        key.display()
    );
    // Above the accounts and their health, once each time the view opens.
    let shown = p.transcript.iter().position(|l| *l == line);
    let listed = p
        .transcript
        .iter()
        .position(|l| l.starts_with("? Integrations › Office 365 ["));
    assert!(shown.is_some() && shown < listed, "{text}");
    assert_eq!(text.matches(&line).count(), 1, "{text}");
    let key_text = std::fs::read_to_string(&key).unwrap();
    assert!(!text.contains(key_text.trim()), "the key is never shown");

    // A plain-text store says so.
    let plain_dir = tempfile::tempdir().unwrap();
    let plain = crate::store::KeyOptions {
        plaintext: true,
        ..Default::default()
    };
    let store = Store::open_with(plain_dir.path(), &plain).unwrap();
    let plugins = vec![plugin(&store)];
    let mut p = ScriptedPrompter::new(vec![pick("Office 365"), pick("Back"), pick("Quit")]);
    run(&mut p, &plugins).unwrap();
    let text = p.transcript.join("\n");
    assert!(
        text.contains(&format!(
            "Accounts live in {} (sqlite; secrets in PLAIN TEXT (allowed by ATRS_STORE_PLAINTEXT=1)).",
            plain_dir.path().join("accounts.db").display()
        )),
        "{text}"
    );
}

#[test]
fn add_shows_inline_errors_refuses_unverified_save_and_close_discards() {
    let (transcript, store, _dir) = run_script(vec![
        pick("Office 365"),
        pick("Add"),
        t("Reports"),
        t("not-a-guid"),
        t("4a1aa1d5-c567-49d0-ad0b-cd957a47f842"),
        t("contoso.onmicrosoft.com"),
        t(""),
        t(""),
        pick("Global"),
        pick("Save & Close"),
        pick("Close"),
        ScriptedAnswer::Esc,
        pick("Quit"),
    ]);
    let text = transcript.join("\n");
    assert!(text.contains("✗ Client ID is not a GUID."), "{text}");
    assert!(text.contains("have not been verified"), "{text}");
    assert!(text.contains("Closed without saving."), "{text}");
    assert!(store.list("office365").unwrap().is_empty());
}

#[test]
fn esc_at_the_first_question_backs_out_cleanly() {
    let (transcript, store, _dir) = run_script(vec![
        pick("Office 365"),
        pick("Add"),
        ScriptedAnswer::Esc,
        ScriptedAnswer::Esc,
        ScriptedAnswer::Esc,
    ]);
    assert!(
        transcript.iter().any(|l| l == "Closed without saving."),
        "{transcript:?}"
    );
    assert!(store.list("office365").unwrap().is_empty());
}

mod with_mock {
    use std::time::Duration;

    use atrs_mock_idp::{defaults, DeviceOutcome, MockConfig, MockIdp};

    use super::*;
    use crate::menu::form_editor::{EDITED, EDITED_HELP};

    fn mock() -> MockIdp {
        MockIdp::spawn(MockConfig {
            device_interval_secs: 1,
            auto_approve_delay: Duration::ZERO,
            ..MockConfig::default()
        })
        .unwrap()
    }

    fn fill(authority: &str, name: &str) -> Vec<ScriptedAnswer> {
        vec![
            t(name),
            t(defaults::DESKTOP_CLIENT_ID),
            t(defaults::TENANT_ID),
            t(""),
            t(""),
            pick("Global"),
            pick("Advanced settings"),
            t(authority),
            t(""),
            pick("In the address"),
            t(""),
            t(""),
            t(""),
            t(""),
            pick("A user signs in"),
            t(""),
            t(""),
        ]
    }

    #[test]
    fn esc_cancels_a_waiting_verification_and_a_second_one_saves() {
        let mock = mock();
        mock.set_device_outcome(DeviceOutcome::Ignore);
        let url = mock.base_url();
        let mut script = vec![pick("Office 365"), pick("Add")];
        script.extend(fill(&url, "Reports"));
        script.extend([pick("Verify"), ScriptedAnswer::Press(Key::Cancel)]);
        let (transcript, _store, _dir) = run_script(script);
        let text = transcript.join("\n");
        assert!(text.contains("(presses Cancel)"), "{text}");
        assert!(text.contains("✗ Verification was cancelled."), "{text}");
        assert!(text.contains("Closed without saving."), "{text}");

        mock.set_device_outcome(DeviceOutcome::Approve);
        let mut script = vec![pick("Office 365"), pick("Add")];
        script.extend(fill(&url, "Reports"));
        script.extend([
            pick("Verify"),
            pick("Save & Close"),
            pick("Back"),
            pick("Quit"),
        ]);
        let (transcript, store, _dir) = run_script(script);
        let text = transcript.join("\n");
        assert!(
            text.contains("✓ Verified: signed in as Adele Vance"),
            "{text}"
        );
        assert!(text.contains("✓ Saved."), "{text}");
        assert_eq!(store.list("office365").unwrap(), vec!["Reports"]);
    }

    #[test]
    fn an_application_account_is_verified_directly_from_the_menu() {
        let mock = mock();
        let url = mock.base_url();
        let mut script = vec![pick("Office 365"), pick("Add")];
        script.extend([
            t("Scheduler"),
            t(defaults::APP_ONLY_CLIENT_ID),
            t(defaults::TENANT_ID),
            t(defaults::APP_ONLY_CLIENT_SECRET),
            t(""),
            pick("Global"),
            pick("Advanced settings"),
            t(&url),
            t(""),
            pick("In the address"),
            t(""),
            t(""),
            t(""),
            t(""),
            pick("Application"),
            t(defaults::USER_UPN),
            t(""),
        ]);
        // The plain Verify signs in with a code: refused at once, saying what to choose.
        script.extend([
            pick("Verify"),
            pick("Verify ▾ Directly"),
            pick("Save & Close"),
            pick("Back"),
            pick("Quit"),
        ]);
        let (transcript, store, _dir) = run_script(script);
        let text = transcript.join("\n");
        assert!(text.contains("is an application account"), "{text}");
        assert!(text.contains("Verify ▾ Directly"), "{text}");
        assert!(
            text.contains("✓ Verified: connected to Adele Vance, as the app"),
            "{text}"
        );
        assert!(text.contains("✓ Saved."), "{text}");
        assert_eq!(store.list("office365").unwrap(), vec!["Scheduler"]);
        assert_eq!(mock.stats().grant_count("client_credentials"), 1);
        assert_eq!(
            mock.stats()
                .grant_count(atrs_mock_idp::DEVICE_CODE_GRANT_TYPE),
            0
        );
    }

    #[test]
    fn renaming_after_verify_refuses_save_until_verified_again() {
        let mock = mock();
        let url = mock.base_url();
        let mut script = vec![pick("Office 365"), pick("Add")];
        script.extend(fill(&url, "Reports"));
        script.push(pick("Verify"));
        script.push(pick("Edit fields"));
        script.extend([
            t("Renamed"),
            t(defaults::DESKTOP_CLIENT_ID),
            t(defaults::TENANT_ID),
            t(""),
            t(""),
            pick("Global"),
        ]);
        script.extend([
            pick("Save & Close"),
            pick("Verify"),
            pick("Save & Close"),
            pick("Back"),
            pick("Quit"),
        ]);
        let (transcript, store, _dir) = run_script(script);
        let text = transcript.join("\n");
        let refused = text
            .find("have not been verified")
            .expect("save refused after the rename");
        let saved = text.find("✓ Saved.").expect("saved after verifying again");
        assert!(refused < saved, "{text}");
        assert_eq!(store.list("office365").unwrap(), vec!["Renamed"]);
    }

    /// The basic fields of an Edit of "Reports", with `tenant` and the secret's expiry
    /// `expires`; the secret and the cloud stay.
    fn edit_basic(tenant: &str, expires: &str) -> Vec<ScriptedAnswer> {
        vec![
            t("Reports"),
            t(defaults::DESKTOP_CLIENT_ID),
            t(tenant),
            t(""),
            t(expires),
            pick("Global"),
        ]
    }

    /// Issue 23, item 5: after an edit of a saved account the form does not claim it is
    /// "not verified": Save & Close checks whether the edit needs a new sign-in. An
    /// edit of the secret's expiry saves without one; a new tenant is refused, named.
    /// A new account is still "not verified".
    #[test]
    fn an_edited_saved_account_says_save_checks_whether_it_needs_a_new_sign_in() {
        let mock = mock();
        let url = mock.base_url();
        let edited = format!("? Account ({EDITED}) [");
        let mut script = vec![pick("Office 365"), pick("Add")];
        script.extend(fill(&url, "Reports"));
        script.extend([pick("Verify"), pick("Save & Close")]);
        script.extend([pick("Reports"), pick("Edit")]);
        script.extend(edit_basic(defaults::TENANT_ID, "2030-06-30"));
        script.push(pick("Save & Close"));
        script.extend([pick("Reports"), pick("Edit")]);
        script.extend(edit_basic("contoso.onmicrosoft.com", "2030-06-30"));
        script.extend([pick("Save & Close"), pick("Close")]);
        script.extend([pick("Back"), pick("Quit")]);
        let (transcript, store, _dir) = run_script(script);
        let text = transcript.join("\n");
        let at = |what: &dyn Fn(&String) -> bool| {
            transcript
                .iter()
                .position(what)
                .unwrap_or_else(|| panic!("not shown: {text}"))
        };
        let not_verified = |l: &String| l.starts_with("? Account (not verified) [");
        // Added: not verified until Verify.
        assert!(
            at(&not_verified) < at(&|l| l.starts_with("✓ Verified")),
            "{text}"
        );
        let edits: Vec<usize> = (0..transcript.len())
            .filter(|&i| {
                transcript[i].starts_with("? Office 365 › Reports [")
                    && transcript[i].ends_with("› Edit")
            })
            .collect();
        assert_eq!(edits.len(), 2, "{text}");
        let (first, second) = (&transcript[edits[0]..edits[1]], &transcript[edits[1]..]);
        for edit in [first, second] {
            assert!(!edit.iter().any(not_verified), "{text}");
            let title = edit.iter().position(|l| l.starts_with(&edited));
            let help = edit.iter().position(|l| l == EDITED_HELP);
            assert!(help.is_some() && help < title, "{text}");
        }
        // The expiry alone: saved with the sign-in it had, no new one.
        assert!(first.iter().any(|l| l == "✓ Saved."), "{text}");
        assert!(
            !first.iter().any(|l| l.contains("have not been verified")),
            "{text}"
        );
        assert_eq!(
            mock.stats()
                .grant_count(atrs_mock_idp::DEVICE_CODE_GRANT_TYPE),
            1,
            "{text}"
        );
        let settings = store
            .read_settings("office365", "Reports")
            .unwrap()
            .unwrap();
        assert_eq!(
            settings.get("client_secret_expires").map(String::as_str),
            Some("2030-06-30"),
            "{settings:?}"
        );
        // A new tenant needs a sign-in: refused, naming it, and the saved one stays.
        assert!(
            second
                .iter()
                .any(|l| l.contains("Tenant ID changed since the last sign-in")),
            "{text}"
        );
        assert!(!second.iter().any(|l| l == "✓ Saved."), "{text}");
        let settings = store
            .read_settings("office365", "Reports")
            .unwrap()
            .unwrap();
        assert_eq!(
            settings.get("tenant_id").map(String::as_str),
            Some(defaults::TENANT_ID)
        );
    }

    #[test]
    fn a_saved_account_sends_a_test_message_from_the_menu() {
        let mock = mock();
        let url = mock.base_url();
        let mut script = vec![pick("Office 365"), pick("Add")];
        script.extend(fill(&url, "Reports"));
        script.extend([
            pick("Verify"),
            pick("Save & Close"),
            pick("Reports"),
            pick("Send test message"),
            t("me@example.com"),
            pick("Back"),
            pick("Quit"),
        ]);
        let (transcript, _store, _dir) = run_script(script);
        let text = transcript.join("\n");
        assert!(text.contains("✓ Sent to me@example.com."), "{text}");
        let sent = mock.sent_items();
        assert_eq!(sent.len(), 1);
        assert!(sent[0].subject.contains("Reports"), "{:?}", sent[0]);
    }
}
