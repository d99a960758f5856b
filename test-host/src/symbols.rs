//! The symbols the host prints — ❯ › ✓ ✗ → … ↑↓ · — ▾, box lines and the spinner —
//! with ASCII stand-ins for a terminal whose locale is not UTF-8 (`LC_ALL=C`), and the
//! colour of the state marks ✓ ✗ ! where the output is a colour terminal. Every printer
//! of the host passes its text through [`for_terminal`] (after
//! [`crate::terminal_text`] has taken out control characters) and, for a terminal,
//! [`colour_marks`].

use std::{borrow::Cow, io::IsTerminal, sync::OnceLock};

/// The spinner's frames, one per redraw.
pub const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// Each symbol and what stands in for it in ASCII; longer symbols first.
const STAND_INS: [(&str, &str); 19] = [
    ("↑↓", "Up/Down"),
    ("↑", "Up"),
    ("↓", "Down"),
    ("❯", ">"),
    ("›", ">"),
    ("✓", "+"),
    ("✗", "x"),
    ("→", "->"),
    ("…", "..."),
    ("·", "."),
    ("—", "--"),
    ("–", "-"),
    ("▾", "v"),
    ("┌", "+"),
    ("┐", "+"),
    ("└", "+"),
    ("┘", "+"),
    ("─", "-"),
    ("│", "|"),
];

/// The spinner's frames in ASCII, one for each of [`SPINNER`]'s in turn.
const ASCII_SPINNER: [char; 4] = ['|', '/', '-', '\\'];

/// Whether the terminal takes UTF-8: the locale's character set, from the first of
/// `LC_ALL`, `LC_CTYPE` and `LANG` that is set (POSIX's order). With none set — the
/// usual case on Windows and in many containers — UTF-8 is assumed.
pub fn unicode() -> bool {
    static UNICODE: OnceLock<bool> = OnceLock::new();
    *UNICODE.get_or_init(|| {
        let var = |name| std::env::var(name).ok();
        locale_is_unicode(var("LC_ALL"), var("LC_CTYPE"), var("LANG"))
    })
}

fn locale_is_unicode(
    lc_all: Option<String>,
    lc_ctype: Option<String>,
    lang: Option<String>,
) -> bool {
    match [lc_all, lc_ctype, lang]
        .into_iter()
        .flatten()
        .find(|v| !v.is_empty())
    {
        None => true,
        Some(locale) => {
            let locale = locale.to_ascii_lowercase();
            locale.contains("utf-8") || locale.contains("utf8")
        }
    }
}

/// `text` as this terminal can show it: unchanged where the locale is UTF-8, with
/// [`to_ascii`]'s stand-ins elsewhere.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    match unicode() {
        true => Cow::Borrowed(text),
        false => to_ascii(text),
    }
}

/// `text` with each symbol the host prints replaced by its ASCII stand-in (other
/// characters — names, accented letters — stay as they are).
pub fn to_ascii(text: &str) -> Cow<'_, str> {
    let known = |c: char| SPINNER.contains(&c) || STAND_INS.iter().any(|(s, _)| s.starts_with(c));
    if !text.chars().any(known) {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_owned();
    for (symbol, ascii) in STAND_INS {
        out = out.replace(symbol, ascii);
    }
    for (i, frame) in SPINNER.iter().enumerate() {
        out = out.replace(*frame, &ASCII_SPINNER[i % ASCII_SPINNER.len()].to_string());
    }
    Cow::Owned(out)
}

