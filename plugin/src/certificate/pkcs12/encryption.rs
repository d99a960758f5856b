//! Decrypting what a PKCS#12 file encrypts under its password: PBES2 (RFC 8018 §6.2:
//! PBKDF2 and AES-CBC or 3DES-CBC), and the legacy `pbeWithSHAAnd…` schemes (RFC 7292
//! Appendix C: 3DES and RC2 with keys from the PKCS#12 derivation).

use std::num::NonZeroU32;

use cbc::cipher::{
    block_padding::Pkcs7, BlockCipherDecrypt, BlockModeDecrypt, InnerIvInit, KeyInit,
};
use ring::{digest, pbkdf2};
use zeroize::Zeroizing;

use super::kdf::{self, Purpose};
use super::oid;
use super::reader::{Der, Malformed};
use super::Refusal;

/// The most rounds a file may ask for. Windows and OpenSSL write 2,000 to 600,000;
/// more is a file made to stall whoever opens it.
pub const MAX_ITERATIONS: u32 = 1_000_000;

/// The password in both encodings a file may need.
pub struct Password<'a> {
    /// As typed, UTF-8: what PBES2 takes.
    pub utf8: &'a [u8],
    /// As the PKCS#12 derivation takes it (see [`kdf::bmp_password`]).
    pub bmp: &'a [u8],
}

/// The block ciphers a file may use, keyed.
enum Cipher {
    Aes128,
    Aes192,
    Aes256,
    TripleDes,
    TwoKeyTripleDes,
    /// RC2 with this many key bytes (5: "40-bit", 16: "128-bit").
    Rc2(usize),
}

impl Cipher {
    fn key_len(&self) -> usize {
        match self {
            Cipher::Aes128 | Cipher::TwoKeyTripleDes => 16,
            Cipher::Aes192 | Cipher::TripleDes => 24,
            Cipher::Aes256 => 32,
            Cipher::Rc2(n) => *n,
        }
    }

    fn decrypt(&self, key: &[u8], iv: &[u8], data: &[u8]) -> Result<Zeroizing<Vec<u8>>, Refusal> {
        match self {
            Cipher::Aes128 => cbc_decrypt(aes::Aes128::new_from_slice(key), iv, data),
            Cipher::Aes192 => cbc_decrypt(aes::Aes192::new_from_slice(key), iv, data),
            Cipher::Aes256 => cbc_decrypt(aes::Aes256::new_from_slice(key), iv, data),
            Cipher::TripleDes => cbc_decrypt(des::TdesEde3::new_from_slice(key), iv, data),
            Cipher::TwoKeyTripleDes => cbc_decrypt(des::TdesEde2::new_from_slice(key), iv, data),
            // RC2's effective key length is its key's length, as RFC 7292 uses it.
            Cipher::Rc2(_) => cbc_decrypt(rc2::Rc2::new_from_slice(key), iv, data),
        }
    }
}

