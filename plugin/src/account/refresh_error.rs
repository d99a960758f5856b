//! Why a refresh failed, by what it means for the account: refused for good (the account
//! needs signing in again), transient (try again, nothing changes), or something else.

use std::time::Duration;

use atrs_host_sdk::{ErrorKind, PluginError};

use crate::{
    account::secret_expiry, authority::aadsts::ProviderError, authority::admin_consent,
    config::AccountConfig, net::http::HttpError,
};

/// AADSTS codes that mean the saved sign-in is gone until the user signs in again.
pub const SIGN_IN_AGAIN_CODES: [u64; 10] = [
    700082, 70008, 50173, 70043, 50076, 50079, 65001, 53003, 7000215, 7000222,
];

/// AADSTS codes and OAuth errors that mean consent is missing.
const CONSENT_CODES: [u64; 3] = [65001, 90094, 90095];

/// OAuth `error` values that refuse a refresh for good, whatever the code.
const SIGN_IN_AGAIN_ERRORS: [&str; 4] = [
    "invalid_grant",
    "interaction_required",
    "consent_required",
    "login_required",
];

/// How a refresh failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RefreshError {
    /// The provider refused the refresh token for good.
    #[error("the provider refused the saved sign-in ({0})")]
    SignInAgain(ProviderError),
    /// The provider or the network had trouble that may pass.
    #[error("transient trouble: {error}")]
    Transient {
        /// What happened.
        error: TransientCause,
        /// How long the provider asked to wait (`Retry-After`).
        retry_after: Option<Duration>,
    },
    /// An answer that is neither (not JSON, cut short, a provider error of another kind).
    #[error("the refresh failed: {0}")]
    Other(OtherCause),
}

/// The cause of a transient failure.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TransientCause {
    /// A network failure (refused, reset, timeout) or a bare 5xx/429.
    #[error("{0}")]
    Network(HttpError),
    /// `temporarily_unavailable` / `server_error`, or an OAuth error with a 5xx/429.
    #[error("{0}")]
    Provider(ProviderError),
}

/// The cause of another failure.
#[derive(Debug, Clone, thiserror::Error)]
pub enum OtherCause {
    /// A provider error that is not about the saved sign-in.
    #[error("{0}")]
    Provider(ProviderError),
    /// An answer that could not be used.
    #[error("{0}")]
    Network(HttpError),
    /// A token answer without the fields a token needs.
    #[error("the token answer from {0} lacks expected fields")]
    Unusable(String),
}

impl RefreshError {
    /// The kind of failure an HTTP-level error is.
    pub fn from_http(e: HttpError) -> Self {
        match &e {
            HttpError::Connect { .. }
            | HttpError::Timeout { .. }
            | HttpError::Interrupted { .. } => RefreshError::transient_network(e, None),
            HttpError::Status { status, .. } if *status >= 500 || *status == 429 => {
                RefreshError::transient_network(e, None)
            }
            _ => RefreshError::Other(OtherCause::Network(e)),
        }
    }

    fn transient_network(e: HttpError, retry_after: Option<Duration>) -> Self {
        RefreshError::Transient {
            error: TransientCause::Network(e),
            retry_after,
        }
    }

    /// The kind of failure an OAuth error answer with `status` is.
    pub fn from_provider(e: ProviderError, status: u16, retry_after: Option<Duration>) -> Self {
        let transient_error =
            matches!(e.error.as_str(), "temporarily_unavailable" | "server_error");
        if transient_error || status >= 500 || status == 429 {
            return RefreshError::Transient {
                error: TransientCause::Provider(e),
                retry_after,
            };
        }
        let refused = SIGN_IN_AGAIN_ERRORS.contains(&e.error.as_str())
            || SIGN_IN_AGAIN_CODES.iter().any(|c| e.has_code(*c))
            || CONSENT_CODES.iter().any(|c| e.has_code(*c))
            || e.error == "invalid_client";
        if refused {
            RefreshError::SignInAgain(e)
        } else {
            RefreshError::Other(OtherCause::Provider(e))
        }
    }

