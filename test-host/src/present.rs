//! How outcomes are worded for a person, the same in the menu and in scripted commands.

use atrs_host_sdk::{
    FormField, PluginError, SettingDisplay, ShownAs, VerifiedAccount, VerifyMethod,
};
use chrono::{Local, TimeZone};

use crate::terminal_text::printable_line;

/// A hint written for a form ("Choose Verify again", "the Client secret field"), in
/// the words of the command line: run the command again, `--set KEY=VALUE`.
pub fn command_line_hint(hint: &str, form: &[FormField]) -> String {
    // Plugins write "Choose Verify"; earlier ones wrote "Click Verify".
    let mut text = hint
        .replace("Click Verify", "Choose Verify")
        .replace("click Verify", "choose Verify");
    for (menu, command) in [
        (
            "Choose Verify ▾ With Browser again and",
            "Run the command again with --verify browser and",
        ),
        (
            "choose Verify ▾ With Browser again",
            "run the command again with --verify browser",
        ),
        (
            "Choose Verify ▾ With Browser",
            "Run the command again with --verify browser",
        ),
        (
            "choose Verify ▾ With Browser",
            "run the command again with --verify browser",
        ),
        ("Choose Verify again", "Run the command again"),
        ("choose Verify again", "run the command again"),
        ("Choose Verify to", "Run the command again to"),
        ("Choose Verify", "Run the command again"),
        ("choose Verify", "run the command again"),
        ("then Save & Close", "then save it"),
    ] {
        text = text.replace(menu, command);
    }
    for field in form {
        let key = field.key.as_str();
        let label = field.label.as_str();
        // A secret is never given on the command line: `--set-secret KEY` reads it from
        // standard input or a hidden prompt.
        let (flag, given) = if field.is_secret() {
            (
                format!("--set-secret {key}"),
                format!("--set-secret {key} (the value on standard input)"),
            )
        } else {
            (format!("--set {key}"), format!("--set {key}=VALUE"))
        };
        text = text
            .replace(
                &format!("clear the {label} field"),
                &format!("leave out {flag}"),
            )
            .replace(&format!("in the {label} field"), &format!("with {given}"))
            .replace(&format!("the {label} field"), &flag)
            .replace(&format!("into {label}"), &format!("into {given}"))
            .replace(&format!("in {label},"), &format!("with {given},"));
    }
    text
}

/// Unix seconds as a local date and time, `2026-12-01 22:30 (+01:00)`.
pub fn local_time(secs: i64) -> String {
    match Local.timestamp_opt(secs, 0).single() {
        Some(t) => t.format("%Y-%m-%d %H:%M (%:z)").to_string(),
        None => format!("{secs} (Unix seconds)"),
    }
}

/// A span of seconds in words: `45 s`, `12 min`, `3 h 5 min`, `4 days`.
pub fn duration_words(secs: i64) -> String {
    let secs = secs.unsigned_abs();
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3599 => format!("{} min", secs / 60),
        3600..=86_399 => match secs % 3600 / 60 {
            0 => format!("{} h", secs / 3600),
            m => format!("{} h {m} min", secs / 3600),
        },
        _ => match secs / 86_400 {
            1 => "1 day".to_owned(),
            d => format!("{d} days"),
        },
    }
}

/// `secs` relative to `now`: `in 3 days`, or `3 days ago` (`0 s ago` for now).
pub fn relative_time(secs: i64, now: i64) -> String {
    if secs > now {
        format!("in {}", duration_words(secs - now))
    } else {
        format!("{} ago", duration_words(now - secs))
    }
}

/// Settings a plugin built before interface 1.2 keeps for itself (its layout version,
/// which build wrote it, what its refreshes found — shown as the account's health
/// instead): shown by `accounts --all` only. A 1.2 plugin says which of its settings
/// are hidden ([`SettingDisplay`]).
pub const INTERNAL_SETTINGS: [&str; 6] = [
    "schema_version",
    "written_by",
    "last_refresh_at",
    "last_refresh_ok_at",
    "last_refresh_error",
    "refresh_token_rotated_at",
];

