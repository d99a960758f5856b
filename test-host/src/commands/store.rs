//! `atrs-test-host store rotate-key`: seals every saved secret again under a new
//! random store key, in one transaction, and puts the new key where the store finds
//! it (the file `ATRS_STORE_KEY_FILE` names, the Secret Service when
//! `ATRS_STORE_KEY=secret-service` asks for it or the key is there now, else a host key
//! file of this store's own).
//! Works on a store folder (SQLite) and on a `postgres://` store.

use serde_json::json;

use crate::{
    context::Context,
    error::CommandError,
    store::{postgres, AccountStore, KeyOptions, PostgresStore, SqliteStore},
};

/// Rotates the store key of the store of `ctx`.
pub fn rotate_key(ctx: &Context) -> Result<(), CommandError> {
    // Sealing a plain-text store is what this is for, so plain text is no reason to
    // refuse it (the hint for a refused plain-text store names this command).
    let options = KeyOptions {
        plaintext: true,
        ..KeyOptions::from_env()
    };
    // The check (and the notes of a first open) first, as every command does.
    drop(ctx.store_with(&options)?);
    let location = ctx.store_dir.to_string_lossy();
    let (rotation, shown) = if postgres::is_url(&location) {
        let store = PostgresStore::open(&location, &options)?;
        (store.rotate_key()?, store.info().location)
    } else {
        let store = SqliteStore::open(&ctx.store_dir, &options)?;
        (store.rotate_key()?, store.path().display().to_string())
    };
    let out = ctx.output;
    out.say(format!(
        "Sealed {} secret(s) of {shown} under a new key: {}. The old key no longer opens them; keep a copy of the new one apart from the store.",
        rotation.secrets,
        rotation.key_source
    ));
    out.result(
        "store-rotate-key",
        json!({"store": shown, "secrets": rotation.secrets, "key_source": rotation.key_source}),
    );
    Ok(())
}
