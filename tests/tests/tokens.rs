//! Saved accounts at work across processes, through the real host binary and plugin
//! library against the mock over loopback HTTP: a cache hit in a second process, four
//! processes sharing one refresh, a holder killed mid-refresh, and `refresh --all`.
//!
//! Nothing here sleeps to wait: every wait polls a condition with a deadline.

use std::{
    fs::{File, OpenOptions, TryLockError},
    ops::Deref,
    path::PathBuf,
    time::{Duration, Instant},
};

use atrs_e2e::sandbox::Sandbox;
use atrs_e2e::{add_office365_args, json_result, run_host, HostProcess};
use atrs_mock_idp::{defaults, DeviceOutcome, Endpoint, Fault, RefreshFailure, RefreshPolicy};

const REFRESH: &str = "refresh_token";

/// A sandbox whose mock approves at once and asks for a poll every second.
struct Setup(Sandbox);

impl Deref for Setup {
    type Target = Sandbox;

    fn deref(&self) -> &Sandbox {
        &self.0
    }
}

fn setup() -> Setup {
    Setup(Sandbox::approving(1, &[]))
}

impl Setup {
    fn args<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut all = self.folder_args().to_vec();
        all.push("--json");
        all.extend_from_slice(args);
        all
    }

    fn host(&self, args: &[&str]) -> std::process::Output {
        run_host(&self.args(args), &[])
    }

    /// Adds `account`, signed in as `upn`.
    fn add(&self, account: &str, upn: &str) {
        self.mock
            .set_device_outcome(DeviceOutcome::ApproveAs(upn.to_owned()));
        let args = add_office365_args(
            account,
            defaults::DESKTOP_CLIENT_ID,
            defaults::TENANT_ID,
            None,
            &self.mock.base_url(),
            "device",
        );
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self.host(&args);
        assert!(out.status.success(), "{}", text(&out));
    }

    fn refreshes(&self, upn: &str) -> u64 {
        self.mock.stats().account_grant_count(upn, REFRESH)
    }

    /// The lock file the plugin takes for `account`'s refreshes.
    fn lock_file(&self, account: &str) -> PathBuf {
        let name = format!("office365/refresh/{account}")
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'_' | b'-' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>();
        self.store().join("locks").join(format!("{name}.lock"))
    }

    /// Whether some process holds `account`'s refresh lock now.
    fn lock_held(&self, account: &str) -> bool {
        let Ok(file) = OpenOptions::new().write(true).open(self.lock_file(account)) else {
            return false;
        };
        let held = matches!(file.try_lock(), Err(TryLockError::WouldBlock));
        drop::<File>(file);
        held
    }
}

fn text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn wait_for(what: &str, within: Duration, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < within, "timed out waiting for {what}");
        std::thread::park_timeout(Duration::from_millis(10));
    }
}

#[test]
fn a_second_process_gets_a_cache_hit_without_any_request() {
    let s = setup();
    s.add("Reports", defaults::USER_UPN);
    let requests = s.mock.stats().total();
    let after_add = s.host(&["token", "Reports"]);
    let r = json_result(&after_add);
    assert_eq!(
        r["source"],
        "cache",
        "Save & Close kept the sign-in's access token: {}",
        text(&after_add)
    );
    assert!(
        r.get("token").is_none(),
        "the token is shown only when asked"
    );
    assert_eq!(s.mock.stats().total(), requests, "no request after add");
    let first = s.host(&["token", "Reports", "--force"]);
    assert_eq!(
        json_result(&first)["source"],
        "refreshed",
        "{}",
        text(&first)
    );
    let requests = s.mock.stats().total();
    let second = s.host(&["token", "Reports", "--show-token"]);
    let r = json_result(&second);
    assert_eq!(r["source"], "cache", "{}", text(&second));
    assert!(r["token"].as_str().is_some_and(|t| t.len() > 20));
    assert_eq!(s.mock.stats().total(), requests, "no request at all");
    assert_eq!(s.refreshes(defaults::USER_UPN), 1);

    // Only scopes saved with the account: another one is refused before any request.
    let other = s.host(&[
        "token",
        "Reports",
        "--scopes",
        "Mail.Send Sites.ReadWrite.All",
    ]);
    assert_eq!(other.status.code(), Some(2), "{}", text(&other));
    let e = &json_result(&other)["error"];
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .starts_with("Sites.ReadWrite.All is not among the scopes saved"),
        "{e}"
    );
    assert_eq!(e["field"], "scopes");
    assert_eq!(s.mock.stats().total(), requests, "no request at all");
}

