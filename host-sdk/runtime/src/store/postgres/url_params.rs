//! Parameters of a store URL that this host reads itself (the `postgres` crate refuses
//! names it does not know), taken out before the rest is handed over.

/// `url` without the parameters named in `names`, and those parameters (name and
/// percent-decoded value; a value that is not UTF-8 is empty), in the URL's order.
pub(super) fn take(url: &str, names: &[&str]) -> (String, Vec<(String, String)>) {
    // As the `postgres` crate reads a URL: the credentials end at the first `@`, the
    // parameters start at the first `?` after them.
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let after_credentials = url[after_scheme..]
        .find('@')
        .map_or(after_scheme, |i| after_scheme + i + 1);
    let Some(question) = url[after_credentials..].find('?') else {
        return (url.to_owned(), Vec::new());
    };
    let (base, query) = url.split_at(after_credentials + question);
    let mut taken = Vec::new();
    let mut kept = Vec::new();
    for pair in query[1..].split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match decode(key) {
            Some(key) if names.contains(&key.as_str()) => {
                taken.push((key, decode(value).unwrap_or_default()));
            }
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (url, taken)
}

/// Percent-decoded text (`None` if it is not UTF-8).
fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h)? * 16 + hex(l)?) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_parameters_are_taken_out_decoded_and_the_rest_kept_as_written() {
        let (url, taken) = take(
            "postgres://atrs:p%3Fw?x@db.example:5433/atrs?application_name=a%20b&pool_size=8&sslrootcert=%2Fetc%2Fca.pem&connect_timeout=3",
            &["pool_size", "sslrootcert"],
        );
        assert_eq!(
            url,
            "postgres://atrs:p%3Fw?x@db.example:5433/atrs?application_name=a%20b&connect_timeout=3"
        );
        assert_eq!(
            taken,
            [
                ("pool_size".to_owned(), "8".to_owned()),
                ("sslrootcert".to_owned(), "/etc/ca.pem".to_owned())
            ]
        );
        let (url, taken) = take("postgres://db/atrs?pool_size=2", &["pool_size"]);
        assert_eq!((url.as_str(), taken.len()), ("postgres://db/atrs", 1));
        let (url, taken) = take("postgres://atrs@db/atrs", &["pool_size"]);
        assert_eq!((url.as_str(), taken.len()), ("postgres://atrs@db/atrs", 0));
        assert_eq!(decode("%zz%41"), Some("%zzA".to_owned()));
        assert_eq!(decode("%ff"), None);
    }
}
