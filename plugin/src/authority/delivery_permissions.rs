//! Which deliveries the granted permissions allow — said after Verify and in the health
//! view, so the first scheduled send does not have to find out: "mail ✓, attachments over
//! 3 MB need Mail.ReadWrite, files need Files.ReadWrite". From a user account's delegated
//! permissions (the token's `scp`) or an application account's application permissions
//! (`roles`); names compare without regard to case or a Graph resource prefix.

use crate::{authority::scopes, sign_in_kind::SignIn};

/// One kind of delivery and the permissions that allow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    /// How the summary names it: `mail`, `attachments over 3 MB`, `files`.
    pub label: &'static str,
    /// The permission to add when none of `allowed_by` is granted.
    pub permission: &'static str,
    /// Any one of these allows it.
    allowed_by: &'static [&'static str],
    /// Why the delivery needs it, in one sentence.
    pub purpose: &'static str,
}

const MAIL_PURPOSE: &str = "Sending mail needs it.";
const ATTACHMENTS_PURPOSE: &str =
    "Attachments over 3 MB go through a draft (an upload session), which needs it.";

/// Mail, by either kind of account.
const MAIL: Delivery = Delivery {
    label: "mail",
    permission: "Mail.Send",
    allowed_by: &["Mail.Send"],
    purpose: MAIL_PURPOSE,
};

/// Attachments over 3 MB, by either kind of account.
const ATTACHMENTS: Delivery = Delivery {
    label: "attachments over 3 MB",
    permission: "Mail.ReadWrite",
    allowed_by: &["Mail.ReadWrite"],
    purpose: ATTACHMENTS_PURPOSE,
};

/// A user account's deliveries (delegated permissions).
const USER: [Delivery; 3] = [
    MAIL,
    ATTACHMENTS,
    Delivery {
        label: "files",
        permission: "Files.ReadWrite",
        allowed_by: &["Files.ReadWrite", "Files.ReadWrite.All", "Sites.ReadWrite.All"],
        purpose: "Uploading files to the user's OneDrive needs it (SharePoint sites need Sites.ReadWrite.All).",
    },
];

/// An application account's deliveries (application permissions).
const APPLICATION: [Delivery; 3] = [
    MAIL,
    ATTACHMENTS,
    Delivery {
        label: "files",
        permission: "Files.ReadWrite.All",
        allowed_by: &["Files.ReadWrite.All", "Sites.ReadWrite.All"],
        purpose: "Uploading files to the mailbox's OneDrive needs it (SharePoint sites: Sites.ReadWrite.All).",
    },
];

/// The deliveries of a `kind` account.
fn table(kind: SignIn) -> &'static [Delivery] {
    match kind {
        SignIn::Application => &APPLICATION,
        SignIn::User => &USER,
    }
}

/// Each delivery of an account and whether its granted permissions allow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    kind: SignIn,
    entries: Vec<(Delivery, bool)>,
}

impl Summary {
    /// The deliveries of a `kind` account with `granted` permissions.
    pub fn of(kind: SignIn, granted: &[String]) -> Summary {
        let have: Vec<String> = granted.iter().map(|g| scopes::key(g)).collect();
        let entries = table(kind)
            .iter()
            .map(|d| {
                let allowed = d
                    .allowed_by
                    .iter()
                    .any(|p| have.contains(&p.to_ascii_lowercase()));
                (*d, allowed)
            })
            .collect();
        Summary { kind, entries }
    }

