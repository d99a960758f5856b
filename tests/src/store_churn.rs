//! A known sequence of account transactions for crash tests of the store: operation `n`
//! (from 1) writes or removes one of a few accounts, with `n` in both its settings and its
//! secrets, so a reader can tell which write each half of an account came from. The
//! `store_writer` binary plays it against a store through the host's own store code; a
//! test kills it at random points and checks the store against [`expected_after`].
//! [`processes_at_once`] is the other store test: host processes changing accounts at
//! once, on whichever backend a sandbox names.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use atrs_test_host::store::{Store, Values};

use crate::sandbox::{Sandbox, DELIVERY_SCOPES};

/// The plugin id the accounts are saved under.
pub const PLUGIN: &str = "office365";
/// How many account names the sequence cycles through.
pub const ACCOUNTS: u64 = 4;

/// One transaction of the sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Save `account` with generation `gen` in its settings and secrets.
    Write {
        /// The account name.
        account: String,
        /// The operation number.
        gen: u64,
    },
    /// Remove `account` (settings and secrets).
    Remove {
        /// The account name.
        account: String,
    },
}

/// Operation `n` (from 1).
pub fn op(n: u64) -> Op {
    let account = format!("churn-{}", n % ACCOUNTS);
    if n.is_multiple_of(7) {
        Op::Remove { account }
    } else {
        Op::Write { account, gen: n }
    }
}

/// The settings and secrets operation `gen` writes; a few kilobytes each, so a write
/// takes more than one system call.
pub fn values(gen: u64) -> (Values, Values) {
    let filler = "x".repeat(4096);
    let settings = Values::from([
        ("gen".to_owned(), gen.to_string()),
        ("client_id".to_owned(), format!("client-{gen}")),
        ("filler".to_owned(), filler.clone()),
    ]);
    let secrets = Values::from([
        ("gen".to_owned(), gen.to_string()),
        ("refresh_token".to_owned(), format!("refresh-{gen}")),
        ("filler".to_owned(), filler),
    ]);
    (settings, secrets)
}

/// Runs operation `n` against `store`.
pub fn apply(store: &Store, n: u64) -> Result<(), atrs_test_host::store::StoreError> {
    match op(n) {
        Op::Write { account, gen } => {
            let (settings, secrets) = values(gen);
            store.write_account(PLUGIN, &account, &settings, &secrets, None)
        }
        Op::Remove { account } => store.remove_account(PLUGIN, &account),
    }
}

/// Account → generation after operations `1..=n`.
pub fn expected_after(n: u64) -> BTreeMap<String, u64> {
    let mut state = BTreeMap::new();
    for i in 1..=n {
        match op(i) {
            Op::Write { account, gen } => {
                state.insert(account, gen);
            }
            Op::Remove { account } => {
                state.remove(&account);
            }
        }
    }
    state
}

/// What one process did to its own accounts.
#[derive(Debug, Default)]
struct Ledger {
    /// Account → the scopes its last successful save wrote.
    expected: BTreeMap<String, String>,
    /// Operations that succeeded.
    ops: u32,
    /// Failures (op and transcript).
    failures: Vec<String>,
}

