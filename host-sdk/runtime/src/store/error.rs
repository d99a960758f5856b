//! What can go wrong with an account store, whichever backend, and how to fix it.

use std::{path::PathBuf, time::Duration};

use super::lock_holder::{self, LockHolder};

/// What went wrong with the store, and where.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file system refused.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done ("read", "write", "create", "lock").
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The store folder it belongs to.
        folder: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The store path names something that is not a folder.
    #[error("{} is not a folder", path.display())]
    NotAFolder {
        /// The path given.
        path: PathBuf,
    },
    /// A store file is not what this host writes.
    #[error("{} is damaged: {detail}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        detail: String,
    },
    /// A store file was written by a newer version of this host.
    #[error("{} was written by a newer version of atrs-test-host (store layout {version}; this version reads layout {supported})", path.display())]
    Newer {
        /// The file.
        path: PathBuf,
        /// Its layout version.
        version: u64,
        /// The newest layout this version reads.
        supported: u64,
    },
    /// The database engine refused (the database is named, never a value in it).
    #[error("the account database {} failed: {detail}", path.display())]
    Database {
        /// The database file.
        path: PathBuf,
        /// What the engine said.
        detail: String,
    },
    /// The database server cannot be reached (down, restarting, or the network).
    #[error("the account database server {location} cannot be reached: {detail}")]
    Unreachable {
        /// The server, without its password.
        location: String,
        /// What the connection attempt said.
        detail: String,
    },
    /// The database server refused the login: a wrong or missing password, or a user
    /// it does not know.
    #[error("the account database server {location} refused the login: {detail}")]
    LoginRefused {
        /// The server, without its password.
        location: String,
        /// What the server said (never the password).
        detail: String,
        /// How to fix it.
        fix: String,
    },
    /// The database server's address (a `postgres://` URL) cannot be used as written.
    #[error("the account database address cannot be used: {detail}")]
    Address {
        /// What is wrong with it (never its password).
        detail: String,
        /// How to fix it.
        fix: String,
    },
    /// The connection to the database server could not be secured as its URL asks (the
    /// server's certificate not trusted or not for that host, TLS off at the server), or
    /// the URL's TLS settings cannot be used.
    #[error("the account database server {location} cannot be reached securely: {detail}")]
    Tls {
        /// The server, without its password.
        location: String,
        /// What went wrong.
        detail: String,
        /// How to fix it.
        fix: String,
    },
    /// Another process kept the database's write lock (a transaction open) for the
    /// whole wait.
    #[error("the account database {} is held by {}, which keeps its write lock (a transaction open), and stayed so for the whole wait of {} s", path.display(), lock_holder::named(held_by.as_ref()), waited.as_secs_f64())]
    Busy {
        /// The database file (or server).
        path: PathBuf,
        /// How long it was waited for.
        waited: Duration,
        /// The process holding the lock, where the system says.
        held_by: Option<LockHolder>,
    },
    /// The store's folder or one of its files may be changed by someone else, so it is
    /// not used.
    #[error("{} is not safe to keep accounts in: {reason}", path.display())]
    Untrusted {
        /// The folder or file.
        path: PathBuf,
        /// Which rule it breaks.
        reason: String,
        /// How to fix it.
        fix: String,
    },
    /// The store holds sealed secrets but its key is not there.
    #[error("the store key {} is missing, and the store {} holds sealed secrets", key.display(), store.display())]
    KeyMissing {
        /// Where the key was looked for.
        key: PathBuf,
        /// The store.
        store: PathBuf,
    },
    /// The key found is not the one the store's secrets were sealed with.
    #[error("the store key {} does not open the store {}", key.display(), store.display())]
    KeyWrong {
        /// The key file used.
        key: PathBuf,
        /// The store.
        store: PathBuf,
    },
    /// A key file cannot be used as it is.
    #[error("the store key file {} cannot be used: {reason}", path.display())]
    KeyFile {
        /// The key file.
        path: PathBuf,
        /// Why.
        reason: String,
        /// How to fix it.
        fix: String,
    },
    /// The store keeps secrets in plain text, and plain text was not allowed.
    #[error("the store {} keeps its secrets in plain text, which was not allowed", path.display())]
    PlainText {
        /// The store.
        path: PathBuf,
    },
    /// One sealed secret does not open under the store key (it was copied from another
    /// account, or damaged).
    #[error("the secret \"{name}\" of {plugin} / {account} does not open with the store key")]
    Unsealable {
        /// The plugin.
        plugin: String,
        /// The account.
        account: String,
        /// The secret's name.
        name: String,
    },
    /// A named lock stayed held by someone else for the whole wait.
    #[error("the lock \"{name}\" is held by {} and stayed so for the whole wait of {} s", lock_holder::named(held_by.as_ref()), waited.as_secs_f64())]
    LockBusy {
        /// The lock.
        name: String,
        /// How long it was waited for.
        waited: Duration,
        /// The process holding it, where the system says.
        held_by: Option<LockHolder>,
    },
    /// The host application's own store (its service callback) failed.
    #[error("the host's `{call}` service failed: {message}")]
    Host {
        /// The service call.
        call: String,
        /// What the host said.
        message: String,
        /// How to fix it, if the host said.
        hint: Option<String>,
    },
    /// The Secret Service that keeps (or is to keep) the store key failed.
    #[error(transparent)]
    SecretService(#[from] super::secret_service::SecretServiceError),
    /// The settings choosing where the store key is kept contradict each other or name
    /// no known place.
    #[error("the store key settings cannot be used: {reason}")]
    KeySetting {
        /// Why.
        reason: String,
        /// How to fix it.
        fix: String,
    },
    /// A named lock was asked for with an empty name.
    #[error("a lock needs a name")]
    LockName,
}

