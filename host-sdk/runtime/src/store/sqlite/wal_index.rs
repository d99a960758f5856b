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
//! The header is read where the connection's own SQLite has the file mapped, found
//! through the VFS (`SQLITE_FCNTL_FILE_POINTER`, then `xShmMap` without extending):
//! no descriptor of our own is opened on the file. That matters: closing any
//! descriptor of a file drops every POSIX lock the process holds on it, SQLite's
//! "someone uses this WAL-index" lock included, and the next process to open the
//! database would then take itself for the first and reset the file under us.

use std::{
    ffi::{c_int, c_void},
    ptr,
};

use rusqlite::{ffi, Connection};

/// Bytes of one copy of the header: twelve 32-bit words.
const HEADER_WORDS: usize = 12;
/// `iVersion`, the first word, in every WAL-index SQLite 3.7.0 and later writes.
const WAL_INDEX_VERSION: u32 = 3_007_000;
/// The size of each WAL-index region SQLite maps (`WALINDEX_PGSZ`).
const REGION_BYTES: c_int = 32 * 1024;

/// One copy of the header, word for word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Header([u32; HEADER_WORDS]);

/// The WAL-index header of `conn`'s main database as it stands, or `None` when there
/// is none to read (not in WAL mode, no region mapped yet, a VFS without shared
/// memory) or it is being written or not in a form this reader knows.
pub(super) fn header(conn: &Connection) -> Option<Header> {
    let start = mapped_start(conn)?;
    let first = copy(start, 0);
    std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
    let second = copy(start, 1);
    // `isInit`, the byte after the change counter.
    let initialised = first.0[3].to_ne_bytes()[0] == 1;
    (first == second && first.0[0] == WAL_INDEX_VERSION && initialised).then_some(first)
}

/// Where SQLite has the first WAL-index region of `conn`'s main database mapped.
fn mapped_start(conn: &Connection) -> Option<*const u32> {
    let mut file: *mut ffi::sqlite3_file = ptr::null_mut();
    // SAFETY: `conn` is open and used by this thread alone while it is borrowed; the
    // file pointer asked for is written to `file`, and the methods it names belong to
    // it for as long as the connection is open.
    unsafe {
        let found = ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            ffi::SQLITE_FCNTL_FILE_POINTER,
            ptr::from_mut(&mut file).cast(),
        );
        if found != ffi::SQLITE_OK || file.is_null() || (*file).pMethods.is_null() {
            return None;
        }
        let methods = &*(*file).pMethods;
        // Shared memory came with version 2 of the methods.
        if methods.iVersion < 2 {
            return None;
        }
        let map = methods.xShmMap?;
        let mut region: *mut c_void = ptr::null_mut();
        // Not extending: a region not mapped yet stays unmapped and reads as `None`.
        let mapped = map(file, 0, REGION_BYTES, 0, &mut region);
        (mapped == ffi::SQLITE_OK && !region.is_null()).then_some(region.cast_const().cast())
    }
}

fn copy(start: *const u32, which: usize) -> Header {
    let mut words = [0u32; HEADER_WORDS];
    for (i, word) in words.iter_mut().enumerate() {
        // SAFETY: inside the first region (32 KiB, page-aligned) SQLite maps while the
        // connection is open; volatile because other processes change these words.
        *word = unsafe { start.add(which * HEADER_WORDS + i).read_volatile() };
    }
    Header(words)
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
