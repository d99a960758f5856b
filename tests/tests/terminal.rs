//! The Integrations menu in a real terminal (tmux) at 60 and 120 columns, against the
//! mock identity platform: Add → Verify → Save & Close, Edit → rename → Verify → Save,
//! Esc and Ctrl-C at each kind of prompt, line editing, the waiting line on one row,
//! and the terminal given back (cursor shown) however the menu ends.

use std::time::Duration;

use atrs_e2e::{host_binary, http_get_location, office365_library, plugins_dir, tmux::Terminal};
use atrs_mock_idp::{defaults, DeviceOutcome, Endpoint, Fault, MockConfig, MockIdp};
use atrs_test_host::store::Store;

/// The end of a list's title: a list is waiting for a choice.
const LIST: &str = "(↑↓ Enter, Esc: back)";

/// A mock whose simulated user approves a device code after `approve_after`.
fn mock(approve_after: Duration) -> MockIdp {
    MockIdp::spawn(MockConfig {
        device_interval_secs: 1,
        auto_approve_delay: approve_after,
        ..MockConfig::default()
    })
    .expect("mock starts")
}

/// The menu in a `width`-column terminal, with the real plugin and a fresh store.
struct Menu {
    term: Terminal,
    store: tempfile::TempDir,
    _plugins: tempfile::TempDir,
}

impl Menu {
    fn open(width: u16, extra: &[&str]) -> Menu {
        Self::open_with_store(width, extra, |_| {})
    }

    /// Like [`Menu::open`], with the store folder prepared by `prepare` first.
    fn open_with_store(width: u16, extra: &[&str], prepare: impl Fn(&std::path::Path)) -> Menu {
        Self::launch(width, extra, &[], prepare)
    }

    /// Like [`Menu::open`], with `env` added to the menu's environment.
    fn open_with_env(width: u16, extra: &[&str], env: &[(&str, &str)]) -> Menu {
        Self::launch(width, extra, env, |_| {})
    }

    fn launch(
        width: u16,
        extra: &[&str],
        env: &[(&str, &str)],
        prepare: impl Fn(&std::path::Path),
    ) -> Menu {
        let plugins = plugins_dir(&[office365_library()]);
        let store = tempfile::tempdir().unwrap();
        prepare(store.path());
        let mut args = extra.to_vec();
        args.push("menu");
        let mut all_env = vec![
            ("ATRS_PLUGINS_DIR", plugins.path().to_str().unwrap()),
            ("ATRS_STORE", store.path().to_str().unwrap()),
        ];
        all_env.extend_from_slice(env);
        let term = Terminal::start(host_binary(), &args, &all_env, width, 30);
        Menu {
            term,
            store,
            _plugins: plugins,
        }
    }

    fn accounts(&self) -> Vec<String> {
        Store::open(self.store.path())
            .unwrap()
            .list("office365")
            .unwrap()
    }

    /// Every saved secret with its account's name, opened, as JSON text.
    fn secrets_file(&self) -> String {
        atrs_e2e::sandbox::StoreFiles::try_read(self.store.path())
            .map(|files| files.secrets.to_string())
            .unwrap_or_default()
    }

    /// Waits for the list titled `title` to be the one waiting for a choice.
    fn wait_for_list(&self, title: &str) -> String {
        self.term.wait_for(&format!("{title} {LIST}"))
    }

    /// Integrations → Office 365 → Add, from either list.
    fn add(&self) {
        let screen = self.term.wait_for(LIST);
        let title = screen
            .lines()
            .rfind(|l| l.contains(LIST))
            .unwrap_or_default();
        if title.starts_with("? Integrations (") {
            self.term.press(&["Enter"]);
            self.term.wait_for("? Integrations › Office 365 (↑↓");
        }
        self.choose("Add");
    }

    /// Fills the basic fields, then Advanced settings with the mock's address.
    fn fill(&self, name: &str, authority: &str) {
        let t = &self.term;
        t.wait_for_prompt("? Account name ›");
        t.answer(name);
        t.wait_for_prompt("? Client ID ›");
        t.answer(defaults::DESKTOP_CLIENT_ID);
        t.wait_for_prompt("? Tenant ID ›");
        t.answer(defaults::TENANT_ID);
        t.wait_for_prompt("? Client secret");
        t.press(&["Enter"]);
        t.wait_for_prompt("? Client secret expires");
        t.press(&["Enter"]);
        t.wait_for("❯ Global");
        t.press(&["Enter"]);
        self.choose("Advanced settings");
        t.wait_for_prompt("? Authority URL override");
        t.answer(authority);
        t.wait_for_prompt("? Scopes");
        t.press(&["Enter"]);
        t.wait_for("❯ In the address");
        t.press(&["Enter"]);
        t.wait_for_prompt("? Extra trusted certificates");
        t.press(&["Enter"]);
        t.wait_for_prompt("? Maximum message size");
        t.press(&["Enter"]);
        t.wait_for_prompt("? Certificate (PEM");
        t.press(&["Enter"]);
        t.wait_for_prompt("? Certificate password");
        t.press(&["Enter"]);
        t.wait_for("❯ A user signs in");
        t.press(&["Enter"]);
        t.wait_for_prompt("? Mailbox");
        t.press(&["Enter"]);
        t.wait_for_prompt("? Files go to");
        t.press(&["Enter"]);
    }

    /// Moves the list's marker to the item starting with `item` and picks it.
    fn choose(&self, item: &str) {
        self.term.wait_for(LIST);
        choose(&self.term, item);
    }

    /// Verify with a device code, checking the waiting line stays on one row.
    fn verify_watching_the_waiting_line(&self) {
        let t = &self.term;
        self.choose("Verify");
        let first = t.wait_for("Waiting for you to sign in");
        let second = t.wait_until(
            "the waiting line to be redrawn",
            Duration::from_secs(20),
            |s| s != first && s.contains("Waiting for you to sign in"),
        );
        for screen in [&first, &second] {
            let rows: Vec<&str> = screen
                .lines()
                .filter(|l| l.contains("Waiting for you to sign in"))
                .collect();
            assert_eq!(rows.len(), 1, "the waiting line is on one row:\n{screen}");
            assert!(
                rows[0].chars().count() < t.width,
                "the waiting line fits in {} columns: {:?}",
                t.width,
                rows[0]
            );
        }
        t.wait_for("✓ Verified: signed in as");
    }

