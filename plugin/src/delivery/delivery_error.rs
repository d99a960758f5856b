//! Why a delivery failed, by origin, and the one conversion to [`PluginError`]: what went
//! wrong and what to do, with Graph's `request-id` and our `client-request-id` kept.

use atrs_host_sdk::{ErrorKind, PluginError};

use crate::authority::app_access;
use crate::delivery::byte_size;
use crate::delivery::graph::{CallIds, GraphFailure};

/// What the delivery was doing when Graph refused (decides which permission is missing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `sendMail`, from the account or as `from`.
    SendMail {
        /// The mailbox sent as, if not the account's own.
        from: Option<String>,
    },
    /// Creating a draft or uploading its attachments.
    Draft,
    /// Sending a draft.
    SendDraft {
        /// The mailbox sent as, if not the account's own.
        from: Option<String>,
    },
    /// Looking a SharePoint site up.
    FindSite {
        /// The address given.
        site: String,
    },
    /// Writing a file.
    Upload {
        /// Folder path.
        folder: String,
        /// File name.
        name: String,
        /// The site, or `None` for the user's OneDrive.
        site: Option<String>,
    },
}

/// Why a delivery failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DeliveryError {
    /// Graph (or the way to it) failed during `step`.
    #[error("{failure}")]
    Graph {
        /// What was being done.
        step: Step,
        /// What failed.
        failure: Box<GraphFailure>,
    },
    /// A file to send could not be read.
    #[error("{path} could not be read: {reason}")]
    File {
        /// The path.
        path: String,
        /// The I/O error, in words.
        reason: String,
    },
    /// Too much content for Graph.
    #[error("{what} is {size} bytes; the limit is {limit}")]
    TooLarge {
        /// What is too large.
        what: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The message, encoded for mail, is over the mailbox's maximum message size: refused
    /// before anything is uploaded.
    #[error("the message is {encoded} bytes encoded, over the {limit}-byte maximum")]
    OverMessageLimit {
        /// The attachments' bytes.
        size: u64,
        /// Their size as Exchange counts it (base64, 4/3).
        encoded: u64,
        /// The mailbox's maximum message size.
        limit: u64,
    },
    /// The request itself is unusable (no recipients, an unusable site address).
    #[error("{0}")]
    Input(String),
    /// A fragment kept failing after resuming.
    #[error("the upload did not progress after {attempts} attempts")]
    Stalled {
        /// Failed attempts in a row.
        attempts: u32,
        /// The last failure.
        last: Box<GraphFailure>,
    },
    /// Graph answered a success without what it must carry (a draft or site without an id).
    #[error("Microsoft Graph answered {0}")]
    Protocol(String),
    /// An upload session's server said something this plugin will not follow; the session
    /// was cancelled.
    #[error("the upload session at {host} answered {violation}")]
    UploadSession {
        /// The server that said it (Graph's host for the `uploadUrl`, else the upload host).
        host: String,
        /// What it said.
        violation: crate::delivery::upload_check::Violation,
    },
}

/// `Mail.Send`: users consent to it themselves.
const MAIL_SEND: &str = "Mail.Send";
/// Drafts (large attachments) need `Mail.ReadWrite` as well.
const MAIL_READWRITE: &str = "Mail.ReadWrite";
/// The user's own OneDrive.
const FILES_READWRITE: &str = "Files.ReadWrite";
/// SharePoint sites: admin consent in most tenants.
const SITES_READWRITE: &str = "Sites.ReadWrite.All";

/// What to do about a message over the maximum message size, refused at once or by
/// Exchange at send.
const MESSAGE_SIZE_FIX: &str = "Exchange Online allows 35 MB by default; an Exchange administrator can raise the account's maximum send size up to 150 MB (Exchange admin center → Mailboxes → the account → Mail flow settings → Message size restrictions), then set the account's Maximum message size to match. Or upload the report and send its link.";

