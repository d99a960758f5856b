//! Reading the DER of a PKCS#12 file one element at a time: each read takes the next
//! element, checks its tag and gives its content; anything else is [`Malformed`].

use std::borrow::Cow;

use super::super::der::tlv;

/// The input is not the DER that was expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

pub const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const CONSTRUCTED_OCTET_STRING: u8 = 0x24;
const OID: u8 = 0x06;
const SEQUENCE: u8 = 0x30;
/// `[0]`, constructed: an `EXPLICIT` context tag.
pub const EXPLICIT_0: u8 = 0xA0;
/// `[0] IMPLICIT OCTET STRING`, primitive.
pub const IMPLICIT_0: u8 = 0x80;

/// The elements of one DER content, read in order.
pub struct Der<'a> {
    rest: &'a [u8],
}

impl<'a> Der<'a> {
    pub fn new(content: &'a [u8]) -> Der<'a> {
        Der { rest: content }
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    pub fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// The next element whole (tag and length included) and its tag and content.
    pub fn element(&mut self) -> Result<(u8, &'a [u8], &'a [u8]), Malformed> {
        let (tag, content, rest) = tlv(self.rest).ok_or(Malformed)?;
        let whole = &self.rest[..self.rest.len() - rest.len()];
        self.rest = rest;
        Ok((tag, content, whole))
    }

    /// The content of the next element, which must have `tag`.
    pub fn expect(&mut self, tag: u8) -> Result<&'a [u8], Malformed> {
        match self.element()? {
            (found, content, _) if found == tag => Ok(content),
            _ => Err(Malformed),
        }
    }

    pub fn sequence(&mut self) -> Result<&'a [u8], Malformed> {
        self.expect(SEQUENCE)
    }

    pub fn oid(&mut self) -> Result<&'a [u8], Malformed> {
        self.expect(OID)
    }

    pub fn octets(&mut self) -> Result<&'a [u8], Malformed> {
        self.expect(OCTET_STRING)
    }

    /// An `OCTET STRING` in its primitive form or (as BER allows and some writers use)
    /// constructed of primitive pieces.
    pub fn octets_any(&mut self) -> Result<Cow<'a, [u8]>, Malformed> {
        match self.element()? {
            (OCTET_STRING, content, _) => Ok(Cow::Borrowed(content)),
            (CONSTRUCTED_OCTET_STRING, content, _) => joined(content).map(Cow::Owned),
            _ => Err(Malformed),
        }
    }

    /// A non-negative `INTEGER` that fits 32 bits.
    pub fn integer(&mut self) -> Result<u32, Malformed> {
        let content = self.expect(INTEGER)?;
        let digits = match content {
            [0, rest @ ..] if !rest.is_empty() => rest,
            [first, ..] if first & 0x80 != 0 => return Err(Malformed),
            [] => return Err(Malformed),
            all => all,
        };
        if digits.len() > 4 {
            return Err(Malformed);
        }
        Ok(digits.iter().fold(0, |n, &b| (n << 8) | u32::from(b)))
    }
}

/// The pieces of a constructed string, one after the other.
pub fn joined(pieces: &[u8]) -> Result<Vec<u8>, Malformed> {
    let mut out = Vec::new();
    let mut reader = Der::new(pieces);
    while !reader.is_empty() {
        out.extend_from_slice(reader.octets()?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_non_negative_and_at_most_32_bits() {
        let read = |bytes: &[u8]| Der::new(bytes).integer();
        assert_eq!(read(&[0x02, 0x01, 0x03]), Ok(3));
        assert_eq!(read(&[0x02, 0x03, 0x00, 0x80, 0x00]), Ok(0x8000));
        assert_eq!(read(&[0x02, 0x01, 0x80]), Err(Malformed), "negative");
        assert_eq!(read(&[0x02, 0x00]), Err(Malformed), "empty");
        assert_eq!(read(&[0x02, 0x05, 1, 0, 0, 0, 0]), Err(Malformed));
        assert_eq!(read(&[0x04, 0x01, 0x03]), Err(Malformed), "not an INTEGER");
    }

    #[test]
    fn a_constructed_octet_string_reads_as_its_pieces_joined() {
        let bytes = [0x24, 0x08, 0x04, 0x02, b'a', b'b', 0x04, 0x02, b'c', b'd'];
        assert_eq!(Der::new(&bytes).octets_any().unwrap().as_ref(), b"abcd");
        assert_eq!(
            Der::new(&[0x24, 0x03, 0x02, 0x01, 0x00]).octets_any(),
            Err(Malformed)
        );
    }
}