impl StoreError {
    /// Whether it is a wait for another process's lock that ran out (a time-out: exit 4
    /// in the test host, `timed_out` at the ABI).
    pub fn is_lock_wait(&self) -> bool {
        matches!(self, StoreError::Busy { .. } | StoreError::LockBusy { .. })
    }

    /// How to fix it.
    pub fn hint(&self) -> String {
        match self {
            StoreError::Io { folder, source, .. } => match source.kind() {
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
                    format!(
                        "You may not change the store folder {}: make it writable for your user, or choose another folder with --store DIR.",
                        folder.display()
                    )
                }
                _ => format!(
                    "Check that the store folder {} exists and that you may write to it, or choose another folder with --store DIR.",
                    folder.display()
                ),
            },
            StoreError::NotAFolder { path } => format!(
                "Give --store (or ATRS_STORE) a folder; {} is a file.",
                path.display()
            ),
            StoreError::Corrupt { path, .. } => format!(
                "Restore {} from a backup, or move it aside to start with no saved accounts.",
                path.display()
            ),
            StoreError::Newer { .. } => "Use the newer atrs-test-host that wrote it, or choose another folder with --store DIR.".to_owned(),
            StoreError::Database { path, .. } => format!(
                "Check the disk and the permissions of {}; if it is damaged, restore it from a backup.",
                path.display()
            ),
            StoreError::Busy { path, held_by, .. } => format!(
                "Let {} finish its transaction on {} (or end it, if it hangs), then run the command again; the store was not changed.",
                lock_holder::named(held_by.as_ref()),
                path.display()
            ),
            StoreError::Unreachable { location, .. } => format!(
                "Start the PostgreSQL server at {location} (or check the network to it), then try again; nothing was saved or lost."
            ),
            StoreError::Untrusted { fix, .. }
            | StoreError::KeyFile { fix, .. }
            | StoreError::KeySetting { fix, .. }
            | StoreError::LoginRefused { fix, .. }
            | StoreError::Tls { fix, .. }
            | StoreError::Address { fix, .. } => fix.clone(),
            StoreError::SecretService(e) => e.hint(),
            StoreError::KeyMissing { key, .. } => format!(
                "Put the key file back at {} (from where you keep a copy of it), or name it with ATRS_STORE_KEY_FILE. Nothing was changed: the sealed secrets open again with their key.",
                key.display()
            ),
            StoreError::KeyWrong { .. } => "Name the key this store was sealed with in ATRS_STORE_KEY_FILE (or unset it to use the host's own key file). Nothing was changed.".to_owned(),
            StoreError::PlainText { .. } => "Seal its secrets with `atrs-test-host store rotate-key`, or set ATRS_STORE_PLAINTEXT=1 to use it as it is.".to_owned(),
            StoreError::Unsealable { account, .. } => format!(
                "Sign in to \"{account}\" again (add it with --replace) to save a new secret."
            ),
            StoreError::LockBusy { held_by, .. } => format!(
                "Let {} finish what it holds the lock for (renewing an account's token, for one; {}), then run the command again; the store was not changed.",
                lock_holder::named(held_by.as_ref()),
                lock_holder::ending(held_by.as_ref())
            ),
            StoreError::Host { hint, .. } => hint.clone().unwrap_or_else(|| "Check the host application's own log for why its account store refused.".to_owned()),
            StoreError::LockName => "Name the lock, for example \"office365/refresh/Reports\".".to_owned(),
        }
    }
}
