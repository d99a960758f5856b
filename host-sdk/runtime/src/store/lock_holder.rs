//! Who holds a lock that this process waited for in vain. For a store file: on Linux
//! the kernel lists every file lock, with its owner's process id, in `/proc/locks`;
//! elsewhere (and for locks that name no process) nobody is named and the error says
//! "another process". For a PostgreSQL advisory lock: the server's own view of the
//! holder's connection (see the PostgreSQL store's lock session).

use std::path::Path;

/// The process holding a lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder {
    /// Its process id; for a lock held on a database server, the id of the server's
    /// process serving the holder's connection (what `pg_terminate_backend` takes).
    pub pid: u32,
    /// Its command name as the process table shows it (at most 15 bytes on Linux); for a
    /// lock held on a database server, the application name its connection gave.
    pub command: Option<String>,
    /// For a lock held on a database server: its connection as the server describes it,
    /// where from and since when (`from 10.0.0.5 since 2026-12-07 14:31:02 UTC`).
    pub connection: Option<String>,
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.connection, &self.command) {
            (Some(connection), Some(command)) => write!(
                f,
                "the connection \"{command}\" (server process {}, connected {connection})",
                self.pid
            ),
            (Some(connection), None) => write!(
                f,
                "a connection (server process {}, connected {connection})",
                self.pid
            ),
            (None, Some(command)) => write!(f, "process {} ({command})", self.pid),
            (None, None) => write!(f, "process {}", self.pid),
        }
    }
}

/// The holder as a person reads it: the process, else "another process".
pub(crate) fn named(holder: Option<&LockHolder>) -> String {
    holder.map_or_else(|| "another process".to_owned(), ToString::to_string)
}

/// How to end a holder that hangs, for a hint: "end it", or for a database server's
/// connection, the statement that ends it.
pub(crate) fn ending(holder: Option<&LockHolder>) -> String {
    match holder {
        Some(LockHolder {
            pid,
            connection: Some(_),
            ..
        }) => format!(
            "end it, if it hangs, with `SELECT pg_terminate_backend({pid})` on the database server"
        ),
        _ => "end it, if it hangs".to_owned(),
    }
}

/// This process, as a holder: a lock another of its threads holds.
pub(crate) fn this_process() -> LockHolder {
    LockHolder {
        pid: std::process::id(),
        command: command_of(std::process::id()),
        connection: None,
    }
}

/// The command name of the process `pid`, where the system says.
fn command_of(pid: u32) -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .ok()
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        None
    }
}

/// Which part of a file the lock covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Span {
    /// One byte (SQLite's locks in a WAL index: its writer's is byte 120 of `-shm`).
    Byte(u64),
    /// Any part: `flock` locks the whole file.
    Any,
}

/// SQLite's write lock in WAL mode: a POSIX write lock on this byte of the `-shm` file.
pub(crate) const SQLITE_WAL_WRITER: Span = Span::Byte(120);

/// The process holding an exclusive (write) lock on `span` of the file `path`, if the
/// system says.
pub(crate) fn holder_of(path: &Path, span: Span) -> Option<LockHolder> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        let file = std::fs::metadata(path).ok()?;
        let locks = std::fs::read_to_string("/proc/locks").ok()?;
        let pid = find(&locks, device_numbers(file.dev()), file.ino(), span)?;
        Some(LockHolder {
            pid,
            command: command_of(pid),
            connection: None,
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (path, span);
        None
    }
}

/// `dev` as the kernel prints it in `/proc/locks`: (major, minor).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn device_numbers(dev: u64) -> (u64, u64) {
    let major = ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0xfff);
    let minor = ((dev >> 12) & 0xffff_ff00) | (dev & 0xff);
    (major, minor)
}

