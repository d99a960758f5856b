//! Saved accounts at work, in process: access tokens from the shared cache or refreshed,
//! one refresh for many askers, rotation, every failure state, transient retries — the
//! plugin driven through its `Integration` API against the mock on 127.0.0.1.
//!
//! Nothing here sleeps to wait: sessions are polled with a deadline.

use std::{
    sync::{Arc, Barrier},
    time::{Duration, Instant},
};

use atrs_host_sdk::{
    testing::MemoryHost, ErrorKind, FormValues, HealthState, Host, Integration, SessionState,
    Settings, TokenRequest, TokenSource, VerifyMethod,
};
use atrs_mock_idp::{
    defaults, Endpoint, Fault, MockConfig, MockIdp, RefreshFailure, RefreshPolicy,
};
use atrs_office365::{account::saved, fields, Office365};

const ACCOUNT: &str = "Reports mailbox";
const REFRESH: &str = "refresh_token";

fn idp() -> MockIdp {
    MockIdp::spawn(MockConfig {
        device_interval_secs: 0,
        auto_approve_delay: Duration::ZERO,
        ..MockConfig::default()
    })
    .expect("the mock identity platform starts")
}

fn form(idp: &MockIdp) -> FormValues {
    FormValues::new()
        .with(fields::ACCOUNT_NAME, ACCOUNT)
        .with(fields::CLIENT_ID, defaults::DESKTOP_CLIENT_ID)
        .with(fields::TENANT_ID, defaults::TENANT_ID)
        .with(fields::AUTHORITY, idp.base_url())
}

/// A plugin with `ACCOUNT` verified by device code and saved.
fn saved_account(idp: &MockIdp) -> (MemoryHost, Office365) {
    let memory = MemoryHost::new();
    let plugin = saved_account_on(idp, memory.handle());
    (memory, plugin)
}

/// A plugin on `host` with `ACCOUNT` verified by device code and saved.
fn saved_account_on(idp: &MockIdp, host: Host) -> Office365 {
    let mut plugin = Office365::new(host).expect("the plugin starts");
    let session = plugin
        .start_verification(&form(idp), VerifyMethod::DeviceCode)
        .expect("verification starts");
    let started = Instant::now();
    loop {
        match session.poll(Duration::from_millis(100)) {
            SessionState::Verified(_) => break,
            s if s.is_terminal() => panic!("verification ended with {s:?}"),
            _ => assert!(
                started.elapsed() < Duration::from_secs(30),
                "no verification"
            ),
        }
    }
    plugin.save(&form(idp)).expect("the verified values save");
    plugin
}

/// [`saved_account`] without the access token its sign-in left in the cache, as an
/// account saved before Save & Close kept it: its first token is a refresh.
fn saved_account_without_cached_token(idp: &MockIdp) -> (MemoryHost, Office365) {
    let (memory, plugin) = saved_account(idp);
    memory
        .handle()
        .secret_write(ACCOUNT, saved::SECRET_ACCESS_TOKENS, "[]")
        .unwrap();
    (memory, plugin)
}

fn refreshes(idp: &MockIdp) -> u64 {
    idp.stats().account_grant_count(defaults::USER_UPN, REFRESH)
}

fn policy(access_token_secs: u64) -> RefreshPolicy {
    RefreshPolicy {
        access_token_secs,
        ..RefreshPolicy::default()
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_lowercase().chain(c).collect())
        .unwrap_or_default()
}

/// The settings and secret reads `f` makes on `memory`.
fn reads_made(memory: &MemoryHost, f: &dyn Fn()) -> u64 {
    let before = memory.reads();
    f();
    memory.reads() - before
}

fn saved() -> TokenRequest {
    TokenRequest::saved_scopes()
}

