//! The committed header is what cbindgen makes of the crate today: change the C surface
//! and this test tells you to regenerate `include/atrs_host.h` (and shows the command).

use std::path::Path;

#[test]
fn the_committed_header_is_a_fresh_generation() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config =
        cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml reads");
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    let mut fresh = Vec::new();
    bindings.write(&mut fresh);
    let fresh = String::from_utf8(fresh).expect("UTF-8");
    let path = crate_dir.join("include/atrs_host.h");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != fresh {
        if std::env::var_os("ATRS_WRITE_HEADER").is_some() {
            std::fs::write(&path, &fresh).expect("write the header");
        } else {
            panic!(
                "{} differs from a fresh generation; run `ATRS_WRITE_HEADER=1 cargo test -p atrs-host-c --test header` and commit it",
                path.display()
            );
        }
    }
}