    /// Opens the saved `account` from the integration screen and picks its `action`.
    fn act(&self, account: &str, action: &str) {
        self.wait_for_list("? Integrations › Office 365");
        self.choose(account);
        self.wait_for_list(&format!("? Office 365 › {account}"));
        self.choose(action);
    }

    /// Leaves the menu with Esc from the integration screen; asserts exit 0.
    fn quit(&self) {
        let t = &self.term;
        self.wait_for_list("? Integrations › Office 365");
        t.press(&["Escape"]);
        t.wait_for("❯ Office 365");
        t.press(&["Escape"]);
        assert_eq!(t.exit_code(), 0, "{}", t.screen());
        assert!(t.cursor_visible(), "cursor hidden after exit");
    }
}

/// Moves the marker of the list on screen to the item starting with `item` and picks it.
fn choose(t: &Terminal, item: &str) {
    let marked = format!("❯ {item}");
    for _ in 0..12 {
        if t.screen().lines().any(|l| l.starts_with(&marked)) {
            t.press(&["Enter"]);
            return;
        }
        let before = t.screen();
        t.press(&["Down"]);
        t.wait_until("the marker to move", Duration::from_secs(10), |s| {
            s != before
        });
    }
    panic!("no item {item:?}; the screen:\n{}", t.screen());
}

fn add_verify_save(width: u16) {
    let mock = mock(Duration::from_secs(3));
    let menu = Menu::open(width, &[]);
    menu.add();
    menu.fill("Reports", &mock.base_url());
    menu.verify_watching_the_waiting_line();
    let screen = menu.wait_for_list("? Account (verified)");
    assert!(screen.contains("❯ Save & Close"), "{screen}");
    menu.term.press(&["Enter"]);
    menu.term.wait_for("✓ Saved.");
    menu.quit();
    assert_eq!(menu.accounts(), vec!["Reports"]);
}

#[test]
fn add_verify_save_and_close_at_60_columns() {
    add_verify_save(60);
}

#[test]
fn add_verify_save_and_close_at_120_columns() {
    add_verify_save(120);
}

#[test]
fn edit_rename_verify_save_leaves_one_account_under_the_new_name() {
    let mock = mock(Duration::from_millis(500));
    let menu = Menu::open(120, &[]);
    menu.add();
    menu.fill("Sales mailbox", &mock.base_url());
    menu.choose("Verify");
    menu.wait_for_list("? Account (verified)");
    menu.term.press(&["Enter"]);
    menu.term.wait_for("✓ Saved.");

    // An Edit that changes nothing saves nothing and needs no verification.
    menu.act("Sales mailbox", "Edit");
    for prompt in [
        "? Account name",
        "? Client ID",
        "? Tenant ID",
        "? Client secret",
        "? Client secret expires",
    ] {
        menu.term.wait_for_prompt(prompt);
        menu.term.press(&["Enter"]);
    }
    menu.term.wait_for("❯ Global");
    menu.term.press(&["Enter"]);
    let screen = menu.wait_for_list("? Account (saved, unchanged)");
    assert!(screen.contains("❯ Save & Close"), "{screen}");
    menu.term.press(&["Enter"]);
    menu.term.wait_for("Nothing changed");

    // Rename: Ctrl-U clears the old name.
    menu.act("Sales mailbox", "Edit");
    menu.term.wait_for_prompt("? Account name › Sales mailbox");
    menu.term.press(&["C-u"]);
    menu.term.answer("Sales reports");
    for prompt in [
        "? Client ID",
        "? Tenant ID",
        "? Client secret",
        "? Client secret expires",
    ] {
        menu.term.wait_for_prompt(prompt);
        menu.term.press(&["Enter"]);
    }
    menu.term.wait_for("❯ Global");
    menu.term.press(&["Enter"]);
    // Edited, not "not verified": Save & Close would say whether it needs a new sign-in.
    menu.wait_for_list("? Account (edited — Save & Close checks if it needs a new sign-in)");
    menu.choose("Verify");
    menu.wait_for_list("? Account (verified)");
    menu.term.press(&["Enter"]);
    menu.term
        .wait_for("✓ Saved as \"Sales reports\" (renamed from \"Sales mailbox\").");
    // Esc at a yes/no question answers nothing: the account stays.
    menu.act("Sales reports", "Remove");
    menu.term
        .wait_for("Remove \"Sales reports\" and its secrets? (y/N)");
    menu.term.press(&["Escape"]);
    menu.term.wait_for("and its secrets? › (back)");
    menu.quit();
    assert_eq!(menu.accounts(), vec!["Sales reports"]);
    assert!(
        !menu.secrets_file().contains("Sales mailbox"),
        "nothing of the old name is left: {}",
        menu.secrets_file()
    );
}

#[test]
fn adding_an_existing_name_asks_before_replacing() {
    let mock = mock(Duration::from_millis(200));
    let menu = Menu::open(80, &[]);
    let t = &menu.term;
    let add_and_verify = || {
        menu.add();
        menu.fill("Reports", &mock.base_url());
        menu.choose("Verify");
        menu.wait_for_list("? Account (verified)");
        t.press(&["Enter"]);
    };
    add_and_verify();
    t.wait_for("✓ Saved.");
    let question = "An account named \"Reports\" is already saved. Replace it? (y/N)";
    // No: nothing is saved, and the form stays open to rename.
    add_and_verify();
    t.wait_for_prompt(&format!("? {question}"));
    t.type_text("n");
    t.wait_for("Not saved: choose Edit fields");
    menu.choose("Close");
    t.wait_for("Closed without saving.");
    // Yes: the saved account is replaced.
    add_and_verify();
    t.wait_for_prompt(&format!("? {question}"));
    t.type_text("y");
    t.wait_for("Replace it? › yes");
    menu.wait_for_list("? Integrations › Office 365");
    menu.quit();
    assert_eq!(menu.accounts(), vec!["Reports"]);
}