/// Megabytes as Exchange counts message sizes (1024 × 1024 bytes): `35 MB`, `53.3 MB`.
fn exchange_mb(bytes: u64) -> String {
    let mib = 1024 * 1024;
    if bytes.is_multiple_of(mib) {
        format!("{} MB", bytes / mib)
    } else {
        format!("{:.1} MB", bytes as f64 / mib as f64)
    }
}

impl DeliveryError {
    /// Shorthand for a Graph failure during `step`.
    pub fn graph(step: Step, failure: GraphFailure) -> Self {
        DeliveryError::Graph {
            step,
            failure: Box::new(failure),
        }
    }

    /// Whether the host cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, DeliveryError::Graph { failure, .. } if matches!(**failure, GraphFailure::Cancelled))
    }

    /// The error a person sees: what went wrong, what to do, the ids for support.
    pub fn to_plugin_error(&self) -> PluginError {
        self.to_plugin_error_as(None)
    }

    /// [`DeliveryError::to_plugin_error`] for a delivery through an application account:
    /// `application` is the mailbox it acts for and the app's client ID. A missing permission is an application
    /// permission granted by an administrator, not a delegated one.
    pub fn to_plugin_error_as(&self, application: Option<(&str, &str)>) -> PluginError {
        match self {
            DeliveryError::Graph { step, failure } => match application
                .and_then(|(mailbox, client_id)| {
                    application_error(step, failure, (mailbox, client_id))
                })
            {
                Some(e) => with_ids(e, failure),
                None => graph_error(step, failure),
            },
            DeliveryError::File { path, reason } => PluginError::invalid_input(format!(
                "The file {path} could not be read ({reason})."
            ))
            .with_hint("Check the path and that this program may read the file, then try again."),
            DeliveryError::TooLarge { what, size, limit } => PluginError::invalid_input(format!(
                "{what} is {} — more than Microsoft Graph accepts ({}).",
                byte_size::words(*size),
                byte_size::words(*limit)
            ))
            .with_hint("Send fewer or smaller files, or upload the report to OneDrive or SharePoint and send its link."),
            DeliveryError::OverMessageLimit {
                size,
                encoded,
                limit,
            } => PluginError::invalid_input(format!(
                "The message's attachments come to {} ({} once encoded for mail, as Exchange counts them) — more than the mailbox's maximum message size of {}, so nothing was sent or uploaded.",
                exchange_mb(*size),
                exchange_mb(*encoded),
                exchange_mb(*limit)
            ))
            .with_field(crate::fields::MAX_MESSAGE_MB)
            .with_hint(MESSAGE_SIZE_FIX),
            DeliveryError::Input(message) => PluginError::invalid_input(message.clone()),
            DeliveryError::Stalled { attempts, last } => with_ids(
                PluginError::new(
                    ErrorKind::Network,
                    format!("The upload stopped progressing: {attempts} fragments in a row failed ({last})."),
                )
                .with_hint("Check the network connection and try again; the upload session was cancelled, so nothing half-uploaded is left."),
                last,
            ),
            DeliveryError::Protocol(what) => PluginError::new(
                ErrorKind::Provider,
                format!("Microsoft Graph answered something this plugin cannot follow: {what}."),
            )
            .with_hint("Try again; if it keeps happening, report it with the time it happened."),
            DeliveryError::UploadSession { host, violation } => PluginError::new(
                ErrorKind::Provider,
                format!("The upload session at {host} answered {violation}; the upload was stopped and the session cancelled."),
            )
            .with_hint("Microsoft Graph does not answer this way: check that nothing answers in its place (HTTPS_PROXY, the account's authority URL), then try again; report it with the time it happened if it keeps happening.")
            .with_detail("server", host.clone()),
        }
    }
}

