//! `atrs-test-host store rotate-key`: seals every saved secret again under a new
//! random store key, in one transaction, and puts the new key where the store finds
//! it (the file `ATRS_STORE_KEY_FILE` names, else a host key file of this store's own).

use serde_json::json;

use crate::{
    context::Context,
    error::CommandError,
    store::{KeyOptions, SqliteStore},
};

/// Rotates the store key of the store of `ctx`.
pub fn rotate_key(ctx: &Context) -> Result<(), CommandError> {
    // The check (and the notes of a first open) first, as every command does.
    drop(ctx.store()?);
    if crate::store::postgres::is_url(&ctx.store_dir.to_string_lossy()) {
        return Err(CommandError::usage(
            "store rotate-key works on a store folder (SQLite); this version cannot rotate a PostgreSQL store's key yet.",
        )
        .with_hint("Rotate it from a copy in a folder, or keep the key file as it is."));
    }
    let store = SqliteStore::open(&ctx.store_dir, &KeyOptions::from_env())?;
    let rotation = store.rotate_key()?;
    let out = ctx.output;
    out.say(format!(
        "Sealed {} secret(s) of {} under a new key: {}. The old key no longer opens them; keep a copy of the new one apart from the store.",
        rotation.secrets,
        store.path().display(),
        rotation.key_source
    ));
    out.result(
        "store-rotate-key",
        json!({"store": store.path(), "secrets": rotation.secrets, "key_source": rotation.key_source}),
    );
    Ok(())
}
