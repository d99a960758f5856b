//! Values that become segments of a Graph path — folders and file names
//! (`/drive/root:/{folder}/{name}:/…`) and the mailbox sent as (`/users/{mailbox}/sendMail`) —
//! checked before a delivery starts. A control character, a `:` (which ends Graph's
//! path-addressing, so `a:` turns the rest into an action) or a `.`/`..` segment would change
//! which item Graph sees; each is refused with what to write instead.

use crate::delivery::delivery_error::DeliveryError;

/// What a value is, for the error: "folder", "file name", "mailbox".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathValue {
    /// A destination folder (`Reports/2026`).
    Folder,
    /// The name a file gets.
    FileName,
    /// The mailbox sent as.
    Mailbox,
}

impl PathValue {
    fn what(self) -> &'static str {
        match self {
            PathValue::Folder => "folder",
            PathValue::FileName => "file name",
            PathValue::Mailbox => "mailbox",
        }
    }

    fn example(self) -> &'static str {
        match self {
            PathValue::Folder => "for example Reports/2026",
            PathValue::FileName => "for example Sales 2026-12.pdf",
            PathValue::Mailbox => "for example reports@contoso.com",
        }
    }
}

/// The folder's segments (split at `/` and `\`, empty ones dropped), each checked.
pub fn folder_segments(folder: &str) -> Result<Vec<&str>, DeliveryError> {
    let segments: Vec<&str> = folder
        .split(['/', '\\'])
        .filter(|s| !s.is_empty())
        .collect();
    for s in &segments {
        check(PathValue::Folder, folder, s)?;
    }
    Ok(segments)
}

/// A file name or mailbox: one segment, so no `/` or `\` either.
pub fn single_segment(kind: PathValue, value: &str) -> Result<(), DeliveryError> {
    if value.contains(['/', '\\']) {
        return Err(refused(kind, value, "contains '/' or '\\'"));
    }
    check(kind, value, value)
}

fn check(kind: PathValue, whole: &str, segment: &str) -> Result<(), DeliveryError> {
    if segment.chars().any(char::is_control) {
        return Err(refused(
            kind,
            whole,
            "contains a control character (a tab, a line break or an escape)",
        ));
    }
    if segment.contains(':') {
        return Err(refused(kind, whole, "contains ':'"));
    }
    if matches!(segment.trim(), "." | "..") {
        return Err(refused(kind, whole, "has a '.' or '..' part"));
    }
    Ok(())
}

fn refused(kind: PathValue, value: &str, why: &str) -> DeliveryError {
    let shown: String = value
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(120)
        .collect();
    DeliveryError::Input(format!(
        "The {} '{shown}' {why}, which Microsoft Graph would read as part of the address rather than a name: give the {} without it ({}).",
        kind.what(),
        kind.what(),
        kind.example()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_pass() {
        assert_eq!(
            folder_segments("/Reports\\2026/").unwrap(),
            vec!["Reports", "2026"]
        );
        assert!(folder_segments("").unwrap().is_empty());
        single_segment(PathValue::FileName, "a b#1 (final).v2.pdf").unwrap();
        single_segment(PathValue::FileName, "...notes").unwrap();
        single_segment(PathValue::Mailbox, "reports@contoso.com").unwrap();
    }

    #[test]
    fn dots_colons_and_control_characters_are_refused_with_a_fix() {
        for folder in [
            "..\t",
            "a/../b",
            "./x",
            "a:",
            "Reports/x:y",
            "a\u{1b}[2J",
            " .. ",
        ] {
            let e = folder_segments(folder).unwrap_err();
            let msg = e.to_string();
            assert!(
                msg.contains("give the folder without it"),
                "{folder:?}: {msg}"
            );
            assert!(!msg.chars().any(char::is_control), "{msg:?}");
        }
        for name in ["..", ".", "a:b.pdf", "r\n.pdf", "a/b", "a\\b"] {
            assert!(
                single_segment(PathValue::FileName, name).is_err(),
                "{name:?}"
            );
        }
        for mailbox in ["..", "a@b.c/../me", "user:x", "a\u{85}@b.c"] {
            assert!(
                single_segment(PathValue::Mailbox, mailbox).is_err(),
                "{mailbox:?}"
            );
        }
    }
}
