//! What every backend that seals secrets shares: how a secret is kept (sealed for its
//! plugin, account and name, or as is in a store allowed plain text), the store's key
//! check, and finding the key of a new or an existing store.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::{
    key_file::{self, KeyOptions, KeySource, KeyStore, KEY_FILE_ENV, KEY_STORE_ENV},
    seal::StoreKey,
    secret_service::{self, SecretServiceError, Slot},
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

/// The `key_store` meta value of a store whose key is kept by the Secret Service (a
/// store without it keeps its key in a file, as every store did before).
pub(crate) const IN_SECRET_SERVICE: &str = "secret-service";

/// Where a new store's key goes, decided from `options` as the key_file module's
/// documentation says; `shared`: a store several servers use (never the Secret Service
/// unless asked, and then refused).
fn new_store_uses_secret_service(options: &KeyOptions, shared: bool) -> Result<bool, StoreError> {
    match (&options.key_store, &options.key_file) {
        (KeyStore::Unknown(value), _) => Err(StoreError::KeySetting {
            reason: format!("{KEY_STORE_ENV}={value} is not a place this version keeps keys"),
            fix: format!("Set {KEY_STORE_ENV} to secret-service (or keyring), file, or auto."),
        }),
        (KeyStore::SecretService, Some(_)) => Err(StoreError::KeySetting {
            reason: format!("{KEY_STORE_ENV} asks for the Secret Service and {KEY_FILE_ENV} names a key file"),
            fix: format!("Unset one of {KEY_STORE_ENV} and {KEY_FILE_ENV}."),
        }),
        (KeyStore::SecretService, None) if shared => Err(StoreError::KeySetting {
            reason: "a store that several servers share cannot keep its key in one desktop's Secret Service".into(),
            fix: format!("Give every server the same key file with {KEY_FILE_ENV}, and unset {KEY_STORE_ENV}."),
        }),
        (KeyStore::SecretService, None) => Ok(true),
        (KeyStore::File, _) | (_, Some(_)) => Ok(false),
        (KeyStore::Auto, None) => Ok(!shared && secret_service::reachable(options.secret_service_bus.as_deref()).is_ok()),
    }
}

