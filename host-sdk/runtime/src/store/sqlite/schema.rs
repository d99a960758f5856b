//! The database layout and its migrations. `PRAGMA user_version` holds the layout a
//! database has; opening runs the missing steps in order, in the opener's transaction,
//! and refuses a layout newer than [`CURRENT`].

use rusqlite::Transaction;

/// Each step takes the layout from its index to the next; the layout is their count.
const MIGRATIONS: &[&str] = &[
    // 1: accounts (settings as one JSON object), secrets (sealed or plain, by the
    // store's `sealing`), and the store's own facts.
    "CREATE TABLE meta (
         name TEXT PRIMARY KEY NOT NULL,
         value TEXT NOT NULL
     ) STRICT;
     CREATE TABLE accounts (
         plugin TEXT NOT NULL,
         account TEXT NOT NULL,
         settings TEXT NOT NULL,
         PRIMARY KEY (plugin, account)
     ) STRICT, WITHOUT ROWID;
     CREATE TABLE secrets (
         plugin TEXT NOT NULL,
         account TEXT NOT NULL,
         name TEXT NOT NULL,
         value BLOB NOT NULL,
         PRIMARY KEY (plugin, account, name)
     ) STRICT, WITHOUT ROWID;",
];

/// The layout this version writes and reads.
pub(crate) const CURRENT: u64 = MIGRATIONS.len() as u64;

/// The layout of the database `tx` works on.
pub(crate) fn version(conn: &rusqlite::Connection) -> rusqlite::Result<u64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
        .map(|v| v.max(0) as u64)
}

/// Runs the steps from layout `from` to [`CURRENT`] in `tx`.
pub(crate) fn migrate(tx: &Transaction<'_>, from: u64) -> rusqlite::Result<()> {
    for step in MIGRATIONS.iter().skip(from as usize) {
        tx.execute_batch(step)?;
    }
    tx.pragma_update(None, "user_version", CURRENT as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_database_is_migrated_to_the_current_layout() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        assert_eq!(version(&conn).unwrap(), 0);
        let tx = conn.transaction().unwrap();
        migrate(&tx, 0).unwrap();
        tx.commit().unwrap();
        assert_eq!(version(&conn).unwrap(), CURRENT);
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN ('meta', 'accounts', 'secrets')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 3);
    }
}
