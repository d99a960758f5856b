//! A mutex's guard whether or not a thread panicked while holding it: what every lock
//! of the runtime guards stays whole across a panic (each change under it is one
//! assignment or collection operation), so a poisoned lock is taken as it is.

use std::sync::{Mutex, MutexGuard};

/// The guard of `m`, taken even when `m` is poisoned.
pub(crate) fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