/// Keep Graph's code and the request ids on `e`.
fn with_ids(mut e: PluginError, failure: &GraphFailure) -> PluginError {
    let ids: Option<&CallIds> = match failure {
        GraphFailure::Refused { ids, code, .. } => {
            if !code.is_empty() {
                e = e.with_provider_code(code.clone());
            }
            Some(ids)
        }
        GraphFailure::Transport { ids, .. } => Some(ids),
        _ => None,
    };
    if let Some(ids) = ids {
        if let Some(r) = &ids.request_id {
            e = e.with_trace_id(r.clone());
        }
        e = e.with_correlation_id(ids.client_request_id.clone());
        for (k, v) in ids.pairs() {
            e = e.with_detail(k, v);
        }
    }
    e
}

/// What to add in the app registration for `permission`.
fn add_permission(permission: &str, admin: bool) -> String {
    let consent = if admin {
        "Many tenants require admin consent for it: an administrator clicks \"Grant admin consent\" on that page"
    } else {
        "Users can consent to it themselves (no admin consent needed)"
    };
    format!(
        "Add the delegated Microsoft Graph permission {permission} to the app registration (Entra admin center → App registrations → your app → API permissions → Add a permission), add it to the account's Scopes, and choose Verify again. {consent}."
    )
}

/// The refusals only an application account meets, or meets with another fix: Exchange's
/// access policy, no application permission granted, one missing. `None`: as for a user
/// account.
fn application_error(
    step: &Step,
    failure: &GraphFailure,
    (mailbox, client_id): (&str, &str),
) -> Option<PluginError> {
    let GraphFailure::Refused {
        status,
        code,
        message,
        ..
    } = failure
    else {
        return None;
    };
    let sender = match step {
        Step::SendMail { from } | Step::SendDraft { from } => from.as_deref().unwrap_or(mailbox),
        _ => mailbox,
    };
    if app_access::is_access_policy(*status, code, message) {
        return Some(app_access::access_policy(sender, client_id));
    }
    let consent = "An administrator grants it: Entra admin center → App registrations → your app → API permissions → Grant admin consent for the tenant; then try again.";
    if app_access::is_without_roles(*status, message) {
        return Some(
            PluginError::new(
                ErrorKind::AuthorizationRefused,
                "Microsoft Graph refused the application token: it carries no application permissions (no admin consent was granted).",
            )
            .with_hint(consent),
        );
    }
    if *status != 403
        || !matches!(
            code.as_str(),
            "ErrorAccessDenied" | "accessDenied" | "Authorization_RequestDenied"
        )
    {
        return None;
    }
    let (role, what) = match step {
        Step::SendMail { .. } | Step::SendDraft { .. } => {
            (app_access::MAIL_SEND, format!("send mail as {sender}"))
        }
        Step::Draft => (
            app_access::MAIL_READWRITE,
            "create the draft that attachments over 3 MB need".to_owned(),
        ),
        Step::FindSite { .. } | Step::Upload { site: Some(_), .. } => (
            app_access::SITES_READWRITE_ALL,
            "write to SharePoint sites".to_owned(),
        ),
        Step::Upload { site: None, .. } => (
            app_access::FILES_READWRITE_ALL,
            format!("write to the OneDrive of {mailbox}"),
        ),
    };
    Some(
        PluginError::new(
            ErrorKind::AuthorizationRefused,
            format!("Microsoft Graph refused: the app lacks the application permission {role}, which it needs to {what}."),
        )
        .with_hint(format!(
            "Add the Microsoft Graph application permission {role} (Entra admin center → App registrations → your app → API permissions → Add a permission → Application permissions). {consent}{}",
            match step {
                Step::SendMail { .. } | Step::SendDraft { .. } | Step::Draft => format!(" If the app has it already, Exchange's RBAC for Applications may leave {sender} out of the app's management scope: an Exchange administrator checks it with Test-ServicePrincipalAuthorization -Identity <the app's service principal> -Resource {sender}."),
                _ => String::new(),
            }
        )),
    )
}