    /// "mail ✓, attachments over 3 MB need Mail.ReadWrite, files need Files.ReadWrite".
    pub fn text(&self) -> String {
        self.entries
            .iter()
            .map(|(d, allowed)| match allowed {
                true => format!("{} ✓", d.label),
                false => format!("{} need {}", d.label, d.permission),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The deliveries not allowed.
    pub fn refused(&self) -> impl Iterator<Item = &Delivery> {
        self.entries.iter().filter(|(_, a)| !a).map(|(d, _)| d)
    }

    /// Whether every delivery is allowed.
    pub fn all_allowed(&self) -> bool {
        self.entries.iter().all(|(_, a)| *a)
    }

    /// How to allow the refused deliveries, in one sentence for the health view; `None`
    /// when all are allowed.
    pub fn fix(&self) -> Option<String> {
        let missing: Vec<&str> = self.refused().map(|d| d.permission).collect();
        if missing.is_empty() {
            return None;
        }
        let list = missing.join(", ");
        Some(match self.kind {
            SignIn::User => format!(
                "To allow them, add {list} to the account's Scopes (Advanced settings) and, under Azure portal → App registrations → your app → API permissions, as Microsoft Graph delegated permissions; then Re-verify the account."
            ),
            SignIn::Application => format!(
                "To allow them, add the Microsoft Graph application permission(s) {list} under Entra admin center → App registrations → your app → API permissions, have an administrator grant admin consent, then Re-verify the account."
            ),
        })
    }
}

/// Why a `kind` account's deliveries need `permission`, when one does.
pub fn purpose(kind: SignIn, permission: &str) -> Option<&'static str> {
    table(kind)
        .iter()
        .find(|d| d.permission.eq_ignore_ascii_case(permission))
        .map(|d| d.purpose)
}

/// How a user adds the delegated `permission` a delivery needs (it was not asked for, or
/// not granted).
pub fn user_fix(permission: &str) -> String {
    let admin = match permission.to_ascii_lowercase().ends_with(".all") {
        true => " and an administrator clicks \"Grant admin consent\"",
        false => "",
    };
    format!(
        "To allow it, add {permission} to Scopes (Advanced settings) and, in Azure portal → App registrations → your app → API permissions, add it (Microsoft Graph, Delegated){admin}; then choose Verify again."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn granted(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn the_default_user_permissions_allow_mail_only() {
        let s = Summary::of(SignIn::User, &granted("User.Read Mail.Send openid profile"));
        assert_eq!(
            s.text(),
            "mail ✓, attachments over 3 MB need Mail.ReadWrite, files need Files.ReadWrite"
        );
        let refused: Vec<&str> = s.refused().map(|d| d.permission).collect();
        assert_eq!(refused, ["Mail.ReadWrite", "Files.ReadWrite"]);
        assert!(!s.all_allowed());
        assert!(s.fix().unwrap().contains("Scopes"));
    }

    #[test]
    fn case_graph_prefixes_and_wider_permissions_count() {
        let s = Summary::of(
            SignIn::User,
            &granted("https://graph.microsoft.com/mail.send MAIL.READWRITE Sites.ReadWrite.All"),
        );
        assert_eq!(s.text(), "mail ✓, attachments over 3 MB ✓, files ✓");
        assert!(s.all_allowed());
        assert_eq!(s.fix(), None);
    }

    #[test]
    fn application_accounts_are_judged_by_application_permissions() {
        // Delegated Files.ReadWrite is not an application permission.
        let s = Summary::of(
            SignIn::Application,
            &granted("Mail.Send User.Read.All Files.ReadWrite"),
        );
        assert_eq!(
            s.text(),
            "mail ✓, attachments over 3 MB need Mail.ReadWrite, files need Files.ReadWrite.All"
        );
        assert!(s.fix().unwrap().contains("admin consent"));
        let none = Summary::of(SignIn::Application, &[]);
        assert_eq!(none.refused().count(), 3);
        assert!(user_fix("Sites.ReadWrite.All").contains("Grant admin consent"));
        assert_eq!(
            purpose(SignIn::Application, "mail.readwrite"),
            Some(ATTACHMENTS_PURPOSE)
        );
        assert_eq!(purpose(SignIn::User, "User.Read.All"), None);
        assert!(!user_fix("Files.ReadWrite").contains("Grant admin consent"));
    }
}
