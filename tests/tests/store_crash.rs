//! The account store under crashes and contention.
//!
//! - A writer killed with SIGKILL at random points, again and again, never leaves a torn
//!   database (SQLite's integrity check passes after the write-ahead log a kill leaves is
//!   replayed), every account is wholly the old or wholly the new write (settings and
//!   secrets from the same transaction), and no acknowledged transaction is lost. The writer is `store_writer` (`tests/src/bin`), which plays a
//!   known transaction sequence through the host's own store code: a full `add` spends
//!   almost all its time signing in, so a kill would rarely land inside a write.
//! - 8 host processes adding, editing (`add --replace`), refreshing (`refresh --force`)
//!   and removing accounts against the mock at once, for a bounded time: every operation
//!   succeeds and every account ends intact, its settings with their secrets
//!   ([`store_churn::processes_at_once`]; `store_postgres` runs it on PostgreSQL).
//!
//! Figures: `cargo test -p atrs-e2e --test store_crash -- --nocapture`; the kill points
//! come from a seed printed with them (`ATRS_CRASH_SEED=N` replays one).

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader},
    path::Path,
    process::{Command, Stdio},
    sync::{mpsc, Arc},
    time::{Duration, Instant},
};

use atrs_e2e::{
    sandbox::{Sandbox, StoreFiles},
    store_churn::{self, PLUGIN},
};
use atrs_test_host::store::Store;

/// Kills to make at most, and the time they may take.
const KILLS: u32 = 300;
const KILL_BUDGET: Duration = Duration::from_secs(60);
/// The latest a kill lands after the writer is ready.
const MAX_KILL_DELAY_US: u64 = 40_000;

/// A small deterministic generator for kill delays (xorshift64*).
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// SQLite's own check of the whole database (opening replays a write-ahead log first).
fn integrity_check(dir: &Path) -> String {
    let conn = rusqlite::Connection::open(dir.join("accounts.db")).expect("the database opens");
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("the check runs")
}

/// Account → generation, as the store (after its recovery) holds them; panics if an
/// account's settings and secrets come from different transactions.
fn generations(dir: &Path) -> BTreeMap<String, u64> {
    let store = Store::open(dir).expect("the store opens");
    let mut seen = BTreeMap::new();
    for account in store.list(PLUGIN).expect("the store reads") {
        let settings = store
            .read_settings(PLUGIN, &account)
            .unwrap()
            .expect("listed accounts have settings");
        let secret = store.read_secret(PLUGIN, &account, "gen").unwrap();
        let gen = settings["gen"].clone();
        assert_eq!(
            secret.as_deref(),
            Some(gen.as_str()),
            "{account}: settings of write {gen}, secrets of write {secret:?}"
        );
        let refresh = store
            .read_secret(PLUGIN, &account, "refresh_token")
            .unwrap();
        assert_eq!(refresh, Some(format!("refresh-{gen}")), "{account}");
        seen.insert(account, gen.parse().expect("a number"));
    }
    seen
}

#[test]
fn a_writer_killed_at_random_points_leaves_every_account_wholly_old_or_new() {
    let seed = std::env::var("ATRS_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    let mut dice = Dice(seed);
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (mut kills, mut wal_replays, mut in_flight_applied) = (0u32, 0u32, 0u32);
    let mut applied = 0u64;
    while kills < KILLS && started.elapsed() < KILL_BUDGET {
        let mut child = Command::new(env!("CARGO_BIN_EXE_store_writer"))
            .arg(dir.path())
            .arg((applied + 1).to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the writer starts");
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let ready = lines.recv_timeout(Duration::from_secs(30));
        assert_eq!(ready.as_deref(), Ok("ready"), "the writer opens the store");
        // The random kill point itself: nothing is being waited for.
        std::thread::sleep(Duration::from_micros(dice.next() % MAX_KILL_DELAY_US));
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        kills += 1;
        let acknowledged = lines
            .iter()
            .filter_map(|l| l.strip_prefix("done ").and_then(|n| n.parse::<u64>().ok()))
            .last()
            .unwrap_or(applied);

        // A kill leaves the write-ahead log for the next opener to replay.
        if std::fs::metadata(dir.path().join("accounts.db-wal")).is_ok_and(|m| m.len() > 0) {
            wal_replays += 1;
        }
        // Never torn: the database is whole, and every secret opens.
        let integrity = integrity_check(dir.path());
        assert_eq!(integrity, "ok", "after kill {kills} (seed {seed})");
        StoreFiles::try_read(dir.path())
            .unwrap_or_else(|e| panic!("after kill {kills} (seed {seed}): {e}"));
        // After recovery: every account is one write's, and nothing acknowledged is lost.
        let now = generations(dir.path());
        if now == store_churn::expected_after(acknowledged) {
            applied = acknowledged;
        } else if now == store_churn::expected_after(acknowledged + 1) {
            applied = acknowledged + 1;
            in_flight_applied += 1;
        } else {
            panic!(
                "after kill {kills} (seed {seed}): the store holds {now:?}, neither the state after write {acknowledged} nor after {}",
                acknowledged + 1
            );
        }
    }
    let litter: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| {
            !["accounts.db", "accounts.db-wal", "accounts.db-shm"].contains(&name.as_str())
        })
        .collect();
    println!(
        "store crash: {kills} SIGKILLs in {:.1}s (seed {seed}), {applied} transactions committed, {wal_replays} kills left a write-ahead log replayed by the next open, {in_flight_applied} kills found the write under way applied whole (committed before the kill, unacknowledged), {} other files left behind; the database whole every time, every account wholly old or new",
        started.elapsed().as_secs_f64(),
        litter.len()
    );
    assert!(kills >= 20, "at least 20 kills in the time budget");
    assert!(
        wal_replays > 0,
        "some kills left a write-ahead log to replay"
    );
    assert!(
        litter.is_empty(),
        "nothing but the database and its log: {litter:?}"
    );
}

#[test]
fn eight_processes_adding_editing_and_removing_at_once_leave_every_account_intact() {
    atrs_e2e::workspace();
    let summary = store_churn::processes_at_once(Arc::new(Sandbox::instant(&[])));
    println!("store concurrency (SQLite): {summary}");
}