fn graph_error(step: &Step, failure: &GraphFailure) -> PluginError {
    let (status, code, message) = match failure {
        GraphFailure::Cancelled => {
            return PluginError::cancelled(
                "The delivery was cancelled; nothing was sent or left half-uploaded.",
            )
        }
        GraphFailure::Token(e) => return e.clone(),
        GraphFailure::Deadline { limit, host } => {
            return PluginError::new(
                ErrorKind::TimedOut,
                format!(
                    "The delivery did not finish within {} minutes, the bound for one delivery (it was at {host}); it was stopped and nothing half-sent was left.",
                    limit.as_secs() / 60
                ),
            )
            .with_hint(format!(
                "Try again; on a slow link allow more time with {}=SECONDS.",
                crate::delivery::graph::DELIVERY_TIMEOUT_VAR
            ))
        }
        GraphFailure::Transport { what, host, .. } => {
            return with_ids(
                PluginError::new(
                    ErrorKind::Network,
                    format!(
                    "Microsoft Graph at {host} could not be reached: {what}, even after retrying."
                ),
                )
                .with_hint("Check the network connection (and any proxy), then try again."),
                failure,
            )
        }
        GraphFailure::Refused {
            status,
            code,
            message,
            ..
        } => (*status, code.as_str(), message.as_str()),
    };
    let refused = |msg: String, hint: String| {
        PluginError::new(ErrorKind::AuthorizationRefused, msg).with_hint(hint)
    };
    let provider =
        |msg: String, hint: &str| PluginError::new(ErrorKind::Provider, msg).with_hint(hint);
    let e = match (code, step) {
        ("MailboxNotEnabledForRESTAPI" | "MailboxNotSupportedForRESTAPI", _) => provider(
            "The account has no Exchange Online mailbox (no Exchange Online licence, or the mailbox is on-premises), so it cannot send mail through Microsoft Graph.".into(),
            "Ask your Microsoft 365 administrator to assign the account a licence that includes Exchange Online (Microsoft 365 admin center → Users → Licenses and apps), wait for the mailbox to be created, then try again — or use an account that has a mailbox.",
        ),
        ("ErrorSendAsDenied", Step::SendMail { from } | Step::SendDraft { from }) => {
            let mailbox = from.clone().unwrap_or_else(|| "that mailbox".into());
            refused(
                format!("The account may not send as {mailbox}."),
                format!("Ask an Exchange administrator to give the account Send As on {mailbox} (Exchange admin center → Recipients → Mailboxes → {mailbox} → Delegation → Send as), or leave From empty to send from the account's own mailbox."),
            )
        }
        ("ErrorAccessDenied" | "accessDenied" | "Authorization_RequestDenied", _) if status == 403 => {
            let (permission, admin, what) = match step {
                Step::SendMail { .. } | Step::SendDraft { .. } => (MAIL_SEND, false, "send mail"),
                Step::Draft => (MAIL_READWRITE, false, "create the draft that large attachments need"),
                Step::FindSite { .. } | Step::Upload { site: Some(_), .. } => {
                    (SITES_READWRITE, true, "write to SharePoint sites")
                }
                Step::Upload { site: None, .. } => (FILES_READWRITE, false, "write to the user's OneDrive"),
            };
            refused(
                format!("Microsoft Graph refused: the account's token does not carry {permission}, which it needs to {what}."),
                add_permission(permission, admin),
            )
        }
        ("ErrorInvalidRecipients" | "ErrorInvalidRecipient", _) => PluginError::invalid_input(format!(
            "Exchange refused a recipient: {message}"
        ))
        .with_hint("Check the addresses in To, Cc and Bcc (each must be a full address such as name@example.com that Exchange can resolve)."),
        ("ErrorMessageSizeExceeded", _) => provider(
            format!("The message is larger than the organisation's maximum message size ({message})."),
            MESSAGE_SIZE_FIX,
        ),
        ("quotaLimitReached", _) | (_, _) if status == 507 => provider(
            "The drive is full: there is not enough storage left for this file.".into(),
            "Free space in the OneDrive or document library (empty its recycle bin too), or ask a SharePoint administrator to raise the storage quota, then try again.",
        ),
        ("nameAlreadyExists", Step::Upload { folder, name, .. }) => PluginError::invalid_input(format!(
            "A file named {name} is already in {}.",
            shown_folder(folder)
        ))
        .with_hint("Choose what to do with an existing file: replace it, or rename the new one (--conflict replace|rename), or give the file another name."),
        ("resourceLocked", Step::Upload { folder, name, .. }) | (_, Step::Upload { folder, name, .. }) if status == 423 => provider(
            format!("{}/{name} is locked: someone has it open for editing, or it is checked out.", shown_folder(folder)),
            "Ask whoever has it open to close it (or check it in), then try again — or upload under another name.",
        ),
        (_, Step::FindSite { site }) if status == 404 => PluginError::invalid_input(format!(
            "The SharePoint site {site} was not found."
        ))
        .with_hint("Check the site address (for example https://contoso.sharepoint.com/sites/Reports) and that the account is a member of the site."),
        (_, Step::Upload { folder, site, .. }) if status == 404 => PluginError::invalid_input(format!(
            "The folder {} was not found in {}.",
            shown_folder(folder),
            site.as_deref().unwrap_or("the user's OneDrive")
        ))
        .with_hint("Check the folder path (for example Reports/2026) and that the account can open it."),
        (_, _) if status == 401 => refused(
            "Microsoft Graph did not accept the account's access token, even after refreshing it.".into(),
            "Open the account and choose Verify to sign in again, then Save & Close.".into(),
        ),
        (_, _) if status == 429 => PluginError::new(
            ErrorKind::Network,
            format!("Microsoft Graph is throttling this account ({code}) and kept refusing after waiting as asked."),
        )
        .with_hint("Wait a few minutes and try again; spread scheduled deliveries so fewer run at once."),
        (_, _) if matches!(status, 500 | 502 | 503 | 504) => PluginError::new(
            ErrorKind::Network,
            format!("Microsoft Graph is unavailable (HTTP {status} {code}) and stayed so after retrying."),
        )
        .with_hint("Try again later; https://status.cloud.microsoft shows Microsoft 365 service health."),
        _ => provider(
            format!("Microsoft Graph refused the request (HTTP {status} {code}): {message}"),
            "Check the request (addresses, folder, site) and try again; give the request ids below to support if it keeps happening.",
        ),
    };
    with_ids(e, failure)
}