    /// Why, in one plain sentence that does not name the account.
    pub fn reason(&self) -> String {
        match self {
            RefreshError::SignInAgain(p) | RefreshError::Other(OtherCause::Provider(p)) => {
                p.to_plugin_error().message().to_owned()
            }
            RefreshError::Transient {
                error: TransientCause::Provider(p),
                ..
            } => p.to_plugin_error().message().to_owned(),
            RefreshError::Transient {
                error: TransientCause::Network(e),
                ..
            }
            | RefreshError::Other(OtherCause::Network(e)) => {
                e.to_plugin_error().message().to_owned()
            }
            RefreshError::Other(OtherCause::Unusable(host)) => {
                format!("{host} answered the token renewal with JSON that lacks expected fields.")
            }
        }
    }

    /// Whether an exchange ran out of its time (the server never answered in it).
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            RefreshError::Transient {
                error: TransientCause::Network(HttpError::Timeout { .. }),
                ..
            }
        )
    }

    /// Whether it is worth trying again shortly.
    pub fn is_transient(&self) -> bool {
        matches!(self, RefreshError::Transient { .. })
    }

    /// The user-facing error for `config`'s account.
    pub fn to_plugin_error(&self, config: &AccountConfig) -> PluginError {
        match self {
            RefreshError::SignInAgain(p) => sign_in_again(p, config),
            RefreshError::Transient { error, .. } => {
                let cause = match error {
                    TransientCause::Network(e) => e.to_plugin_error(),
                    TransientCause::Provider(e) => e.to_plugin_error(),
                };
                let e = PluginError::new(
                    ErrorKind::Network,
                    format!(
                        "Could not renew the access token of \"{}\": {}",
                        config.account_name,
                        lower_first(cause.message())
                    ),
                )
                .with_hint("Nothing was changed; the account keeps working once the service answers again. Try again in a few minutes.");
                match cause.provider_code() {
                    Some(code) => e.with_provider_code(code),
                    None => e,
                }
            }
            RefreshError::Other(OtherCause::Provider(p)) => p.to_plugin_error(),
            RefreshError::Other(OtherCause::Network(e)) => e.to_plugin_error(),
            RefreshError::Other(OtherCause::Unusable(host)) => PluginError::new(
                ErrorKind::Network,
                format!("{host} answered the token renewal with JSON that lacks expected fields."),
            )
            .with_hint("Check that the authority URL points at a Microsoft identity platform (or compatible) sign-in service."),
        }
    }
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if chars.clone().next().is_some_and(char::is_lowercase) => {
            c.to_lowercase().chain(chars).collect()
        }
        Some(c) => std::iter::once(c).chain(chars).collect(),
        None => String::new(),
    }
}

/// Whether `p` is about missing consent.
fn is_consent(p: &ProviderError) -> bool {
    CONSENT_CODES.iter().any(|c| p.has_code(*c))
        || p.error == "consent_required"
        || p.suberror.as_deref() == Some("consent_required")
}

