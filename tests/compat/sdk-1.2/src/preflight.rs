//! Checks a library file before the system loader maps it.
//!
//! The system loader maps a truncated library without complaint and the process dies
//! (SIGBUS) when it touches a missing page, so a file whose headers point past its end
//! must be refused before `dlopen`. On ELF platforms this reads — with positioned
//! reads, never the whole file — the ELF header, the program headers and the section
//! header table, and checks that every table, loadable segment and section with
//! contents lies inside the file; elsewhere it only checks that the file is readable
//! and not empty.

use std::{fs::File, io, path::Path};

/// Why a file cannot be a loadable library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NotLoadable(pub(crate) String);

/// Checks that the open `file` looks like a complete shared library for this machine.
pub(crate) fn check_file(file: &File) -> Result<(), NotLoadable> {
    let cannot_read = |e: io::Error| NotLoadable(format!("it cannot be read ({e})"));
    let len = file.metadata().map_err(cannot_read)?.len();
    if len == 0 {
        return Err(NotLoadable("the file is empty".into()));
    }
    if cfg!(target_os = "linux") {
        check_elf(&Contents { file, len })
    } else {
        Ok(())
    }
}

/// Bytes that can be read at any offset: a file, or (for tests and fuzzing) a slice.
pub(crate) trait ReadAt {
    /// The length in bytes.
    fn len(&self) -> u64;
    /// Fills `buf` from `offset`; an error when that runs past the end.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
}

impl ReadAt for [u8] {
    fn len(&self) -> u64 {
        self.len() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let from = usize::try_from(offset).ok();
        let bytes = from
            .and_then(|from| self.get(from..from.checked_add(buf.len())?))
            .ok_or(io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(bytes);
        Ok(())
    }
}

/// An open file and the length it had when opened.
struct Contents<'a> {
    file: &'a File,
    len: u64,
}

impl ReadAt for Contents<'_> {
    fn len(&self) -> u64 {
        self.len
    }

    #[cfg(unix)]
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(self.file, buf, offset)
    }

    #[cfg(not(unix))]
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        use std::io::{Read, Seek, SeekFrom};
        let mut file = self.file;
        file.seek(SeekFrom::Start(offset))?;
        file.read_exact(buf)
    }
}

const ET_DYN: u16 = 3;
const PT_LOAD: u32 = 1;
const SHT_NOBITS: u32 = 8;
/// The size of a 64-bit program header and section header.
const PHDR_SIZE: u16 = 56;
const SHDR_SIZE: u16 = 64;

/// Little-endian fields of a header read into memory.
struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    fn u16(&self, at: usize) -> u16 {
        u16::from_le_bytes([self.0[at], self.0[at + 1]])
    }
    fn u32(&self, at: usize) -> u32 {
        u32::from_le_bytes(self.0[at..at + 4].try_into().expect("4 bytes"))
    }
    fn u64(&self, at: usize) -> u64 {
        u64::from_le_bytes(self.0[at..at + 8].try_into().expect("8 bytes"))
    }
}

/// Checks the headers of an ELF shared library held in `contents`.
pub(crate) fn check_elf(contents: &(impl ReadAt + ?Sized)) -> Result<(), NotLoadable> {
    let fail = |why: &str| Err(NotLoadable(why.to_owned()));
    let len = contents.len();
    let mut header = [0_u8; 64];
    if contents.read_at(0, &mut header).is_err() || &header[..4] != b"\x7fELF" {
        return fail("it is not an ELF shared library");
    }
    if header[4] != 2 || header[5] != 1 {
        return fail("it is not a 64-bit little-endian library, as this host is");
    }
    let header = Fields(&header);
    if header.u16(16) != ET_DYN {
        return fail("it is an ELF file, but not a shared library");
    }
    if header.u16(18) != host_machine() {
        return fail("it was built for another processor architecture");
    }
    let (phoff, phentsize, phnum) = (header.u64(32), header.u16(54), header.u16(56));
    let (shoff, shentsize, shnum) = (header.u64(40), header.u16(58), header.u16(60));
    let Some(program_headers) = table(contents, phoff, phnum, phentsize, PHDR_SIZE) else {
        return fail(
            "it is truncated or damaged (its program headers lie past the end of the file)",
        );
    };
    let sections = if shnum == 0 {
        Vec::new()
    } else {
        match table(contents, shoff, shnum, shentsize, SHDR_SIZE) {
            Some(sections) => sections,
            None => {
                return fail("it is truncated (its section table lies past the end of the file)")
            }
        }
    };
    let inside = |offset: u64, size: u64| offset.checked_add(size).is_some_and(|end| end <= len);
    for at in (0..program_headers.len()).step_by(usize::from(phentsize)) {
        let ph = Fields(&program_headers[at..]);
        if ph.u32(0) == PT_LOAD && !inside(ph.u64(8), ph.u64(32)) {
            return fail("it is truncated (a loadable segment lies past the end of the file)");
        }
    }
    for at in (0..sections.len()).step_by(usize::from(shentsize.max(1))) {
        let sh = Fields(&sections[at..]);
        if sh.u32(4) != SHT_NOBITS && !inside(sh.u64(24), sh.u64(32)) {
            return fail("it is truncated (a section lies past the end of the file)");
        }
    }
    Ok(())
}