/// One saved account as a person reads it: `plugin / name`, then its settings as the
/// plugin's `display` says (its labels; a date as a local date and how long ago or
/// until; hidden ones only with `all`). A setting the plugin did not describe — every
/// one, for a plugin built before 1.2 — is shown by [`SettingDisplay::fallback`]
/// under its key, and the [`INTERNAL_SETTINGS`] of such plugins stay hidden.
pub fn account_lines(
    plugin: &str,
    account: &str,
    settings: &std::collections::BTreeMap<String, String>,
    display: &[SettingDisplay],
    all: bool,
    now: i64,
) -> Vec<String> {
    let mut lines = vec![format!("{plugin} / {account}")];
    // The settings the plugin describes in its order, then the others by key.
    let position = |key: &str| display.iter().position(|d| d.key.as_str() == key);
    let mut ordered: Vec<(&String, &String)> = settings.iter().collect();
    ordered.sort_by_key(|(key, _)| position(key).unwrap_or(usize::MAX));
    for (key, value) in ordered {
        let described = display.iter().find(|d| d.key.as_str() == key);
        let hidden = match described {
            Some(d) => d.shown_as() == ShownAs::Hidden,
            None => display.is_empty() && INTERNAL_SETTINGS.contains(&key.as_str()),
        };
        if hidden && !all {
            continue;
        }
        let fallback = SettingDisplay::fallback(key, value);
        let how = described.unwrap_or(&fallback);
        // Hidden settings, when shown, read as the fallback says (a `*_at` as a date).
        let shown_as = match how.shown_as() {
            ShownAs::Hidden => fallback.shown_as(),
            other => other,
        };
        let shown = match (shown_as, value.parse::<i64>()) {
            (ShownAs::Date, Ok(secs)) => {
                format!("{} ({})", local_time(secs), relative_time(secs, now))
            }
            _ => value.clone(),
        };
        lines.push(format!("    {}: {shown}", how.label));
    }
    lines
}

/// `text` as one line without control characters ([`printable_line`]), cut to at most
/// `width` characters, ending in `…` when cut: what every one-line draw shows.
pub fn fit(text: &str, width: usize) -> String {
    let text = printable_line(text);
    if text.chars().count() <= width {
        return text.into_owned();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// How [`wrap`] treats a word longer than a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LongWords {
    /// Cut it across rows (for text redrawn in place, whose rows must be counted).
    Break,
    /// Keep it whole on its own row, for the terminal to fold (an address stays one
    /// piece to copy).
    Keep,
}

/// `text` (one line, control characters removed) in rows of at most `width`
/// characters, broken between words; rows after the first keep the line's indent.
pub fn wrap(text: &str, width: usize, long_words: LongWords) -> Vec<String> {
    let text = printable_line(text);
    let width = width.max(4);
    if text.chars().count() <= width {
        return vec![text.into_owned()];
    }
    let indent: String = text.chars().take_while(|c| *c == ' ').collect();
    let indent = if indent.len() * 2 > width {
        String::new()
    } else {
        indent
    };
    let mut rows = Vec::new();
    let mut row = indent.clone();
    let mut used = row.len();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let mut word: Vec<char> = word.chars().collect();
        let room = if used > indent.len() { used + 1 } else { used };
        if room + word.len() <= width {
            if used > indent.len() {
                row.push(' ');
            }
            row.extend(word.iter());
            used = room + word.len();
            continue;
        }
        if used > indent.len() {
            rows.push(std::mem::replace(&mut row, indent.clone()));
            used = indent.len();
        }
        if long_words == LongWords::Break {
            while used + word.len() > width {
                let rest = word.split_off(width - used);
                row.extend(word.iter());
                rows.push(std::mem::replace(&mut row, indent.clone()));
                word = rest;
            }
        }
        used += word.len();
        row.extend(word.iter());
    }
    if used > indent.len() || rows.is_empty() {
        rows.push(row);
    }
    rows
}

/// The order people expect names in: case ignored, and runs of digits compared as
/// numbers ("Account 2" before "Account 10"); names equal so compare by their bytes.
pub fn natural_order(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (la, lb) = (a.to_lowercase(), b.to_lowercase());
    let (mut x, mut y) = (la.chars().peekable(), lb.chars().peekable());
    loop {
        match (x.peek().copied(), y.peek().copied()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let digits = |it: &mut std::iter::Peekable<std::str::Chars<'_>>| {
                    let mut run = String::new();
                    while let Some(c) = it.next_if(char::is_ascii_digit) {
                        run.push(c);
                    }
                    run
                };
                let (m, n) = (digits(&mut x), digits(&mut y));
                let (m, n) = (m.trim_start_matches('0'), n.trim_start_matches('0'));
                let by_number = m.len().cmp(&n.len()).then_with(|| m.cmp(n));
                if by_number != Ordering::Equal {
                    return by_number;
                }
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(&d);
                }
                x.next();
                y.next();
            }
        }
    }
}

