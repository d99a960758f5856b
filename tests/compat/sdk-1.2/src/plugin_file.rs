//! Who may have put a library in the plugins folder, and opening it once.
//!
//! A library runs with the host's rights as soon as it is opened (its ELF constructors
//! run inside `dlopen`), so the loader takes it only from places that no one but the
//! host's user (or root) can change:
//!
//! - the plugins folder must be owned by the host's user or root and not writable by
//!   group or others ([`check_folder`]) — otherwise anyone who can write there can put a
//!   library in, or swap one;
//! - each library must be a regular file, not a symbolic link, owned by the host's user
//!   or root and not writable by group or others ([`open`]).
//!
//! [`open`] opens the file once (`O_NOFOLLOW`, so a link is refused rather than
//! followed) and checks the open file, not its name; the loader then reads the headers
//! and the signature through that descriptor and, on Linux, loads
//! `/proc/self/fd/N` ([`OpenedLibrary::load_path`]), so the file that was checked is
//! the file that runs even if its name is swapped in between.
//!
//! Elsewhere the checks differ:
//! - on Unix systems without `/proc/self/fd` (macOS, the BSDs) the checks are made, but
//!   the library is loaded by its path again, so a file swapped between the check and
//!   the load is not noticed (the folder check makes that need the folder's owner);
//! - on Windows there are no mode bits or owners to check here (access is governed by
//!   ACLs, which this crate does not read): files are opened and loaded by path and only
//!   signing ([`crate::signing`]) tells a vendor's library from another.

use std::{
    collections::{hash_map::Entry, HashMap},
    fmt,
    fs::File,
    io,
    path::{Path, PathBuf},
    sync::{Mutex, MutexGuard, OnceLock},
};

/// What makes a file or folder untrustworthy as a source of plugin code.
///
/// The plugins folder ([`crate::loader::load_dir`]) and every library must be owned by
/// the host's user or root and writable by no one else, and a library must be a
/// regular file, not a symbolic link (a link to the folder itself is followed, and the
/// folder it leads to checked). Each library is opened once, without following a link,
/// and checked, read and loaded through that open file: on Linux `dlopen` gets
/// `/proc/self/fd/N`, so what was checked is what runs.
///
/// By platform:
/// - **Linux**: all of the above (when `/proc` is not mounted, the library is loaded by
///   its path again, as below);
/// - **other Unix systems** (macOS, the BSDs): the same checks, but the library is
///   loaded by its path again, so a file swapped under its name between the check and
///   the load is not noticed (the folder check means only its owner could do that);
/// - **Windows**: no owner or mode checks (access is governed by ACLs, which this crate
///   does not read); only links are refused, files are loaded by path, and signing
///   ([`crate::signing`]) is what tells a vendor's library from another.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Untrusted {
    /// It is a symbolic link (it could be pointed anywhere).
    Symlink,
    /// It is not a regular file (a folder, a pipe, a device…).
    NotAFile,
    /// Group or others may write to it.
    WritableByOthers {
        /// Its permission bits.
        mode: u32,
    },
    /// It belongs to another user (neither the host's user nor root).
    OwnedByOther {
        /// The owner's numeric user id.
        uid: u32,
    },
}

impl Untrusted {
    /// A stable machine name (`symlink`, `not_a_file`, `writable_by_others`,
    /// `owned_by_other`).
    pub fn code(&self) -> &'static str {
        match self {
            Untrusted::Symlink => "symlink",
            Untrusted::NotAFile => "not_a_file",
            Untrusted::WritableByOthers { .. } => "writable_by_others",
            Untrusted::OwnedByOther { .. } => "owned_by_other",
        }
    }

    /// What to do about it, for a file (`folder` false) or the plugins folder.
    pub fn fix(&self, folder: bool) -> String {
        let what = if folder { "FOLDER" } else { "LIBRARY" };
        match self {
            Untrusted::Symlink => format!(
                "Copy the library itself into the plugins folder in place of the link (`cp --remove-destination \"$(readlink -f {what})\" {what}`)."
            ),
            Untrusted::NotAFile => "Remove it from the plugins folder: only library files belong there.".into(),
            Untrusted::WritableByOthers { .. } => format!(
                "Make it writable by its owner only (`chmod go-w {what}`), or move the plugins to a {} only you can write to.",
                if folder { "folder" } else { "folder and file" }
            ),
            Untrusted::OwnedByOther { .. } => format!(
                "Take it over (`chown $(id -un) {what}`, as root) if you trust whoever put it there, or remove it{}.",
                if folder { " and use a plugins folder of your own" } else { "" }
            ),
        }
    }
}

