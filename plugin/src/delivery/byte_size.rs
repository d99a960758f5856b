//! Sizes and counts in words for receipts and messages: `6 bytes`, `1.2 KB`, `3.4 MB`
//! (decimal units, as file managers show them); `1 attachment`, `2 attachments`.

/// `bytes` in the largest decimal unit that keeps the number at least 1, with at
/// most one decimal: `1 byte`, `6 bytes`, `1.2 KB`, `35 MB`, `1.5 GB`.
pub fn words(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1_000_000_000, "GB"), (1_000_000, "MB"), (1_000, "KB")];
    match UNITS.iter().find(|(size, _)| bytes >= *size) {
        Some((size, unit)) => {
            let tenths = (bytes as f64 / *size as f64 * 10.0).round() / 10.0;
            let number = format!("{tenths:.1}");
            format!("{} {unit}", number.trim_end_matches(".0"))
        }
        None if bytes == 1 => "1 byte".to_owned(),
        None => format!("{bytes} bytes"),
    }
}

/// `n` things: `1 attachment`, `2 attachments` (`thing` singular, plural with an `s`).
pub fn count(n: usize, thing: &str) -> String {
    match n {
        1 => format!("1 {thing}"),
        n => format!("{n} {thing}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_sizes_read_in_bytes_and_larger_ones_in_the_unit_that_fits() {
        assert_eq!(words(0), "0 bytes");
        assert_eq!(words(1), "1 byte");
        assert_eq!(words(6), "6 bytes");
        assert_eq!(words(999), "999 bytes");
        assert_eq!(words(1_000), "1 KB");
        assert_eq!(words(1_234), "1.2 KB");
        assert_eq!(words(35_000_000), "35 MB");
        assert_eq!(words(3_456_789), "3.5 MB");
        assert_eq!(words(1_500_000_000), "1.5 GB");
    }

    #[test]
    fn one_thing_is_singular_and_others_plural() {
        assert_eq!(count(1, "attachment"), "1 attachment");
        assert_eq!(count(2, "attachment"), "2 attachments");
        assert_eq!(count(0, "Bcc recipient"), "0 Bcc recipients");
    }
}
