//! Verifying an application account directly — nobody signs in: the app gets an
//! application token with its own credential (client credentials), then Microsoft Graph
//! proves what that token reaches: the mailbox the account acts for (its user, its mail —
//! where an Exchange application access policy may block it) and its OneDrive. What is
//! missing is named: no application permissions granted (with the admin-consent address),
//! `Mail.Send`, the access policy; permissions that only some deliveries need
//! (`Mail.ReadWrite` for large attachments, `Files.ReadWrite.All` for files) are listed as
//! missing without failing.

use atrs_host_sdk::{
    session::Reporter, ErrorKind, Host, MissingScope, PluginError, VerifiedAccount,
};
use serde::Deserialize;
use url::Url;

use crate::{
    account::refresh::{self, RetryBound},
    account::saved::VerifiedFacts,
    authority::app_access::{self, FILES_ROLES, MAIL_READ_ROLES},
    authority::delivery_permissions::{self, Summary},
    authority::discovery,
    clock::unix_now,
    config::{AccountConfig, Tenant},
    net::http::{host_of, Http},
    secret::Secret,
    sign_in_kind::SignIn,
    signin::verified::Verified,
};

/// The mailbox's user as Graph gives it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MailboxUser {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    mail: Option<String>,
    #[serde(default)]
    user_principal_name: Option<String>,
}

/// Graph's error body, as far as it is read here.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: ErrorFields,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorFields {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// One Graph answer: the status and, for a refusal, Graph's code and message.
struct Answer {
    status: u16,
    code: String,
    message: String,
    body: Vec<u8>,
}

/// Runs the direct verification of the application account `config`.
pub async fn verify(
    config: AccountConfig,
    http: Http,
    host: Host,
    reporter: Reporter,
) -> Result<(VerifiedAccount, Verified), PluginError> {
    let mailbox = config.mailbox.clone().ok_or_else(|| {
        PluginError::invalid_input("An application account needs the mailbox it sends as.")
            .with_field(crate::fields::MAILBOX)
            .with_hint("Give the mailbox's address, for example reports@contoso.com.")
    })?;
    reporter.working(format!(
        "Contacting the sign-in service at {}…",
        host_of(&config.authority())
    ));
    let endpoints = discovery::discover(&http, &config).await?;
    let graph = endpoints.graph.clone().ok_or_else(|| {
        PluginError::unsupported(
            "This identity provider names no Microsoft Graph host, so an application account has nothing to reach.",
        )
        .with_hint("Application accounts need Microsoft Entra ID; check the cloud and the authority URL.")
    })?;
    reporter.working("Getting an application token (client credentials)…");
    let renewed = refresh::client_credentials(
        &http,
        &endpoints.token,
        &config,
        &config.scopes,
        RetryBound::default(),
    )
    .await
    .map_err(|e| e.to_plugin_error(&config))?;
    let token = renewed.token.token.clone();
    let roles = app_access::roles_of(token.expose());
    if roles.as_ref().is_some_and(Vec::is_empty) {
        return Err(app_access::no_roles(&config));
    }
    if roles
        .as_ref()
        .is_some_and(|r| !app_access::has(r, app_access::MAIL_SEND))
    {
        return Err(app_access::missing_role(
            &config,
            app_access::MAIL_SEND,
            &format!("send mail as {mailbox}"),
        ));
    }
    let probe = Probe {
        http: &http,
        graph: &graph,
        token: &token,
        config: &config,
        mailbox: &mailbox,
    };
    reporter.working(format!("Checking the mailbox {mailbox}…"));
    let mut missing: Vec<String> = Vec::new();
    let user = probe.user(&mut missing).await?;
    let may = |list: &[&str]| {
        roles
            .as_ref()
            .is_none_or(|r| list.iter().any(|role| app_access::has(r, role)))
    };
    if may(&MAIL_READ_ROLES) {
        probe.mail().await?;
    } else {
        host.info(&format!(
            "The app has no mail-reading permission, so whether an Exchange access policy lets it reach {mailbox} shows at the first send."
        ));
    }
    if !may(&[app_access::MAIL_READWRITE]) {
        missing.push(app_access::MAIL_READWRITE.to_owned());
    }
    if may(&FILES_ROLES) {
        reporter.working(format!("Checking the OneDrive of {mailbox}…"));
        probe.drive(&host, &mut missing).await?;
        if let Some(site) = &config.site {
            reporter.working(format!("Checking the SharePoint site {site}…"));
            probe.site(site, &mut missing).await?;
        }
    } else {
        missing.push(app_access::FILES_READWRITE_ALL.to_owned());
    }
    missing.dedup();
    let granted = roles.clone().unwrap_or_default();
    let upn = user
        .user_principal_name
        .clone()
        .unwrap_or_else(|| mailbox.clone());
    let mail = user.mail.clone().unwrap_or_else(|| mailbox.clone());
    let display = user.display_name.clone().unwrap_or_else(|| mailbox.clone());
    let tenant_id = endpoints
        .tenant_id
        .clone()
        .unwrap_or_else(|| match &config.tenant {
            Tenant::Id(id) => id.clone(),
            other => other.segment().to_owned(),
        });
    let mut shown = VerifiedAccount::connection(
        config.account_name.as_str(),
        mail.as_str(),
        format!("{display}, as the app {}", config.client_id),
    );
    shown.granted_scopes = granted.iter().map(|s| s.as_str().into()).collect();
    shown.missing_scopes = missing
        .iter()
        .map(|role| MissingScope {
            scope: role.as_str().into(),
            hint: format!(
                "{} {}",
                purpose(role),
                app_access::missing_role_fix(&config, role)
            )
            .into(),
        })
        .collect();
    if let Some(id) = &user.id {
        shown = shown.with_user_id(id.as_str());
    }
    host.info(&format!(
        "Verified the application account: it reaches {mail} ({} application permission(s) granted{}).",
        granted.len(),
        match missing.is_empty() {
            true => String::new(),
            false => format!("; deliveries that need {} will be refused", missing.join(", ")),
        }
    ));
    if roles.is_some() {
        host.info(&format!(
            "Deliveries the granted permissions allow: {}.",
            Summary::of(SignIn::Application, &granted).text()
        ));
    }
    let verified = Verified {
        config: config.clone(),
        refresh_token: None,
        facts: VerifiedFacts {
            user_principal_name: upn,
            display_name: display,
            mail,
            user_id: user.id.clone(),
            tenant_id,
            granted_scopes: granted,
            verified_at: unix_now(),
        },
        access_token: Some(renewed.token),
    };
    Ok((shown, verified))
}