/// `word` as one shell word: as it is when it holds only characters no shell treats
/// specially, else in single quotes (a `'` inside written `'\''`), so a printed command
/// line works when pasted.
pub fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.,/:@%+=".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// A failure as lines: what went wrong, the fix, and the provider's code.
pub fn error_lines(message: &str, hint: Option<&str>, provider_code: Option<&str>) -> Vec<String> {
    let mut lines = vec![format!("✗ {message}")];
    lines.extend(hint.map(|h| format!("  fix: {h}")));
    lines.extend(provider_code.map(|c| format!("  ({c})")));
    lines
}

/// A plugin error as lines (see [`error_lines`]).
pub fn plugin_error_lines(e: &PluginError) -> Vec<String> {
    error_lines(e.message(), e.hint(), e.provider_code())
}

/// Who signed in (or what a direct verification reached, by `method`), and each
/// permission that was not granted with how to get it.
pub fn verified_lines(account: &VerifiedAccount, method: &VerifyMethod) -> Vec<String> {
    let mut lines = vec![format!("✓ Verified: {}.", account.headline(method))];
    lines.extend(
        account
            .missing_scopes
            .iter()
            .map(|m| format!("  ! Permission {} was not granted: {}", m.scope, m.hint)),
    );
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use atrs_host_sdk::{ErrorKind, MissingScope};

    #[test]
    fn wrapping_breaks_between_words_and_keeps_the_indent() {
        let help = "  The directory (tenant) ID of your organization, as a GUID or a domain name.";
        let rows = wrap(help, 30, LongWords::Keep);
        assert!(rows.iter().all(|r| r.chars().count() <= 30), "{rows:?}");
        assert!(rows.iter().all(|r| r.starts_with("  ")), "{rows:?}");
        assert_eq!(
            rows.join(" ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            help.trim()
        );
        assert_eq!(
            rows,
            [
                "  The directory (tenant) ID of",
                "  your organization, as a GUID",
                "  or a domain name."
            ]
        );
        assert_eq!(wrap("short", 30, LongWords::Break), vec!["short"]);
    }

    #[test]
    fn a_long_word_is_kept_whole_or_broken_as_asked() {
        let url = format!("at: https://example.com/{}", "a".repeat(40));
        let kept = wrap(&url, 20, LongWords::Keep);
        assert_eq!(kept, vec!["at:".to_owned(), url[4..].to_owned()]);
        let broken = wrap(&url, 20, LongWords::Break);
        assert!(broken.iter().all(|r| r.chars().count() <= 20), "{broken:?}");
        assert_eq!(broken.concat().replace(' ', ""), url.replace(' ', ""));
    }

    #[test]
    fn names_sort_naturally_and_without_case() {
        let mut names = vec![
            "Account 10",
            "account 2",
            "Account 1",
            "Zeta",
            "alpha",
            "Account 11",
        ];
        names.sort_by(|a, b| natural_order(a, b));
        assert_eq!(
            names,
            [
                "Account 1",
                "account 2",
                "Account 10",
                "Account 11",
                "alpha",
                "Zeta"
            ]
        );
    }

    #[test]
    fn shell_words_survive_a_shell() {
        assert_eq!(shell_word("Reports"), "Reports");
        assert_eq!(shell_word("Sales reports"), "'Sales reports'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn fit_cuts_long_lines_to_the_width() {
        assert_eq!(fit("⠋ Waiting", 20), "⠋ Waiting");
        assert_eq!(fit("⠋ Waiting for the browser", 10), "⠋ Waiting…");
        assert_eq!(fit("⠋ Waiting for the browser", 10).chars().count(), 10);
    }

    #[test]
    fn menu_hints_read_as_command_line_hints() {
        use atrs_host_sdk::FieldKind;
        let form = vec![FormField::new(
            "client_secret",
            "Client secret",
            FieldKind::Secret,
        )];
        assert_eq!(
            command_line_hint(
                "Remove the secret: clear the Client secret field, then click Verify again.",
                &form
            ),
            "Remove the secret: leave out --set-secret client_secret, then run the command again."
        );
        assert_eq!(
            command_line_hint(
                "Enter the secret's Value in the Client secret field; then click Verify again.",
                &form
            ),
            "Enter the secret's Value with --set-secret client_secret (the value on standard input); then run the command again."
        );
        assert_eq!(
            command_line_hint("Click Verify ▾ With Browser to start a new sign-in.", &form),
            "Run the command again with --verify browser to start a new sign-in."
        );
        assert_eq!(
            command_line_hint("Choose Verify again to sign in anew.", &form),
            "Run the command again to sign in anew."
        );
        assert_eq!(command_line_hint("Wait a minute.", &form), "Wait a minute.");
    }

    #[test]
    fn durations_and_relative_times_read_as_words() {
        assert_eq!(duration_words(45), "45 s");
        assert_eq!(duration_words(720), "12 min");
        assert_eq!(duration_words(3 * 3600 + 300), "3 h 5 min");
        assert_eq!(duration_words(86_400), "1 day");
        assert_eq!(relative_time(100, 100 + 4 * 86_400), "4 days ago");
        assert_eq!(relative_time(200, 140), "in 1 min");
        assert!(
            local_time(1_795_000_000).starts_with("2026-11-1"),
            "{}",
            local_time(1_795_000_000)
        );
    }

    #[test]
    fn an_account_shows_dates_and_hides_internal_keys_unless_all() {
        let settings = [
            ("client_id", "abc"),
            ("schema_version", "2"),
            ("verified_at", "1000"),
            ("written_by", "0.2.0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let lines = account_lines(
            "office365",
            "Reports",
            &settings,
            &[],
            false,
            1000 + 3 * 86_400,
        );
        assert_eq!(lines[0], "office365 / Reports");
        assert_eq!(lines[1], "    client_id: abc");
        assert!(
            lines[2].starts_with("    verified_at: 1970-01-01"),
            "{lines:?}"
        );
        assert!(lines[2].ends_with("(3 days ago)"), "{lines:?}");
        assert_eq!(lines.len(), 3, "{lines:?}");
        let all = account_lines("office365", "Reports", &settings, &[], true, 0);
        assert!(all.iter().any(|l| l == "    written_by: 0.2.0"), "{all:?}");
    }

    #[test]
    fn an_account_is_shown_as_its_plugin_describes_its_settings() {
        let settings = [
            ("endpoint", "https://hooks.example/in"),
            ("checked_on", "1000"),
            ("cursor", "42"),
            ("schema_version", "2"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let display = [
            SettingDisplay::new("endpoint", "Endpoint", ShownAs::Url),
            SettingDisplay::new("checked_on", "Last checked", ShownAs::Date),
            SettingDisplay::new("cursor", "Cursor", ShownAs::Hidden),
        ];
        let lines = account_lines("hook", "H", &settings, &display, false, 1000 + 60);
        assert_eq!(
            lines[1], "    Endpoint: https://hooks.example/in",
            "the plugin's order: {lines:?}"
        );
        assert!(
            lines.contains(&"    Endpoint: https://hooks.example/in".to_owned()),
            "{lines:?}"
        );
        assert!(
            lines.iter().any(
                |l| l.starts_with("    Last checked: 1970-01-01") && l.ends_with("(1 min ago)")
            ),
            "{lines:?}"
        );
        assert!(
            !lines.iter().any(|l| l.contains("Cursor")),
            "hidden: {lines:?}"
        );
        // Not described by a 1.2 plugin: its own, shown under its key.
        assert!(
            lines.contains(&"    schema_version: 2".to_owned()),
            "{lines:?}"
        );
        let all = account_lines("hook", "H", &settings, &display, true, 0);
        assert!(all.contains(&"    Cursor: 42".to_owned()), "{all:?}");
    }

    #[test]
    fn errors_read_what_fix_code() {
        let e = PluginError::new(ErrorKind::Provider, "Declined.")
            .with_hint("Approve it.")
            .with_provider_code("AADSTS65004");
        assert_eq!(
            plugin_error_lines(&e),
            ["✗ Declined.", "  fix: Approve it.", "  (AADSTS65004)"]
        );
        assert_eq!(error_lines("Bad.", None, None), ["✗ Bad."]);
    }

    #[test]
    fn a_verified_account_names_the_user_and_each_missing_permission() {
        let account = VerifiedAccount {
            account_name: "Reports".into(),
            user_principal_name: "a@b.c".into(),
            display_name: "A B".into(),
            user_id: None.into(),
            tenant_id: "t".into(),
            granted_scopes: Default::default(),
            missing_scopes: vec![MissingScope {
                scope: "Mail.Send".into(),
                hint: "Ask an admin.".into(),
            }]
            .into(),
        };
        assert_eq!(
            verified_lines(&account, &VerifyMethod::DeviceCode),
            [
                "✓ Verified: signed in as A B (a@b.c) in tenant t.",
                "  ! Permission Mail.Send was not granted: Ask an admin."
            ]
        );
        let hook = VerifiedAccount::connection("Hook", "https://h.example/in", "Example Hooks");
        assert_eq!(
            verified_lines(&hook, &VerifyMethod::Direct),
            ["✓ Verified: connected to Example Hooks (https://h.example/in)."]
        );
    }
}