#[test]
fn a_cache_hit_makes_no_request_and_a_subset_of_scopes_is_served_from_it() {
    let idp = idp();
    let (memory, plugin) = saved_account_without_cached_token(&idp);
    let first = plugin.token(ACCOUNT, &saved()).unwrap();
    assert_eq!(first.source, TokenSource::Refreshed);
    assert!(first.token.expires_at > atrs_office365::clock::unix_now() + 3000);
    let requests = idp.stats().total();
    let again = plugin.token(ACCOUNT, &saved()).unwrap();
    assert_eq!(again.source, TokenSource::Cache);
    assert_eq!(again.token.token, first.token.token);
    let subset = plugin
        .token(ACCOUNT, &TokenRequest::for_scopes(["Mail.Send"]))
        .unwrap();
    assert_eq!(subset.source, TokenSource::Cache);
    assert_eq!(idp.stats().total(), requests, "cache hits make no request");
    assert_eq!(refreshes(&idp), 1);

    // A second plugin instance on the same store (as another process would be) hits too.
    let other = Office365::new(memory.handle()).unwrap();
    assert_eq!(
        other.token(ACCOUNT, &saved()).unwrap().source,
        TokenSource::Cache
    );
    assert_eq!(idp.stats().total(), requests);
    let forced = plugin.token(ACCOUNT, &saved().forced()).unwrap();
    assert_eq!(forced.source, TokenSource::Refreshed);
    assert_ne!(forced.token.token, first.token.token);

    // What was logged names the account and the host, never a token.
    let logged: Vec<String> = memory.log_lines().into_iter().map(|(_, l)| l).collect();
    assert!(
        logged
            .iter()
            .any(|l| l.starts_with("Renewed \"Reports mailbox\"")),
        "{logged:?}"
    );
    let secrets = memory.secrets_of(ACCOUNT);
    for line in &logged {
        for token in [first.token.token.as_str(), forced.token.token.as_str()]
            .into_iter()
            .chain(secrets.get(saved::SECRET_REFRESH_TOKEN).map(String::as_str))
        {
            assert!(!line.contains(token), "a token in the log: {line}");
        }
    }
}

#[test]
fn fifty_threads_asking_at_once_for_an_expiring_token_share_one_refresh() {
    let idp = idp();
    // The first token has less than the 5-minute skew left: it is due at once.
    idp.set_refresh_policy(policy(200));
    let (_memory, plugin) = saved_account(&idp);
    assert_eq!(
        plugin.token(ACCOUNT, &saved()).unwrap().source,
        TokenSource::Refreshed
    );
    idp.set_refresh_policy(policy(3600));
    idp.reset_stats();
    let plugin = Arc::new(plugin);
    let barrier = Arc::new(Barrier::new(50));
    let askers: Vec<_> = (0..50)
        .map(|_| {
            let (plugin, barrier) = (plugin.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                plugin.token(ACCOUNT, &saved()).unwrap()
            })
        })
        .collect();
    let grants: Vec<_> = askers.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(refreshes(&idp), 1, "exactly one refresh for 50 askers");
    assert!(grants
        .iter()
        .all(|g| g.token.token == grants[0].token.token));
}

#[test]
fn the_rotated_refresh_token_is_stored_and_the_old_one_never_used_again() {
    let idp = idp();
    idp.set_refresh_policy(RefreshPolicy {
        refuse_rotated: true,
        ..RefreshPolicy::default()
    });
    let (memory, plugin) = saved_account_without_cached_token(&idp);
    let original = memory.secrets_of(ACCOUNT)[saved::SECRET_REFRESH_TOKEN].clone();
    let writes = memory.account_writes();
    plugin.token(ACCOUNT, &saved()).unwrap();
    let rotated = memory.secrets_of(ACCOUNT)[saved::SECRET_REFRESH_TOKEN].clone();
    assert_ne!(
        rotated, original,
        "the rotated refresh token is the one stored"
    );
    assert_eq!(
        memory.account_writes(),
        writes + 1,
        "stored in one transaction"
    );
    for _ in 0..3 {
        plugin.token(ACCOUNT, &saved().forced()).unwrap();
    }
    assert_eq!(refreshes(&idp), 4);
    assert_eq!(
        idp.stats().replaced_presented(defaults::USER_UPN),
        0,
        "a replaced refresh token was never presented again"
    );
    let health = plugin.account_health(ACCOUNT).unwrap();
    assert_eq!(health.state, HealthState::Healthy);
    assert!(health.refresh_token_rotated_at.is_some());
    assert!(health.last_refresh_error.is_none());
}

#[test]
fn a_refresh_reads_each_stored_value_once_and_a_hit_after_another_write_reads_two() {
    let idp = idp();
    let memory = MemoryHost::with_generation();
    let plugin = saved_account_on(&idp, memory.handle());
    let host = memory.handle();
    let reads_of = |f: &dyn Fn()| reads_made(&memory, f);
    let expire = || {
        host.secret_write(ACCOUNT, saved::SECRET_ACCESS_TOKENS, "[]")
            .unwrap()
    };
    let token = || {
        plugin.token(ACCOUNT, &saved()).unwrap();
    };
    let other_account_written = || {
        host.settings_write("Another account", &Settings::new())
            .unwrap()
    };

    expire();
    // Settings (a public client's: they say no credential secret is saved, so none is
    // read) and the token cache; then, the lock held and the store unchanged, only the
    // refresh token.
    assert_eq!(reads_of(&token), 3);
    assert_eq!(refreshes(&idp), 1);
    // The refresh wrote the account, its settings too (when it was renewed): the next
    // call reads them and the token cache; the one after, on a store unchanged since,
    // reads nothing.
    assert_eq!(reads_of(&token), 2);
    assert_eq!(reads_of(&token), 0);
    // After another account's write: its settings (found as kept) and its token cache.
    other_account_written();
    assert_eq!(reads_of(&token), 2);
    assert_eq!(reads_of(&token), 0, "until the store changes again");

    // Expired after a write: settings and cache find no token; the lock held, the
    // settings are read again for the refresh, and its refresh token; the cache read
    // before is current and is not read again.
    expire();
    assert_eq!(reads_of(&token), 4);
    assert_eq!(refreshes(&idp), 2);
}