#[test]
fn esc_goes_back_one_question_at_a_time_and_nothing_typed_is_stored() {
    let menu = Menu::open(60, &[]);
    menu.add();
    let t = &menu.term;
    t.wait_for_prompt("? Account name ›");
    // Ctrl-W deletes the word before the cursor; control keys insert nothing.
    t.type_text("Sales reports");
    t.press(&["C-w"]);
    t.press(&["C-g"]);
    t.wait_for_prompt("? Account name › Sales");
    assert!(!t.screen().contains("reports"), "{}", t.screen());
    t.press(&["Escape"]);
    t.wait_for("Closed without saving.");

    menu.add();
    t.wait_for_prompt("? Account name ›");
    t.answer("Reports");
    t.wait_for_prompt("? Client ID ›");
    // A value that fails validation is shown with its error, never with a check mark.
    t.answer("not-a-guid");
    let screen = t.wait_for("✗ Client ID is not a GUID.");
    assert!(!screen.contains('✔') && !screen.contains('✓'), "{screen}");
    t.wait_for_prompt("? Client ID ›");
    t.press(&["C-u"]);
    t.answer(defaults::DESKTOP_CLIENT_ID);
    t.wait_for_prompt("? Tenant ID ›");
    t.answer(defaults::TENANT_ID);
    t.wait_for_prompt("? Client secret");
    t.type_text("abc");
    // Esc goes back one question at a time, keeping what was typed.
    t.press(&["Escape"]);
    t.wait_for_prompt(&format!("? Tenant ID › {}", defaults::TENANT_ID));
    t.press(&["Escape"]);
    t.wait_for_prompt(&format!("? Client ID › {}", defaults::DESKTOP_CLIENT_ID));
    t.press(&["Escape"]);
    t.wait_for_prompt("? Account name › Reports");
    // Out of the form: what was typed would be lost, so it asks; no stays.
    t.press(&["Escape"]);
    t.wait_for_prompt("? Leave without saving? What you typed is not saved. (y/N)");
    t.type_text("y");
    t.wait_for("Closed without saving.");
    menu.wait_for_list("? Integrations › Office 365");
    menu.quit();
    assert!(menu.accounts().is_empty());
    assert!(
        !menu.secrets_file().contains("abc"),
        "{}",
        menu.secrets_file()
    );
}

/// Ctrl-C at a prompt ends the menu as cancelled (exit 4) with the cursor shown.
fn ctrl_c_ends_the_menu(menu: &Menu) {
    menu.term.press(&["C-c"]);
    let code = menu.term.exit_code();
    let screen = menu.term.screen();
    assert_eq!(code, 4, "{screen}");
    assert!(screen.contains("Stopped (Ctrl-C)."), "{screen}");
    assert!(
        menu.term.cursor_visible(),
        "cursor hidden after Ctrl-C:\n{screen}"
    );
}

#[test]
fn ctrl_c_at_a_list_ends_the_menu_with_the_cursor_shown() {
    let menu = Menu::open(60, &[]);
    menu.term.wait_for("❯ Office 365");
    ctrl_c_ends_the_menu(&menu);
}

#[test]
fn ctrl_c_at_a_text_prompt_ends_the_menu() {
    let menu = Menu::open(120, &[]);
    menu.add();
    menu.term.wait_for_prompt("? Account name ›");
    menu.term.type_text("Half typed");
    ctrl_c_ends_the_menu(&menu);
    assert!(menu.accounts().is_empty());
}

#[test]
fn ctrl_c_at_a_secret_prompt_ends_the_menu_and_stores_nothing() {
    let menu = Menu::open(60, &[]);
    menu.add();
    let t = &menu.term;
    t.wait_for_prompt("? Account name ›");
    t.answer("Reports");
    t.wait_for_prompt("? Client ID ›");
    t.answer(defaults::DESKTOP_CLIENT_ID);
    t.wait_for_prompt("? Tenant ID ›");
    t.answer(defaults::TENANT_ID);
    t.wait_for_prompt("? Client secret");
    t.type_text("s3cret");
    ctrl_c_ends_the_menu(&menu);
    assert!(!menu.secrets_file().contains("s3cret"));
}

#[test]
fn esc_cancels_a_waiting_verification_and_ctrl_c_ends_the_menu() {
    let mock = mock(Duration::from_secs(3));
    mock.set_device_outcome(DeviceOutcome::Ignore);
    let menu = Menu::open(60, &[]);
    menu.add();
    menu.fill("Reports", &mock.base_url());
    menu.choose("Verify");
    menu.term.wait_for("Waiting for you to sign in");
    menu.term.press(&["Escape"]);
    menu.term.wait_for("✗ Verification was cancelled.");
    menu.wait_for_list("? Account (not verified)");
    menu.choose("Verify");
    menu.term
        .wait_until("a second waiting line", Duration::from_secs(20), |s| {
            s.matches("Open ").count() >= 2 && s.contains("Waiting for you to sign in")
        });
    ctrl_c_ends_the_menu(&menu);
    assert!(menu.accounts().is_empty());
}

#[test]
fn with_no_browser_the_menu_never_offers_to_open_one() {
    let mock = mock(Duration::from_secs(3));
    mock.set_device_outcome(DeviceOutcome::Ignore);
    let menu = Menu::open(120, &["--no-browser"]);
    menu.add();
    menu.fill("Reports", &mock.base_url());
    menu.choose("Verify ▾ With Browser");
    let screen = menu.term.wait_for("? Paste the final browser address");
    assert!(!screen.contains("Open it in your browser"), "{screen}");
    menu.term.press(&["Escape"]);
    menu.wait_for_list("? Account (not verified)");
    menu.choose("Verify");
    let screen = menu.term.wait_for("Waiting for you to sign in");
    assert!(!screen.contains("Press O"), "{screen}");
    assert!(!screen.contains("O: open browser"), "{screen}");
    ctrl_c_ends_the_menu(&menu);
}

#[test]
fn a_damaged_store_is_reported_before_the_menu_opens() {
    let menu = Menu::open_with_store(80, &[], |store| {
        std::fs::write(
            store.join("settings.json"),
            "{\"version\": 99, \"plugins\": {}}",
        )
        .unwrap();
    });
    let code = menu.term.exit_code();
    let screen = menu.term.screen();
    assert_eq!(code, 1, "{screen}");
    assert!(screen.contains("written by a newer version"), "{screen}");
    assert!(!screen.contains("0 accounts"), "{screen}");
    assert!(menu.term.cursor_visible());
}

