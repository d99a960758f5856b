//! The few X.509 facts read from a certificate's DER (RFC 5280 §4.1): when it expires and
//! the public key it certifies. A minimal reader of definite-length DER elements; anything
//! it does not understand reads as `None`.

/// One DER element: its tag, its content and what follows it.
pub(super) fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *input.first()?;
    let first = *input.get(1)?;
    let (len, head) = if first & 0x80 == 0 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*input.get(2 + i)?);
        }
        (len, 2 + n)
    };
    let content = input.get(head..head.checked_add(len)?)?;
    Some((tag, content, &input[head + len..]))
}

/// The elements of `tbsCertificate` from the one after the serial number on: signature
/// algorithm, issuer, validity, subject, subjectPublicKeyInfo, …
fn after_serial(der: &[u8]) -> Option<&[u8]> {
    let (_, certificate, _) = tlv(der)?;
    let (_, tbs, _) = tlv(certificate)?;
    let (tag, _, rest) = tlv(tbs)?;
    // `[0] version` is optional; after it (or in its place) comes the serial number.
    Some(if tag == 0xA0 { tlv(rest)?.2 } else { rest })
}

/// `tbsCertificate.validity.notAfter` of an X.509 certificate's DER, in Unix seconds.
pub fn not_after(der: &[u8]) -> Option<i64> {
    let rest = after_serial(der)?;
    let (_, _, rest) = tlv(rest)?; // signature algorithm
    let (_, _, rest) = tlv(rest)?; // issuer
    let (_, validity, _) = tlv(rest)?;
    let (_, _, after_not_before) = tlv(validity)?;
    let (tag, time, _) = tlv(after_not_before)?;
    let text = std::str::from_utf8(time).ok()?.strip_suffix('Z')?;
    let full = match (tag, text.len()) {
        // UTCTime YYMMDDHHMMSS: 50–99 are 19xx, 00–49 are 20xx (RFC 5280 §4.1.2.5.1).
        (0x17, 12) => {
            let yy: u32 = text[..2].parse().ok()?;
            format!("{}{text}", if yy >= 50 { "19" } else { "20" })
        }
        (0x18, 14) => text.to_owned(),
        _ => return None,
    };
    chrono::NaiveDateTime::parse_from_str(&full, "%Y%m%d%H%M%S")
        .ok()
        .map(|t| t.and_utc().timestamp())
}

/// The `subjectPublicKey` bits of an X.509 certificate's DER: for an RSA certificate, the
/// `RSAPublicKey` DER (RFC 8017 §A.1.1) its private key's public half must equal.
pub fn public_key(der: &[u8]) -> Option<&[u8]> {
    let rest = after_serial(der)?;
    let (_, _, rest) = tlv(rest)?; // signature algorithm
    let (_, _, rest) = tlv(rest)?; // issuer
    let (_, _, rest) = tlv(rest)?; // validity
    let (_, _, rest) = tlv(rest)?; // subject
    let (_, spki, _) = tlv(rest)?;
    let (_, _, rest) = tlv(spki)?; // algorithm
    let (tag, bits, _) = tlv(rest)?;
    match (tag, bits.split_first()) {
        (0x03, Some((0, key))) => Some(key),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_short_or_foreign_input_reads_as_nothing() {
        assert_eq!(not_after(b"\x30\x03\x02\x01"), None);
        assert_eq!(public_key(b"\x30\x03\x02\x01"), None);
        assert_eq!(public_key(b""), None);
        assert_eq!(tlv(b"\x30\x85\x01\x01\x01\x01\x01"), None, "5 length bytes");
    }
}
