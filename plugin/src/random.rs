//! Random values from the operating system's generator, through *ring* (already the
//! plugin's crypto): `client-request-id`s, sign-in states, nonces and PKCE verifiers.
//!
//! One source instead of `rand`'s thread generator as well keeps `rand`'s code out of the
//! library. A leaf: imports nothing of the plugin's own.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use ring::rand::{SecureRandom, SystemRandom};

/// `N` random bytes.
///
/// # Panics
///
/// When the operating system gives no random bytes (`getrandom` fails), as `rand`'s
/// thread generator did: nothing random can be made without them, and the SDK turns the
/// panic into an error at the plugin's boundary.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    SystemRandom::new()
        .fill(&mut b)
        .expect("the operating system's random number generator answers");
    b
}

/// `N` random bytes, base64url-encoded without padding (`oauth2`'s form for states,
/// nonces and PKCE verifiers: 43 characters for 32 bytes).
pub fn url_safe<const N: usize>() -> String {
    URL_SAFE_NO_PAD.encode(bytes::<N>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_bytes_and_url_safe_text_of_the_length_asked() {
        assert_ne!(bytes::<32>(), bytes::<32>());
        let s = url_safe::<32>();
        assert_eq!(s.len(), 43);
        assert!(s
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_ne!(s, url_safe::<32>());
        assert_eq!(URL_SAFE_NO_PAD.decode(&s).unwrap().len(), 32);
    }
}