impl fmt::Display for Untrusted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Untrusted::Symlink => f.write_str("it is a symbolic link"),
            Untrusted::NotAFile => f.write_str("it is not a regular file"),
            Untrusted::WritableByOthers { mode } => write!(
                f,
                "it is writable by {} (mode {:04o}), so another user could change the code this host runs",
                match (mode & 0o020 != 0, mode & 0o002 != 0) {
                    (true, true) => "group and others",
                    (true, false) => "its group",
                    _ => "others",
                },
                mode & 0o7777
            ),
            Untrusted::OwnedByOther { uid } => write!(
                f,
                "it belongs to user id {uid}, neither this host's user nor root, so that user could change the code this host runs"
            ),
        }
    }
}

/// The plugins folder may not be trusted: the error inside the [`io::Error`] that
/// [`crate::loader::load_dir`] returns (kind `PermissionDenied`); nothing in it was
/// opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the plugins folder {} is not safe to load code from: {problem}. {}", dir.display(), problem.fix(true).replace("FOLDER", &dir.display().to_string()))]
pub struct UntrustedFolder {
    /// The folder.
    pub dir: PathBuf,
    /// What is wrong with it.
    pub problem: Untrusted,
}

/// A library opened once, checked, and held open until it is loaded.
#[derive(Debug)]
pub(crate) struct OpenedLibrary {
    /// The open file: read it, never the path.
    pub(crate) file: File,
    /// What to hand `dlopen` so that it maps this open file.
    load_path: PathBuf,
    /// Whether `load_path` names the descriptor (`/proc/self/fd/N`).
    by_descriptor: bool,
}

impl OpenedLibrary {
    /// Hands the library to `dlopen`, which answers whether the system loader mapped it.
    ///
    /// Loaded through its descriptor, the system loader knows the library by the name
    /// `/proc/self/fd/N` from then on and answers a later `dlopen` of that name with it,
    /// without opening anything. So once a library is mapped its descriptor stays open
    /// for the life of the process, as the library does (abi_stable never unloads one),
    /// and no other file can get its number: one descriptor per file (device and inode),
    /// which a later load of the same file goes through again.
    pub(crate) fn load<T>(self, dlopen: impl FnOnce(&Path) -> (T, bool)) -> T {
        if !self.by_descriptor {
            return dlopen(&self.load_path).0;
        }
        let Some(key) = file_key(&self.file) else {
            let (loaded, mapped) = dlopen(&self.load_path);
            if mapped {
                std::mem::forget(self.file);
            }
            return loaded;
        };
        if let Some(path) = kept().get(&key).map(descriptor_path) {
            // The same file (this descriptor keeps its inode from being reused), mapped
            // before under that name: `self.file` closes afterwards, unknown to the
            // system loader.
            return dlopen(&path).0;
        }
        let (loaded, mapped) = dlopen(&self.load_path);
        if mapped {
            match kept().entry(key) {
                Entry::Vacant(slot) => {
                    slot.insert(self.file);
                }
                // Another thread mapped the same file meanwhile, under its own number;
                // both names are the system loader's now, so both stay open.
                Entry::Occupied(_) => std::mem::forget(self.file),
            }
        }
        loaded
    }
}

/// The descriptors of the libraries mapped through them, by device and inode.
fn kept() -> MutexGuard<'static, HashMap<(u64, u64), File>> {
    static KEPT: OnceLock<Mutex<HashMap<(u64, u64), File>>> = OnceLock::new();
    KEPT.get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

#[cfg(unix)]
fn file_key(file: &File) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    file.metadata().ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_key(_file: &File) -> Option<(u64, u64)> {
    None
}

#[cfg(target_os = "linux")]
fn descriptor_path(file: &File) -> PathBuf {
    use std::os::fd::AsRawFd;
    PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

#[cfg(not(target_os = "linux"))]
fn descriptor_path(_file: &File) -> PathBuf {
    unreachable!("libraries are loaded through their descriptor on Linux only")
}

/// Why a library was not opened.
#[derive(Debug)]
pub(crate) enum OpenProblem {
    /// It may not be trusted (see the module docs).
    Untrusted(Untrusted),
    /// The system refused to open or describe it.
    Io(io::Error),
}

/// Checks the plugins folder `dir` (following a link to it: the folder it leads to is
/// checked).
pub(crate) fn check_folder(dir: &Path) -> io::Result<()> {
    let meta = std::fs::metadata(dir)?;
    match untrusted(&meta) {
        None => Ok(()),
        Some(problem) => Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            UntrustedFolder {
                dir: dir.to_owned(),
                problem,
            },
        )),
    }
}