/// `data` decrypted in CBC mode with PKCS#7 padding. Padding that does not check out is
/// what a wrong key (so a wrong password) gives.
fn cbc_decrypt<C: BlockCipherDecrypt>(
    cipher: Result<C, cbc::cipher::InvalidLength>,
    iv: &[u8],
    data: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Refusal> {
    let cipher = cipher.map_err(|_| Refusal::Malformed)?;
    let mode = cbc::Decryptor::inner_iv_slice_init(cipher, iv).map_err(|_| Refusal::Malformed)?;
    let mut buffer = Zeroizing::new(data.to_vec());
    let plain = mode
        .decrypt_padded::<Pkcs7>(&mut buffer)
        .map_err(|_| Refusal::Password)?
        .len();
    buffer.truncate(plain);
    Ok(buffer)
}

/// `data` decrypted with the scheme of the `AlgorithmIdentifier` whose content is
/// `algorithm`.
pub fn decrypt(
    algorithm: &[u8],
    data: &[u8],
    password: &Password<'_>,
) -> Result<Zeroizing<Vec<u8>>, Refusal> {
    let mut fields = Der::new(algorithm);
    let scheme = fields.oid()?;
    let params = fields.sequence()?;
    match scheme {
        oid::PBES2 => pbes2(params, data, password),
        oid::PBE_SHA1_3DES => legacy(params, Cipher::TripleDes, data, password),
        oid::PBE_SHA1_2DES => legacy(params, Cipher::TwoKeyTripleDes, data, password),
        oid::PBE_SHA1_RC2_128 => legacy(params, Cipher::Rc2(16), data, password),
        oid::PBE_SHA1_RC2_40 => legacy(params, Cipher::Rc2(5), data, password),
        other => Err(Refusal::Unsupported(format!(
            "encryption {}",
            oid::name(other)
        ))),
    }
}

/// The legacy schemes: key and IV from the PKCS#12 derivation with SHA-1.
fn legacy(
    params: &[u8],
    cipher: Cipher,
    data: &[u8],
    password: &Password<'_>,
) -> Result<Zeroizing<Vec<u8>>, Refusal> {
    let mut fields = Der::new(params);
    let salt = fields.octets()?;
    let iterations = iterations(fields.integer()?)?;
    let sha1 = &digest::SHA1_FOR_LEGACY_USE_ONLY;
    let key = kdf::derive(
        sha1,
        Purpose::Key,
        password.bmp,
        salt,
        iterations.get(),
        cipher.key_len(),
    );
    let iv = kdf::derive(sha1, Purpose::Iv, password.bmp, salt, iterations.get(), 8);
    cipher.decrypt(&key, &iv, data)
}

/// PBES2: a PBKDF2 key for AES-CBC or 3DES-CBC.
fn pbes2(
    params: &[u8],
    data: &[u8],
    password: &Password<'_>,
) -> Result<Zeroizing<Vec<u8>>, Refusal> {
    let mut fields = Der::new(params);
    let mut kdf = Der::new(fields.sequence()?);
    let mut scheme = Der::new(fields.sequence()?);
    match kdf.oid()? {
        oid::PBKDF2 => {}
        other => {
            return Err(Refusal::Unsupported(format!(
                "key derivation {}",
                oid::name(other)
            )))
        }
    }
    let mut pbkdf2_params = Der::new(kdf.sequence()?);
    // `salt` may in principle be an AlgorithmIdentifier (`otherSource`); nobody writes one.
    let salt = pbkdf2_params.octets()?;
    let iterations = iterations(pbkdf2_params.integer()?)?;
    let mut key_length = None;
    let mut prf = pbkdf2::PBKDF2_HMAC_SHA1;
    while !pbkdf2_params.is_empty() {
        match pbkdf2_params.peek_tag() {
            Some(super::reader::INTEGER) => key_length = Some(pbkdf2_params.integer()?),
            _ => {
                let mut algorithm = Der::new(pbkdf2_params.sequence()?);
                prf = match algorithm.oid()? {
                    oid::HMAC_SHA1 => pbkdf2::PBKDF2_HMAC_SHA1,
                    oid::HMAC_SHA256 => pbkdf2::PBKDF2_HMAC_SHA256,
                    oid::HMAC_SHA384 => pbkdf2::PBKDF2_HMAC_SHA384,
                    oid::HMAC_SHA512 => pbkdf2::PBKDF2_HMAC_SHA512,
                    other => {
                        return Err(Refusal::Unsupported(format!(
                            "key derivation PRF {}",
                            oid::name(other)
                        )))
                    }
                };
            }
        }
    }
    let cipher = match scheme.oid()? {
        oid::AES128_CBC => Cipher::Aes128,
        oid::AES192_CBC => Cipher::Aes192,
        oid::AES256_CBC => Cipher::Aes256,
        oid::DES_EDE3_CBC => Cipher::TripleDes,
        other => {
            return Err(Refusal::Unsupported(format!(
                "encryption {}",
                oid::name(other)
            )))
        }
    };
    let iv = scheme.octets()?;
    if key_length.is_some_and(|n| n as usize != cipher.key_len()) {
        return Err(Refusal::Malformed);
    }
    let mut key = Zeroizing::new(vec![0; cipher.key_len()]);
    pbkdf2::derive(prf, iterations, salt, password.utf8, &mut key);
    cipher.decrypt(&key, iv, data)
}

/// An iteration count a file may ask for.
pub fn iterations(count: u32) -> Result<NonZeroU32, Refusal> {
    if count > MAX_ITERATIONS {
        return Err(Refusal::TooCostly);
    }
    NonZeroU32::new(count).ok_or(Refusal::Malformed)
}

impl From<Malformed> for Refusal {
    fn from(_: Malformed) -> Refusal {
        Refusal::Malformed
    }
}
