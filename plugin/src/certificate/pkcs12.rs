//! PKCS#12 files (`.pfx`, `.p12`; RFC 7292) as Windows and OpenSSL export them: the MAC
//! checked with the password, then the certificate and private-key bags decrypted —
//! PBES2 with AES (OpenSSL 3's and Windows' current default) and the legacy
//! `pbeWithSHAAnd3-KeyTripleDES-CBC` / `pbeWithSHAAnd40BitRC2-CBC` (older exports and
//! `openssl pkcs12 -legacy`) alike. The password and the decrypted keys are wiped from
//! memory once read.
//!
//! Only what a certificate credential needs is read: `certBag`s of X.509 certificates
//! and the private keys of `keyBag`s and `pkcs8ShroudedKeyBag`s, in plain or
//! password-encrypted contents; anything else a file holds (CRLs, secrets, attributes)
//! is passed over. A file sealed to a public key rather than a password
//! (`envelopedData`) is named as not supported.

mod encryption;
mod kdf;
mod oid;
mod reader;

use ring::{digest, hmac};
use zeroize::Zeroizing;

use super::CertificateError;
use crate::secret::Secret;
use encryption::Password;
use reader::{Der, EXPLICIT_0, IMPLICIT_0};

/// What a PKCS#12 file holds: its certificates (DER) and private keys (PKCS#8 DER).
pub struct Contents {
    /// Every certificate bag, in file order.
    pub certificates: Vec<Vec<u8>>,
    /// Every private key bag, in file order.
    pub keys: Vec<Zeroizing<Vec<u8>>>,
}

/// Why a file did not open, before it is said to a person.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    /// Not the DER of a PKCS#12 file.
    Malformed,
    /// The MAC does not match, or (in a file without a MAC) what was decrypted is not
    /// padded data or not bags: the password is not the file's.
    Password,
    /// An algorithm this reader lacks, by name.
    Unsupported(String),
    /// More iterations than a file should ask for.
    TooCostly,
}

/// How deep `safeContentsBag`s may nest.
const MAX_NESTING: usize = 4;

/// Opens the PKCS#12 `bytes` with `password` (none: the empty password, as an export
/// without one uses).
pub fn open(bytes: &[u8], password: Option<&Secret>) -> Result<Contents, CertificateError> {
    let typed = password.map_or("", Secret::expose);
    read(bytes, typed).map_err(|refusal| match refusal {
        Refusal::Password if typed.is_empty() => CertificateError::PasswordNeeded,
        Refusal::Password => CertificateError::WrongPassword,
        Refusal::Unsupported(what) => CertificateError::UnsupportedPkcs12(what),
        Refusal::TooCostly => {
            CertificateError::UnsupportedPkcs12("parameters beyond what is accepted".to_owned())
        }
        Refusal::Malformed => CertificateError::NeitherPemNorPkcs12,
    })
}

fn read(bytes: &[u8], typed: &str) -> Result<Contents, Refusal> {
    let mut file = Der::new(bytes);
    let mut pfx = Der::new(file.sequence()?);
    if !file.is_empty() || pfx.integer()? != 3 {
        return Err(Refusal::Malformed);
    }
    let mut auth_safe = Der::new(pfx.sequence()?);
    match auth_safe.oid()? {
        oid::DATA => {}
        // Sealed with a public key (`signedData` makes the same demand on the signer's
        // certificate): not what a password opens.
        other => {
            return Err(Refusal::Unsupported(format!(
                "integrity mode {}",
                oid::name(other)
            )))
        }
    }
    let safes = Der::new(auth_safe.expect(EXPLICIT_0)?).octets_any()?;
    // An export without a password uses the empty one, which writers encode either as
    // two zero bytes or as nothing at all: the MAC says which.
    let bmp = kdf::bmp_password(typed);
    let mut candidates = vec![bmp];
    if typed.is_empty() {
        candidates.push(Zeroizing::new(Vec::new()));
    }
    let bmp = if pfx.is_empty() {
        candidates.swap_remove(0)
    } else {
        let mac = pfx.sequence()?;
        let found =
            candidates
                .into_iter()
                .find_map(|candidate| match check_mac(mac, &safes, &candidate) {
                    Ok(()) => Some(Ok(candidate)),
                    Err(Refusal::Password) => None,
                    Err(other) => Some(Err(other)),
                });
        found.ok_or(Refusal::Password)??
    };
    let password = Password {
        utf8: typed.as_bytes(),
        bmp: &bmp,
    };
    let mut contents = Contents {
        certificates: Vec::new(),
        keys: Vec::new(),
    };
    let mut infos = Der::new(Der::new(&safes).sequence()?);
    while !infos.is_empty() {
        let mut info = Der::new(infos.sequence()?);
        match info.oid()? {
            oid::DATA => {
                let safe = Der::new(info.expect(EXPLICIT_0)?).octets_any()?;
                read_bags(&safe, &password, &mut contents, 0)?;
            }
            oid::ENCRYPTED_DATA => {
                let safe = decrypt_content(info.expect(EXPLICIT_0)?, &password)?;
                // Padding that checks out by chance over a wrong key leaves bytes that
                // are no bags; without a MAC that is how a wrong password shows.
                read_bags(&safe, &password, &mut contents, 0).map_err(|e| match e {
                    Refusal::Malformed => Refusal::Password,
                    other => other,
                })?;
            }
            other => {
                return Err(Refusal::Unsupported(format!(
                    "contents {}",
                    oid::name(other)
                )))
            }
        }
    }
    Ok(contents)
}