/// Reads the table of `count` entries of `entry_size` bytes (at least `min_size`) at
/// `offset`; `None` when the entries are too small or the table does not fit.
fn table(
    contents: &(impl ReadAt + ?Sized),
    offset: u64,
    count: u16,
    entry_size: u16,
    min_size: u16,
) -> Option<Vec<u8>> {
    if entry_size < min_size {
        return None;
    }
    let size = usize::from(count) * usize::from(entry_size);
    if offset.checked_add(size as u64)? > contents.len() {
        return None;
    }
    let mut bytes = vec![0_u8; size];
    contents.read_at(offset, &mut bytes).ok()?;
    Some(bytes)
}

const SHT_DYNSYM: u32 = 11;

/// Exported symbols of the library at `path` that look like an ATRS root module but are
/// not named `expected` — the mark of a lost `#[no_mangle]` or of another abi_stable.
/// Empty when the file cannot be read as ELF.
pub(crate) fn root_module_lookalikes(path: &Path, expected: &str) -> Vec<String> {
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    dynamic_symbols(&bytes)
        .into_iter()
        .filter(|name| name != expected && name.contains("root_bmodule"))
        .take(3)
        .collect()
}

/// The names of the defined dynamic symbols of an ELF64 little-endian file.
pub(crate) fn dynamic_symbols(bytes: &[u8]) -> Vec<String> {
    let read = |at: usize, len: usize| bytes.get(at..at.checked_add(len)?);
    // Every offset comes from the file: `at + off` is checked, never wrapped.
    let field = |at: usize, off: usize, len: usize| read(at.checked_add(off)?, len);
    let u16_at = |at, off| field(at, off, 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at =
        |at, off| field(at, off, 4).map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")));
    let u64_at =
        |at, off| field(at, off, 8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
    let section = |index: usize| -> Option<(u32, usize, usize, u32, usize)> {
        let shoff = usize::try_from(u64_at(0, 40)?).ok()?;
        let at = shoff.checked_add(index.checked_mul(usize::from(u16_at(0, 58)?))?)?;
        Some((
            u32_at(at, 4)?,
            usize::try_from(u64_at(at, 24)?).ok()?,
            usize::try_from(u64_at(at, 32)?).ok()?,
            u32_at(at, 40)?,
            usize::try_from(u64_at(at, 56)?).ok()?,
        ))
    };
    let mut names = Vec::new();
    if read(0, 4) != Some(b"\x7fELF") {
        return names;
    }
    for index in 0..usize::from(u16_at(0, 60).unwrap_or(0)) {
        let Some((SHT_DYNSYM, offset, size, link, entsize)) = section(index) else {
            continue;
        };
        let Some((_, strings, strings_size, _, _)) = section(link as usize) else {
            continue;
        };
        for sym in (offset..offset.saturating_add(size)).step_by(entsize.max(24)) {
            let (Some(name), Some(shndx)) = (u32_at(sym, 0), u16_at(sym, 6)) else {
                break;
            };
            let start = strings.saturating_add(name as usize);
            let end = strings.saturating_add(strings_size);
            let Some(text) = bytes.get(start..end.min(bytes.len())) else {
                continue;
            };
            let text = &text[..text.iter().position(|&b| b == 0).unwrap_or(text.len())];
            if shndx != 0 && !text.is_empty() {
                names.push(String::from_utf8_lossy(text).into_owned());
            }
        }
    }
    names
}

fn host_machine() -> u16 {
    match std::env::consts::ARCH {
        "x86_64" => 62,
        "aarch64" => 183,
        "riscv64" => 243,
        "powerpc64" => 21,
        "s390x" => 22,
        _ => 0,
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn this_test_binary() -> Vec<u8> {
        std::fs::read(std::env::current_exe().unwrap()).unwrap()
    }

    #[test]
    fn refuses_text_empty_and_truncated_files() {
        assert!(check_elf(
            &b"just some text, long enough to pass the size check...................."[..]
        )
        .is_err());
        // The test binary is a position-independent executable (ET_DYN) or a plain
        // executable; either way a cut copy must be refused as truncated or not a library.
        let whole = this_test_binary();
        for cut in [whole.len() / 2, whole.len() - 1, 100] {
            let e = check_elf(&whole[..cut]).unwrap_err();
            assert!(
                e.0.contains("truncated") || e.0.contains("not a shared library"),
                "{cut}: {}",
                e.0
            );
        }
    }

    /// The test binary marked as a shared library (it is a position-independent
    /// executable, ET_DYN already, on most systems).
    fn a_library() -> Vec<u8> {
        let mut bytes = this_test_binary();
        bytes[16..18].copy_from_slice(&ET_DYN.to_le_bytes());
        bytes
    }

    fn check(path: &Path) -> Result<(), NotLoadable> {
        check_file(&File::open(path).unwrap())
    }

    #[test]
    fn a_whole_file_on_disk_passes_and_a_cut_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let whole = a_library();
        let path = dir.path().join("whole.so");
        std::fs::write(&path, &whole).unwrap();
        assert_eq!(check(&path), Ok(()));
        let cut = dir.path().join("cut.so");
        std::fs::write(&cut, &whole[..whole.len() - 1]).unwrap();
        assert!(check(&cut).unwrap_err().0.contains("truncated"));
        let empty = dir.path().join("empty.so");
        std::fs::write(&empty, b"").unwrap();
        assert_eq!(check(&empty).unwrap_err().0, "the file is empty");
    }

    #[test]
    fn a_section_past_the_end_is_refused() {
        let mut bytes = a_library();
        let len = bytes.len() as u64;
        let header = Fields(&bytes[..64]);
        let (shoff, shentsize, shnum) = (header.u64(40), header.u16(58), header.u16(60));
        let with_contents = (0..usize::from(shnum))
            .map(|i| shoff as usize + i * usize::from(shentsize))
            .find(|&at| {
                let sh = Fields(&bytes[at..]);
                sh.u32(4) != SHT_NOBITS && sh.u64(32) > 0
            })
            .expect("a section with contents");
        bytes[with_contents + 24..with_contents + 32].copy_from_slice(&len.to_le_bytes());
        assert_eq!(
            check_elf(&bytes[..]).unwrap_err().0,
            "it is truncated (a section lies past the end of the file)"
        );
    }

    #[test]
    fn reading_symbols_never_fails_on_garbage_or_cut_files() {
        // Real names are checked end to end with the `mangled-root` fixture library.
        assert!(dynamic_symbols(b"not elf at all").is_empty());
        let whole = this_test_binary();
        let names = dynamic_symbols(&whole);
        assert!(names.iter().all(|n| !n.is_empty()));
        for cut in [64, whole.len() / 2, whole.len() - 1] {
            let _ = dynamic_symbols(&whole[..cut]);
        }
    }

    /// Found by the `preflight` fuzz target (its input is kept in the fuzz corpus as
    /// `regression-section-offset-overflow`): a section table offset near the top of
    /// the address space made `offset + 4` overflow, a panic in a debug host.
    #[test]
    fn section_offsets_near_the_top_of_the_address_space_do_not_overflow() {
        let mut bytes = vec![0_u8; 64];
        bytes[..8].copy_from_slice(b"\x7fELF\x02\x01\x01\x00");
        bytes[40..48].copy_from_slice(&(u64::MAX - 2).to_le_bytes());
        bytes[58..60].copy_from_slice(&64_u16.to_le_bytes());
        bytes[60..62].copy_from_slice(&3_u16.to_le_bytes());
        assert!(dynamic_symbols(&bytes).is_empty());
        let mut kept = vec![0xff_u8; 953];
        kept[..10].copy_from_slice(b"\x7fELF\x02\x01\x01\x00\x00\x00");
        assert!(dynamic_symbols(&kept).is_empty());
        assert!(check_elf(&kept[..]).is_err());
    }

    #[test]
    fn refuses_other_architectures() {
        let mut bytes = this_test_binary();
        bytes[16] = ET_DYN as u8;
        bytes[17] = 0;
        bytes[18] = 0x28; // ARM (32-bit)
        bytes[19] = 0;
        assert!(check_elf(&bytes[..])
            .unwrap_err()
            .0
            .contains("architecture"));
    }
}