#[test]
fn a_slow_sign_in_service_shows_progress_on_one_row_for_add() {
    let mock = mock(Duration::from_secs(30));
    mock.set_fault(Endpoint::Discovery, Fault::Delay(Duration::from_secs(4)));
    let plugins = plugins_dir(&[office365_library()]);
    let store = tempfile::tempdir().unwrap();
    let args = atrs_e2e::add_office365_args(
        "Reports",
        defaults::DESKTOP_CLIENT_ID,
        defaults::TENANT_ID,
        None,
        &mock.base_url(),
        "device",
    );
    let mut all = vec![
        "--plugins-dir",
        plugins.path().to_str().unwrap(),
        "--store",
        store.path().to_str().unwrap(),
    ];
    all.extend(args.iter().map(String::as_str));
    let term = Terminal::start(host_binary(), &all, &[], 60, 20);
    let screen = term.wait_until("two seconds of progress", Duration::from_secs(30), |s| {
        s.contains(" (2 s)")
    });
    let rows = screen.lines().filter(|l| l.contains(" s)")).count();
    assert_eq!(rows, 1, "the progress line is redrawn in place:\n{screen}");
    term.wait_for("enter the code");
    term.press(&["C-c"]);
    assert_eq!(term.exit_code(), 4, "{}", term.screen());
}

/// Issue 23, item 8: a secret typed for a new account is "the one typed", never "the
/// saved one" (nothing is saved yet), at 50, 80 and 120 columns.
#[test]
fn a_new_accounts_typed_secret_is_never_called_the_saved_one() {
    for width in [50, 80, 120] {
        let menu = Menu::open(width, &["--no-browser"]);
        let t = &menu.term;
        menu.add();
        t.wait_for_prompt("? Account name ›");
        t.answer("Typed");
        t.wait_for_prompt("? Client ID ›");
        t.answer(defaults::DESKTOP_CLIENT_ID);
        t.wait_for_prompt("? Tenant ID ›");
        t.answer(defaults::TENANT_ID);
        t.wait_for_prompt("? Client secret");
        t.answer("not-the-real-secret");
        t.wait_for_prompt("? Client secret expires");
        t.press(&["Enter"]);
        t.wait_for("❯ Global");
        t.press(&["Enter"]);
        menu.choose("Edit fields");
        for prompt in ["? Account name ›", "? Client ID ›", "? Tenant ID ›"] {
            t.wait_for_prompt(prompt);
            t.press(&["Enter"]);
        }
        let screen = t.wait_for("Type a new one");
        assert!(screen.contains("Keep the one typed"), "{width}: {screen}");
        assert!(!screen.contains("Keep the saved one"), "{width}: {screen}");
        assert!(menu.accounts().is_empty(), "nothing saved");
        t.press(&["C-c"]);
        t.exit_code();
    }
}

/// Issue 23, item 19: Edit → Save & Close reads the store again; an account another
/// program removed meanwhile is not "unchanged".
#[test]
fn save_after_another_program_removed_the_account_says_so() {
    let mock = mock(Duration::from_millis(200));
    let menu = Menu::open(80, &[]);
    menu.add();
    menu.fill("Gone soon", &mock.base_url());
    menu.choose("Verify");
    menu.wait_for_list("? Account (verified)");
    menu.term.press(&["Enter"]);
    menu.term.wait_for("✓ Saved.");

    menu.act("Gone soon", "Edit");
    for prompt in [
        "? Account name",
        "? Client ID",
        "? Tenant ID",
        "? Client secret",
        "? Client secret expires",
    ] {
        menu.term.wait_for_prompt(prompt);
        menu.term.press(&["Enter"]);
    }
    menu.term.wait_for("❯ Global");
    menu.term.press(&["Enter"]);
    menu.wait_for_list("? Account (saved, unchanged)");
    // Another program removes it.
    Store::open(menu.store.path())
        .unwrap()
        .remove_account("office365", "Gone soon")
        .unwrap();
    menu.term.press(&["Enter"]);
    let screen = menu.term.wait_for("is no longer saved");
    assert!(!screen.contains("Nothing changed"), "{screen}");
    menu.term.press(&["C-c"]);
    menu.term.exit_code();
}

/// Issue 23, item 2: Re-verify signs in again with the saved values and secret and
/// saves, without walking through the form.
#[test]
fn re_verify_goes_straight_to_verify_and_saves() {
    let mock = mock(Duration::from_millis(200));
    let menu = Menu::open(80, &[]);
    menu.add();
    menu.fill("Again", &mock.base_url());
    menu.choose("Verify");
    menu.wait_for_list("? Account (verified)");
    menu.term.press(&["Enter"]);
    menu.term.wait_for("✓ Saved.");
    let before = mock
        .stats()
        .grant_count("urn:ietf:params:oauth:grant-type:device_code");

    menu.act("Again", "Re-verify");
    menu.wait_for_list("? Re-verify \"Again\" with its saved settings");
    menu.choose("Verify");
    let screen = menu.term.wait_until(
        "the re-verified account saved",
        Duration::from_secs(30),
        |s| {
            s.rsplit("with its saved settings")
                .next()
                .is_some_and(|after| after.contains("✓ Saved."))
        },
    );
    let after = screen.rsplit("with its saved settings").next().unwrap();
    assert!(
        !after.contains("? Account name"),
        "no form walked: {screen}"
    );
    assert!(
        mock.stats()
            .grant_count("urn:ietf:params:oauth:grant-type:device_code")
            > before,
        "signed in again"
    );
    menu.quit();
    assert_eq!(menu.accounts(), vec!["Again"]);
}

/// The question before leaving a form whose work would be lost.
const LEAVE: &str = "? Leave without saving?";