/// Checks the file's MAC (`MacData`: `DigestInfo`, salt, iterations) over `safes`.
fn check_mac(mac_data: &[u8], safes: &[u8], bmp_password: &[u8]) -> Result<(), Refusal> {
    let mut fields = Der::new(mac_data);
    let mut digest_info = Der::new(fields.sequence()?);
    let mut algorithm = Der::new(digest_info.sequence()?);
    let (hash, hmac_algorithm) = match algorithm.oid()? {
        oid::SHA1 => (
            &digest::SHA1_FOR_LEGACY_USE_ONLY,
            hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        ),
        oid::SHA256 => (&digest::SHA256, hmac::HMAC_SHA256),
        oid::SHA384 => (&digest::SHA384, hmac::HMAC_SHA384),
        oid::SHA512 => (&digest::SHA512, hmac::HMAC_SHA512),
        other => return Err(Refusal::Unsupported(format!("MAC {}", oid::name(other)))),
    };
    let expected = digest_info.octets()?;
    let salt = fields.octets()?;
    let iterations = if fields.is_empty() {
        1
    } else {
        fields.integer()?
    };
    let iterations = encryption::iterations(iterations)?;
    let key = kdf::derive(
        hash,
        kdf::Purpose::Mac,
        bmp_password,
        salt,
        iterations.get(),
        hash.output_len(),
    );
    hmac::verify(&hmac::Key::new(hmac_algorithm, &key), safes, expected)
        .map_err(|_| Refusal::Password)
}

/// The plaintext of an `EncryptedData` (its version, then `EncryptedContentInfo`).
fn decrypt_content(
    encrypted_data: &[u8],
    password: &Password<'_>,
) -> Result<Zeroizing<Vec<u8>>, Refusal> {
    let mut fields = Der::new(Der::new(encrypted_data).sequence()?);
    fields.integer()?;
    let mut info = Der::new(fields.sequence()?);
    info.oid()?;
    let algorithm = info.sequence()?;
    let (tag, content, _) = info.element()?;
    let data = match tag {
        IMPLICIT_0 => content.to_vec(),
        // `[0] IMPLICIT` over a constructed OCTET STRING.
        0xA0 => reader::joined(content)?,
        _ => return Err(Refusal::Malformed),
    };
    encryption::decrypt(algorithm, &data, password)
}