/// Opens `path` without following a link and checks the open file.
pub(crate) fn open(path: &Path) -> Result<OpenedLibrary, OpenProblem> {
    let file = open_no_follow(path)?;
    let meta = file.metadata().map_err(OpenProblem::Io)?;
    if !meta.is_file() {
        return Err(OpenProblem::Untrusted(Untrusted::NotAFile));
    }
    if let Some(problem) = untrusted(&meta) {
        return Err(OpenProblem::Untrusted(problem));
    }
    let (load_path, by_descriptor) = load_path(&file, path).map_err(OpenProblem::Io)?;
    Ok(OpenedLibrary {
        file,
        load_path,
        by_descriptor,
    })
}

#[cfg(unix)]
fn open_no_follow(path: &Path) -> Result<File, OpenProblem> {
    use std::os::unix::fs::OpenOptionsExt;
    // Non-blocking, so that a pipe named like a library cannot stall the open; the
    // file type is checked right after.
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path);
    match opened {
        Ok(file) => Ok(file),
        // ELOOP: the last component is a symbolic link.
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            Err(OpenProblem::Untrusted(Untrusted::Symlink))
        }
        Err(e) => Err(OpenProblem::Io(e)),
    }
}

#[cfg(not(unix))]
fn open_no_follow(path: &Path) -> Result<File, OpenProblem> {
    if std::fs::symlink_metadata(path)
        .map_err(OpenProblem::Io)?
        .file_type()
        .is_symlink()
    {
        return Err(OpenProblem::Untrusted(Untrusted::Symlink));
    }
    File::open(path).map_err(OpenProblem::Io)
}

/// Group- or other-writable, or owned by someone other than this process's user or root.
#[cfg(unix)]
fn untrusted(meta: &std::fs::Metadata) -> Option<Untrusted> {
    use std::os::unix::fs::MetadataExt;
    let mode = meta.mode();
    if mode & 0o022 != 0 {
        return Some(Untrusted::WritableByOthers { mode });
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let owner = meta.uid();
    if owner != me && owner != 0 {
        return Some(Untrusted::OwnedByOther { uid: owner });
    }
    None
}

/// Windows: no mode bits or owners to check here (see the module docs).
#[cfg(not(unix))]
fn untrusted(_meta: &std::fs::Metadata) -> Option<Untrusted> {
    None
}

/// `/proc/self/fd/N` for `file` on Linux when `/proc` is mounted (and `true`);
/// otherwise the path made absolute (the system loader searches its library path for a
/// bare file name).
fn load_path(file: &File, path: &Path) -> io::Result<(PathBuf, bool)> {
    #[cfg(target_os = "linux")]
    {
        let by_descriptor = descriptor_path(file);
        if by_descriptor.exists() {
            return Ok((by_descriptor, true));
        }
    }
    let _ = file;
    Ok((std::path::absolute(path)?, false))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_private_folder_and_file_are_trusted_and_opened_by_descriptor() {
        let dir = tempfile::tempdir().unwrap();
        check_folder(dir.path()).unwrap();
        let lib = dir.path().join("a.so");
        std::fs::write(&lib, b"x").unwrap();
        chmod(&lib, 0o755);
        let opened = open(&lib).unwrap();
        if cfg!(target_os = "linux") {
            assert!(opened.by_descriptor && opened.load_path.starts_with("/proc/self/fd/"));
            assert_eq!(
                std::fs::read(&opened.load_path).unwrap(),
                b"x",
                "the descriptor path reads the open file"
            );
        }
    }

    #[test]
    fn writable_by_others_is_refused_for_folders_and_files() {
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path().join("a.so");
        std::fs::write(&lib, b"x").unwrap();
        chmod(&lib, 0o664);
        match open(&lib) {
            Err(OpenProblem::Untrusted(u @ Untrusted::WritableByOthers { .. })) => {
                assert!(u.to_string().contains("its group (mode 0664)"), "{u}");
                assert!(u.fix(false).contains("chmod go-w"), "{}", u.fix(false));
            }
            other => panic!("{other:?}"),
        }
        chmod(dir.path(), 0o777);
        let e = check_folder(dir.path()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
        let text = e.to_string();
        assert!(text.contains("group and others (mode 0777)"), "{text}");
        assert!(
            text.contains(&format!("chmod go-w {}", dir.path().display())),
            "{text}"
        );
        chmod(dir.path(), 0o700);
    }

    #[test]
    fn a_link_is_refused_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path().join("real.so");
        std::fs::write(&lib, b"x").unwrap();
        let link = dir.path().join("link.so");
        std::os::unix::fs::symlink(&lib, &link).unwrap();
        assert!(matches!(
            open(&link),
            Err(OpenProblem::Untrusted(Untrusted::Symlink))
        ));
        std::fs::create_dir(dir.path().join("d.so")).unwrap();
        assert!(matches!(
            open(&dir.path().join("d.so")),
            Err(OpenProblem::Untrusted(Untrusted::NotAFile))
        ));
    }
}