/// Issue 23, item 3: Esc on the form's actions never throws away a verified sign-in or
/// typed values without asking, and Esc at "Open it in your browser now?" goes back to
/// the form (that sign-in cancelled), at 50, 80 and 120 columns.
#[test]
fn leaving_a_verified_unsaved_account_asks_first_and_esc_at_open_browser_goes_back() {
    let mock = mock(Duration::from_millis(200));
    for width in [50, 80, 120] {
        let menu = Menu::open(width, &[]);
        let t = &menu.term;
        menu.add();
        menu.fill("Asked", &mock.base_url());
        // Esc at "Open it in your browser now?" goes back, not on to the paste prompt.
        menu.choose("Verify ▾ With Browser");
        t.wait_for_prompt("? Open it in your browser now? (Y/n)");
        t.press(&["Escape"]);
        let screen = menu.wait_for_list("? Account (not verified)");
        assert!(!screen.contains("? Paste the final"), "{width}: {screen}");
        // Typed but not verified: Esc asks, and no keeps the form.
        t.press(&["Escape"]);
        t.wait_for_prompt(LEAVE);
        t.type_text("n");
        menu.wait_for_list("? Account (not verified)");
        menu.choose("Verify");
        let screen = menu.wait_for_list("? Account (verified)");
        assert!(screen.contains("✓ Verified"), "{width}: {screen}");
        // Verified and unsaved: Esc asks, naming the sign-in; Esc at that question stays.
        t.press(&["Escape"]);
        let screen = t.wait_for_prompt(LEAVE);
        if width >= 80 {
            assert!(
                screen.contains("The verified sign-in of \"Asked\" is not saved."),
                "{width}: {screen}"
            );
        }
        t.press(&["Escape"]);
        menu.wait_for_list("? Account (verified)");
        assert!(menu.accounts().is_empty(), "{width}: nothing saved yet");
        // Yes leaves, and nothing is saved.
        t.press(&["Escape"]);
        t.wait_for_prompt(LEAVE);
        t.type_text("y");
        t.wait_for("Closed without saving.");
        menu.quit();
        assert!(menu.accounts().is_empty(), "{width}: nothing saved");
    }
}

/// Plays the browser for a menu showing "Sign in with your browser at:": signs in at
/// the mock and hands its redirect to the loopback listener.
fn sign_in_in_the_browser(screen: &str) {
    let url = screen
        .lines()
        .skip_while(|l| !l.contains("Sign in with your browser at:"))
        .nth(1)
        .map(str::trim)
        .unwrap_or_else(|| panic!("no sign-in address:\n{screen}"));
    let (status, location) = http_get_location(url);
    assert_eq!(status, 302, "the mock's sign-in redirects at once");
    let (status, _) = http_get_location(&location.expect("a redirect to the listener"));
    assert_eq!(status, 200, "the loopback listener took the answer");
}

/// Issue 23, item 1: once the loopback listener has the browser's answer, the menu goes
/// on by itself; nobody presses Enter at the paste question (50, 80, 120 columns).
#[test]
fn with_browser_the_menu_continues_by_itself_when_the_listener_has_the_answer() {
    let mock = mock(Duration::from_millis(200));
    for width in [50, 80, 120] {
        let menu = Menu::open(width, &["--no-browser"]);
        let t = &menu.term;
        menu.add();
        menu.fill("Looped", &mock.base_url());
        menu.choose("Verify ▾ With Browser");
        let screen = t.wait_for_prompt("? Paste the final browser address");
        sign_in_in_the_browser(&screen);
        let screen = menu.wait_for_list("? Account (verified)");
        assert!(screen.contains("✓ Verified"), "{width}: {screen}");
        // Nothing was typed: the question says it ended by itself.
        assert!(
            screen.contains("› (not needed any more)"),
            "{width}: {screen}"
        );
        t.press(&["Enter"]);
        t.wait_for("✓ Saved.");
        menu.quit();
        assert_eq!(menu.accounts(), vec!["Looped"], "{width}");
    }
}

/// Issue 23, item 4: a second Verify cancelled with Esc keeps the first, successful
/// verification while the values are unchanged; Save & Close then saves it.
#[test]
fn a_cancelled_second_verify_keeps_the_first_one() {
    let mock = mock(Duration::from_millis(200));
    let menu = Menu::open(80, &[]);
    let t = &menu.term;
    menu.add();
    menu.fill("Kept", &mock.base_url());
    menu.choose("Verify");
    menu.wait_for_list("? Account (verified)");
    // The second attempt waits for a sign-in that never comes, and is cancelled.
    mock.set_device_outcome(DeviceOutcome::Ignore);
    menu.choose("Verify");
    t.wait_until("a second waiting line", Duration::from_secs(20), |s| {
        s.contains("Waiting for you to sign in")
    });
    t.press(&["Escape"]);
    t.wait_for("✗ Verification was cancelled.");
    let screen = menu.wait_for_list("? Account (verified)");
    assert!(
        screen.contains("The earlier verification of \"Kept\" still holds"),
        "{screen}"
    );
    assert!(screen.contains("❯ Save & Close"), "{screen}");
    t.press(&["Enter"]);
    t.wait_for("✓ Saved.");
    menu.quit();
    assert_eq!(menu.accounts(), vec!["Kept"]);
}

/// Issue 23, item 12: while the device code waits, one key press is one action: text
/// typed or pasted all at once (bracketed or not) opens no browser, however many `o`s
/// it holds; O alone opens it once.
#[test]
fn a_paste_during_the_device_code_wait_opens_no_browser() {
    let mock = mock(Duration::from_secs(3));
    mock.set_device_outcome(DeviceOutcome::Ignore);
    let dir = tempfile::tempdir().unwrap();
    let opened = dir.path().join("opened");
    let browser = dir.path().join("browser.sh");
    std::fs::write(&browser, format!("echo \"$1\" >> '{}'\n", opened.display())).unwrap();
    let browser_command = format!("sh {}", browser.display());
    let opens = || {
        std::fs::read_to_string(&opened)
            .map(|s| s.lines().count())
            .unwrap_or(0)
    };
    let menu = Menu::open_with_env(80, &[], &[("BROWSER", &browser_command)]);
    let t = &menu.term;
    menu.add();
    menu.fill("Pasted", &mock.base_url());
    menu.choose("Verify");
    t.wait_for("Waiting for you to sign in");
    let address = "https://login.microsoftonline.com/common/oauth2/v2.0/authorize?foo=bootstrap";
    let note = "Pasted text is not used here";
    t.type_text(address);
    t.wait_for(note);
    t.paste(address);
    t.wait_until("a note for each paste", Duration::from_secs(20), |s| {
        s.matches(note).count() >= 2
    });
    let screen = t.screen();
    assert!(!screen.contains("in your browser."), "{screen}");
    assert_eq!(opens(), 0, "no browser for pasted text:\n{screen}");
    t.type_text("o");
    t.wait_for("in your browser.");
    t.wait_until("the browser to start", Duration::from_secs(10), |_| {
        opens() >= 1
    });
    assert_eq!(opens(), 1, "O alone opens it once:\n{}", t.screen());
    t.press(&["Escape"]);
    t.wait_for("✗ Verification was cancelled.");
    ctrl_c_ends_the_menu(&menu);
}

