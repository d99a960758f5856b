//! PEM text (RFC 7468): its labelled blocks, decoded.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// Whether `bytes` read as PEM text: a `-----BEGIN ` line before anything binary.
pub fn looks_like_pem(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok_and(|text| text.contains("-----BEGIN "))
}

/// The `(label, DER)` blocks of a PEM text.
pub fn blocks(text: &str) -> Vec<(String, Vec<u8>)> {
    let mut blocks = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines().map(str::trim) {
        if let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        {
            current = Some((label.to_owned(), String::new()));
        } else if line.starts_with("-----END ") {
            if let Some((label, body)) = current.take() {
                if let Ok(der) = STANDARD.decode(body) {
                    blocks.push((label, der));
                }
            }
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
        }
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_read_with_their_labels_and_binary_is_not_pem() {
        let text = "junk\n-----BEGIN A-----\nAQI=\n-----END A-----\n-----BEGIN B-----\n!!\n-----END B-----\n";
        assert_eq!(blocks(text), vec![("A".to_owned(), vec![1, 2])]);
        assert!(looks_like_pem(text.as_bytes()));
        assert!(!looks_like_pem(b"\x30\x82\x01\x00\xff\xfe"));
    }
}
