//! The object identifiers a PKCS#12 file names, as the content of their DER `OBJECT
//! IDENTIFIER`s, and a readable name for any other.

const PKCS: [u8; 7] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01];

macro_rules! pkcs {
    ($($tail:expr),*) => {
        &[PKCS[0], PKCS[1], PKCS[2], PKCS[3], PKCS[4], PKCS[5], PKCS[6], $($tail),*]
    };
}

/// `id-data` (PKCS#7).
pub const DATA: &[u8] = pkcs!(0x07, 0x01);
/// `id-encryptedData` (PKCS#7).
pub const ENCRYPTED_DATA: &[u8] = pkcs!(0x07, 0x06);
/// `keyBag`: a plain PKCS#8 `PrivateKeyInfo`.
pub const KEY_BAG: &[u8] = pkcs!(0x0c, 0x0a, 0x01, 0x01);
/// `pkcs8ShroudedKeyBag`: an `EncryptedPrivateKeyInfo`.
pub const SHROUDED_KEY_BAG: &[u8] = pkcs!(0x0c, 0x0a, 0x01, 0x02);
/// `certBag`.
pub const CERT_BAG: &[u8] = pkcs!(0x0c, 0x0a, 0x01, 0x03);
/// `safeContentsBag`: bags nested in a bag.
pub const SAFE_CONTENTS_BAG: &[u8] = pkcs!(0x0c, 0x0a, 0x01, 0x06);
/// `x509Certificate` (PKCS#9 certificate type).
pub const X509_CERTIFICATE: &[u8] = pkcs!(0x09, 0x16, 0x01);
/// `pbeWithSHAAnd3-KeyTripleDES-CBC`.
pub const PBE_SHA1_3DES: &[u8] = pkcs!(0x0c, 0x01, 0x03);
/// `pbeWithSHAAnd2-KeyTripleDES-CBC`.
pub const PBE_SHA1_2DES: &[u8] = pkcs!(0x0c, 0x01, 0x04);
/// `pbeWithSHAAnd128BitRC2-CBC`.
pub const PBE_SHA1_RC2_128: &[u8] = pkcs!(0x0c, 0x01, 0x05);
/// `pbewithSHAAnd40BitRC2-CBC`.
pub const PBE_SHA1_RC2_40: &[u8] = pkcs!(0x0c, 0x01, 0x06);
/// `id-PBES2` (PKCS#5).
pub const PBES2: &[u8] = pkcs!(0x05, 0x0d);
/// `id-PBKDF2` (PKCS#5).
pub const PBKDF2: &[u8] = pkcs!(0x05, 0x0c);
/// `hmacWithSHA1` … `hmacWithSHA512` (RSADSI digest algorithms).
pub const HMAC_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x07];
pub const HMAC_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x09];
pub const HMAC_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x0a];
pub const HMAC_SHA512: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x0b];
/// `des-ede3-cbc`.
pub const DES_EDE3_CBC: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x03, 0x07];
/// `aes128-CBC`, `aes192-CBC`, `aes256-CBC` (NIST).
pub const AES128_CBC: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x02];
pub const AES192_CBC: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x16];
pub const AES256_CBC: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a];
/// `id-sha1` (OIW).
pub const SHA1: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];
/// `id-sha256`, `id-sha384`, `id-sha512` (NIST).
pub const SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
pub const SHA384: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02];
pub const SHA512: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03];
/// `id-PBMAC1` (RFC 9579), which OpenSSL 3.4 can write.
const PBMAC1: &[u8] = pkcs!(0x05, 0x0e);

/// A name for the algorithm `oid`: the usual one for those a person may meet, else the
/// dotted form.
pub fn name(oid: &[u8]) -> String {
    let known = [
        (PBMAC1, "PBMAC1"),
        (pkcs!(0x07, 0x03), "envelopedData (public-key encryption)"),
        (&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x05][..], "MD5"),
        (
            &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04][..],
            "SHA-224",
        ),
    ];
    if let Some((_, name)) = known.iter().find(|(known, _)| *known == oid) {
        return (*name).to_owned();
    }
    dotted(oid).unwrap_or_else(|| "(unreadable identifier)".to_owned())
}

/// `1.2.840.…`: the dotted form of an identifier.
fn dotted(oid: &[u8]) -> Option<String> {
    let (&first, _) = oid.split_first()?;
    let mut arcs = vec![u64::from(first / 40).min(2), 0];
    arcs[1] = u64::from(first) - arcs[0] * 40;
    let mut value = 0u64;
    for &byte in &oid[1..] {
        value = value.checked_mul(128)? | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            arcs.push(value);
            value = 0;
        }
    }
    Some(
        arcs.iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join("."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_read_in_dotted_form() {
        assert_eq!(dotted(PBES2).unwrap(), "1.2.840.113549.1.5.13");
        assert_eq!(dotted(AES256_CBC).unwrap(), "2.16.840.1.101.3.4.1.42");
        assert_eq!(dotted(SHA1).unwrap(), "1.3.14.3.2.26");
        assert_eq!(dotted(X509_CERTIFICATE).unwrap(), "1.2.840.113549.1.9.22.1");
        assert_eq!(name(PBMAC1), "PBMAC1");
        assert_eq!(name(&[0x2a, 0x03]), "1.2.3");
    }
}