/// The Graph calls of a direct verification.
struct Probe<'a> {
    http: &'a Http,
    graph: &'a Url,
    token: &'a Secret,
    config: &'a AccountConfig,
    mailbox: &'a str,
}

impl Probe<'_> {
    /// `GET {graph}/v1.0/{segments}` with `query`.
    async fn get(&self, segments: &[&str], query: &str) -> Result<Answer, PluginError> {
        let mut url = self.graph.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().push("v1.0");
            for s in segments {
                path.push(s);
            }
        }
        url.set_query(Some(query));
        let response = self
            .http
            .get_json(&url, Some(self.token))
            .await
            .map_err(|e| e.to_plugin_error())?;
        let status = response.status().as_u16();
        let body = response.body().to_vec();
        let error: ErrorBody = match status {
            200..=299 => ErrorBody::default(),
            _ => serde_json::from_slice(&body).unwrap_or_default(),
        };
        let answer = Answer {
            status,
            code: error.error.code,
            message: error.error.message,
            body,
        };
        if app_access::is_without_roles(answer.status, &answer.message) {
            return Err(app_access::no_roles(self.config));
        }
        Ok(answer)
    }

    /// The mailbox's user (`User.Read.All`): a 404 is refused, a 403 only noted missing.
    async fn user(&self, missing: &mut Vec<String>) -> Result<MailboxUser, PluginError> {
        let a = self
            .get(
                &["users", self.mailbox],
                "$select=id,displayName,mail,userPrincipalName",
            )
            .await?;
        match a.status {
            200 => Ok(serde_json::from_slice(&a.body).unwrap_or_default()),
            403 => {
                missing.push(app_access::USER_READ_ALL.to_owned());
                Ok(MailboxUser::default())
            }
            404 => Err(PluginError::invalid_input(format!(
                "There is no user or mailbox {} in the tenant.",
                self.mailbox
            ))
            .with_field(crate::fields::MAILBOX)
            .with_hint(
                "Check the address in Mailbox: it must be a user or shared mailbox of this tenant.",
            )),
            _ => Err(unexpected(&a, "reading the mailbox's user")),
        }
    }

    /// The mailbox itself (a well-known folder): where Exchange applies access policies.
    async fn mail(&self) -> Result<(), PluginError> {
        let a = self
            .get(
                &["users", self.mailbox, "mailFolders", "sentitems"],
                "$select=id",
            )
            .await?;
        match a.status {
            200 => Ok(()),
            _ if app_access::is_access_policy(a.status, &a.code, &a.message) => Err(
                app_access::access_policy(self.mailbox, &self.config.client_id)
                    .with_field(crate::fields::MAILBOX),
            ),
            404 if a.code.starts_with("MailboxNotEnabled") => Err(PluginError::new(
                ErrorKind::Provider,
                format!("{} has no Exchange Online mailbox (no licence, or it is on-premises).", self.mailbox),
            )
            .with_field(crate::fields::MAILBOX)
            .with_hint("Give a mailbox that lives in Exchange Online, or ask a Microsoft 365 administrator to license this one.")),
            403 => Ok(()),
            _ => Err(unexpected(&a, "reading the mailbox")),
        }
    }

    /// The mailbox user's OneDrive: a 403 or a missing drive is noted, not refused (mail
    /// works without it).
    async fn drive(&self, host: &Host, missing: &mut Vec<String>) -> Result<(), PluginError> {
        let a = self
            .get(&["users", self.mailbox, "drive"], "$select=id")
            .await?;
        match a.status {
            200 => Ok(()),
            403 => {
                missing.push(app_access::FILES_READWRITE_ALL.to_owned());
                Ok(())
            }
            404 => {
                host.info(&format!(
                    "{} has no OneDrive yet; files can still go to SharePoint sites.",
                    self.mailbox
                ));
                Ok(())
            }
            _ => Err(unexpected(&a, "reading the OneDrive")),
        }
    }

    /// The account's own SharePoint site and its document library: a site that is not
    /// there is refused (files would fail), one the app may not reach is noted.
    async fn site(&self, site: &str, missing: &mut Vec<String>) -> Result<(), PluginError> {
        let url = Url::parse(site).map_err(|_| not_a_site(site))?;
        let host = url.host_str().ok_or_else(|| not_a_site(site))?;
        let path: Vec<&str> = url
            .path_segments()
            .map(|s| s.filter(|s| !s.is_empty()).collect())
            .unwrap_or_default();
        let mut segments = vec!["sites".to_owned(), format!("{host}:")];
        segments.extend(path.iter().map(|s| (*s).to_owned()));
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let found = self.get(&segments, "$select=id").await?;
        let id = match found.status {
            200 => serde_json::from_slice::<serde_json::Value>(&found.body)
                .ok()
                .and_then(|v| v["id"].as_str().map(str::to_owned))
                .ok_or_else(|| unexpected(&found, "finding the SharePoint site"))?,
            403 => {
                missing.push(app_access::SITES_READWRITE_ALL.to_owned());
                return Ok(());
            }
            404 => {
                return Err(PluginError::invalid_input(format!(
                    "There is no SharePoint site at {site} (Microsoft Graph: {}).",
                    found.message
                ))
                .with_field(crate::fields::SITE)
                .with_hint("Check the address in Files go to (open the site in a browser and copy its address), or leave it empty for the mailbox's OneDrive."))
            }
            _ => return Err(unexpected(&found, "finding the SharePoint site")),
        };
        let drive = self.get(&["sites", &id, "drive"], "$select=id").await?;
        match drive.status {
            200 => Ok(()),
            403 => {
                missing.push(app_access::SITES_READWRITE_ALL.to_owned());
                Ok(())
            }
            _ => Err(unexpected(&drive, "reading the site's document library")),
        }
    }
}

fn not_a_site(site: &str) -> PluginError {
    PluginError::invalid_input(format!("`{site}` is not a SharePoint site address."))
        .with_field(crate::fields::SITE)
        .with_hint(
            "Give the site's address, for example https://contoso.sharepoint.com/sites/Reports.",
        )
}

/// What an application permission the app lacks is needed for.
fn purpose(role: &str) -> &'static str {
    match role {
        app_access::USER_READ_ALL => "Verify reads the mailbox's name and id with it.",
        other => delivery_permissions::purpose(SignIn::Application, other)
            .unwrap_or("Some deliveries need it."),
    }
}

fn unexpected(a: &Answer, doing: &str) -> PluginError {
    let code: String = a
        .code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(60)
        .collect();
    PluginError::new(
        ErrorKind::Provider,
        format!("Microsoft Graph answered HTTP {} {code} when {doing}.", a.status),
    )
    .with_hint("Try again in a few minutes; if it keeps happening, check the cloud and authority settings.")
}