/// Whether a stream that `is_terminal` gets colour: a terminal, not `TERM=dumb`, and
/// `NO_COLOR` unset or empty (<https://no-color.org>).
pub fn colour_for(is_terminal: bool) -> bool {
    is_terminal
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

/// Whether stdout gets colour ([`colour_for`]).
pub fn colour_on_stdout() -> bool {
    colour_for(std::io::stdout().is_terminal())
}

/// Whether stderr gets colour ([`colour_for`]).
pub fn colour_on_stderr() -> bool {
    colour_for(std::io::stderr().is_terminal())
}

const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const RESET: &str = "\x1b[0m";

/// The state marks, good, bad and warning: as printed where the locale is UTF-8, and
/// their ASCII stand-ins.
const UNICODE_MARKS: [&str; 3] = ["✓", "✗", "!"];
const ASCII_MARKS: [&str; 3] = ["+", "x", "!"];

/// `text` with each state mark coloured: ✓ green, ✗ red, ! yellow (their ASCII
/// stand-ins where the locale is not UTF-8). A mark is the first thing on a line,
/// followed by a space, or the first thing after `health: `; nothing else is touched.
pub fn colour_marks(text: &str) -> String {
    match unicode() {
        true => colour_these(text, UNICODE_MARKS),
        false => colour_these(text, ASCII_MARKS),
    }
}

fn colour_these(text: &str, [good, bad, warning]: [&str; 3]) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let start = match line.find("health: ") {
            Some(at) => at + "health: ".len(),
            None => line.len() - line.trim_start().len(),
        };
        let rest = &line[start..];
        let found = [(good, GREEN), (bad, RED), (warning, YELLOW)]
            .into_iter()
            .find(|(m, _)| rest.starts_with(&format!("{m} ")));
        let Some((mark, colour)) = found else {
            out.push_str(line);
            continue;
        };
        out.push_str(&line[..start]);
        out.push_str(colour);
        out.push_str(mark);
        out.push_str(RESET);
        out.push_str(&rest[mark.len()..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locale_that_is_not_utf8_gets_ascii_and_an_unset_one_utf8() {
        let s = |v: &str| Some(v.to_owned());
        assert!(
            !locale_is_unicode(s("C"), s("en_US.UTF-8"), None),
            "LC_ALL first"
        );
        assert!(!locale_is_unicode(None, None, s("POSIX")));
        assert!(!locale_is_unicode(
            None,
            s("de_DE.ISO-8859-1"),
            s("de_DE.UTF-8")
        ));
        assert!(
            locale_is_unicode(s(""), None, s("C.UTF-8")),
            "empty is unset"
        );
        assert!(locale_is_unicode(None, None, s("en_GB.utf8")));
        assert!(locale_is_unicode(None, None, None));
    }

    #[test]
    fn every_symbol_has_an_ascii_stand_in_and_names_stay() {
        assert_eq!(
            to_ascii("❯ Reports › Edit ✓ ✗ → … (↑↓ Enter) · — Verify ▾ With Browser ⠋"),
            "> Reports > Edit + x -> ... (Up/Down Enter) . -- Verify v With Browser |"
        );
        assert_eq!(to_ascii("  ┌──┐\n  │ A │"), "  +--+\n  | A |");
        assert_eq!(to_ascii("Rapports – Québec"), "Rapports - Québec");
        assert!(matches!(to_ascii("plain"), Cow::Borrowed(_)));
        let every = STAND_INS.iter().map(|(s, _)| *s).collect::<String>()
            + &SPINNER.iter().collect::<String>();
        assert!(to_ascii(&every).is_ascii());
    }

    #[test]
    fn only_marks_are_coloured() {
        let colour_marks = |t| colour_these(t, UNICODE_MARKS);
        assert_eq!(
            colour_marks("✓ Reports: renewed\n! Sales: not renewed\nDone! x marks"),
            "\x1b[32m✓\x1b[0m Reports: renewed\n\x1b[33m!\x1b[0m Sales: not renewed\nDone! x marks"
        );
        assert_eq!(
            colour_marks("    health: ✗ needs sign-in again"),
            "    health: \x1b[31m✗\x1b[0m needs sign-in again"
        );
        assert_eq!(colour_marks("x = 1"), "x = 1", "x is a mark only in ASCII");
        assert_eq!(
            colour_these("+ Reports  office365  healthy", ASCII_MARKS),
            "\x1b[32m+\x1b[0m Reports  office365  healthy"
        );
    }
}
