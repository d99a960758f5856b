//! The PKCS#12 key derivation (RFC 7292 Appendix B.2) that derives the MAC key and the
//! legacy `pbeWithSHAAnd…` keys and IVs from a password, and the password's encoding
//! for it (a big-endian `BMPString` with a closing NUL, Appendix B.1).

use ring::digest;
use zeroize::Zeroizing;

/// What a derived value is for (the "diversifier" ID of Appendix B.3).
#[derive(Clone, Copy)]
pub enum Purpose {
    /// The key of a `pbeWithSHAAnd…` cipher.
    Key = 1,
    /// The IV of a `pbeWithSHAAnd…` cipher.
    Iv = 2,
    /// The key of the file's MAC.
    Mac = 3,
}

/// `password` as the PKCS#12 derivation takes it: UTF-16BE (characters beyond the Basic
/// Multilingual Plane as surrogate pairs, as OpenSSL and Windows write them) and two zero
/// bytes. The empty password is the two zero bytes alone.
pub fn bmp_password(password: &str) -> Zeroizing<Vec<u8>> {
    let mut bytes = Zeroizing::new(Vec::with_capacity(2 * password.len() + 2));
    for unit in password.encode_utf16() {
        bytes.extend_from_slice(&unit.to_be_bytes());
    }
    bytes.extend_from_slice(&[0, 0]);
    bytes
}

/// `length` bytes derived from the encoded `password` and `salt` with `iterations` rounds of
/// `hash`.
pub fn derive(
    hash: &'static digest::Algorithm,
    purpose: Purpose,
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    length: usize,
) -> Zeroizing<Vec<u8>> {
    let v = hash.block_len();
    let diversifier = vec![purpose as u8; v];
    // I = S || P, each repeated to a whole number of v-byte blocks.
    let mut input = Zeroizing::new(Vec::new());
    for part in [salt, password] {
        if !part.is_empty() {
            let blocks = part.len().div_ceil(v);
            input.extend(part.iter().cycle().take(blocks * v));
        }
    }
    let mut out = Zeroizing::new(Vec::with_capacity(length + hash.output_len()));
    loop {
        let mut context = digest::Context::new(hash);
        context.update(&diversifier);
        context.update(&input);
        let mut a = context.finish();
        for _ in 1..iterations {
            a = digest::digest(hash, a.as_ref());
        }
        out.extend_from_slice(a.as_ref());
        if out.len() >= length {
            out.truncate(length);
            return out;
        }
        // Each block of I becomes I_j + B + 1 (mod 2^(8v)), B being A repeated to v bytes.
        let b: Zeroizing<Vec<u8>> =
            Zeroizing::new(a.as_ref().iter().copied().cycle().take(v).collect());
        for block in input.chunks_mut(v) {
            let mut carry = 1u16;
            for (byte, add) in block.iter_mut().zip(b.iter()).rev() {
                let sum = u16::from(*byte) + u16::from(*add) + carry;
                *byte = sum as u8;
                carry = sum >> 8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn the_password_is_utf16_big_endian_with_a_closing_nul() {
        assert_eq!(bmp_password("").as_slice(), [0, 0]);
        assert_eq!(bmp_password("Ab").as_slice(), [0, 0x41, 0, 0x62, 0, 0]);
        assert_eq!(
            bmp_password("é𝄞").as_slice(),
            [0x00, 0xe9, 0xd8, 0x34, 0xdd, 0x1e, 0, 0]
        );
    }

    /// The "smeg" vectors published with RFC 7292 implementations (Bouncy Castle's
    /// PKCS12Test), and values from OpenSSL 3's own `PKCS12KDF` for more rounds, another
    /// hash and a length of several blocks (`openssl kdf -keylen 70 -kdfopt digest:SHA512
    /// -kdfopt hexpass:0071…0000 -kdfopt hexsalt:1682C0FC5B3F7EC5 -kdfopt iter:3 -kdfopt
    /// id:3 PKCS12KDF`).
    #[test]
    fn derivation_matches_published_and_openssl_values() {
        let sha1 = &digest::SHA1_FOR_LEGACY_USE_ONLY;
        let smeg = bmp_password("smeg");
        let salt = [0x0a, 0x58, 0xcf, 0x64, 0x53, 0x0d, 0x82, 0x3f];
        let key = derive(sha1, Purpose::Key, &smeg, &salt, 1, 24);
        assert_eq!(
            hex(&key),
            "8aaae6297b6cb04642ab5b077851284eb7128f1a2a7fbca3"
        );
        let iv = derive(sha1, Purpose::Iv, &smeg, &salt, 1, 8);
        assert_eq!(hex(&iv), "79993dfe048d3b76");
        let queeg = bmp_password("queeg");
        let salt = [0x16, 0x82, 0xc0, 0xfc, 0x5b, 0x3f, 0x7e, 0xc5];
        let key = derive(sha1, Purpose::Key, &queeg, &salt, 1000, 24);
        assert_eq!(
            hex(&key),
            "483dd6e919d7de2e8e648ba8f862f3fbfbdc2bcb2c02957f"
        );
        let mac = derive(&digest::SHA512, Purpose::Mac, &queeg, &salt, 3, 70);
        assert_eq!(
            hex(&mac),
            "4f1a1de881815735 50accdbd0f70a97b 7be98b41c5e32ad4 461f2e617f1d80a6 \
             5364921a6378ae90 2d46b53bd992cd06 dcd9dd98d0e82c16 d64a1aed52628376 \
             38cd29ce1868"
                .replace(' ', "")
        );
    }
}