/// 8 host processes adding, editing (`add --replace`), refreshing (`refresh --force`)
/// and removing accounts in `sandbox`'s store against its mock at once, for a bounded
/// time; panics unless every operation succeeds and every account ends as its last
/// acknowledged save left it, its settings with their secrets. Gives a summary line.
pub fn processes_at_once(sandbox: Arc<Sandbox>) -> String {
    const PROCESSES: usize = 8;
    const DURATION: Duration = Duration::from_secs(25);
    const OP_BOUND: Duration = Duration::from_secs(90);
    let ledgers = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let workers: Vec<_> = (0..PROCESSES)
        .map(|p| {
            let sandbox = sandbox.clone();
            let ledgers = ledgers.clone();
            std::thread::spawn(move || {
                let mut ledger = Ledger::default();
                let narrow = "openid profile offline_access User.Read Mail.Send";
                let mut step = 0u32;
                while started.elapsed() < DURATION {
                    let account = format!("p{p}-{}", step % 3);
                    let (what, args): (&str, Vec<String>) = match step % 5 {
                        // Add (or re-add) with the wide scopes.
                        0 | 2 => ("add", sandbox.add_args(&account, "device", &["--replace"])),
                        // Edit: the same account saved again with other settings.
                        1 => {
                            let mut args = sandbox.add_args(&account, "device", &["--replace"]);
                            for a in args.iter_mut() {
                                if a.starts_with("scopes=") {
                                    *a = format!("scopes={narrow}");
                                }
                            }
                            ("edit", args)
                        }
                        3 if ledger.expected.contains_key(&account) => (
                            "refresh",
                            vec!["refresh".into(), account.clone(), "--force".into()],
                        ),
                        _ => ("remove", vec!["remove".into(), account.clone()]),
                    };
                    // Every process also saves over the one account they all share.
                    let shared = step % 7 == 6;
                    let args = if shared {
                        sandbox.add_args("shared", "device", &["--replace"])
                    } else {
                        args
                    };
                    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                    let done = sandbox.run(&refs, OP_BOUND);
                    step += 1;
                    if what == "remove" && !shared && done.code == Some(2) {
                        // Nothing to remove: this name was removed or never saved.
                        ledger.expected.remove(&account);
                        continue;
                    }
                    if !done.succeeded() {
                        ledger
                            .failures
                            .push(format!("{what} {account}: {}", done.transcript()));
                        continue;
                    }
                    ledger.ops += 1;
                    if shared {
                        continue;
                    }
                    match what {
                        "refresh" => {}
                        "remove" => {
                            ledger.expected.remove(&account);
                        }
                        "edit" => {
                            ledger.expected.insert(account, narrow.to_owned());
                        }
                        _ => {
                            ledger.expected.insert(account, DELIVERY_SCOPES.to_owned());
                        }
                    }
                }
                ledgers.lock().unwrap().push(ledger);
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("a worker panicked");
    }
    let elapsed = started.elapsed();
    let ledgers = ledgers.lock().unwrap();
    let failures: Vec<&String> = ledgers.iter().flat_map(|l| &l.failures).collect();
    assert!(failures.is_empty(), "operations failed:\n{failures:#?}");

    let files = sandbox.files();
    let mut expected: BTreeMap<String, String> =
        ledgers.iter().flat_map(|l| l.expected.clone()).collect();
    let ops: u32 = ledgers.iter().map(|l| l.ops).sum();
    let saved: BTreeMap<String, String> = files.settings["plugins"][PLUGIN]
        .as_object()
        .map(|accounts| {
            accounts
                .iter()
                .map(|(name, s)| (name.clone(), s["scopes"].as_str().unwrap_or("").to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let shared_saved = saved.contains_key("shared");
    if shared_saved {
        expected.insert("shared".into(), DELIVERY_SCOPES.to_owned());
    }
    assert_eq!(saved, expected, "each account as its last save left it");
    for account in saved.keys() {
        let secrets = files.secrets_of(account);
        assert!(
            secrets["refresh_token"]
                .as_str()
                .is_some_and(|t| !t.is_empty()),
            "{account} has its refresh token"
        );
        assert!(
            files.settings_of(account)["user_principal_name"].is_string(),
            "{account} has its verified settings"
        );
    }
    let stray: Vec<&String> = files.secrets["plugins"][PLUGIN]
        .as_object()
        .map(|a| a.keys().filter(|k| !saved.contains_key(*k)).collect())
        .unwrap_or_default();
    assert!(stray.is_empty(), "secrets without settings: {stray:?}");
    let listed = sandbox.run(&["accounts"], OP_BOUND);
    assert!(listed.succeeded(), "{}", listed.transcript());
    assert!(shared_saved, "the shared account was saved");
    assert!(ops >= PROCESSES as u32 * 2, "every process did some work");
    format!(
        "{PROCESSES} processes, {ops} operations (add, edit, refresh, remove, shared replace) in {:.1}s, {} accounts at the end, all whole",
        elapsed.as_secs_f64(),
        saved.len()
    )
}
