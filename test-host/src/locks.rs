//! Named locks shared by every process on one store: an exclusive `flock` on one file
//! per name under `locks/` in the store folder, taken with a deadline. The operating
//! system releases a lock when its holder dies, so a crashed process never blocks the
//! others.

use std::{
    collections::HashMap,
    fs::{File, OpenOptions, TryLockError},
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex,
    },
    time::{Duration, Instant},
};

/// How long a waiter sleeps between tries at most.
const RETRY_EVERY: Duration = Duration::from_millis(10);

/// Why a lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Someone else held it for the whole wait.
    #[error("the lock `{name}` was still held by another process after {waited:?}")]
    Busy {
        /// The lock's name.
        name: String,
        /// How long it was waited for.
        waited: Duration,
    },
    /// The lock file could not be opened or locked.
    #[error("cannot lock {}: {source}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// The locks one plugin instance holds, by token.
#[derive(Debug)]
pub struct NamedLocks {
    dir: PathBuf,
    held: Mutex<HashMap<u64, File>>,
    next: AtomicU64,
}

impl NamedLocks {
    /// Locks kept under `store_dir/locks`.
    pub fn new(store_dir: &Path) -> Self {
        NamedLocks {
            dir: store_dir.join("locks"),
            held: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
        }
    }

    /// Takes the lock `name`, waiting up to `wait`; returns the token that releases it.
    pub fn lock(&self, name: &str, wait: Duration) -> Result<u64, LockError> {
        let path = self.dir.join(file_name(name));
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        let started = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    let left = wait.saturating_sub(started.elapsed());
                    if left.is_zero() {
                        return Err(LockError::Busy {
                            name: name.to_owned(),
                            waited: wait,
                        });
                    }
                    std::thread::sleep(left.min(RETRY_EVERY));
                }
                Err(TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        let token = self.next.fetch_add(1, Ordering::Relaxed);
        self.held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(token, file);
        Ok(token)
    }

    /// Releases the lock behind `token` (closing the file unlocks it).
    pub fn unlock(&self, token: u64) {
        self.held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&token);
    }
}

/// A file name for any lock name: letters, digits, `.`, `_` and `-` kept, every other
/// byte as `%XX`.
fn file_name(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'_' | b'-' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out.push_str(".lock");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_makes_others_wait_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (NamedLocks::new(dir.path()), NamedLocks::new(dir.path()));
        let token = a
            .lock("office365/refresh/Sales Team", Duration::ZERO)
            .unwrap();
        let busy = b.lock("office365/refresh/Sales Team", Duration::from_millis(30));
        assert!(matches!(busy, Err(LockError::Busy { .. })), "{busy:?}");
        assert!(b.lock("office365/refresh/Other", Duration::ZERO).is_ok());
        a.unlock(token);
        assert!(b
            .lock("office365/refresh/Sales Team", Duration::ZERO)
            .is_ok());
        assert_eq!(file_name("a/b c"), "a%2Fb%20c.lock");
    }
}
