//! How outcomes are worded for a person, the same in the menu and in scripted commands.

use atrs_host_sdk::{PluginError, VerifiedAccount};

/// `text` cut to at most `width` characters, ending in `…` when cut.
pub fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
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

/// Who signed in, and each permission that was not granted with how to get it.
pub fn verified_lines(account: &VerifiedAccount) -> Vec<String> {
    let mut lines = vec![format!(
        "✓ Verified: signed in as {} ({}) in tenant {}.",
        account.display_name, account.user_principal_name, account.tenant_id
    )];
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
    fn fit_cuts_long_lines_to_the_width() {
        assert_eq!(fit("⠋ Waiting", 20), "⠋ Waiting");
        assert_eq!(fit("⠋ Waiting for the browser", 10), "⠋ Waiting…");
        assert_eq!(fit("⠋ Waiting for the browser", 10).chars().count(), 10);
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
            verified_lines(&account),
            [
                "✓ Verified: signed in as A B (a@b.c) in tenant t.",
                "  ! Permission Mail.Send was not granted: Ask an admin."
            ]
        );
    }
}
