//! A known sequence of account transactions for crash tests of the store: operation `n`
//! (from 1) writes or removes one of a few accounts, with `n` in both its settings and its
//! secrets, so a reader can tell which write each half of an account came from. The
//! `store_writer` binary plays it against a store through the host's own store code; a
//! test kills it at random points and checks the store against [`expected_after`].

use std::collections::BTreeMap;

use atrs_test_host::store::{Store, Values};

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
