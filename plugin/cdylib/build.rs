//! Link options for the plugin library only (the host binaries are linked as before).

fn main() {
    // Relative relocations packed as DT_RELR (`-z pack-relative-relocs`): the table of
    // pointers the loader fixes up at load time shrinks from 24 bytes an entry to a
    // bitmap, which takes about 180 KB off the library. Loading it needs glibc 2.36 or
    // newer (Debian 12, Ubuntu 22.10, RHEL 10); an older loader refuses the library with
    // "version `GLIBC_ABI_DT_RELR' not found".
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,pack-relative-relocs");
    }
}
