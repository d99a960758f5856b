//! Damaged copies of real libraries, for the loader's check before `dlopen`.
//!
//! A library cut short inside a loadable segment would be mapped without complaint and
//! crash the host (SIGBUS) when the missing page is touched, so the loader must refuse
//! it from its headers alone.

use std::path::Path;

const PT_LOAD: u32 = 1;

/// The ELF64 program headers of `bytes` that are loadable: `(offset, file size)`.
fn loadable_segments(bytes: &[u8]) -> Vec<(u64, u64)> {
    assert_eq!(&bytes[..4], b"\x7fELF", "an ELF file");
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
    let (phoff, phentsize, phnum) = (u64_at(32) as usize, u16_at(54), u16_at(56));
    (0..usize::from(phnum))
        .map(|i| phoff + i * usize::from(phentsize))
        .filter(|&at| u32_at(at) == PT_LOAD)
        .map(|at| (u64_at(at + 8), u64_at(at + 32)))
        .collect()
}

/// Writes to `to` a copy of `library` cut in the middle of its last loadable segment.
/// With `strip_sections`, the section header table is dropped first (as `sstrip` does),
/// so only the program headers can tell that the file is short.
pub fn cut_inside_loadable_segment(library: &Path, to: &Path, strip_sections: bool) {
    let mut bytes = std::fs::read(library).expect("read the library");
    let (offset, size) = loadable_segments(&bytes)
        .into_iter()
        .filter(|(_, size)| *size > 0)
        .max_by_key(|(offset, size)| offset + size)
        .expect("a loadable segment");
    if strip_sections {
        bytes[40..48].fill(0); // e_shoff
        bytes[58..64].fill(0); // e_shentsize, e_shnum, e_shstrndx
    }
    let cut = usize::try_from(offset + size / 2).expect("fits in memory");
    std::fs::write(to, &bytes[..cut]).expect("write the cut copy");
}
