//! The TLS cipher suites the plugin offers: rustls's *ring* suites with AES-GCM, without
//! ChaCha20-Poly1305.
//!
//! Every TLS 1.3 server must support `TLS_AES_128_GCM_SHA256` (RFC 8446 §9.1) and every
//! TLS 1.2 server the plugin meets (Microsoft's, a corporate proxy) offers ECDHE with
//! AES-GCM, so ChaCha20 — useful only on processors without AES instructions — is left
//! out: its code is about 50 KB of the plugin library. Key exchange groups, signature
//! algorithms, randomness and key loading are those of rustls's *ring* provider.
//!
//! The provider is put together here rather than edited from
//! `rustls::crypto::ring::default_provider()`, whose list of every suite would keep
//! ChaCha20's code in the library. reqwest takes the process's default provider (its
//! `-no-provider` feature), so [`install`] runs before every client is built.

use std::sync::Arc;

use rustls::{
    crypto::{
        ring::{cipher_suite as suite, kx_group, sign},
        CryptoProvider, GetRandomFailed, KeyProvider, SecureRandom, WebPkiSupportedAlgorithms,
    },
    pki_types::PrivateKeyDer,
    sign::SigningKey,
    SignatureScheme,
};
use webpki::ring as alg;

/// The suites offered, in rustls's order of preference.
const CIPHER_SUITES: [rustls::SupportedCipherSuite; 6] = [
    suite::TLS13_AES_256_GCM_SHA384,
    suite::TLS13_AES_128_GCM_SHA256,
    suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
];

/// The signature algorithms rustls's *ring* provider accepts, for the same schemes.
static SIGNATURE_ALGORITHMS: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: &[
        alg::ECDSA_P256_SHA256,
        alg::ECDSA_P256_SHA384,
        alg::ECDSA_P384_SHA256,
        alg::ECDSA_P384_SHA384,
        alg::ED25519,
        alg::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
        alg::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
        alg::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
        alg::RSA_PKCS1_2048_8192_SHA256,
        alg::RSA_PKCS1_2048_8192_SHA384,
        alg::RSA_PKCS1_2048_8192_SHA512,
        alg::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
        alg::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
        alg::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
    ],
    mapping: &[
        // In TLS 1.2 an ECDSA scheme does not fix the curve; in TLS 1.3 it does.
        (
            SignatureScheme::ECDSA_NISTP384_SHA384,
            &[alg::ECDSA_P384_SHA384, alg::ECDSA_P256_SHA384],
        ),
        (
            SignatureScheme::ECDSA_NISTP256_SHA256,
            &[alg::ECDSA_P256_SHA256, alg::ECDSA_P384_SHA256],
        ),
        (SignatureScheme::ED25519, &[alg::ED25519]),
        (
            SignatureScheme::RSA_PSS_SHA512,
            &[alg::RSA_PSS_2048_8192_SHA512_LEGACY_KEY],
        ),
        (
            SignatureScheme::RSA_PSS_SHA384,
            &[alg::RSA_PSS_2048_8192_SHA384_LEGACY_KEY],
        ),
        (
            SignatureScheme::RSA_PSS_SHA256,
            &[alg::RSA_PSS_2048_8192_SHA256_LEGACY_KEY],
        ),
        (
            SignatureScheme::RSA_PKCS1_SHA512,
            &[alg::RSA_PKCS1_2048_8192_SHA512],
        ),
        (
            SignatureScheme::RSA_PKCS1_SHA384,
            &[alg::RSA_PKCS1_2048_8192_SHA384],
        ),
        (
            SignatureScheme::RSA_PKCS1_SHA256,
            &[alg::RSA_PKCS1_2048_8192_SHA256],
        ),
    ],
};

/// Randomness and private keys from *ring*, as rustls's own provider has them.
#[derive(Debug)]
struct Ring;

impl SecureRandom for Ring {
    fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
        use ring::rand::SecureRandom as _;
        ring::rand::SystemRandom::new()
            .fill(buf)
            .map_err(|_| GetRandomFailed)
    }
}

impl KeyProvider for Ring {
    fn load_private_key(
        &self,
        key_der: PrivateKeyDer<'static>,
    ) -> Result<Arc<dyn SigningKey>, rustls::Error> {
        sign::any_supported_type(&key_der)
    }
}

/// rustls's *ring* provider with [`CIPHER_SUITES`].
pub fn provider() -> CryptoProvider {
    CryptoProvider {
        cipher_suites: CIPHER_SUITES.to_vec(),
        kx_groups: vec![kx_group::X25519, kx_group::SECP256R1, kx_group::SECP384R1],
        signature_verification_algorithms: SIGNATURE_ALGORITHMS,
        secure_random: &Ring,
        key_provider: &Ring,
    }
}

/// Makes [`provider`] the process's default unless one is already set (by an earlier
/// call, or by the program the plugin runs in when it shares the plugin's rustls, as an
/// in-process test does); returns the default in force.
pub fn install() -> Arc<CryptoProvider> {
    if let Some(installed) = CryptoProvider::get_default() {
        return installed.clone();
    }
    // Losing a race to another thread installing one is fine: that one is in force.
    let _ = provider().install_default();
    CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(provider()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(p: &CryptoProvider) -> Vec<String> {
        p.cipher_suites
            .iter()
            .map(|s| format!("{:?}", s.suite()))
            .collect()
    }

    #[test]
    fn aes_gcm_suites_for_tls_1_3_and_1_2_without_chacha20() {
        let ours = names(&provider());
        assert!(
            ours.iter()
                .all(|n| n.contains("_AES_") && n.ends_with("GCM_SHA256")
                    || n.ends_with("GCM_SHA384")),
            "{ours:?}"
        );
        assert!(
            ours.iter().any(|n| n == "TLS13_AES_128_GCM_SHA256"),
            "{ours:?}"
        );
        assert!(
            ours.iter()
                .any(|n| n == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
            "{ours:?}"
        );
        // rustls's list, in its order, less ChaCha20.
        let theirs: Vec<String> = names(&rustls::crypto::ring::default_provider())
            .into_iter()
            .filter(|n| !n.contains("CHACHA20"))
            .collect();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn everything_but_the_suites_is_rustls_s_ring_provider() {
        let ours = provider();
        let theirs = rustls::crypto::ring::default_provider();
        let groups =
            |p: &CryptoProvider| -> Vec<_> { p.kx_groups.iter().map(|g| g.name()).collect() };
        assert_eq!(groups(&ours), groups(&theirs));
        let algs = &ours.signature_verification_algorithms;
        let rustls_algs = &theirs.signature_verification_algorithms;
        assert_eq!(format!("{algs:?}"), format!("{rustls_algs:?}"));
        assert_eq!(algs.all.len(), rustls_algs.all.len());
        for ((scheme, ours), (their_scheme, theirs)) in algs.mapping.iter().zip(rustls_algs.mapping)
        {
            assert_eq!(scheme, their_scheme);
            assert_eq!(format!("{ours:?}"), format!("{theirs:?}"));
        }
        assert_eq!(ours.fips(), theirs.fips());
        let mut random = [0u8; 32];
        ours.secure_random.fill(&mut random).unwrap();
        assert_ne!(random, [0u8; 32]);
    }

    #[test]
    fn install_leaves_a_default_in_force() {
        let installed = install();
        assert!(CryptoProvider::get_default().is_some());
        assert!(Arc::ptr_eq(&installed, &install()));
    }
}