#[test]
fn an_account_saved_before_the_credential_list_has_both_secrets_read_until_its_first_renewal() {
    let idp = idp();
    let memory = MemoryHost::with_generation();
    let plugin = saved_account_on(&idp, memory.handle());
    let host = memory.handle();
    let listed = || memory.settings_of(ACCOUNT).unwrap();
    assert_eq!(
        listed()[saved::SAVED_CREDENTIAL_SECRETS],
        "",
        "a public client saves none"
    );
    // As an earlier version saved it: no list, and a token to renew.
    let mut earlier = listed();
    earlier.remove(saved::SAVED_CREDENTIAL_SECRETS);
    host.settings_write(ACCOUNT, &earlier).unwrap();
    host.secret_write(ACCOUNT, saved::SECRET_ACCESS_TOKENS, "[]")
        .unwrap();
    let reads_of = |f: &dyn Fn()| reads_made(&memory, f);
    let token = || {
        plugin.token(ACCOUNT, &saved()).unwrap();
    };

    // Settings, both credential secrets, the cache; the lock held, the refresh token.
    assert_eq!(reads_of(&token), 5);
    assert_eq!(refreshes(&idp), 1);
    assert_eq!(
        listed()[saved::SAVED_CREDENTIAL_SECRETS],
        "",
        "the renewal wrote the list with the secrets"
    );
    host.secret_write(ACCOUNT, saved::SECRET_ACCESS_TOKENS, "[]")
        .unwrap();
    // Settings (no credential secret now) and the cache; the lock held and the store
    // unchanged, only the refresh token.
    assert_eq!(reads_of(&token), 3);
    assert_eq!(refreshes(&idp), 2);
    assert!(memory
        .secrets_of(ACCOUNT)
        .keys()
        .all(|name| !saved::CREDENTIAL_SECRETS.contains(&name.as_str())));
}

#[test]
fn a_save_while_the_account_is_being_refreshed_waits_for_it_and_neither_is_lost() {
    let idp = idp();
    let (memory, refresher) = saved_account_without_cached_token(&idp);
    let original = memory.secrets_of(ACCOUNT)[saved::SECRET_REFRESH_TOKEN].clone();
    // The refresh is held at the token endpoint while the account is saved again with
    // a value that needs no new sign-in, by another plugin instance on the same store
    // (as another process would).
    idp.set_fault_times(
        Endpoint::Token,
        Fault::Delay(Duration::from_millis(1500)),
        1,
    );
    let refreshing = std::thread::spawn(move || refresher.token(ACCOUNT, &saved()).map(|_| ()));
    let deadline = Instant::now() + Duration::from_secs(30);
    while idp.fault_armed(Endpoint::Token) {
        assert!(
            Instant::now() < deadline,
            "the refresh never reached the mock"
        );
        std::thread::yield_now();
    }
    let mut editor = Office365::new(memory.handle()).expect("the plugin starts");
    editor
        .save(&form(&idp).with(fields::MAX_MESSAGE_MB, "20"))
        .expect("an edit that needs no sign-in saves");
    refreshing.join().unwrap().expect("the refresh succeeds");
    // The refresh wrote the account back whole before the save: the edit stands, and
    // so does the rotated refresh token.
    let settings = memory.handle().settings_read(ACCOUNT).unwrap().unwrap();
    assert_eq!(
        settings.get(fields::MAX_MESSAGE_MB).map(String::as_str),
        Some("20")
    );
    let rotated = memory.secrets_of(ACCOUNT)[saved::SECRET_REFRESH_TOKEN].clone();
    assert_ne!(rotated, original, "the rotated refresh token is kept");
    assert_eq!(refreshes(&idp), 1);
}

