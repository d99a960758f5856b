//! What a store refused, carried across a service call whole: the refusal's optional
//! `store` object, from which the caller rebuilds the same [`StoreError`] the host
//! had — so a plugin in a runner ends with the exit code and the words it would have in
//! process (a lock wait that ran out, naming the process holding the lock; a database
//! server out of reach). A refusal without it (an earlier host, or a host's own store
//! that does not say) is read as before.
//!
//! As JSON: `{"refused": "lock_busy", "name", "waited_ms", "held_by"}`,
//! `{"refused": "busy", "path", "waited_ms", "held_by"}` or `{"refused": "unreachable",
//! "location", "detail"}`; `held_by` is `{"pid", "command"}` or null. A `refused` the
//! caller does not know is ignored.

use std::{path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::store::{LockHolder, StoreError};

/// A store refusal as it crosses a service call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "refused", rename_all = "snake_case")]
pub enum StoreRefusal {
    /// A named lock stayed held for the whole wait ([`StoreError::LockBusy`]).
    LockBusy {
        /// The lock.
        name: String,
        /// How long it was waited for, in milliseconds.
        waited_ms: u64,
        /// The process holding it, where the system said.
        held_by: Option<Holder>,
    },
    /// The database's write lock stayed held for the whole wait ([`StoreError::Busy`]).
    Busy {
        /// The database file (or server).
        path: PathBuf,
        /// How long it was waited for, in milliseconds.
        waited_ms: u64,
        /// The process holding it, where the system said.
        held_by: Option<Holder>,
    },
    /// The database server cannot be reached ([`StoreError::Unreachable`]).
    Unreachable {
        /// The server, without its password.
        location: String,
        /// What the connection attempt said.
        detail: String,
    },
}

/// The process holding a lock, as it crosses a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// Its process id.
    pub pid: u32,
    /// Its command name, when known.
    pub command: Option<String>,
}

impl From<&LockHolder> for Holder {
    fn from(h: &LockHolder) -> Self {
        Holder {
            pid: h.pid,
            command: h.command.clone(),
        }
    }
}

impl From<Holder> for LockHolder {
    fn from(h: Holder) -> Self {
        LockHolder {
            pid: h.pid,
            command: h.command,
            // Not sent across (a runner's host names its own holder).
            connection: None,
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl StoreRefusal {
    /// The refusal that carries `e`, for the errors whose kind or words a caller could
    /// not rebuild from the message alone; `None` for the others.
    pub fn of(e: &StoreError) -> Option<StoreRefusal> {
        match e {
            StoreError::LockBusy {
                name,
                waited,
                held_by,
            } => Some(StoreRefusal::LockBusy {
                name: name.clone(),
                waited_ms: millis(*waited),
                held_by: held_by.as_ref().map(Holder::from),
            }),
            StoreError::Busy {
                path,
                waited,
                held_by,
            } => Some(StoreRefusal::Busy {
                path: path.clone(),
                waited_ms: millis(*waited),
                held_by: held_by.as_ref().map(Holder::from),
            }),
            StoreError::Unreachable { location, detail } => Some(StoreRefusal::Unreachable {
                location: location.clone(),
                detail: detail.clone(),
            }),
            _ => None,
        }
    }

    /// Reads the `store` object of a refusal's `error`; `None` when there is none or it
    /// is not one this version knows.
    pub fn from_json(value: &Value) -> Option<StoreRefusal> {
        if value.is_null() {
            return None;
        }
        serde_json::from_value(value.clone()).ok()
    }

    /// The store error it carries.
    pub fn into_error(self) -> StoreError {
        match self {
            StoreRefusal::LockBusy {
                name,
                waited_ms,
                held_by,
            } => StoreError::LockBusy {
                name,
                waited: Duration::from_millis(waited_ms),
                held_by: held_by.map(LockHolder::from),
            },
            StoreRefusal::Busy {
                path,
                waited_ms,
                held_by,
            } => StoreError::Busy {
                path,
                waited: Duration::from_millis(waited_ms),
                held_by: held_by.map(LockHolder::from),
            },
            StoreRefusal::Unreachable { location, detail } => {
                StoreError::Unreachable { location, detail }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_carried_error_comes_back_with_the_same_words_and_hint() {
        let holder = LockHolder {
            pid: 4242,
            command: Some("atrs-test-host".into()),
            connection: None,
        };
        let errors = [
            StoreError::LockBusy {
                name: "office365/refresh/Reports".into(),
                waited: Duration::from_millis(22_500),
                held_by: Some(holder.clone()),
            },
            StoreError::Busy {
                path: "/srv/accounts.db".into(),
                waited: Duration::from_secs(10),
                held_by: None,
            },
            StoreError::Unreachable {
                location: "postgres://atrs@db:5432/atrs".into(),
                detail: "connection refused".into(),
            },
        ];
        for e in errors {
            let carried = StoreRefusal::of(&e).unwrap();
            let text = serde_json::to_string(&carried).unwrap();
            let back = StoreRefusal::from_json(&serde_json::from_str(&text).unwrap())
                .unwrap()
                .into_error();
            assert_eq!(back.to_string(), e.to_string());
            assert_eq!(back.hint(), e.hint());
            assert_eq!(back.is_lock_wait(), e.is_lock_wait());
        }
    }

    #[test]
    fn other_errors_are_not_carried_and_an_unknown_refusal_is_ignored() {
        assert_eq!(StoreRefusal::of(&StoreError::LockName), None);
        let newer = serde_json::json!({"refused": "quota", "left": 0});
        assert_eq!(StoreRefusal::from_json(&newer), None);
        assert_eq!(StoreRefusal::from_json(&Value::Null), None);
    }
}
