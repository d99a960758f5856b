//! Another process holding the store's locks, through the real host binary.
//!
//! - The database's write lock (a `BEGIN IMMEDIATE` transaction on `accounts.db`, held by
//!   this test through its own SQLite connection): `add`, `remove` and `token --force`
//!   each end within the store's bound (10 s, plus the command's own work) with exit 4
//!   and an error saying what is held, by which process, and what to do; the store is
//!   exactly as before (no half-written account).
//! - An account's refresh lock (the `flock` under `locks/`, held by this test through the
//!   host's own store code): `token --force` ends within the plugin's lock wait with exit
//!   4, naming the lock, this process and what to do; nothing changed.
//! - Once released, every one of those commands works.
//!
//! The same again with `--isolate`, where the plugin runs in a runner and reaches the
//! store through service calls: the same exit code and the same words (the holder
//! named), the refusal's kind and holder carried across the call.

use std::time::{Duration, Instant};

use atrs_e2e::sandbox::{Finished, Sandbox};
use atrs_test_host::store::{sqlite::BUSY_WAIT, AccountStore, SqliteStore};

/// Far beyond every bound in play: a run still going then is reported as hung.
const WAIT: Duration = Duration::from_secs(90);

fn ok(what: &str, run: Finished) -> Finished {
    assert!(run.succeeded(), "{what}: {}", run.transcript());
    run
}

/// What this process is called in the process table (`/proc/PID/comm`, at most 15
/// bytes), as the host names the holder of a lock.
fn this_process() -> String {
    let comm = std::fs::read_to_string("/proc/self/comm").unwrap();
    format!("process {} ({})", std::process::id(), comm.trim())
}

/// Starts the host with `args` and no input; finish it with [`Running::finish`].
fn start(sandbox: &Sandbox, args: &[&str]) -> atrs_e2e::sandbox::Running {
    let mut running = sandbox.spawn(args);
    running.close_stdin();
    running
}

/// `run` was refused because `held` is held by this process, within `bound`, with exit 4
/// and what to do.
fn refused_for(what: &str, run: &Finished, held: &str, bound: Duration, todo: &str) {
    let text = run.transcript();
    assert!(!run.hung, "{what} outlived its bound: {text}");
    assert_eq!(run.code, Some(4), "{what}: {text}");
    assert!(
        run.elapsed <= bound,
        "{what} took {:?}: {text}",
        run.elapsed
    );
    let result = run
        .result()
        .unwrap_or_else(|| panic!("{what}: no result: {text}"));
    let message = result["error"]["message"].as_str().unwrap_or_default();
    let hint = result["error"]["hint"].as_str().unwrap_or_default();
    assert!(message.contains(held), "{what}: {message}");
    assert!(message.contains(&this_process()), "{what}: {message}");
    assert!(hint.contains(todo), "{what}: {hint}");
}

#[test]
fn a_held_write_or_refresh_lock_ends_commands_in_time_with_a_clear_error_and_changes_nothing() {
    held_locks_end_commands(false);
}

#[test]
fn isolated_a_held_write_or_refresh_lock_ends_commands_with_exit_4_naming_the_holder() {
    held_locks_end_commands(true);
}

/// The whole story, in process or with `--isolate`.
fn held_locks_end_commands(isolate: bool) {
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("store.key");
    let mut sandbox = Sandbox::instant(&[
        ("ATRS_STORE_KEY_FILE", key.to_str().unwrap()),
        // The refresh lock's wait is the plugin's bound on one refresh: its retries (20
        // s) and one request; this keeps the request part short.
        ("ATRS_OFFICE365_REQUEST_TIMEOUT", "2"),
    ]);
    if isolate {
        sandbox = sandbox.with_flag("--isolate");
    }
    ok("add", sandbox.add_device("Reports", &[], WAIT));
    ok("token", sandbox.run(&["token", "Reports"], WAIT));
    let before = sandbox.files();
    let db = sandbox.store().join("accounts.db");

    // The database's write lock, held by this process.
    let holder = rusqlite::Connection::open(&db).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let started = Instant::now();
    let add_args = sandbox.add_args("Sales", "device", &[]);
    let add_args: Vec<&str> = add_args.iter().map(String::as_str).collect();
    let runs = [
        ("remove", start(&sandbox, &["remove", "Reports"])),
        (
            "token --force",
            start(&sandbox, &["token", "Reports", "--force"]),
        ),
        ("add", start(&sandbox, &add_args)),
    ];
    // Each waits for the database as long as the store's bound, then gives up; the
    // sign-in and the token request around it take a moment more.
    let bound = BUSY_WAIT + Duration::from_secs(15);
    let held = format!("the account database {} is held", db.display());
    for (what, running) in runs {
        let run = running.finish(WAIT);
        refused_for(what, &run, &held, bound, "then run the command again");
    }
    assert!(started.elapsed() >= BUSY_WAIT, "they waited the bound");
    assert_eq!(sandbox.files(), before, "nothing was written");
    holder.execute_batch("ROLLBACK").unwrap();
    drop(holder);

    // An account's refresh lock, held by this process through the host's own store code.
    let store = SqliteStore::open(sandbox.store(), &sandbox.key_options()).unwrap();
    let lock = AccountStore::lock(&store, "office365/refresh/Reports", Duration::ZERO).unwrap();
    let run = start(&sandbox, &["token", "Reports", "--force"]).finish(WAIT);
    refused_for(
        "token --force",
        &run,
        "the lock \"office365/refresh/Reports\" is held",
        Duration::from_secs(20 + 2 + 15),
        "then run the command again",
    );
    // A cached token needs no lock.
    ok("token", sandbox.run(&["token", "Reports"], WAIT));
    assert_eq!(sandbox.files(), before, "nothing was written");
    drop(lock);
    drop(store);

    // Released: everything works.
    let refreshed = ok(
        "token --force",
        sandbox.run(&["token", "Reports", "--force"], WAIT),
    );
    assert_eq!(
        refreshed.result().unwrap()["source"],
        "refreshed",
        "{}",
        refreshed.transcript()
    );
    ok("add", sandbox.run(&add_args, WAIT));
    ok("remove", sandbox.run(&["remove", "Reports"], WAIT));
    let after = sandbox.files();
    assert!(after.settings["plugins"]["office365"]["Reports"].is_null());
    assert!(after.settings["plugins"]["office365"]["Sales"].is_object());
}
