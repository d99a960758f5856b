//! What can go wrong with an account store, whichever backend, and how to fix it.

use std::{path::PathBuf, time::Duration};

use super::FILE_VERSION;

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
    #[error("{} was written by a newer version of atrs-test-host (store layout {version}; this version reads layout {FILE_VERSION})", path.display())]
    Newer {
        /// The file.
        path: PathBuf,
        /// Its layout version.
        version: u64,
    },
    /// A named lock stayed held by someone else for the whole wait.
    #[error("the lock \"{name}\" is still held by another process after {} s", waited.as_secs_f64())]
    LockBusy {
        /// The lock.
        name: String,
        /// How long it was waited for.
        waited: Duration,
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
    /// A named lock was asked for with an empty name.
    #[error("a lock needs a name")]
    LockName,
}

impl StoreError {
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
                "Give --store (or ATRS_STORE_DIR) a folder; {} is a file.",
                path.display()
            ),
            StoreError::Corrupt { path, .. } => format!(
                "Restore {} from a backup, or move it aside to start with no saved accounts.",
                path.display()
            ),
            StoreError::Newer { .. } => "Use the newer atrs-test-host that wrote it, or choose another folder with --store DIR.".to_owned(),
            StoreError::LockBusy { .. } => "Wait for the other process to finish, then try again.".to_owned(),
            StoreError::Host { hint, .. } => hint.clone().unwrap_or_else(|| "Check the host application's own log for why its account store refused.".to_owned()),
            StoreError::LockName => "Name the lock, for example \"office365/refresh/Reports\".".to_owned(),
        }
    }
}
