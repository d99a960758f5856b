//! What every backend that seals secrets shares: how a secret is kept (sealed for its
//! plugin, account and name, or as is in a store allowed plain text), the store's key
//! check, and finding the key of a new or an existing store.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::{
    key_file::{self, KeyOptions, KeySource},
    seal::StoreKey,
    StoreError,
};

/// What the key check seals: opening it proves the key is the store's.
pub(crate) const KEY_CHECK: &[u8] = b"atrs store key check";
/// The `sealing` of a store whose secrets are sealed.
pub(crate) const SEALED: &str = "xchacha20poly1305";
/// The `sealing` of a store allowed plain text.
pub(crate) const PLAIN: &str = "none";

/// A secret as the store keeps it: sealed for its place, or (plain-text store) as is.
pub(crate) fn seal_secret(
    key: Option<&StoreKey>,
    plugin: &str,
    account: &str,
    name: &str,
    value: &str,
) -> Vec<u8> {
    match key {
        Some(key) => key.seal(&[plugin, account, name], value.as_bytes()),
        None => value.as_bytes().to_vec(),
    }
}

pub(crate) fn open_secret(
    key: Option<&StoreKey>,
    plugin: &str,
    account: &str,
    name: &str,
    stored: &[u8],
) -> Result<String, StoreError> {
    let unsealable = || StoreError::Unsealable {
        plugin: plugin.to_owned(),
        account: account.to_owned(),
        name: name.to_owned(),
    };
    let bytes = match key {
        Some(key) => key
            .open(&[plugin, account, name], stored)
            .ok_or_else(unsealable)?,
        None => Zeroizing::new(stored.to_vec()),
    };
    String::from_utf8(bytes.to_vec()).map_err(|_| unsealable())
}

/// The key of a new store: found where `options` say, or (the host's default key file
/// missing) created there; the path is returned when this call created it.
pub(crate) fn new_store_key(
    options: &KeyOptions,
    store_id: &str,
) -> Result<(StoreKey, KeySource, Option<PathBuf>), StoreError> {
    let source = options.source(store_id)?;
    let path = source
        .path()
        .expect("a sealed store has a key file")
        .to_owned();
    if let Some(key) = key_file::load(&path)? {
        return Ok((key, source, None));
    }
    let (key, bytes) = StoreKey::generate();
    if key_file::create(&path, &bytes)? {
        return Ok((key, source, Some(path)));
    }
    // Another process created it first: use that one.
    let key = key_file::load(&path)?.ok_or_else(|| StoreError::KeyFile {
        path: path.clone(),
        reason: "another process created it and it was gone again at once".into(),
        fix: "Check what removes files in that folder, then try again.".into(),
    })?;
    Ok((key, source, None))
}

/// The key of an existing sealed store, proven by its key check; a rotation that a
/// crash interrupted after its commit is finished here.
pub(crate) fn existing_key(
    options: &KeyOptions,
    store_id: &str,
    check: &[u8],
    dir: &Path,
) -> Result<(StoreKey, KeySource), StoreError> {
    let proves = |key: &StoreKey| key.open(&[store_id], check).is_some();
    let source = options.source(store_id)?;
    let path = source
        .path()
        .expect("a sealed store has a key file")
        .to_owned();
    let target = options.rotation_target(store_id)?;
    let target_path = target
        .path()
        .expect("a rotation writes a key file")
        .to_owned();
    if let Some(key) = key_file::load(&key_file::pending(&target_path))? {
        if proves(&key) {
            key_file::commit_pending(&target_path)?;
            return Ok((key, target));
        }
    }
    match key_file::load(&path)? {
        Some(key) if proves(&key) => Ok((key, source)),
        Some(_) => Err(StoreError::KeyWrong {
            key: path,
            store: dir.to_owned(),
        }),
        None => Err(StoreError::KeyMissing {
            key: path,
            store: dir.to_owned(),
        }),
    }
}

/// A new random store id.
pub(crate) fn new_store_id() -> String {
    use rand::RngCore;
    let mut id = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut id);
    hex(&id)
}

/// Bytes as lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex as bytes; `None` if it is not hex.
pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}
