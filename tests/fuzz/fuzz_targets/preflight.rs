//! The loader's preflight of a plugin library (ELF header, program headers, section
//! table) and its reading of exported symbols, on arbitrary bytes.
#![no_main]

use atrs_host_sdk::fuzzing::{dynamic_symbols, preflight};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = preflight(data);
    let _ = dynamic_symbols(data);
});
