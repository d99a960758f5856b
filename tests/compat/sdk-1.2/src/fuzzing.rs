//! Entry points for the fuzz targets (`tests/fuzz`): the host's readers of untrusted
//! bytes, callable on a slice instead of a file. Only with the `fuzzing` feature; not
//! part of the stable interface.

/// Checks `bytes` as the loader checks a library file before the system loader maps it
/// (ELF header, program headers, section table); why it would be refused.
pub fn preflight(bytes: &[u8]) -> Result<(), String> {
    crate::preflight::check_elf(bytes).map_err(|e| e.0)
}

/// The defined dynamic symbols the loader lists when a library lacks the root module.
pub fn dynamic_symbols(bytes: &[u8]) -> Vec<String> {
    crate::preflight::dynamic_symbols(bytes)
}