/// Adds the certificates and keys of the `SafeContents` in `bytes` to `contents`.
fn read_bags(
    bytes: &[u8],
    password: &Password<'_>,
    contents: &mut Contents,
    depth: usize,
) -> Result<(), Refusal> {
    if depth > MAX_NESTING {
        return Err(Refusal::Malformed);
    }
    let mut bags = Der::new(Der::new(bytes).sequence()?);
    while !bags.is_empty() {
        let mut bag = Der::new(bags.sequence()?);
        let kind = bag.oid()?;
        let mut value = Der::new(bag.expect(EXPLICIT_0)?);
        match kind {
            oid::KEY_BAG => {
                let (_, _, key) = value.element()?;
                contents.keys.push(Zeroizing::new(key.to_vec()));
            }
            oid::SHROUDED_KEY_BAG => {
                let mut encrypted = Der::new(value.sequence()?);
                let algorithm = encrypted.sequence()?;
                let data = encrypted.octets()?;
                contents
                    .keys
                    .push(encryption::decrypt(algorithm, data, password)?);
            }
            oid::CERT_BAG => {
                let mut cert = Der::new(value.sequence()?);
                if cert.oid()? == oid::X509_CERTIFICATE {
                    let der = Der::new(cert.expect(EXPLICIT_0)?).octets_any()?;
                    contents.certificates.push(der.into_owned());
                }
            }
            oid::SAFE_CONTENTS_BAG => {
                let (_, _, nested) = value.element()?;
                read_bags(nested, password, contents, depth + 1)?;
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use atrs_mock_idp::defaults;

    fn opened(bytes: &[u8], password: &str) -> Result<Contents, Refusal> {
        read(bytes, password)
    }

    #[test]
    fn files_openssl_wrote_open_with_their_password_and_only_with_it() {
        for (name, bytes) in [
            (
                "OpenSSL 3 default (AES-256, HMAC-SHA256)",
                defaults::CERT_PFX_OPENSSL3,
            ),
            (
                "-legacy (RC2-40 certificates, 3DES key)",
                defaults::CERT_PFX_OPENSSL_LEGACY,
            ),
            ("3DES with an HMAC-SHA1 MAC", defaults::CERT_PFX_3DES_SHA1),
        ] {
            let contents = opened(bytes, defaults::CERT_PFX_PASSWORD)
                .unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!(contents.certificates.len(), 1, "{name}");
            assert_eq!(contents.keys.len(), 1, "{name}");
            assert!(
                ring::signature::RsaKeyPair::from_pkcs8(&contents.keys[0]).is_ok(),
                "{name}: the key is PKCS#8"
            );
            assert_eq!(
                opened(bytes, "wrong").err(),
                Some(Refusal::Password),
                "{name}"
            );
            assert_eq!(opened(bytes, "").err(), Some(Refusal::Password), "{name}");
        }
    }

    /// More files OpenSSL 3.0 wrote (`openssl pkcs12 -export -in certificate-app.cert.pem
    /// -inkey certificate-app.key.pem …`, the mock's fixtures), each with the options named.
    #[test]
    fn every_way_openssl_exports_opens() {
        let files: [(&str, &[u8], &str); 5] = [
            (
                "-passout pass: (the empty password)",
                include_bytes!("pkcs12/testdata/empty-password.pfx"),
                "",
            ),
            (
                "-nomac",
                include_bytes!("pkcs12/testdata/no-mac.pfx"),
                defaults::CERT_PFX_PASSWORD,
            ),
            (
                "-keypbe NONE -certpbe NONE (plain bags, a keyBag)",
                include_bytes!("pkcs12/testdata/unencrypted-bags.pfx"),
                defaults::CERT_PFX_PASSWORD,
            ),
            (
                "-keypbe AES-128-CBC -certpbe AES-192-CBC -macalg sha512 -iter 5000",
                include_bytes!("pkcs12/testdata/aes128-aes192-sha512.pfx"),
                defaults::CERT_PFX_PASSWORD,
            ),
            (
                "a password beyond ASCII and the BMP",
                include_bytes!("pkcs12/testdata/unicode-password.pfx"),
                "Pässwörd-𝄞",
            ),
        ];
        let expected = opened(defaults::CERT_PFX_OPENSSL3, defaults::CERT_PFX_PASSWORD).unwrap();
        for (name, bytes, password) in files {
            let contents = opened(bytes, password).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!(contents.certificates, expected.certificates, "{name}");
            assert_eq!(contents.keys, expected.keys, "{name}");
            assert_eq!(
                opened(bytes, "Wrong-Pa55").err(),
                Some(Refusal::Password),
                "{name}"
            );
        }
    }

    #[test]
    fn a_file_asking_for_over_a_million_rounds_is_refused_before_it_stalls() {
        // `-legacy -iter 1200000`: the MAC's 2,048 rounds check out, the bags' do not.
        let bytes = include_bytes!("pkcs12/testdata/too-many-iterations.pfx");
        assert_eq!(
            opened(bytes, defaults::CERT_PFX_PASSWORD).err(),
            Some(Refusal::TooCostly)
        );
        let refusal = open(bytes, Some(&Secret::new(defaults::CERT_PFX_PASSWORD)))
            .err()
            .unwrap();
        assert!(matches!(refusal, CertificateError::UnsupportedPkcs12(_)));
    }

    #[test]
    fn a_wrong_password_or_none_is_told_apart_from_a_file_that_is_not_pkcs12() {
        let pfx = defaults::CERT_PFX_OPENSSL3;
        let refusal =
            |password: Option<&str>| open(pfx, password.map(Secret::new).as_ref()).err().unwrap();
        assert_eq!(refusal(Some("nope")), CertificateError::WrongPassword);
        assert_eq!(refusal(None), CertificateError::PasswordNeeded);
        assert_eq!(refusal(Some("")), CertificateError::PasswordNeeded);
        assert!(matches!(
            open(b"PK\x03\x04 a zip", None).err().unwrap(),
            CertificateError::NeitherPemNorPkcs12
        ));
    }

    #[test]
    fn cut_short_or_foreign_bytes_are_malformed_never_a_panic() {
        let whole = defaults::CERT_PFX_OPENSSL3;
        for end in (0..whole.len()).step_by(7) {
            let result = opened(&whole[..end], defaults::CERT_PFX_PASSWORD);
            assert!(result.is_err(), "cut at {end}");
        }
        let mut flipped = whole.to_vec();
        for i in (0..flipped.len()).step_by(13) {
            flipped[i] ^= 0x5a;
            let _ = opened(&flipped, defaults::CERT_PFX_PASSWORD);
            flipped[i] ^= 0x5a;
        }
        assert_eq!(opened(b"", "x").err(), Some(Refusal::Malformed));
        assert_eq!(
            opened(&[0x30, 0x03, 0x02, 0x01, 0x07], "x").err(),
            Some(Refusal::Malformed),
            "version 7"
        );
    }
}