#[test]
fn every_refusal_for_good_needs_sign_in_again_with_its_fix_and_keeps_the_store() {
    let idp = idp();
    let (memory, plugin) = saved_account(&idp);
    plugin.token(ACCOUNT, &saved()).unwrap();
    let cases: Vec<(RefreshFailure, &str)> = RefreshFailure::CODES
        .iter()
        .map(|&c| (RefreshFailure::Aadsts(c), "Re-verify"))
        .chain([
            (RefreshFailure::InvalidGrant, "Re-verify"),
            (RefreshFailure::InteractionRequired, "Re-verify"),
        ])
        .collect();
    for (failure, fix) in cases {
        let before_settings = memory.settings_of(ACCOUNT).unwrap();
        let before_secrets = memory.secrets_of(ACCOUNT);
        idp.set_refresh_failure(defaults::USER_UPN, failure, Some(1));
        let e = plugin.token(ACCOUNT, &saved().forced()).unwrap_err();
        assert_eq!(
            e.kind(),
            ErrorKind::AuthorizationRefused,
            "{failure:?}: {e}"
        );
        let hint = e.hint().unwrap();
        let expired_secret = failure == RefreshFailure::Aadsts(7000222);
        if expired_secret {
            assert_eq!(
                e.message(),
                format!("The client secret of \"{ACCOUNT}\" has expired, so its sign-in cannot be renewed.")
            );
            assert!(hint.contains("New client secret"), "{hint}");
        } else {
            assert!(
                e.message().contains("needs to be signed in again"),
                "{failure:?}: {e}"
            );
            assert!(hint.contains(fix), "{failure:?}: {hint}");
        }
        if failure == RefreshFailure::Aadsts(65001) {
            assert!(hint.contains("adminconsent?client_id="), "{hint}");
            assert!(hint.contains("User.Read, Mail.Send"), "{hint}");
        }
        let health = plugin.account_health(ACCOUNT).unwrap();
        let state = match expired_secret {
            true => HealthState::CredentialExpired,
            false => HealthState::NeedsSignIn,
        };
        assert_eq!(health.state, state, "{failure:?}");
        assert!(
            !health.reason.is_empty() && !health.reason.contains(ACCOUNT),
            "{}",
            health.reason
        );
        assert!(
            expired_secret || e.message().ends_with(&lower_first(&health.reason)),
            "{e} / {}",
            health.reason
        );
        assert_eq!(health.fix.as_deref(), e.hint());
        // Nothing removed: every secret is still there, every setting but the facts too.
        assert_eq!(memory.secrets_of(ACCOUNT), before_secrets, "{failure:?}");
        let after = memory.settings_of(ACCOUNT).unwrap();
        for (k, v) in &before_settings {
            if !k.starts_with("last_refresh") && k != "refresh_token_rotated_at" {
                assert_eq!(after.get(k), Some(v), "{failure:?}: {k}");
            }
        }
        // A token still cached is served; one that is not is refused without asking the
        // provider again: the refusal stands until a sign-in.
        assert_eq!(
            plugin.token(ACCOUNT, &saved()).unwrap().source,
            TokenSource::Cache
        );
        let asked = refreshes(&idp);
        memory
            .handle()
            .secret_write(
                ACCOUNT,
                atrs_office365::account::saved::SECRET_ACCESS_TOKENS,
                "[]",
            )
            .unwrap();
        let again = plugin.token(ACCOUNT, &saved()).unwrap_err();
        assert_eq!(again.message(), e.message());
        assert_eq!(refreshes(&idp), asked);
        // A forced refresh that succeeds (the cause fixed) makes the account work again.
        plugin.token(ACCOUNT, &saved().forced()).unwrap();
        assert_eq!(
            plugin.account_health(ACCOUNT).unwrap().state,
            HealthState::Healthy
        );
    }
}

#[test]
fn busy_answers_with_retry_after_are_retried_after_that_long_then_succeed() {
    let idp = idp();
    let (memory, plugin) = saved_account(&idp);
    for status in [503u16, 429] {
        let before = memory.secrets_of(ACCOUNT);
        let asked = refreshes(&idp);
        idp.set_refresh_failure(
            defaults::USER_UPN,
            RefreshFailure::Status {
                status,
                retry_after: Some(2),
            },
            Some(1),
        );
        let started = Instant::now();
        let grant = plugin.token(ACCOUNT, &saved().forced()).unwrap();
        let took = started.elapsed();
        assert_eq!(grant.source, TokenSource::Refreshed);
        assert!(
            took >= Duration::from_secs(2),
            "{status}: retried after {took:?}"
        );
        assert!(took < Duration::from_secs(6), "{status}: took {took:?}");
        assert_eq!(
            refreshes(&idp),
            asked + 2,
            "{status}: one refusal, one success"
        );
        assert_ne!(memory.secrets_of(ACCOUNT), before);
    }
}

