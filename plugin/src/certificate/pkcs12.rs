//! PKCS#12 files (`.pfx`, `.p12`; RFC 7292) as Windows and OpenSSL export them: the MAC
//! checked with the password, then the certificate and private-key bags decrypted —
//! PBES2 with AES (OpenSSL 3's and Windows' current default) and the legacy
//! `pbeWithSHAAnd3-KeyTripleDES-CBC` / `pbeWithSHAAnd40BitRC2-CBC` (older exports and
//! `openssl pkcs12 -legacy`) alike. The password and the decrypted keys are wiped from
//! memory once read.

use p12_keystore::{error::Error, Pkcs12Archive};
use zeroize::Zeroizing;

use super::CertificateError;
use crate::secret::Secret;

/// What a PKCS#12 file holds: its certificates (DER) and private keys (PKCS#8 DER).
pub struct Contents {
    /// Every certificate bag, in file order.
    pub certificates: Vec<Vec<u8>>,
    /// Every private key bag, in file order.
    pub keys: Vec<Zeroizing<Vec<u8>>>,
}

/// Opens the PKCS#12 `bytes` with `password` (none: the empty password, as an export
/// without one uses).
pub fn open(bytes: &[u8], password: Option<&Secret>) -> Result<Contents, CertificateError> {
    let given = password.is_some_and(|p| !p.expose().is_empty());
    let archive = Pkcs12Archive::from_pkcs12(bytes, password.map_or("", Secret::expose))
        .map_err(|e| refusal(&e, given))?;
    Ok(Contents {
        certificates: archive
            .certs
            .iter()
            .map(|bag| bag.cert.as_der().to_vec())
            .collect(),
        keys: archive
            .keys
            .iter()
            .map(|bag| Zeroizing::new(bag.key.as_der().to_vec()))
            .collect(),
    })
}

/// What a decoding failure means to the person who chose the file. A MAC that does not
/// match (or, in a file without a MAC, a bag that does not decrypt to padded data) is the
/// password; an algorithm the decoder lacks is named as such; anything else means the
/// bytes are no PKCS#12 at all.
fn refusal(e: &Error, password_given: bool) -> CertificateError {
    match e {
        Error::MacError(_) | Error::UnpadError if password_given => CertificateError::WrongPassword,
        Error::MacError(_) | Error::UnpadError => CertificateError::PasswordNeeded,
        Error::UnsupportedEncryptionScheme | Error::UnsupportedMacAlgorithm => {
            CertificateError::UnsupportedPkcs12(e.to_string())
        }
        // Iteration counts over a million (a file made to stall its reader) or parameters
        // the algorithm does not take.
        Error::InvalidParameters => {
            CertificateError::UnsupportedPkcs12("parameters beyond what is accepted".to_owned())
        }
        // The PBES2 parameters' own errors (an unknown cipher or PRF) carry only the
        // algorithm's name; never the password or the key.
        Error::Pkcs5Error(reason) => CertificateError::UnsupportedPkcs12(reason.clone()),
        _ => CertificateError::NeitherPemNorPkcs12,
    }
}