/// The "needs sign-in again" error: the table's reason, and a fix that keeps the account.
fn sign_in_again(p: &ProviderError, config: &AccountConfig) -> PluginError {
    let from_table = p.to_plugin_error();
    let reason = from_table.message().to_owned();
    let re_verify = match config.is_application() {
        true => "Correct the app's credential or permissions in the Entra admin center, then verify the account again (Verify ▾ Directly); its name and settings are kept.",
        false => "Re-verify the account (sign in again); its name and settings are kept.",
    };
    let fix = if is_consent(p) {
        admin_consent::fix(config)
    } else if p.has_code(7000222) {
        secret_expiry::NEW_SECRET.to_owned()
    } else if p.has_code(7000215) {
        format!(
            "{} Then Re-verify the account.",
            from_table
                .hint()
                .unwrap_or_default()
                .trim_end_matches(", then choose Verify again.")
        )
    } else if p.has_code(53003) {
        format!("Ask your administrator which Conditional Access policy blocks the sign-in (give them the trace ID), then {re_verify}")
    } else if p.has_code(50079) {
        format!("Set up multi-factor authentication for the account, then {re_verify}")
    } else {
        re_verify.to_owned()
    };
    let message = if p.has_code(7000222) {
        format!(
            "The client secret of \"{}\" has expired, so its sign-in cannot be renewed.",
            config.account_name
        )
    } else if config.is_application() {
        format!(
            "\"{}\" was refused an application token: {}",
            config.account_name,
            lower_first(&reason)
        )
    } else {
        format!(
            "\"{}\" needs to be signed in again: {}",
            config.account_name,
            lower_first(&reason)
        )
    };
    let mut e = PluginError::new(ErrorKind::AuthorizationRefused, message).with_hint(fix);
    if let Some(code) = from_table.provider_code() {
        e = e.with_provider_code(code);
    }
    if let Some(id) = from_table.trace_id() {
        e = e.with_trace_id(id);
    }
    if let Some(id) = from_table.correlation_id() {
        e = e.with_correlation_id(id);
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields;
    use atrs_host_sdk::FormValues;

    fn config() -> AccountConfig {
        AccountConfig::parse(
            &FormValues::new()
                .with(fields::ACCOUNT_NAME, "Reports")
                .with(fields::CLIENT_ID, "4a1aa1d5-c567-49d0-ad0b-cd957a47f842")
                .with(fields::TENANT_ID, "contoso.onmicrosoft.com"),
        )
        .unwrap()
    }

    #[test]
    fn refusals_for_good_are_told_apart_from_transient_trouble() {
        for code in SIGN_IN_AGAIN_CODES {
            let error = if code >= 7000000 {
                "invalid_client"
            } else {
                "invalid_grant"
            };
            let e =
                RefreshError::from_provider(ProviderError::new(error).with_code(code), 400, None);
            assert!(matches!(e, RefreshError::SignInAgain(_)), "{code}");
        }
        let any = RefreshError::from_provider(
            ProviderError::new("interaction_required").with_code(1),
            400,
            None,
        );
        assert!(matches!(any, RefreshError::SignInAgain(_)));
        let busy = RefreshError::from_provider(
            ProviderError::new("temporarily_unavailable"),
            503,
            Some(Duration::from_secs(2)),
        );
        assert!(busy.is_transient());
        let scope = RefreshError::from_provider(
            ProviderError::new("invalid_scope").with_code(70011),
            400,
            None,
        );
        assert!(matches!(scope, RefreshError::Other(_)));
        let reset = RefreshError::from_http(HttpError::Interrupted { host: "h".into() });
        assert!(reset.is_transient());
    }

    #[test]
    fn the_message_names_the_account_reason_and_fix() {
        let e = RefreshError::from_provider(
            ProviderError::new("invalid_grant").with_code(50173),
            400,
            None,
        )
        .to_plugin_error(&config());
        assert_eq!(e.kind(), ErrorKind::AuthorizationRefused);
        assert_eq!(
            e.message(),
            "\"Reports\" needs to be signed in again: the sign-in was revoked (for example after a password change)."
        );
        assert!(e.hint().unwrap().starts_with("Re-verify"));
        assert_eq!(e.provider_code(), Some("AADSTS50173"));

        let consent = RefreshError::from_provider(
            ProviderError::new("invalid_grant").with_code(65001),
            400,
            None,
        )
        .to_plugin_error(&config());
        assert!(consent
            .hint()
            .unwrap()
            .contains("/v2.0/adminconsent?client_id="));

        let secret = RefreshError::from_provider(
            ProviderError::new("invalid_client").with_code(7000222),
            401,
            None,
        )
        .to_plugin_error(&config());
        assert!(
            secret.hint().unwrap().contains("Certificates & secrets"),
            "{secret}"
        );
        assert_eq!(
            secret.message(),
            "The client secret of \"Reports\" has expired, so its sign-in cannot be renewed."
        );
        assert!(
            secret
                .hint()
                .unwrap()
                .ends_with("enter the new secret's Value and its Expires date, verify and save."),
            "Re-verify would send the expired secret again: {secret}"
        );
        let wrong = RefreshError::from_provider(
            ProviderError::new("invalid_client").with_code(7000215),
            401,
            None,
        )
        .to_plugin_error(&config());
        assert!(
            wrong.hint().unwrap().ends_with("Re-verify the account."),
            "{wrong}"
        );
    }
}