/// Issue 23, item 16 (menu part): after a failed test message the menu offers to try
/// again instead of going back to the top of the account list.
#[test]
fn a_failed_test_message_can_be_tried_again() {
    let mock = mock(Duration::from_millis(200));
    let menu = Menu::open(80, &[]);
    let t = &menu.term;
    menu.add();
    menu.fill("Mailer", &mock.base_url());
    menu.choose("Verify");
    menu.wait_for_list("? Account (verified)");
    t.press(&["Enter"]);
    t.wait_for("✓ Saved.");
    mock.set_fault(
        Endpoint::Graph,
        Fault::Status {
            status: 400,
            retry_after: None,
        },
    );
    menu.act("Mailer", "Send test message");
    t.wait_for_prompt("? Send a test message to");
    t.answer("me@example.com");
    let screen = menu.wait_for_list("? The message was not sent");
    assert!(screen.contains("❯ Try again"), "{screen}");
    assert!(mock.sent_items().is_empty());
    mock.clear_fault(Endpoint::Graph);
    t.press(&["Enter"]);
    t.wait_until("the message sent", Duration::from_secs(30), |s| {
        s.rsplit("The message was not sent")
            .next()
            .is_some_and(|after| after.contains("✓ "))
    });
    assert_eq!(mock.sent_items().len(), 1, "{}", t.screen());
    menu.quit();
}

/// Issue 23, item 18 (menu part): the top list says how many accounts need sign-in
/// again, at 50, 80 and 120 columns.
#[test]
fn the_top_list_counts_the_accounts_that_need_sign_in() {
    let sandbox = atrs_e2e::sandbox::Sandbox::instant(&[]);
    for name in ["One", "Two", "Three"] {
        let added = sandbox.add_device(name, &[], Duration::from_secs(60));
        assert_eq!(added.code, Some(0), "{}", added.stdout);
    }
    // Two lose their saved sign-in.
    let store = Store::open(sandbox.store()).unwrap();
    for name in ["One", "Three"] {
        store.remove_secrets("office365", name).unwrap();
    }
    let args = sandbox.folder_args();
    let mut args = args.to_vec();
    args.push("menu");
    for width in [50, 80, 120] {
        let term = Terminal::start(host_binary(), &args, &[], width, 30);
        let screen = term.wait_for(LIST);
        assert!(
            screen.contains("❯ Office 365 (3 accounts, 2 need sign-in)"),
            "{width}: {screen}"
        );
        term.press(&["Escape"]);
        assert_eq!(term.exit_code(), 0, "{}", term.screen());
    }
}

/// Issue 23, item 22: 30 accounts are 30 entries (each opens its actions), the list
/// says which part of it shows, PageUp/PageDown move a page, and typing filters it, at
/// 50, 80 and 120 columns.
#[test]
fn a_long_account_list_scrolls_by_page_and_says_where_it_is() {
    for width in [50, 80, 120] {
        let menu = Menu::open_with_store(width, &[], |dir| {
            let store = Store::open(dir).unwrap();
            for i in 1..=30 {
                let name = format!("Account {i}");
                let settings = [("account_name".to_owned(), name.clone())].into();
                store.write_settings("office365", &name, &settings).unwrap();
            }
        });
        let t = &menu.term;
        t.wait_for("❯ Office 365 (30 accounts");
        t.press(&["Enter"]);
        let screen = menu.wait_for_list("? Integrations › Office 365");
        assert!(screen.contains("❯ Add"), "{width}: {screen}");
        assert!(
            screen.contains(" ↓ 1–12 of 32 · PgUp/PgDn"),
            "{width}: {screen}"
        );
        t.press(&["PageDown"]);
        let screen = t.wait_for("❯ Account 12");
        assert!(screen.contains("↑↓ 2–13 of 32"), "{width}: {screen}");
        t.press(&["End"]);
        let screen = t.wait_for("❯ Back");
        assert!(screen.contains("↑  21–32 of 32"), "{width}: {screen}");
        t.press(&["PageUp"]);
        t.wait_for("❯ Account 19");
        t.press(&["PageUp"]);
        t.wait_for("❯ Account 7");
        // An account opens its actions; Back returns to it in the list.
        t.press(&["Enter"]);
        let screen = menu.wait_for_list("? Office 365 › Account 7");
        for action in ["Edit", "Re-verify", "Remove", "Send test message", "Back"] {
            assert!(screen.contains(action), "{width}: {screen}");
        }
        t.press(&["Escape"]);
        menu.wait_for_list("? Integrations › Office 365");
        t.wait_for("❯ Account 7");
        // Typing narrows the list; Enter opens what is left; nothing left says so and
        // Enter does nothing; Esc clears what was typed before it goes back.
        t.type_text("ount 27");
        let screen = t.wait_for("filter: ount 27 (1 of 32");
        assert!(screen.contains("❯ Account 27"), "{width}: {screen}");
        assert!(!screen.contains("  Account 2\n"), "{width}: {screen}");
        t.press(&["Enter"]);
        menu.wait_for_list("? Office 365 › Account 27");
        t.press(&["Escape"]);
        menu.wait_for_list("? Integrations › Office 365");
        t.type_text("zz");
        t.wait_for("(nothing matches)");
        t.press(&["Enter"]);
        t.press(&["BSpace", "BSpace"]);
        let screen = t.wait_for("❯ Account 27");
        assert!(!screen.contains("filter:"), "{width}: {screen}");
        t.type_text("q");
        t.wait_for("filter: q (0 of 32");
        t.press(&["Escape"]);
        let screen = t.wait_for("❯ Account 27");
        assert!(!screen.contains("filter:"), "{width}: {screen}");
        t.press(&["Escape"]);
        t.wait_for("❯ Office 365");
        t.press(&["Escape"]);
        assert_eq!(t.exit_code(), 0, "{}", t.screen());
    }
}