#[test]
fn a_token_endpoint_that_never_answers_costs_one_request_timeout_not_one_per_attempt() {
    let idp = idp();
    let (_memory, mut plugin) = saved_account(&idp);
    let timeout = Duration::from_millis(800);
    plugin.set_network_limits(atrs_office365::net::http::Limits {
        request_timeout: timeout,
        ..Default::default()
    });
    idp.set_fault(Endpoint::Token, Fault::Delay(Duration::from_secs(60)));
    let started = Instant::now();
    let e = plugin.token(ACCOUNT, &saved().forced()).unwrap_err();
    let took = started.elapsed();
    idp.clear_faults();
    assert_eq!(e.kind(), ErrorKind::Network, "{e}");
    // Before: three attempts with 1 s and 2 s between them, about 3 × 0.8 + 3 = 5.4 s.
    assert!(
        took >= timeout && took < timeout * 2,
        "the timeout meant literally: took {took:?}"
    );
}

#[test]
fn transient_trouble_beyond_the_bound_changes_nothing_in_the_store() {
    let idp = idp();
    let (memory, mut plugin) = saved_account_without_cached_token(&idp);
    plugin.set_retry_bound(atrs_office365::account::refresh::RetryBound {
        attempts: 2,
        first_backoff: Duration::from_millis(50),
        max_retry_after: Duration::from_millis(50),
        total: Duration::from_secs(5),
    });
    let settings = memory.settings_of(ACCOUNT);
    let secrets = memory.secrets_of(ACCOUNT);
    idp.set_refresh_failure(
        defaults::USER_UPN,
        RefreshFailure::Status {
            status: 503,
            retry_after: Some(1),
        },
        None,
    );
    let e = plugin.token(ACCOUNT, &saved()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Network, "{e}");
    assert!(
        e.hint().unwrap().starts_with("Nothing was changed"),
        "{e:?}"
    );
    assert_eq!(refreshes(&idp), 2, "two attempts within the bound");
    assert_eq!(memory.secrets_of(ACCOUNT), secrets);
    // Only the facts of the attempt changed: when, and that it failed.
    let mut after = memory.settings_of(ACCOUNT).unwrap();
    assert!(after.remove("last_refresh_at").is_some());
    assert!(after.remove("last_refresh_error").is_some());
    let mut before = settings.unwrap();
    before.remove("last_refresh_at");
    assert_eq!(after, before);
    let health = plugin.account_health(ACCOUNT).unwrap();
    assert_eq!(
        health.state,
        HealthState::Healthy,
        "the sign-in still holds"
    );
    assert_eq!(
        health.last_refresh_error.map(|e| e.message().to_owned()),
        Some(e.message().to_owned()),
        "the failed attempt is recorded"
    );
    assert!(health.last_refresh_at.is_some());
    // A later success clears it.
    idp.clear_refresh_failures(None);
    plugin.token(ACCOUNT, &saved().forced()).unwrap();
    assert!(plugin
        .account_health(ACCOUNT)
        .unwrap()
        .last_refresh_error
        .is_none());
}

#[test]
fn rename_moves_the_account_and_keeps_nothing_verified_under_the_old_name() {
    let idp = idp();
    let (memory, mut plugin) = saved_account_without_cached_token(&idp);
    let old_token = plugin.token(ACCOUNT, &saved()).unwrap().token.token;
    let renamed = form(&idp).with(fields::ACCOUNT_NAME, "Sales");
    let e = plugin.save_replacing(&renamed, ACCOUNT).unwrap_err();
    assert!(e.message().contains("not been verified"), "{e}");
    let session = plugin
        .start_verification(&renamed, VerifyMethod::DeviceCode)
        .unwrap();
    while !session.poll(Duration::from_millis(100)).is_terminal() {}
    plugin.save_replacing(&renamed, ACCOUNT).unwrap();
    assert!(memory.settings_of(ACCOUNT).is_none());
    assert!(memory.secrets_of(ACCOUNT).is_empty());
    let secrets = memory.secrets_of("Sales");
    assert!(secrets.contains_key(saved::SECRET_REFRESH_TOKEN));
    assert!(
        !secrets["access_tokens"].contains(old_token.as_str()),
        "no cached token carried over (only the new sign-in's)"
    );
    assert!(plugin.token(ACCOUNT, &saved()).is_err());
    plugin.remove_account("Sales").unwrap();
    assert!(memory.settings_of("Sales").is_none() && memory.secrets_of("Sales").is_empty());
}