fn shown_folder(folder: &str) -> String {
    if folder.is_empty() {
        "the top folder".into()
    } else {
        folder.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(status: u16, code: &str) -> GraphFailure {
        GraphFailure::Refused {
            status,
            code: code.into(),
            message: "m".into(),
            ids: Box::new(CallIds {
                request_id: Some("req-1".into()),
                client_request_id: "cli-1".into(),
                date: Some("2026-12-01T00:00:00".into()),
            }),
            retry_after: None,
            claims: None,
        }
    }

    #[test]
    fn an_application_account_s_refusals_name_application_permissions_and_access_policies() {
        let app = Some(("reports@contoso.com", "client-1"));
        let with = |status: u16, code: &str, message: &str| {
            let mut f = refused(status, code);
            if let GraphFailure::Refused { message: m, .. } = &mut f {
                *m = message.into();
            }
            f
        };
        let raop = with(
            403,
            "ErrorAccessDenied",
            "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings.",
        );
        let e = DeliveryError::graph(Step::SendMail { from: None }, raop.clone())
            .to_plugin_error_as(app);
        assert!(
            e.message()
                .contains("keeps this app from the mailbox reports@contoso.com"),
            "{e}"
        );
        assert!(e.hint().unwrap().contains("-AppId client-1"), "{e:?}");
        assert_eq!(e.trace_id(), Some("req-1"), "the ids stay: {e:?}");
        let e = DeliveryError::graph(upload(None), refused(403, "accessDenied"))
            .to_plugin_error_as(app);
        assert!(
            e.message()
                .contains("application permission Files.ReadWrite.All"),
            "{e}"
        );
        assert!(!e.hint().unwrap().contains("delegated"), "{e:?}");
        let e = DeliveryError::graph(
            Step::SendMail { from: None },
            with(
                401,
                "InvalidAuthenticationToken",
                "Either scp or roles claim need to be present in the token.",
            ),
        )
        .to_plugin_error_as(app);
        assert!(e.message().contains("no admin consent"), "{e}");
        // The same refusals through a user account read as before.
        let e = DeliveryError::graph(upload(None), refused(403, "accessDenied")).to_plugin_error();
        assert!(e.hint().unwrap().contains("delegated"), "{e:?}");
    }

    fn upload(site: Option<&str>) -> Step {
        Step::Upload {
            folder: "Reports".into(),
            name: "a.pdf".into(),
            site: site.map(str::to_owned),
        }
    }

    #[test]
    fn permission_errors_name_the_permission_and_whether_admin_consent_is_needed() {
        let cases = [
            (
                Step::SendMail { from: None },
                "Mail.Send",
                "no admin consent",
            ),
            (Step::Draft, "Mail.ReadWrite", "no admin consent"),
            (upload(None), "Files.ReadWrite", "no admin consent"),
            (
                upload(Some("https://c.sharepoint.com/sites/R")),
                "Sites.ReadWrite.All",
                "require admin consent",
            ),
        ];
        for (step, permission, consent) in cases {
            let e = DeliveryError::graph(step, refused(403, "ErrorAccessDenied")).to_plugin_error();
            assert_eq!(e.kind(), ErrorKind::AuthorizationRefused);
            assert!(e.message().contains(permission), "{}", e.message());
            let hint = e.hint().unwrap();
            assert!(
                hint.contains(permission) && hint.contains(consent),
                "{hint}"
            );
            assert_eq!(e.trace_id(), Some("req-1"));
            assert_eq!(e.correlation_id(), Some("cli-1"));
        }
    }

    #[test]
    fn every_mapped_code_says_what_to_do() {
        let cases = [
            (
                Step::SendMail { from: None },
                404,
                "MailboxNotEnabledForRESTAPI",
                "licence",
            ),
            (
                Step::SendMail {
                    from: Some("x@c.com".into()),
                },
                403,
                "ErrorSendAsDenied",
                "Send As on x@c.com",
            ),
            (
                Step::SendMail { from: None },
                400,
                "ErrorInvalidRecipients",
                "To, Cc and Bcc",
            ),
            (upload(None), 507, "quotaLimitReached", "quota"),
            (upload(None), 409, "nameAlreadyExists", "--conflict"),
            (upload(None), 423, "resourceLocked", "close it"),
            (upload(None), 404, "itemNotFound", "folder path"),
            (
                Step::FindSite {
                    site: "https://c/sites/x".into(),
                },
                404,
                "itemNotFound",
                "site address",
            ),
            (
                Step::SendDraft { from: None },
                429,
                "ApplicationThrottled",
                "spread",
            ),
            (
                Step::SendDraft { from: None },
                503,
                "serviceNotAvailable",
                "later",
            ),
            (
                Step::SendDraft { from: None },
                401,
                "InvalidAuthenticationToken",
                "Verify",
            ),
        ];
        for (step, status, code, fix) in cases {
            let e = DeliveryError::graph(step, refused(status, code)).to_plugin_error();
            let hint = e.hint().unwrap_or_default();
            assert!(hint.contains(fix), "{code}: {hint}");
            assert_eq!(e.provider_code(), Some(code));
            assert_eq!(e.trace_id(), Some("req-1"), "{code}");
        }
    }

    #[test]
    fn cancelled_is_cancelled() {
        let e = DeliveryError::graph(Step::Draft, GraphFailure::Cancelled);
        assert!(e.is_cancelled());
        assert_eq!(e.to_plugin_error().kind(), ErrorKind::Cancelled);
    }
}