/// Issue 23, item 23 inside the menu: where the locale is not UTF-8 (`LC_ALL=C`) the
/// menu's screens show ASCII stand-ins — `>` for the pointer, `Up/Down` in the list's
/// help — and none of the symbols such a terminal would turn into garbage.
#[test]
fn a_locale_that_is_not_utf8_gets_an_ascii_menu() {
    let menu = Menu::open_with_env(80, &[], &[("LC_ALL", "C"), ("LANG", "C")]);
    let screen = menu.term.wait_for("(Up/Down Enter, Esc: back)");
    assert!(screen.contains("> Office 365"), "{screen}");
    for symbol in ['❯', '›', '↑', '↓', '✓', '✗', '→', '…', '—'] {
        assert!(!screen.contains(symbol), "{symbol} on: {screen}");
    }
    menu.term.press(&["Escape"]);
    assert_eq!(menu.term.exit_code(), 0, "{}", menu.term.screen());
}

/// Whether `text` shows whole on the terminal's rows as drawn (rows read in order, as
/// words), and no row is wider than the terminal.
fn shown_whole(t: &Terminal, text: &str) -> bool {
    let rows = t.rows_as_shown();
    assert!(
        rows.iter().all(|r| r.chars().count() <= t.width),
        "a row wider than {}: {rows:#?}",
        t.width
    );
    let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    words(&rows.join(" ")).contains(&words(text))
}

/// Issue 23, item 21: questions wrap instead of being cut, help text wraps between
/// words, and a long question leaves the line being typed a row of its own, which
/// scrolls with the cursor, at 50, 80 and 120 columns.
#[test]
fn questions_and_help_wrap_between_words_and_typing_keeps_room() {
    let help = "Overview → Directory (tenant) ID; a verified domain also works, or organizations / common / consumers.";
    let leave = "? Leave without saving? What you typed is not saved. (y/N)";
    let typed = format!("http://localhost:1234/?code={}&state=xyz", "c".repeat(60));
    let mock = mock(Duration::from_secs(3600));
    for width in [50, 80, 120] {
        let menu = Menu::open(width, &["--no-browser"]);
        let t = &menu.term;
        menu.add();
        t.wait_for_prompt("? Account name ›");
        t.answer("Wrapped");
        t.wait_for_prompt("? Client ID ›");
        t.answer(defaults::DESKTOP_CLIENT_ID);
        t.wait_for_prompt("? Tenant ID ›");
        assert!(shown_whole(t, help), "{width}: {:#?}", t.rows_as_shown());
        // A yes/no question longer than the row wraps, whole.
        t.press(&["Escape"]);
        t.wait_for_prompt("? Client ID");
        t.press(&["Escape"]);
        t.wait_for_prompt("? Account name");
        t.press(&["Escape"]);
        t.wait_for_prompt(LEAVE);
        assert!(shown_whole(t, leave), "{width}: {:#?}", t.rows_as_shown());
        t.type_text("n");
        menu.wait_for_list("? Account (not verified)");
        menu.choose("Close");
        t.wait_for("Closed without saving.");
        menu.quit();
        // Long pasted text scrolls in the row left for typing, its end in view.
        let menu = Menu::open(width, &["--no-browser"]);
        let t = &menu.term;
        menu.add();
        menu.fill("Wrapped", &mock.base_url());
        menu.choose("Verify ▾ With Browser");
        t.wait_for_prompt("? Paste the final browser address");
        t.type_text(&typed);
        let tail = &typed[typed.len() - 20..];
        let screen = t.wait_until("the typed end in view", Duration::from_secs(20), |s| {
            s.lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .is_some_and(|l| l.ends_with(tail))
        });
        let row = screen.lines().rev().find(|l| !l.trim().is_empty()).unwrap();
        assert!(row.chars().count() < width as usize, "{width}: {row:?}");
        let typing = row.split("› ").last().unwrap_or_default();
        assert!(
            typing.chars().count() >= 20,
            "{width}: at least 20 columns to type in: {row:?}"
        );
        t.press(&["C-c"]);
        t.exit_code();
    }
}

/// How often `needle` shows on the terminal's rows read as words (a label wrapped over
/// rows counts once).
fn times_shown(t: &Terminal, needle: &str) -> usize {
    let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    words(&t.rows_as_shown().join(" ")).matches(needle).count()
}

/// Issue 23, item 21 (progress): a delivery's progress label reads whole at 50, 80 and
/// 120 columns (it was cut to "Creating a draft for the la…" at 80), and narrowing the
/// terminal while the delivery waits leaves no stale fragment of the old status.
#[test]
fn delivery_progress_reads_whole_and_a_resize_leaves_no_stale_status() {
    const DRAFT: &str = "Creating a draft for the large attachments…";
    const FIGURES: &str = "0% 0.0 / 4.0 MB";
    let sandbox = atrs_e2e::sandbox::Sandbox::instant(&[]);
    let added = sandbox.add_device("Mailer", &[], Duration::from_secs(60));
    assert_eq!(added.code, Some(0), "{}", added.stdout);
    let files = tempfile::tempdir().unwrap();
    // Above the plugin's inline limit (3 MB): the send starts with a draft.
    let big = files.path().join("report.bin");
    std::fs::write(&big, vec![7u8; 4_000_000]).unwrap();
    // The draft request waits, so the status stays on screen.
    sandbox
        .mock
        .set_fault(Endpoint::Graph, Fault::Delay(Duration::from_secs(60)));
    let mut args = sandbox.folder_args().to_vec();
    args.extend([
        "send",
        "Mailer",
        "--to",
        "a@example.com",
        "--subject",
        "Report",
    ]);
    args.extend(["--attach", big.to_str().unwrap()]);
    for width in [50, 80, 120] {
        let mut term = Terminal::start(host_binary(), &args, &[], width, 20);
        term.wait_until("the draft's progress", Duration::from_secs(30), |s| {
            s.contains("Creating a draft")
        });
        let t = &term;
        t.wait_until("the label whole", Duration::from_secs(10), |_| {
            shown_whole(t, DRAFT) && shown_whole(t, FIGURES)
        });
        assert!(
            t.rows_as_shown().iter().any(|r| r.starts_with("[--")),
            "{width}: a bar where it has room: {:#?}",
            t.rows_as_shown()
        );
        // Narrower mid-wait: the old rows fold onto more rows; the next redraw takes
        // them all away.
        term.resize(40, 20);
        let t = &term;
        // A bar a third of the row wide (13 cells) is one drawn for 40 columns, not a
        // piece of an older, wider one that the terminal folded.
        let redrawn = format!("[{}]", "-".repeat(13));
        t.wait_until("a redraw at 40 columns", Duration::from_secs(10), |_| {
            t.rows_as_shown().iter().any(|r| r.starts_with(&redrawn))
        });
        assert!(
            shown_whole(t, DRAFT) && shown_whole(t, FIGURES),
            "{width} → 40: {:#?}",
            t.rows_as_shown()
        );
        for part in ["draft", "MB", "[--"] {
            assert_eq!(
                times_shown(t, part),
                1,
                "{width} → 40: {part:?} once, no stale fragment: {:#?}",
                t.rows_as_shown()
            );
        }
        t.press(&["C-c"]);
        assert_eq!(t.exit_code(), 4, "{}", t.screen());
    }
}