/// The key of a new store at `location`, and where it is kept: in the Secret Service,
/// or found where `options` say (the host's default key file, when missing, created
/// there). The key file's path is returned when this call created it.
pub(crate) fn new_store_key(
    options: &KeyOptions,
    store_id: &str,
    location: &str,
    shared: bool,
) -> Result<(StoreKey, KeySource, Option<PathBuf>), StoreError> {
    if new_store_uses_secret_service(options, shared)? {
        let bus = options.secret_service_bus.as_deref();
        let (key, bytes) = StoreKey::generate();
        let label = secret_service::label(location);
        secret_service::save(bus, store_id, Slot::Current, &label, &bytes)?;
        let source = KeySource::SecretService {
            label,
            store_id: store_id.to_owned(),
        };
        return Ok((key, source, None));
    }
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

/// The key of an existing sealed store, proven by its key check; `in_secret_service`:
/// the store recorded that its key is kept there (a named key file still wins: that is
/// how a copy of a lost item's key is used). A rotation that a crash interrupted after
/// its commit is finished here.
pub(crate) fn existing_key(
    options: &KeyOptions,
    store_id: &str,
    check: &[u8],
    dir: &Path,
    in_secret_service: bool,
) -> Result<(StoreKey, KeySource), StoreError> {
    let proves = |key: &StoreKey| key.open(&[store_id], check).is_some();
    if in_secret_service && options.key_file.is_none() {
        let bus = options.secret_service_bus.as_deref();
        let keys = secret_service::load(bus, store_id)?;
        if let Some((bytes, label)) = keys.next {
            let key = StoreKey::from_bytes(&bytes);
            if proves(&key) {
                secret_service::save(bus, store_id, Slot::Current, &label, &bytes)?;
                secret_service::delete(bus, store_id, Slot::Next)?;
                let source = KeySource::SecretService {
                    label,
                    store_id: store_id.to_owned(),
                };
                return Ok((key, source));
            }
        }
        let Some((bytes, label)) = keys.current else {
            return Err(SecretServiceError::ItemMissing {
                store: dir.display().to_string(),
                store_id: store_id.to_owned(),
            }
            .into());
        };
        let key = StoreKey::from_bytes(&bytes);
        if !proves(&key) {
            return Err(StoreError::KeyWrong {
                key: PathBuf::from(secret_service::label(&dir.display().to_string())),
                store: dir.to_owned(),
            });
        }
        let source = KeySource::SecretService {
            label,
            store_id: store_id.to_owned(),
        };
        return Ok((key, source));
    }
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

/// Whether a rotation of a store whose key is now at `current` puts the new key in
/// the Secret Service: when `ATRS_STORE_KEY` asks for it, or when it is there now and
/// nothing asks for a file.
pub(crate) fn rotation_to_secret_service(
    options: &KeyOptions,
    current: &KeySource,
) -> Result<bool, StoreError> {
    match (&options.key_store, &options.key_file) {
        (KeyStore::SecretService | KeyStore::Unknown(_), _) => {
            new_store_uses_secret_service(options, false)
        }
        (KeyStore::File, _) | (_, Some(_)) => Ok(false),
        (KeyStore::Auto, None) => Ok(matches!(current, KeySource::SecretService { .. })),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn options(key_store: KeyStore, key_file: Option<&str>) -> KeyOptions {
        KeyOptions {
            key_file: key_file.map(PathBuf::from),
            key_store,
            // A bus that is not there: no probe here may find a real one.
            secret_service_bus: Some("unix:path=/nonexistent/atrs-test-bus".into()),
            ..KeyOptions::default()
        }
    }

    fn refused(options: &KeyOptions, shared: bool, words: &str) {
        match new_store_uses_secret_service(options, shared) {
            Err(e @ StoreError::KeySetting { .. }) => {
                assert!(e.to_string().contains(words), "{e}");
                assert!(!e.hint().is_empty());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn where_a_new_store_keeps_its_key_follows_the_documented_order() {
        let named = Some("/etc/atrs/store.key");
        assert!(
            new_store_uses_secret_service(&options(KeyStore::SecretService, None), false).unwrap()
        );
        for (key_store, key_file, shared) in [
            (KeyStore::File, None, false),
            (KeyStore::Auto, named, false),
            (KeyStore::File, named, true),
            // A shared (PostgreSQL) store takes a file without asking the bus.
            (KeyStore::Auto, None, true),
            // No bus reachable: the host's key file.
            (KeyStore::Auto, None, false),
        ] {
            assert!(
                !new_store_uses_secret_service(&options(key_store.clone(), key_file), shared)
                    .unwrap(),
                "{key_store:?} {key_file:?} {shared}"
            );
        }
        refused(
            &options(KeyStore::parse("vault"), None),
            false,
            "ATRS_STORE_KEY=vault",
        );
        refused(
            &options(KeyStore::SecretService, named),
            false,
            "ATRS_STORE_KEY_FILE",
        );
        refused(
            &options(KeyStore::SecretService, None),
            true,
            "several servers share",
        );
        assert_eq!(KeyStore::parse("keyring"), KeyStore::SecretService);
        assert_eq!(KeyStore::parse(" Secret-Service "), KeyStore::SecretService);
        assert_eq!(KeyStore::parse(""), KeyStore::Auto);
        assert_eq!(KeyStore::parse("FILE"), KeyStore::File);
    }

    #[test]
    fn a_rotation_moves_the_key_only_where_the_settings_say() {
        let in_ss = KeySource::SecretService {
            label: "l".into(),
            store_id: "s".into(),
        };
        let in_file = KeySource::HostFile { path: "/k".into() };
        let moves = |o: &KeyOptions, from: &KeySource| rotation_to_secret_service(o, from).unwrap();
        assert!(moves(&options(KeyStore::Auto, None), &in_ss));
        assert!(!moves(&options(KeyStore::Auto, None), &in_file));
        assert!(moves(&options(KeyStore::SecretService, None), &in_file));
        assert!(!moves(&options(KeyStore::File, None), &in_ss));
        assert!(!moves(&options(KeyStore::Auto, Some("/k")), &in_ss));
    }
}
