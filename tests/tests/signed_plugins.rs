//! Signed plugins: a vendor makes a key (`keygen`) and signs its library (`sign`); a host
//! with the vendor's public key (`--trusted-keys`) loads it, and refuses — before opening
//! it — a library that is unsigned, changed after signing (one byte), or signed by a key it
//! does not trust. Without trusted keys `plugins` says that signatures are not checked.

use std::path::{Path, PathBuf};

use atrs_e2e::{fixture, json_result, office365_library, plugins_dir, run_host};
use serde_json::Value;

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `keygen --out DIR/NAME`: the secret key's path and the public key's.
fn keygen(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let secret = dir.join(name);
    let out = run_host(&["--json", "keygen", "--out", path(&secret)], &[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let r = json_result(&out);
    assert_eq!(r["secret_key"], path(&secret));
    (secret, PathBuf::from(r["public_key"].as_str().unwrap()))
}

fn sign(key: &Path, library: &Path) {
    let out = run_host(&["--json", "sign", "--key", path(key), path(library)], &[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

/// `plugins` (with `--trusted-keys` when given): the result line.
fn plugins(dir: &Path, trusted: Option<&Path>) -> Value {
    let mut args = vec!["--plugins-dir", path(dir), "--json"];
    if let Some(t) = trusted {
        args.extend(["--trusted-keys", path(t)]);
    }
    args.push("plugins");
    let out = run_host(&args, &[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    json_result(&out)
}

/// The entry of the library whose file name starts with `prefix`.
fn entry<'a>(result: &'a Value, prefix: &str) -> &'a Value {
    result["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| {
            Path::new(p["path"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with(prefix)
        })
        .unwrap_or_else(|| panic!("no {prefix} in {result}"))
}

#[test]
fn only_libraries_signed_by_a_trusted_vendor_load() {
    let keys = tempfile::tempdir().unwrap();
    let (vendor, vendor_pub) = keygen(keys.path(), "vendor.key");
    let (stranger, _) = keygen(keys.path(), "stranger.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&vendor).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the secret key is the owner's only");
    }
    // A key is never overwritten.
    let again = run_host(&["keygen", "--out", path(&vendor)], &[]);
    assert_eq!(again.status.code(), Some(2));

    let dir = plugins_dir(&[office365_library()]);
    let library = dir.path().join(office365_library().file_name().unwrap());

    // Without trusted keys: everything loads, and `plugins` says so.
    let open = plugins(dir.path(), None);
    assert_eq!(open["signatures"], "not_checked");
    assert_eq!(entry(&open, "libatrs_office365")["status"], "loaded");

    // Unsigned, with trusted keys: refused.
    let r = plugins(dir.path(), Some(&vendor_pub));
    assert_eq!(r["signatures"], "required");
    let e = entry(&r, "libatrs_office365");
    assert_eq!(e["reason"], "unsigned", "{e}");
    assert!(e["hint"].as_str().unwrap().contains(".minisig"), "{e}");

    // Signed by the vendor: loads.
    sign(&vendor, &library);
    let e = plugins(dir.path(), Some(&vendor_pub));
    assert_eq!(entry(&e, "libatrs_office365")["status"], "loaded", "{e}");

    // One byte changed after signing: bad_signature.
    let original = std::fs::read(&library).unwrap();
    let mut flipped = original.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x01;
    std::fs::write(&library, &flipped).unwrap();
    let r = plugins(dir.path(), Some(&vendor_pub));
    assert_eq!(entry(&r, "libatrs_office365")["reason"], "bad_signature");
    std::fs::write(&library, &original).unwrap();

    // Signed by a key the host does not trust: unknown_vendor.
    sign(&stranger, &library);
    let r = plugins(dir.path(), Some(&vendor_pub));
    let e = entry(&r, "libatrs_office365");
    assert_eq!(e["reason"], "unknown_vendor", "{e}");
    assert!(e["hint"].as_str().unwrap().contains("trusted keys"), "{e}");
}

#[test]
fn an_unsigned_library_is_refused_before_its_initialisation_runs() {
    // Loaded, this fixture panics in its initialisation (`init_panicked`); refused for its
    // signature, it never gets that far.
    let keys = tempfile::tempdir().unwrap();
    let (_, vendor_pub) = keygen(keys.path(), "vendor.key");
    let dir = plugins_dir(&[fixture("init-panics")]);
    assert_eq!(
        entry(&plugins(dir.path(), None), "libfixture_init_panics")["reason"],
        "init_panicked"
    );
    assert_eq!(
        entry(
            &plugins(dir.path(), Some(&vendor_pub)),
            "libfixture_init_panics"
        )["reason"],
        "unsigned"
    );
    // A keys file without a key is a usage error, not a host that refuses everything.
    let empty = keys.path().join("empty.pub");
    std::fs::write(&empty, "untrusted comment: nothing here\n").unwrap();
    let out = run_host(
        &[
            "--plugins-dir",
            path(dir.path()),
            "--trusted-keys",
            path(&empty),
            "plugins",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
}
