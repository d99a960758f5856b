//! Secrets sealed at rest: XChaCha20-Poly1305 under the store key, with the plugin,
//! account and secret name as associated data, so a sealed value copied to another
//! account (or renamed) does not open.

use chacha20poly1305::{
    aead::{Aead, KeyInit, Payload},
    XChaCha20Poly1305, XNonce,
};
use rand::RngCore;
use zeroize::Zeroizing;

/// Bytes of a store key.
pub(crate) const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;
/// The first byte of a sealed value: its format.
const FORMAT: u8 = 1;

/// The store key, ready to seal and open. Its bytes are wiped from memory when it is
/// dropped (the cipher zeroizes its copy; the raw bytes only ever live in `Zeroizing`).
pub(crate) struct StoreKey {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKey(..)")
    }
}

impl StoreKey {
    /// A new random key, and its bytes (to be written to a key file).
    pub(crate) fn generate() -> (StoreKey, Zeroizing<[u8; KEY_LEN]>) {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        rand::rngs::OsRng.fill_bytes(bytes.as_mut());
        (StoreKey::from_bytes(&bytes), bytes)
    }

    /// The key with these bytes.
    pub(crate) fn from_bytes(bytes: &[u8; KEY_LEN]) -> StoreKey {
        StoreKey {
            cipher: XChaCha20Poly1305::new(bytes.into()),
        }
    }

    /// `value` sealed for `context`: format byte, random nonce, ciphertext and tag.
    pub(crate) fn seal(&self, context: &[&str], value: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let aad = associated_data(context);
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: value,
                    aad: &aad,
                },
            )
            .expect("sealing a value in memory does not fail");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(FORMAT);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// The value sealed for `context`, or `None` when it does not open (another key,
    /// another context, or damaged).
    pub(crate) fn open(&self, context: &[&str], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let rest = sealed.strip_prefix(&[FORMAT])?;
        if rest.len() < NONCE_LEN {
            return None;
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let aad = associated_data(context);
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: &aad,
                },
            )
            .ok()
            .map(Zeroizing::new)
    }
}

/// The parts of a context, each length-prefixed so no two contexts share bytes.
fn associated_data(context: &[&str]) -> Vec<u8> {
    let mut out = b"atrs-store/1".to_vec();
    for part in context {
        out.extend_from_slice(&(part.len() as u64).to_be_bytes());
        out.extend_from_slice(part.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_its_context() {
        let (key, _) = StoreKey::generate();
        let sealed = key.seal(&["p", "Sales", "refresh_token"], b"rt-1");
        assert!(!sealed.windows(4).any(|w| w == b"rt-1"), "not in clear");
        assert_eq!(
            key.open(&["p", "Sales", "refresh_token"], &sealed)
                .as_deref()
                .map(Vec::as_slice),
            Some(&b"rt-1"[..])
        );
        assert!(key
            .open(&["p", "Reports", "refresh_token"], &sealed)
            .is_none());
        assert!(key
            .open(&["p", "Sales", "client_secret"], &sealed)
            .is_none());
        // Length-prefixed parts: moving a byte between parts changes the context.
        assert!(key
            .open(&["pS", "ales", "refresh_token"], &sealed)
            .is_none());
        let (other, _) = StoreKey::generate();
        assert!(other
            .open(&["p", "Sales", "refresh_token"], &sealed)
            .is_none());
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(key
            .open(&["p", "Sales", "refresh_token"], &flipped)
            .is_none());
        assert!(key
            .open(&["p", "Sales", "refresh_token"], &sealed[..10])
            .is_none());
    }

    #[test]
    fn two_seals_of_one_value_differ_and_the_key_is_not_in_debug() {
        let (key, bytes) = StoreKey::generate();
        assert_ne!(key.seal(&["a"], b"v"), key.seal(&["a"], b"v"));
        let again = StoreKey::from_bytes(&bytes);
        assert!(again.open(&["a"], &key.seal(&["a"], b"v")).is_some());
        assert_eq!(format!("{key:?}"), "StoreKey(..)");
    }
}
