//! PKCS#12 files (`.pfx`, `.p12`) of a certificate and its key, as Windows and OpenSSL
//! export them, for tests of certificate credentials given in that form: made here in Rust,
//! so no `openssl` is needed. The mock itself checks client assertions by the certificate,
//! whatever file it came from.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use p12_keystore::{
    Certificate, EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, PrivateKey,
    PrivateKeyChain,
};

/// How the bags are encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encryption {
    /// PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC, MAC HMAC-SHA256: OpenSSL 3's default
    /// and Windows' "AES256-SHA256".
    Aes256,
    /// `pbeWithSHAAnd3-KeyTripleDES-CBC`, MAC HMAC-SHA1: what `openssl pkcs12 -legacy` and
    /// Windows' "TripleDES-SHA1" write.
    Legacy3Des,
}

/// The DER of the first `label` block of `pem`.
fn pem_block(pem: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let body = pem.split(&begin).nth(1)?.split(&end).next()?;
    let joined: String = body.split_whitespace().collect();
    STANDARD.decode(joined).ok()
}

/// A PKCS#12 file of the certificate `cert_pem` with the PKCS#8 key `key_pem` (or without a
/// key when `None`), protected by `password`.
///
/// # Panics
/// When the PEM holds no certificate (or key) block, or the writer fails: test data only.
pub fn export(
    cert_pem: &str,
    key_pem: Option<&str>,
    password: &str,
    encryption: Encryption,
) -> Vec<u8> {
    let cert_der = pem_block(cert_pem, "CERTIFICATE").expect("a CERTIFICATE block");
    let cert = Certificate::from_der(&cert_der).expect("an X.509 certificate");
    let mut store = KeyStore::new();
    match key_pem {
        Some(key_pem) => {
            let key_der = pem_block(key_pem, "PRIVATE KEY").expect("a PKCS#8 PRIVATE KEY block");
            let key = PrivateKey::from_der(&key_der).expect("a PKCS#8 key");
            let chain = PrivateKeyChain::new(b"atrs-test".as_slice(), key, [cert]);
            store.add_entry("atrs", KeyStoreEntry::PrivateKeyChain(chain));
        }
        None => store.add_entry("atrs", KeyStoreEntry::Certificate(cert)),
    }
    let (algorithm, mac) = match encryption {
        Encryption::Aes256 => (
            EncryptionAlgorithm::PbeWithHmacSha256AndAes256,
            MacAlgorithm::HmacSha256,
        ),
        Encryption::Legacy3Des => (
            EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc,
            MacAlgorithm::HmacSha1,
        ),
    };
    store
        .writer(password)
        .encryption_algorithm(algorithm)
        .mac_algorithm(mac)
        .encryption_iterations(2048)
        .mac_iterations(2048)
        .write()
        .expect("the PKCS#12 writer")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defaults;

    #[test]
    fn both_encryptions_read_back_with_the_password_only() {
        for encryption in [Encryption::Aes256, Encryption::Legacy3Des] {
            let file = export(
                defaults::CERT_PEM,
                Some(defaults::CERT_KEY_PEM),
                "pw",
                encryption,
            );
            let store =
                KeyStore::from_pkcs12(&file, "pw", Default::default()).expect("opens with pw");
            assert!(store.private_key_chain().is_some(), "{encryption:?}");
            assert!(KeyStore::from_pkcs12(&file, "other", Default::default()).is_err());
        }
    }
}
