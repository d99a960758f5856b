//! A look at SQLite's WAL-index header (the start of `accounts.db-shm`) without a
//! transaction, so asking "has anything been committed since?" costs a few loads
//! instead of a read transaction (a statement and two `fcntl` locks).
//!
//! Every commit in WAL mode, by any connection in any process, rewrites the header
//! (its change counter, last frame and checksums), and a checkpoint that restarts the
//! log changes its salts. So while the header reads the same as at some earlier point,
//! nothing has been committed since then, and an answer computed then still holds.
//! The header is read as SQLite's own readers read it (`walIndexTryHdr` in `wal.c`,
//! layout in <https://www.sqlite.org/walformat.html>): the writer stores the second
//! copy, then the first; a reader loads the first, then the second, and a difference
//! means a commit is being published. A header that is not initialised, of another
//! version, or mid-write is never taken as "unchanged".
//!
//! The file is mapped read-only. It stays the one SQLite uses for as long as the
//! store's connection is open: in WAL mode a connection holds a shared lock on the
//! database all along, and only a connection that gets the exclusive lock (the last
//! one) may delete or truncate the `-shm` file. The map belongs to the same state as
//! that connection and is dropped with it.

use std::{fs::File, os::fd::AsRawFd, path::Path, ptr::NonNull};

/// Bytes of one copy of the header: twelve 32-bit words.
const HEADER_WORDS: usize = 12;
/// The two copies.
const MAPPED: usize = 2 * HEADER_WORDS * 4;
/// `iVersion`, the first word, in every WAL-index SQLite 3.7.0 and later writes.
const WAL_INDEX_VERSION: u32 = 3_007_000;

/// One copy of the header, word for word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Header([u32; HEADER_WORDS]);

/// The mapped start of a database's `-shm` file.
pub(super) struct WalIndex {
    start: NonNull<u32>,
}

// SAFETY: the map is read-only and only ever read through volatile loads; it may be
// read from any thread.
unsafe impl Send for WalIndex {}

impl WalIndex {
    /// Maps the header of the WAL-index beside the database at `db`, or `None` when
    /// there is none to map (not in WAL mode, shared memory kept in the heap, a file
    /// too short to hold a header).
    pub(super) fn open(db: &Path) -> Option<WalIndex> {
        let mut name = db.as_os_str().to_owned();
        name.push("-shm");
        let file = File::open(name).ok()?;
        if file.metadata().ok()?.len() < MAPPED as u64 {
            return None;
        }
        // SAFETY: a fresh read-only shared mapping of an open file, checked above to
        // cover the bytes read; the mapping outlives `file` by design (closing the
        // descriptor keeps it).
        let start = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                MAPPED,
                libc::PROT_READ,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if start == libc::MAP_FAILED {
            return None;
        }
        NonNull::new(start.cast()).map(|start| WalIndex { start })
    }

    /// The header as it stands, or `None` while it is being written or not in a form
    /// this reader knows.
    pub(super) fn header(&self) -> Option<Header> {
        let first = self.copy(0);
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
        let second = self.copy(1);
        // `isInit`, the byte after the change counter.
        let initialised = first.0[3].to_ne_bytes()[0] == 1;
        (first == second && first.0[0] == WAL_INDEX_VERSION && initialised).then_some(first)
    }

    fn copy(&self, which: usize) -> Header {
        let mut words = [0u32; HEADER_WORDS];
        for (i, word) in words.iter_mut().enumerate() {
            // SAFETY: inside the mapping (`MAPPED` bytes, 4-aligned as the page is);
            // volatile because another process changes these words under us.
            *word = unsafe {
                self.start
                    .as_ptr()
                    .add(which * HEADER_WORDS + i)
                    .read_volatile()
            };
        }
        Header(words)
    }
}

impl Drop for WalIndex {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `open`, unmapped once.
        unsafe {
            libc::munmap(self.start.as_ptr().cast(), MAPPED);
        }
    }
}

/// Remembers an answer with the header it was computed under.
#[derive(Default)]
pub(super) struct SinceHeader<T> {
    seen: Option<(Header, T)>,
}

impl<T: Copy> SinceHeader<T> {
    /// The answer kept, when `now` is the header it was computed under.
    pub(super) fn get(&self, now: Option<Header>) -> Option<T> {
        match (&self.seen, now) {
            (Some((then, value)), Some(now)) if *then == now => Some(*value),
            _ => None,
        }
    }

    /// Keeps `value`, computed after `before` was read (or forgets, when there was no
    /// header to read).
    pub(super) fn keep(&mut self, before: Option<Header>, value: T) {
        self.seen = before.map(|header| (header, value));
    }
}
