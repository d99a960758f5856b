//! Checks a library file before the system loader maps it.
//!
//! The system loader maps a truncated library without complaint and the process dies
//! (SIGBUS) when it touches a missing page, so a file whose headers point past its end
//! must be refused before `dlopen`. On ELF platforms this reads the ELF header, the
//! program headers and the section header table; elsewhere it only checks that the file
//! is readable and not empty.

use std::path::Path;

/// Why a file cannot be a loadable library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NotLoadable(pub(crate) String);

/// Checks that `path` looks like a complete shared library for this machine.
pub(crate) fn check(path: &Path) -> Result<(), NotLoadable> {
    let bytes = std::fs::read(path).map_err(|e| NotLoadable(format!("it cannot be read ({e})")))?;
    if bytes.is_empty() {
        return Err(NotLoadable("the file is empty".into()));
    }
    if cfg!(target_os = "linux") {
        check_elf(&bytes)
    } else {
        Ok(())
    }
}

const ET_DYN: u16 = 3;
const PT_LOAD: u32 = 1;

fn check_elf(bytes: &[u8]) -> Result<(), NotLoadable> {
    let fail = |why: &str| Err(NotLoadable(why.to_owned()));
    if bytes.len() < 64 || &bytes[..4] != b"\x7fELF" {
        return fail("it is not an ELF shared library");
    }
    if bytes[4] != 2 || bytes[5] != 1 {
        return fail("it is not a 64-bit little-endian library, as this host is");
    }
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    if u16_at(16) != ET_DYN {
        return fail("it is an ELF file, but not a shared library");
    }
    if u16_at(18) != host_machine() {
        return fail("it was built for another processor architecture");
    }
    let len = bytes.len() as u64;
    let table_end =
        |offset: u64, count: u16, size: u16| offset.checked_add(u64::from(count) * u64::from(size));
    let (phoff, phentsize, phnum) = (u64_at(32), u16_at(54), u16_at(56));
    let (shoff, shentsize, shnum) = (u64_at(40), u16_at(58), u16_at(60));
    if phentsize < 56 || table_end(phoff, phnum, phentsize).is_none_or(|end| end > len) {
        return fail(
            "it is truncated or damaged (its program headers lie past the end of the file)",
        );
    }
    if shnum > 0 && table_end(shoff, shnum, shentsize).is_none_or(|end| end > len) {
        return fail("it is truncated (its section table lies past the end of the file)");
    }
    for i in 0..usize::from(phnum) {
        let at = phoff as usize + i * usize::from(phentsize);
        let (kind, offset, file_size) = (u32_at(at), u64_at(at + 8), u64_at(at + 32));
        if kind == PT_LOAD && offset.checked_add(file_size).is_none_or(|end| end > len) {
            return fail("it is truncated (a loadable segment lies past the end of the file)");
        }
    }
    Ok(())
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
fn dynamic_symbols(bytes: &[u8]) -> Vec<String> {
    let read = |at: usize, len: usize| bytes.get(at..at.checked_add(len)?);
    let u16_at = |at| read(at, 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |at| read(at, 4).map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")));
    let u64_at = |at| read(at, 8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
    let section = |index: usize| -> Option<(u32, usize, usize, u32, usize)> {
        let shoff = usize::try_from(u64_at(40)?).ok()?;
        let at = shoff.checked_add(index.checked_mul(usize::from(u16_at(58)?))?)?;
        Some((
            u32_at(at + 4)?,
            usize::try_from(u64_at(at + 24)?).ok()?,
            usize::try_from(u64_at(at + 32)?).ok()?,
            u32_at(at + 40)?,
            usize::try_from(u64_at(at + 56)?).ok()?,
        ))
    };
    let mut names = Vec::new();
    if read(0, 4) != Some(b"\x7fELF") {
        return names;
    }
    for index in 0..usize::from(u16_at(60).unwrap_or(0)) {
        let Some((SHT_DYNSYM, offset, size, link, entsize)) = section(index) else {
            continue;
        };
        let Some((_, strings, strings_size, _, _)) = section(link as usize) else {
            continue;
        };
        for sym in (offset..offset.saturating_add(size)).step_by(entsize.max(24)) {
            let (Some(name), Some(shndx)) = (u32_at(sym), u16_at(sym + 6)) else {
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
            b"just some text, long enough to pass the size check...................."
        )
        .is_err());
        assert!(check(Path::new("/nonexistent/lib.so"))
            .unwrap_err()
            .0
            .starts_with("it cannot be read"));
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

    #[test]
    fn refuses_other_architectures() {
        let mut bytes = this_test_binary();
        bytes[16] = ET_DYN as u8;
        bytes[17] = 0;
        bytes[18] = 0x28; // ARM (32-bit)
        bytes[19] = 0;
        assert!(check_elf(&bytes).unwrap_err().0.contains("architecture"));
    }
}
