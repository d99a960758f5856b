//! For plugin vendors: `atrs-test-host keygen --out FILE` makes a signing key pair, and
//! `atrs-test-host sign --key FILE LIB` writes LIB's detached signature beside it
//! (`LIB.minisig`), which hosts with the vendor's public key (`--trusted-keys`) check
//! before they open the library ([`atrs_host_sdk::signing`]).

use std::path::Path;

use atrs_host_sdk::signing::{signature_path, SecretKey, SigningError};
use serde_json::json;

use crate::{context::Context, error::CommandError, exit::Exit};

/// Makes a key pair: the secret key to `out` (owner-only, a new file), the public key to
/// `out.pub`.
pub fn keygen(ctx: &Context, out: &Path) -> Result<(), CommandError> {
    let key = SecretKey::generate().map_err(failed)?;
    let public = key.write_new(out).map_err(|e| match e {
        SigningError::Io { source, .. } if source.kind() == std::io::ErrorKind::AlreadyExists => {
            CommandError::usage(format!("{} exists already; a key is never overwritten.", out.display()))
                .with_hint("Give another file name with --out, or remove the old key first if you are sure nothing is signed with it any more.")
        }
        other => failed(other),
    })?;
    let id = key.public_key().id().to_string();
    ctx.output.say(format!(
        "Secret key {id} written to {} (keep it private); public key to {} (give it to hosts, for --trusted-keys).",
        out.display(),
        public.display()
    ));
    ctx.output.result(
        "keygen",
        json!({"key_id": id, "secret_key": out, "public_key": public}),
    );
    Ok(())
}

/// Signs `library` with the secret key in `key`.
pub fn sign(ctx: &Context, key: &Path, library: &Path) -> Result<(), CommandError> {
    let key = SecretKey::read(key).map_err(|e| {
        CommandError::usage(format!("The signing key could not be read: {e}."))
            .with_hint("Give the secret key file `atrs-test-host keygen --out FILE` wrote.")
    })?;
    let bytes = std::fs::read(library).map_err(|e| {
        CommandError::usage(format!("{} could not be read: {e}.", library.display()))
            .with_hint("Give the path of the plugin library to sign.")
    })?;
    let name = library
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let signature = signature_path(library);
    std::fs::write(&signature, key.sign(&bytes, &name)).map_err(|e| {
        CommandError::new(
            Exit::Failure,
            format!("{} could not be written: {e}.", signature.display()),
        )
        .with_hint("Check that this program may write beside the library.")
    })?;
    let id = key.public_key().id().to_string();
    ctx.output.say(format!(
        "Signed {} with key {id}: {}",
        library.display(),
        signature.display()
    ));
    ctx.output.result(
        "sign",
        json!({"library": library, "signature": signature, "key_id": id}),
    );
    Ok(())
}

fn failed(e: SigningError) -> CommandError {
    CommandError::new(Exit::Failure, format!("The key could not be made: {e}."))
        .with_hint("Check that this program may write to that folder, then try again.")
}
