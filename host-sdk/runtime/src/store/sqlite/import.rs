//! Today's JSON store (see [`crate::store::json_store`]) imported into a new database: on
//! the first open of a folder that holds one, whole, in the transaction that creates the
//! database. A commit the JSON store left pending is read as committed (its `*.next`
//! files); the JSON files stay as they were, made read-only, as a backup.

use std::{
    fs,
    path::{Path, PathBuf},
};

use rusqlite::{params, Transaction};
use serde::Serialize;

use super::{
    super::{json_store, seal::StoreKey, sealing::seal_secret, StoreError},
    db_error,
};

/// What an import brought over, told once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// The folder the JSON store was in.
    pub from: PathBuf,
    /// Accounts imported (those with settings).
    pub accounts: usize,
    /// Secrets imported.
    pub secrets: usize,
    /// The JSON files kept, read-only, as a backup (a pending commit's `*.next` files
    /// among them).
    pub backups: Vec<PathBuf>,
}

impl std::fmt::Display for ImportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self
            .backups
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        write!(
            f,
            "Imported {} saved account(s) and {} secret(s) from the JSON store in {}",
            self.accounts,
            self.secrets,
            self.from.display(),
        )?;
        if !names.is_empty() {
            write!(f, "; {} kept read-only as a backup", listed(&names))?;
        }
        let secrets: Vec<&str> = names
            .iter()
            .map(String::as_str)
            .filter(|n| n.starts_with(json_store::SECRETS_FILE))
            .collect();
        match secrets.as_slice() {
            [] => {}
            [one] => write!(
                f,
                " ({one} holds the secrets in plain text: delete it once you no longer need it)"
            )?,
            many => write!(
                f,
                " ({} hold the secrets in plain text: delete them once you no longer need them)",
                listed(many)
            )?,
        }
        f.write_str(".")
    }
}

/// Names as a person lists them: `a`, `a and b`, `a, b and c`.
fn listed(names: &[impl AsRef<str>]) -> String {
    match names {
        [] => String::new(),
        [one] => one.as_ref().to_owned(),
        [init @ .., last] => format!(
            "{} and {}",
            init.iter()
                .map(AsRef::as_ref)
                .collect::<Vec<_>>()
                .join(", "),
            last.as_ref()
        ),
    }
}

/// Imports the JSON store in `dir`, if there is one, into `tx`.
pub(crate) fn from_folder(
    tx: &Transaction<'_>,
    dir: &Path,
    key: Option<&StoreKey>,
    db: &Path,
) -> Result<Option<ImportReport>, StoreError> {
    let Some(json) = json_store::read(dir)? else {
        return Ok(None);
    };
    let contents = &json.contents;
    let db = |e| db_error(db, e, super::BUSY_WAIT);
    let mut accounts = 0;
    for (plugin, by_account) in &contents.settings {
        for (account, values) in by_account {
            let text = serde_json::to_string(values).expect("a map of strings always serializes");
            tx.execute(
                "INSERT INTO accounts (plugin, account, settings) VALUES (?1, ?2, ?3)",
                params![plugin, account, text],
            )
            .map_err(db)?;
            accounts += 1;
        }
    }
    let mut secrets = 0;
    for (plugin, by_account) in &contents.secrets {
        for (account, values) in by_account {
            for (name, value) in values {
                tx.execute(
                    "INSERT INTO secrets (plugin, account, name, value) VALUES (?1, ?2, ?3, ?4)",
                    params![
                        plugin,
                        account,
                        name,
                        seal_secret(key, plugin, account, name, value)
                    ],
                )
                .map_err(db)?;
                secrets += 1;
            }
        }
    }
    Ok(Some(ImportReport {
        from: dir.to_owned(),
        accounts,
        secrets,
        backups: json.files,
    }))
}

/// Makes the imported files read-only (for their owner only): they are a backup now.
pub(crate) fn keep_as_backup(report: &ImportReport) {
    for path in &report.backups {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o400));
        }
        #[cfg(not(unix))]
        if let Ok(meta) = fs::metadata(path) {
            let mut permissions = meta.permissions();
            permissions.set_readonly(true);
            let _ = fs::set_permissions(path, permissions);
        }
    }
}