/// The process of the write lock on `span` of the file `(device, inode)` in the text of
/// `/proc/locks`. Lines look like `1: POSIX  ADVISORY  WRITE 4242 fe:00:10019948 120 120`
/// (or `FLOCK … 0 EOF`); waiters (`1: -> …`) and locks that name no process (`-1`, open
/// file description locks) are left out. A lock on the same inode number whose device
/// the kernel prints otherwise (some file systems number devices differently in `stat`)
/// counts when no lock matches both.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn find(locks: &str, device: (u64, u64), inode: u64, span: Span) -> Option<u32> {
    let mut same_inode = None;
    for line in locks.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [_, kind, _, mode, pid, id, start, end] = fields[..] else {
            continue;
        };
        if mode != "WRITE" || !matches!(kind, "POSIX" | "FLOCK") {
            continue;
        }
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        let mut parts = id.split(':');
        let (Some(major), Some(minor), Some(ino)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if ino.parse::<u64>() != Ok(inode) || !covers(start, end, span) {
            continue;
        }
        let hex = |t: &str| u64::from_str_radix(t, 16).ok();
        if (hex(major), hex(minor)) == (Some(device.0), Some(device.1)) {
            return Some(pid);
        }
        same_inode.get_or_insert(pid);
    }
    same_inode
}

fn covers(start: &str, end: &str, span: Span) -> bool {
    match span {
        Span::Any => true,
        Span::Byte(byte) => {
            let Ok(start) = start.parse::<u64>() else {
                return false;
            };
            start <= byte && (end == "EOF" || end.parse::<u64>().is_ok_and(|e| byte <= e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCKS: &str = "\
1: POSIX  ADVISORY  WRITE 4242 fe:00:10019948 120 120
2: POSIX  ADVISORY  READ 4242 fe:00:10019948 124 124
3: -> POSIX  ADVISORY  WRITE 5555 fe:00:10019948 120 120
4: FLOCK  ADVISORY  WRITE 777 fe:00:2002 0 EOF
5: OFDLCK ADVISORY  WRITE -1 fe:00:3003 0 EOF
6: FLOCK  ADVISORY  WRITE 888 08:01:4004 0 EOF
";

    #[test]
    fn the_write_lock_on_the_span_names_its_process_and_nothing_else_does() {
        let dev = (0xfe, 0);
        assert_eq!(find(LOCKS, dev, 10019948, SQLITE_WAL_WRITER), Some(4242));
        // A reader's lock, a waiter, another byte: not the writer.
        assert_eq!(find(LOCKS, dev, 10019948, Span::Byte(124)), None);
        assert_eq!(find(LOCKS, dev, 2002, Span::Any), Some(777));
        // An open file description lock names no process.
        assert_eq!(find(LOCKS, dev, 3003, Span::Any), None);
        assert_eq!(find(LOCKS, dev, 9999, Span::Any), None);
        // The inode printed under another device number still counts.
        assert_eq!(find(LOCKS, dev, 4004, Span::Any), Some(888));
    }

    #[test]
    fn device_numbers_split_as_the_kernel_prints_them() {
        assert_eq!(device_numbers(0xfe00), (0xfe, 0));
        assert_eq!(device_numbers(0x0801), (8, 1));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_held_flock_names_this_process() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("held.lock");
        let file = std::fs::File::create(&path).unwrap();
        assert_eq!(holder_of(&path, Span::Any), None);
        file.lock().unwrap();
        let holder = holder_of(&path, Span::Any).expect("the kernel names the holder");
        assert_eq!(holder.pid, std::process::id());
        let comm = std::fs::read_to_string("/proc/self/comm").unwrap();
        assert_eq!(
            holder.to_string(),
            format!("process {} ({})", std::process::id(), comm.trim())
        );
        drop(file);
        assert_eq!(holder_of(&path, Span::Any), None);
        assert_eq!(this_process(), holder);
    }

    #[test]
    fn a_database_servers_holder_is_named_by_its_connection_with_how_to_end_it() {
        let holder = LockHolder {
            pid: 777,
            command: Some("atrs-test-host pid 4242 on node-a".into()),
            connection: Some("from 10.0.0.5 since 2026-12-07 14:31:02 UTC".into()),
        };
        assert_eq!(
            holder.to_string(),
            "the connection \"atrs-test-host pid 4242 on node-a\" (server process 777, connected from 10.0.0.5 since 2026-12-07 14:31:02 UTC)"
        );
        assert!(ending(Some(&holder)).contains("SELECT pg_terminate_backend(777)"));
        let unnamed = LockHolder {
            command: None,
            ..holder
        };
        assert!(unnamed
            .to_string()
            .starts_with("a connection (server process 777"));
        assert_eq!(ending(None), "end it, if it hangs");
        assert_eq!(named(None), "another process");
    }
}