#[test]
fn four_processes_asking_at_once_share_exactly_one_refresh() {
    let s = setup();
    // The token the first refresh caches has less than the 5-minute skew left: due.
    s.mock.set_refresh_policy(RefreshPolicy {
        access_token_secs: 200,
        ..RefreshPolicy::default()
    });
    s.add("Reports", defaults::USER_UPN);
    assert!(s.host(&["token", "Reports"]).status.success());
    s.mock.set_refresh_policy(RefreshPolicy::default());
    s.mock.reset_stats();
    // A slow token endpoint keeps the first refresher inside the lock while the others come.
    s.mock
        .set_fault_times(Endpoint::Token, Fault::Delay(Duration::from_millis(800)), 1);
    let mut processes: Vec<HostProcess> = (0..4)
        .map(|_| HostProcess::spawn(&s.args(&["token", "Reports"]), &[]))
        .collect();
    for p in &mut processes {
        assert_eq!(p.wait(Duration::from_secs(60)), Some(0), "{:#?}", p.seen);
    }
    let refreshes = s.refreshes(defaults::USER_UPN);
    println!("4 processes at once: {refreshes} refresh request(s)");
    assert_eq!(refreshes, 1, "exactly one refresh for four processes");
    let cached = s.host(&["token", "Reports"]);
    assert_eq!(json_result(&cached)["source"], "cache");
}

#[test]
fn a_holder_killed_mid_refresh_does_not_block_the_next_asker() {
    let s = setup();
    s.add("Reports", defaults::USER_UPN);
    // The first refresh hangs at the token endpoint: its process holds the lock, then dies.
    s.mock
        .set_fault_times(Endpoint::Token, Fault::Delay(Duration::from_secs(40)), 1);
    let mut holder = HostProcess::spawn(&s.args(&["token", "Reports", "--force"]), &[]);
    wait_for(
        "the first process to hold the lock, its refresh at the token endpoint",
        Duration::from_secs(30),
        || s.lock_held("Reports") && !s.mock.fault_armed(Endpoint::Token),
    );
    holder.kill();
    let started = Instant::now();
    let next = s.host(&["token", "Reports", "--force"]);
    let took = started.elapsed();
    println!("after the holder was killed, the next asker took {took:?}");
    assert!(next.status.success(), "{}", text(&next));
    assert_eq!(json_result(&next)["source"], "refreshed");
    assert!(
        took < Duration::from_secs(20),
        "not blocked by the dead holder (the lock's bound is 50 s): {took:?}"
    );
}

#[test]
fn refresh_all_renews_what_is_due_one_line_each_and_exits_3_when_one_needs_sign_in() {
    let s = setup();
    s.add("Adele", defaults::USER_UPN);
    s.add("Megan", defaults::NO_MAIL_USER_UPN);

    let nothing_due = s.host(&["refresh", "--all"]);
    assert_eq!(nothing_due.status.code(), Some(0), "{}", text(&nothing_due));
    let r = json_result(&nothing_due);
    let outcomes: Vec<&str> = r["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["not_due", "not_due"], "{r}");
    assert_eq!(
        s.mock.stats().grant_count(REFRESH),
        0,
        "nothing due, nothing asked"
    );

    s.mock.set_refresh_failure(
        defaults::NO_MAIL_USER_UPN,
        RefreshFailure::Aadsts(50173),
        None,
    );
    let forced = s.host(&["refresh", "--all", "--force"]);
    assert_eq!(forced.status.code(), Some(3), "{}", text(&forced));
    let lines: Vec<String> = String::from_utf8_lossy(&forced.stderr)
        .lines()
        .filter(|l| l.contains("Adele:") || l.contains("Megan:"))
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len(), 2, "one line per account: {lines:#?}");
    assert!(lines[0].starts_with("✓ Adele: renewed"), "{}", lines[0]);
    assert!(
        lines[1].starts_with("✗ Megan: needs sign-in again"),
        "{}",
        lines[1]
    );
    assert!(lines[1].contains("Fix: Re-verify"), "{}", lines[1]);
    let r = json_result(&forced);
    assert_eq!(r["ok"], false);
    assert_eq!(r["error"]["exit_code"], 3);

    // The failed account keeps everything it had: its health says why and what to do.
    let accounts = json_result(&s.host(&["accounts"]));
    let megan = accounts["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["account"] == "Megan")
        .unwrap()
        .clone();
    assert_eq!(megan["health"]["state"], "needs_sign_in", "{megan}");
    assert!(megan["health"]["reason"]
        .as_str()
        .unwrap()
        .contains("revoked"));
    assert_eq!(megan["settings"]["client_id"], defaults::DESKTOP_CLIENT_ID);

    // Not forced, an account that needs sign-in is reported without asking the provider.
    let asked = s.refreshes(defaults::NO_MAIL_USER_UPN);
    let again = s.host(&["refresh", "Megan"]);
    assert_eq!(again.status.code(), Some(3));
    assert_eq!(s.refreshes(defaults::NO_MAIL_USER_UPN), asked);

    // Its refresh token was kept: once the cause is gone, a forced refresh works again.
    s.mock.clear_refresh_failures(None);
    let fixed = s.host(&["refresh", "Megan", "--force"]);
    assert_eq!(fixed.status.code(), Some(0), "{}", text(&fixed));
}
