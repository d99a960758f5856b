//! What the store trusts: a folder or file of the store, or a key file, is used only
//! when nobody but the user running the host (or root) can change it. Each refusal
//! says which rule is broken and how to fix it.

use std::{fs, io::ErrorKind, path::Path};

use super::StoreError;

/// What a path is to the store, for the words of a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The store folder.
    Folder,
    /// A file of the store (the database and its journal).
    File,
}

/// Checks an existing store folder or file; a missing one passes (it is created
/// owner-only).
pub(crate) fn check(path: &Path, role: Role) -> Result<(), StoreError> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(StoreError::Io {
                action: "inspect",
                path: path.to_owned(),
                folder: path.to_owned(),
                source,
            })
        }
    };
    let untrusted = |reason: String, fix: String| StoreError::Untrusted {
        path: path.to_owned(),
        reason,
        fix,
    };
    if meta.file_type().is_symlink() {
        let target = fs::read_link(path)
            .map(|t| t.display().to_string())
            .unwrap_or_else(|_| "its target".into());
        return Err(untrusted(
            "it is a symbolic link, which whoever may change the link can point elsewhere".into(),
            format!("Name the real location ({target}) with --store instead of the link."),
        ));
    }
    match role {
        Role::Folder if !meta.is_dir() => {
            return Err(StoreError::NotAFolder {
                path: path.to_owned(),
            })
        }
        Role::File if !meta.is_file() => {
            return Err(untrusted(
                "it is not a regular file".into(),
                "Move it aside; the store creates its files itself.".into(),
            ))
        }
        _ => {}
    }
    owner_and_mode(path, &meta, 0o022, "writable by group or others")
}

/// Checks a key file: a regular file, owned by the user running the host, that nobody
/// else may read or write.
pub(crate) fn check_key_file(path: &Path) -> Result<(), StoreError> {
    let meta = fs::symlink_metadata(path).map_err(|source| StoreError::Io {
        action: "read",
        path: path.to_owned(),
        folder: path.parent().unwrap_or(path).to_owned(),
        source,
    })?;
    let refuse = |reason: &str, fix: String| StoreError::KeyFile {
        path: path.to_owned(),
        reason: reason.to_owned(),
        fix,
    };
    if meta.file_type().is_symlink() || !meta.is_file() {
        return Err(refuse(
            "it is not a regular file (a symbolic link or a folder)",
            "Name the key file itself in ATRS_STORE_KEY_FILE.".into(),
        ));
    }
    owner_and_mode(
        path,
        &meta,
        0o077,
        "readable or writable by group or others",
    )
    .map_err(|e| match e {
        StoreError::Untrusted { reason, fix, .. } => StoreError::KeyFile {
            path: path.to_owned(),
            reason,
            fix,
        },
        other => other,
    })
}

#[cfg(unix)]
fn owner_and_mode(
    path: &Path,
    meta: &fs::Metadata,
    forbidden: u32,
    words: &str,
) -> Result<(), StoreError> {
    use std::os::unix::fs::MetadataExt;
    let me = current_user();
    if meta.uid() != me && meta.uid() != 0 {
        return Err(StoreError::Untrusted {
            path: path.to_owned(),
            reason: format!(
                "it belongs to another user (uid {}), not to you (uid {me})",
                meta.uid()
            ),
            fix: format!(
                "Use a store of your own (--store DIR), or make it yours: chown {me} {}",
                path.display()
            ),
        });
    }
    let mode = meta.mode() & 0o777;
    if mode & forbidden != 0 {
        let fixed = mode & !forbidden & 0o777;
        return Err(StoreError::Untrusted {
            path: path.to_owned(),
            reason: format!("it is {words} (mode {mode:03o})"),
            fix: format!("Make it yours alone: chmod {fixed:03o} {}", path.display()),
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn owner_and_mode(
    _path: &Path,
    _meta: &fs::Metadata,
    _forbidden: u32,
    _words: &str,
) -> Result<(), StoreError> {
    Ok(())
}

/// The user id this process runs as.
#[cfg(unix)]
pub(crate) fn current_user() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// The user id this process runs as: no such ids here (never root).
#[cfg(not(unix))]
pub(crate) fn current_user() -> u32 {
    u32::MAX
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path, mode: u32) {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_folder_others_may_write_is_refused_with_the_chmod_that_fixes_it() {
        let dir = tempfile::tempdir().unwrap();
        check(dir.path(), Role::Folder).unwrap();
        mode(dir.path(), 0o777);
        let e = check(dir.path(), Role::Folder).unwrap_err();
        assert!(
            e.to_string()
                .contains("writable by group or others (mode 777)"),
            "{e}"
        );
        assert!(
            e.hint()
                .contains(&format!("chmod 755 {}", dir.path().display())),
            "{}",
            e.hint()
        );
        mode(dir.path(), 0o700);
    }

    #[test]
    fn a_symlink_is_refused_naming_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        fs::create_dir(&real).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let e = check(&link, Role::Folder).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert!(
            e.hint().contains(&real.display().to_string()),
            "{}",
            e.hint()
        );
    }

    #[test]
    fn a_key_file_others_may_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key");
        fs::write(&key, "k").unwrap();
        mode(&key, 0o640);
        let e = check_key_file(&key).unwrap_err();
        assert!(matches!(e, StoreError::KeyFile { .. }), "{e}");
        assert!(e.hint().contains("chmod 600"), "{}", e.hint());
        mode(&key, 0o600);
        check_key_file(&key).unwrap();
    }

    #[test]
    fn a_missing_path_passes_and_a_file_is_not_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        check(&dir.path().join("none"), Role::Folder).unwrap();
        let file = dir.path().join("f");
        fs::write(&file, "").unwrap();
        mode(&file, 0o600);
        assert!(matches!(
            check(&file, Role::Folder),
            Err(StoreError::NotAFolder { .. })
        ));
        check(&file, Role::File).unwrap();
    }
}