/// Issue 23, item 21 (waiting line): the menu's waiting line keeps its parts whole at
/// 50, 80 and 120 columns, and narrowing the terminal while the menu waits for a
/// device-code sign-in leaves no stale piece of the old line.
#[test]
fn narrowing_the_terminal_while_the_menu_waits_leaves_no_stale_waiting_line() {
    use atrs_test_host::live_line::SPINNER;
    const WAITING: &str = "Waiting for you to sign in…";
    let mock = mock(Duration::from_secs(3));
    mock.set_device_outcome(DeviceOutcome::Ignore);
    let status = |t: &Terminal| -> Vec<String> {
        t.rows_as_shown()
            .into_iter()
            .filter(|r| r.starts_with(SPINNER))
            .collect()
    };
    for width in [50, 80, 120] {
        let mut menu = Menu::open(width, &["--no-browser"]);
        menu.add();
        menu.fill("Reports", &mock.base_url());
        menu.choose("Verify");
        let t = &menu.term;
        t.wait_for("Waiting for you to sign in");
        for part in [WAITING, " left", "Esc: cancel"] {
            assert!(shown_whole(t, part), "{width}: {:#?}", t.rows_as_shown());
        }
        menu.term.resize(40, 30);
        let t = &menu.term;
        // A waiting line shorter than the row is one drawn for 40 columns, not the
        // first row of an older, longer one that the terminal folded (that fills it).
        t.wait_until("a redraw at 40 columns", Duration::from_secs(10), |_| {
            status(t).iter().any(|r| r.chars().count() < 40)
        });
        for part in ["Waiting for you to sign in", " left", "Esc: cancel"] {
            assert_eq!(
                times_shown(t, part),
                1,
                "{width} → 40: {part:?} once, no stale fragment: {:#?}",
                t.rows_as_shown()
            );
        }
        assert!(shown_whole(t, WAITING), "{width}: {:#?}", t.rows_as_shown());
        ctrl_c_ends_the_menu(&menu);
    }
}

/// Issue 23, item 5 in a terminal: after editing only *Client secret expires* of a
/// saved, verified account, the form says Save & Close checks whether a new sign-in is
/// needed (not "not verified"), shown whole at 50, 80 and 120 columns, and Save &
/// Close saves it without one.
#[test]
fn an_edited_saved_account_is_not_called_not_verified() {
    const TITLE: &str = "? Account (edited — Save & Close checks if it needs a new sign-in)";
    const HELP: &str = "Save & Close keeps the saved sign-in if none of your changes affects it; otherwise it names what needs a new sign-in (then choose Verify).";
    let sandbox = atrs_e2e::sandbox::Sandbox::instant(&[]);
    let added = sandbox.add_device("Reports", &[], Duration::from_secs(60));
    assert_eq!(added.code, Some(0), "{}", added.stdout);
    let sign_ins = || {
        sandbox
            .mock
            .stats()
            .grant_count(atrs_mock_idp::DEVICE_CODE_GRANT_TYPE)
    };
    let before = sign_ins();
    let mut args = sandbox.folder_args().to_vec();
    args.push("menu");
    for (width, expires) in [(50, "2030-01-31"), (80, "2030-02-28"), (120, "2030-03-31")] {
        let term = Terminal::start(host_binary(), &args, &[], width, 30);
        let t = &term;
        t.wait_for("❯ Office 365");
        t.press(&["Enter"]);
        t.wait_for(&format!("? Integrations › Office 365 {LIST}"));
        choose(t, "Reports");
        t.wait_for(&format!("? Office 365 › Reports {LIST}"));
        choose(t, "Edit");
        for prompt in [
            "? Account name",
            "? Client ID",
            "? Tenant ID",
            "? Client secret",
        ] {
            t.wait_for_prompt(prompt);
            t.press(&["Enter"]);
        }
        t.wait_for_prompt("? Client secret expires");
        t.press(&["C-u"]);
        t.answer(expires);
        t.wait_for("❯ Global");
        t.press(&["Enter"]);
        t.wait_until("the form's title", Duration::from_secs(10), |_| {
            shown_whole(t, TITLE)
        });
        assert!(shown_whole(t, HELP), "{width}: {:#?}", t.rows_as_shown());
        assert!(
            !t.screen().contains("not verified"),
            "{width}: {}",
            t.screen()
        );
        choose(t, "Save & Close");
        t.wait_for("✓ Saved.");
        t.wait_for(&format!("? Integrations › Office 365 {LIST}"));
        t.press(&["Escape"]);
        t.wait_for("❯ Office 365");
        t.press(&["Escape"]);
        assert_eq!(t.exit_code(), 0, "{}", t.screen());
        let settings = Store::open(sandbox.store())
            .unwrap()
            .read_settings("office365", "Reports")
            .unwrap()
            .unwrap();
        assert_eq!(
            settings.get("client_secret_expires").map(String::as_str),
            Some(expires),
            "{width}"
        );
        assert_eq!(sign_ins(), before, "{width}: saved without a new sign-in");
    }
}
