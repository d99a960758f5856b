//! Group commit: changes that arrive while another transaction is being committed wait
//! for it, then go into the next transaction together, so a thousand accounts renewed at
//! once cost a few synced commits instead of a thousand. Each change keeps its own
//! outcome (the backend applies each inside a savepoint of its own), and a caller
//! returns only once its change is committed.
//!
//! The first waiter with nothing in flight leads: it takes everything queued, commits
//! it through the backend's `commit` and hands out the outcomes; the others sleep until
//! theirs is there.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Condvar, Mutex, MutexGuard},
};

use super::{Change, StoreError, Values};

/// A [`Change`] owning its values, queued for a transaction another thread commits.
#[derive(Clone)]
pub(crate) enum OwnedChange {
    Settings(String, Values),
    RemoveSettings(String),
    Secret(String, String, String),
    RemoveSecrets(String),
    Account(String, Values, Values, Option<String>),
    RemoveAccount(String),
}

impl OwnedChange {
    fn of(change: Change<'_>) -> OwnedChange {
        let s = str::to_owned;
        match change {
            Change::Settings { account, values } => {
                OwnedChange::Settings(s(account), values.clone())
            }
            Change::RemoveSettings { account } => OwnedChange::RemoveSettings(s(account)),
            Change::Secret {
                account,
                name,
                value,
            } => OwnedChange::Secret(s(account), s(name), s(value)),
            Change::RemoveSecrets { account } => OwnedChange::RemoveSecrets(s(account)),
            Change::Account {
                account,
                settings,
                secrets,
                replaces,
            } => OwnedChange::Account(
                s(account),
                settings.clone(),
                secrets.clone(),
                replaces.map(s),
            ),
            Change::RemoveAccount { account } => OwnedChange::RemoveAccount(s(account)),
        }
    }

    /// The change, borrowing from this.
    pub fn as_change(&self) -> Change<'_> {
        match self {
            OwnedChange::Settings(account, values) => Change::Settings { account, values },
            OwnedChange::RemoveSettings(account) => Change::RemoveSettings { account },
            OwnedChange::Secret(account, name, value) => Change::Secret {
                account,
                name,
                value,
            },
            OwnedChange::RemoveSecrets(account) => Change::RemoveSecrets { account },
            OwnedChange::Account(account, settings, secrets, replaces) => Change::Account {
                account,
                settings,
                secrets,
                replaces: replaces.as_deref(),
            },
            OwnedChange::RemoveAccount(account) => Change::RemoveAccount { account },
        }
    }
}

impl Drop for OwnedChange {
    /// Secret values are wiped from memory.
    fn drop(&mut self) {
        use zeroize::Zeroize;
        match self {
            OwnedChange::Secret(_, _, value) => value.zeroize(),
            OwnedChange::Account(_, _, secrets, _) => {
                for value in secrets.values_mut() {
                    value.zeroize();
                }
            }
            _ => {}
        }
    }
}

/// One queued change: its ticket, plugin and change.
pub(crate) type Queued = (u64, String, OwnedChange);

#[derive(Default)]
struct Queue {
    next_ticket: u64,
    waiting: Vec<Queued>,
    done: HashMap<u64, Result<(), StoreError>>,
    leading: bool,
}

/// The queue of one store's writers.
#[derive(Default)]
pub(crate) struct GroupCommit {
    queue: Mutex<Queue>,
    turn: Condvar,
}

impl GroupCommit {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies `change` to `plugin`'s accounts in the next transaction `commit` makes,
    /// and returns its own outcome. `commit` gets every queued change, in order, and
    /// gives one outcome per change; the store at `path` is named if it panics.
    pub fn apply(
        &self,
        plugin: &str,
        change: Change<'_>,
        path: &std::path::Path,
        commit: impl Fn(&[Queued]) -> Vec<Result<(), StoreError>>,
    ) -> Result<(), StoreError> {
        let mut queue = self.queue();
        let ticket = queue.next_ticket;
        queue.next_ticket += 1;
        queue
            .waiting
            .push((ticket, plugin.to_owned(), OwnedChange::of(change)));
        loop {
            if let Some(outcome) = queue.done.remove(&ticket) {
                return outcome;
            }
            if queue.leading {
                queue = self.turn.wait(queue).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            queue.leading = true;
            let batch = std::mem::take(&mut queue.waiting);
            drop(queue);
            let leader = Leader {
                group: self,
                batch: &batch,
                path: path.to_owned(),
                outcomes: None,
            };
            let outcomes = commit(&batch);
            leader.finish(outcomes);
            queue = self.queue();
        }
    }
}

/// The leader's duty to hand out outcomes, even if `commit` panics.
struct Leader<'a> {
    group: &'a GroupCommit,
    batch: &'a [Queued],
    path: PathBuf,
    outcomes: Option<Vec<Result<(), StoreError>>>,
}

impl Leader<'_> {
    fn finish(mut self, outcomes: Vec<Result<(), StoreError>>) {
        self.outcomes = Some(outcomes);
    }
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        let mut outcomes = self.outcomes.take().unwrap_or_default().into_iter();
        let mut queue = self.group.queue();
        for (ticket, _, _) in self.batch {
            let outcome = outcomes.next().unwrap_or_else(|| {
                Err(StoreError::Database {
                    path: self.path.clone(),
                    detail: "the write was interrupted before it was committed".into(),
                })
            });
            queue.done.insert(*ticket, outcome);
        }
        queue.leading = false;
        drop(queue);
        self.group.turn.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{atomic::AtomicUsize, atomic::Ordering, Arc};

    use super::*;

    #[test]
    fn concurrent_changes_share_transactions_and_each_gets_its_own_outcome() {
        let group = Arc::new(GroupCommit::default());
        let transactions = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..64)
            .map(|i| {
                let (group, transactions) = (group.clone(), transactions.clone());
                std::thread::spawn(move || {
                    let account = format!("A{i}");
                    let change = Change::RemoveAccount { account: &account };
                    group.apply("p", change, std::path::Path::new("db"), |batch| {
                        transactions.fetch_add(1, Ordering::SeqCst);
                        // Long enough for others to queue behind this transaction.
                        std::thread::sleep(std::time::Duration::from_millis(5));
                        batch
                            .iter()
                            .map(|(_, _, c)| match c.as_change().account() {
                                "A13" => Err(StoreError::LockName),
                                _ => Ok(()),
                            })
                            .collect()
                    })
                })
            })
            .collect();
        let outcomes: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        for (i, outcome) in outcomes.iter().enumerate() {
            assert_eq!(outcome.is_err(), i == 13, "{i}: {outcome:?}");
        }
        let made = transactions.load(Ordering::SeqCst);
        assert!(made < 64, "{made} transactions for 64 changes");
    }

    #[test]
    fn a_commit_that_panics_fails_its_changes_and_the_next_writer_leads() {
        let group = GroupCommit::default();
        let change = Change::RemoveAccount { account: "A" };
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            group.apply("p", change, std::path::Path::new("db"), |_| panic!("boom"))
        }));
        assert!(panicked.is_err());
        assert!(!group.queue().leading);
        assert!(group.queue().done.values().all(Result::is_err));
        let ok = group.apply("p", change, std::path::Path::new("db"), |b| {
            b.iter().map(|_| Ok(())).collect()
        });
        assert!(ok.is_ok());
    }
}
