//! Numbered handles for what outlives one request — verification sessions and
//! deliveries — so that front ends across a C boundary or a pipe can name them.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};

/// Things of one kind, by handle. Handles start at 1 and are never reused.
#[derive(Debug)]
pub struct Handles<T> {
    inner: Mutex<Table<T>>,
}

#[derive(Debug)]
struct Table<T> {
    next: u64,
    items: HashMap<u64, Arc<T>>,
}

impl<T> Default for Handles<T> {
    fn default() -> Self {
        Handles {
            inner: Mutex::new(Table {
                next: 1,
                items: HashMap::new(),
            }),
        }
    }
}

impl<T> Handles<T> {
    fn table(&self) -> MutexGuard<'_, Table<T>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps `item`; answers its handle.
    pub fn insert(&self, item: T) -> u64 {
        let mut table = self.table();
        let handle = table.next;
        table.next += 1;
        table.items.insert(handle, Arc::new(item));
        handle
    }

    /// The item with `handle`, if it is still kept.
    pub fn get(&self, handle: u64) -> Option<Arc<T>> {
        self.table().items.get(&handle).cloned()
    }

    /// Releases `handle`; answers the item if it was kept.
    pub fn remove(&self, handle: u64) -> Option<Arc<T>> {
        self.table().items.remove(&handle)
    }

    /// Releases every handle; answers the items.
    pub fn drain(&self) -> Vec<Arc<T>> {
        self.table().items.drain().map(|(_, v)| v).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_never_reused() {
        let h = Handles::default();
        let a = h.insert("a");
        assert_eq!(h.remove(a).as_deref(), Some(&"a"));
        let b = h.insert("b");
        assert_ne!(a, b);
        assert!(h.get(a).is_none());
        assert_eq!(h.get(b).as_deref(), Some(&"b"));
        assert_eq!(h.drain().len(), 1);
        assert!(h.get(b).is_none());
    }
}
