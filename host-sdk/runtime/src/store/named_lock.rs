//! Named locks shared by every process that uses one store: `flock` on a file per
//! name under `locks/`, taken with a deadline and released when the guard is dropped
//! or its holder dies (the kernel drops an exited process's locks).

use std::{
    fs::{self, File, OpenOptions},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use super::{
    lock_holder::{self, Span},
    trust::{self, Role},
    StoreError,
};

/// Folder of the lock files, inside the store folder.
const LOCKS_DIR: &str = "locks";
/// How long one try waits before the next while the lock is held elsewhere.
const RETRY: Duration = Duration::from_millis(10);

/// A held named lock; dropping it releases the lock.
#[derive(Debug)]
pub struct NamedLock {
    name: String,
    _file: File,
}

impl NamedLock {
    /// The lock's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Takes the lock `name` of the store in `dir`, waiting at most `wait` for another
/// holder to let go.
pub(super) fn acquire(dir: &Path, name: &str, wait: Duration) -> Result<NamedLock, StoreError> {
    if name.trim().is_empty() {
        return Err(StoreError::LockName);
    }
    let folder = dir.join(LOCKS_DIR);
    let io = |action, path: PathBuf, source| StoreError::Io {
        action,
        path,
        folder: dir.to_owned(),
        source,
    };
    if !folder.exists() {
        fs::create_dir_all(&folder).map_err(|e| io("create", folder.clone(), e))?;
        owner_only(&folder, 0o700).map_err(|e| io("protect", folder.clone(), e))?;
    }
    trust::check(&folder, Role::Folder)?;
    let path = folder.join(format!("{}.lock", file_name(name)));
    trust::check(&path, Role::File)?;
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options
        .open(&path)
        .map_err(|e| io("lock", path.clone(), e))?;
    let deadline = Instant::now() + wait;
    loop {
        match file.try_lock() {
            Ok(()) => {
                return Ok(NamedLock {
                    name: name.to_owned(),
                    _file: file,
                })
            }
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => return Err(io("lock", path, e)),
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(StoreError::LockBusy {
                name: name.to_owned(),
                waited: wait,
                held_by: lock_holder::holder_of(&path, Span::Any),
            });
        }
        std::thread::sleep(left.min(RETRY));
    }
}

#[cfg(unix)]
fn owner_only(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn owner_only(_path: &Path, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

/// A lock name as a file name: letters, digits, `.`, `-` and `_` kept, every other
/// byte written as `%XX`, so distinct names never share a file.
fn file_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' => out.push(b as char),
            b'.' if !out.is_empty() => out.push('.'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_distinct_safe_file_names() {
        assert_eq!(
            file_name("office365/refresh/Sales"),
            "office365%2Frefresh%2FSales"
        );
        assert_eq!(file_name("../x"), "%2E.%2Fx");
        assert_ne!(file_name("a b"), file_name("a_b"));
    }

    #[test]
    fn a_held_lock_makes_others_wait_until_their_deadline_and_drop_releases_it() {
        let dir = tempfile::tempdir().unwrap();
        let held = acquire(dir.path(), "p/refresh/A", Duration::ZERO).unwrap();
        assert_eq!(held.name(), "p/refresh/A");
        let started = Instant::now();
        let e = acquire(dir.path(), "p/refresh/A", Duration::from_millis(50)).unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(50));
        assert!(matches!(e, StoreError::LockBusy { .. }), "{e}");
        // Another name is independent.
        acquire(dir.path(), "p/refresh/B", Duration::ZERO).unwrap();
        drop(held);
        acquire(dir.path(), "p/refresh/A", Duration::ZERO).unwrap();
    }

    #[test]
    fn a_waiter_gets_the_lock_as_soon_as_the_holder_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let held = acquire(dir.path(), "n", Duration::ZERO).unwrap();
        let path = dir.path().to_owned();
        let waiter = std::thread::spawn(move || acquire(&path, "n", Duration::from_secs(30)));
        drop(held);
        waiter.join().unwrap().unwrap();
    }

    #[test]
    fn an_empty_name_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            acquire(dir.path(), " ", Duration::ZERO),
            Err(StoreError::LockName)
        ));
    }
}
