//! What reaches the terminal: text from a plugin or a server (provider ids, device-code
//! messages, Graph's error text) may carry control characters — an ANSI/OSC escape from a
//! hostile server or proxy can retitle the terminal, write the clipboard (OSC 52) or hide
//! lines. Every printer of this host ([`crate::output::Output`], the menu's terminal,
//! [`crate::present::fit`] for one-line draws) passes its text through here, once.

use std::borrow::Cow;

use serde_json::Value;

/// Whether `c` is a control character: C0 (U+0000–U+001F), DEL (U+007F) or C1
/// (U+0080–U+009F).
fn is_control(c: char) -> bool {
    c.is_control()
}

/// `text` without control characters; line breaks (`\n`) are kept, a tab becomes a space.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| is_control(c) && c != '\n') {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .filter_map(|c| match c {
                '\n' => Some('\n'),
                '\t' => Some(' '),
                c if is_control(c) => None,
                c => Some(c),
            })
            .collect(),
    )
}

/// `text` as one line without control characters: line breaks and tabs become spaces.
pub fn printable_line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .filter_map(|c| match c {
                '\n' | '\t' => Some(' '),
                c if is_control(c) => None,
                c => Some(c),
            })
            .collect(),
    )
}

/// Every string in `value` (keys included) through [`printable`]: JSON escapes C0 but not
/// DEL or C1, and a consumer may print a value as it is.
pub fn printable_json(value: &mut Value) {
    match value {
        Value::String(s) => {
            if let Cow::Owned(clean) = printable(s) {
                *s = clean;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(printable_json),
        Value::Object(map) => {
            if map.keys().any(|k| printable(k) != k.as_str()) {
                let old = std::mem::take(map);
                for (k, mut v) in old {
                    printable_json(&mut v);
                    map.insert(printable(&k).into_owned(), v);
                }
            } else {
                map.values_mut().for_each(printable_json);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escapes_lose_their_control_characters_and_lines_survive() {
        let osc52 = "trace \u{1b}]52;c;aGk=\u{7} id";
        assert_eq!(printable(osc52), "trace ]52;c;aGk= id");
        assert_eq!(printable("a\u{9b}31mb\u{7f}c\r\nd\te"), "a31mbc\nd e");
        assert_eq!(printable_line("a\nb\u{1b}[2Jc"), "a b[2Jc");
        assert!(matches!(printable("plain ✓ text\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_strings_and_keys_are_cleaned() {
        let mut v = json!({"trace_id": "x\u{1b}]0;pwned\u{7}", "k\u{9b}": ["\u{85}y", 3]});
        printable_json(&mut v);
        assert_eq!(v, json!({"trace_id": "x]0;pwned", "k": ["y", 3]}));
    }
}
