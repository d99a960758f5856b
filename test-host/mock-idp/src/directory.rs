//! The simulated Entra directory: tenants, app registrations and users.
//!
//! A [`Directory`] is plain data. Build one in code, load one from JSON
//! ([`Directory::from_file`]), or take [`Directory::default`], the Contoso
//! directory described in [`crate::defaults`].

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::errors::MockError;
use crate::ids::is_guid;

/// Tenants, app registrations and users known to the mock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Directory {
    /// Tenants (organizations). The first is the home of the default user.
    pub tenants: Vec<Tenant>,
    /// App registrations.
    pub apps: Vec<AppRegistration>,
    /// Users; the first one is the simulated user who approves in auto mode.
    pub users: Vec<User>,
}

/// An Entra tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// Tenant id (a GUID).
    pub id: String,
    /// Organization name shown on pages.
    pub display_name: String,
    /// Verified domains usable as the tenant segment (`contoso.onmicrosoft.com`).
    pub domains: Vec<String>,
    /// `tenant_region_scope` in discovery (e.g. `NA`, `EU`).
    #[serde(default = "default_region")]
    pub region: String,
}

fn default_region() -> String {
    "NA".to_owned()
}

/// Who may sign in to an app (Entra's `signInAudience`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignInAudience {
    /// Single tenant: accounts of the home tenant only.
    AzureADMyOrg,
    /// Any work or school account.
    AzureADMultipleOrgs,
    /// Work, school and personal accounts.
    AzureADandPersonalMicrosoftAccount,
    /// Personal accounts only.
    PersonalMicrosoftAccount,
}

/// The platform a redirect URI is registered under; it sets the client type at redemption.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// Web: a confidential client that must send a secret.
    Web,
    /// Mobile & desktop: a public client that must not send a secret.
    Desktop,
    /// Single-page application: public, redeemed cross-origin from a browser.
    Spa,
}

/// A registered redirect URI.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedirectUri {
    /// The URI as registered (`http://localhost`).
    pub uri: String,
    /// Its platform.
    pub platform: Platform,
}

/// A client secret: its id (what people paste by mistake) and its value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSecret {
    /// The secret's id, a GUID (sending it gives AADSTS7000215).
    pub id: String,
    /// The secret's value (what must be sent).
    pub value: String,
    /// Whether the secret has expired (sending it gives AADSTS7000222).
    #[serde(default)]
    pub expired: bool,
}

/// A certificate registered on an app (Certificates & secrets → Certificates): what
/// client assertions signed with its key are checked against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientCertificate {
    /// `x5t#S256`: base64url (no padding) of the SHA-256 of the certificate's DER.
    pub thumbprint: String,
    /// The certificate's RSA public key, PKCS#1 `RSAPublicKey` DER in base64.
    pub public_key: String,
    /// Whether the registered credential has expired (AADSTS700027).
    #[serde(default)]
    pub expired: bool,
}

/// An app registration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRegistration {
    /// Application (client) id, a GUID.
    pub client_id: String,
    /// Display name shown on consent pages and in errors.
    pub display_name: String,
    /// The tenant the app is registered in.
    pub home_tenant: String,
    /// Supported account types.
    pub audience: SignInAudience,
    /// Registration date `YYYY-MM-DD`; single-tenant apps created after 2018-10-15 are refused on `/common`.
    #[serde(default = "default_created")]
    pub created: String,
    /// "Allow public client flows" (device code without a secret).
    pub public_client: bool,
    /// Registered redirect URIs.
    #[serde(default)]
    pub redirect_uris: Vec<RedirectUri>,
    /// Client secrets.
    #[serde(default)]
    pub secrets: Vec<ClientSecret>,
    /// Certificates, for client assertions (RFC 7523) instead of secrets.
    #[serde(default)]
    pub certificates: Vec<ClientCertificate>,
    /// Delegated permissions the app may be granted (configured API permissions).
    pub scopes: Vec<String>,
    /// Of those, the ones that need an administrator's consent.
    #[serde(default)]
    pub admin_consent_scopes: Vec<String>,
    /// Whether an administrator has granted consent for the whole tenant.
    #[serde(default)]
    pub admin_consented: bool,
    /// Application permissions (app roles of Microsoft Graph) configured on the app, for the
    /// client credentials grant: they reach a token's `roles` only once an administrator
    /// granted them ([`AppRegistration::app_roles_granted`]).
    #[serde(default)]
    pub app_roles: Vec<String>,
    /// Whether an administrator granted the application permissions ("Grant admin consent
    /// for …"); without it Entra still issues app tokens, with no `roles`.
    #[serde(default)]
    pub app_roles_granted: bool,
}

fn default_created() -> String {
    "2024-01-15".to_owned()
}

/// A user account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Object id (`oid`, Graph `id`), a GUID.
    pub id: String,
    /// User principal name, the sign-in name.
    pub upn: String,
    /// Display name.
    pub display_name: String,
    /// Given name.
    #[serde(default)]
    pub given_name: Option<String>,
    /// Surname.
    #[serde(default)]
    pub surname: Option<String>,
    /// Mail address; Graph returns `null` when absent.
    #[serde(default)]
    pub mail: Option<String>,
    /// Job title.
    #[serde(default)]
    pub job_title: Option<String>,
    /// Password typed on the manual sign-in page.
    pub password: String,
    /// MFA code "sent to the phone"; `None` means no MFA.
    #[serde(default)]
    pub mfa_code: Option<String>,
    /// The tenant the account belongs to.
    pub tenant: String,
}

/// What a tenant segment in a URL resolved to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Segment {
    /// A tenant, named by id or verified domain (index into `tenants`).
    Tenant(usize),
    /// `organizations`: any work or school account.
    Organizations,
    /// `common`: work, school and personal accounts.
    Common,
    /// `consumers`: personal accounts.
    Consumers,
}

impl Directory {
    /// Load and check a directory from a JSON file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, MockError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| MockError::DirectoryIo {
            path: path.to_owned(),
            source,
        })?;
        Self::from_json(&text)
    }

    /// Parse and check a directory from JSON text.
    pub fn from_json(text: &str) -> Result<Self, MockError> {
        let dir: Directory = serde_json::from_str(text)?;
        dir.validate()?;
        Ok(dir)
    }

    /// The directory as JSON (the shape [`Directory::from_json`] reads).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a directory always serializes")
    }

    /// Check ids are GUIDs and unique, and that every reference points somewhere.
    pub fn validate(&self) -> Result<(), MockError> {
        let bad = |m: String| Err(MockError::DirectoryInvalid(m));
        if self.tenants.is_empty() {
            return bad("at least one tenant is needed".into());
        }
        let mut seen = std::collections::HashSet::new();
        for t in &self.tenants {
            if !is_guid(&t.id) {
                return bad(format!("tenant id {:?} is not a GUID", t.id));
            }
            for key in std::iter::once(&t.id).chain(&t.domains) {
                if !seen.insert(key.to_ascii_lowercase()) {
                    return bad(format!("tenant id or domain {key:?} is used twice"));
                }
            }
        }
        let mut clients = std::collections::HashSet::new();
        for a in &self.apps {
            if !is_guid(&a.client_id) || !clients.insert(a.client_id.to_ascii_lowercase()) {
                return bad(format!(
                    "app client id {:?} is not a GUID or is used twice",
                    a.client_id
                ));
            }
            if self.tenant_by_id(&a.home_tenant).is_none() {
                return bad(format!(
                    "app {:?} names unknown home tenant {:?}",
                    a.display_name, a.home_tenant
                ));
            }
            if chrono::NaiveDate::parse_from_str(&a.created, "%Y-%m-%d").is_err() {
                return bad(format!(
                    "app {:?} has created date {:?}, expected YYYY-MM-DD",
                    a.display_name, a.created
                ));
            }
            for r in &a.redirect_uris {
                if url::Url::parse(&r.uri).is_err() {
                    return bad(format!("redirect URI {:?} is not a URL", r.uri));
                }
            }
        }
        let mut upns = std::collections::HashSet::new();
        for u in &self.users {
            if !upns.insert(u.upn.to_ascii_lowercase()) || !is_guid(&u.id) {
                return bad(format!(
                    "user {:?} is listed twice or its id is not a GUID",
                    u.upn
                ));
            }
            if self.tenant_by_id(&u.tenant).is_none() {
                return bad(format!(
                    "user {:?} names unknown tenant {:?}",
                    u.upn, u.tenant
                ));
            }
        }
        Ok(())
    }

    /// The tenant with this id (case-insensitive).
    pub fn tenant_by_id(&self, id: &str) -> Option<&Tenant> {
        self.tenants.iter().find(|t| t.id.eq_ignore_ascii_case(id))
    }

    /// The app registration with this client id (case-insensitive).
    pub fn app(&self, client_id: &str) -> Option<&AppRegistration> {
        self.apps
            .iter()
            .find(|a| a.client_id.eq_ignore_ascii_case(client_id))
    }

    /// The user with this UPN (case-insensitive).
    pub fn user(&self, upn: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.upn.eq_ignore_ascii_case(upn.trim()))
    }

    /// The user with this object id.
    pub fn user_by_id(&self, oid: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == oid)
    }

    /// The simulated user: the first one listed.
    pub fn default_user(&self) -> Option<&User> {
        self.users.first()
    }

    /// Resolve a tenant segment from a URL path.
    pub(crate) fn segment(&self, raw: &str) -> Option<Segment> {
        match raw.to_ascii_lowercase().as_str() {
            "organizations" => Some(Segment::Organizations),
            "common" => Some(Segment::Common),
            "consumers" => Some(Segment::Consumers),
            lower => self
                .tenants
                .iter()
                .position(|t| {
                    t.id.eq_ignore_ascii_case(lower)
                        || t.domains.iter().any(|d| d.eq_ignore_ascii_case(lower))
                })
                .map(Segment::Tenant),
        }
    }
}

impl AppRegistration {
    /// Whether single-tenant restrictions on `/common` apply (created after 2018-10-15).
    fn created_after_common_cutoff(&self) -> bool {
        self.created.as_str() > "2018-10-15"
    }

    /// Whether personal accounts are in the audience.
    fn allows_personal(&self) -> bool {
        matches!(
            self.audience,
            SignInAudience::AzureADandPersonalMicrosoftAccount
                | SignInAudience::PersonalMicrosoftAccount
        )
    }

    /// Whether `scope` needs admin consent that has not been given.
    pub(crate) fn blocked_by_admin_consent(&self, scope: &str) -> bool {
        !self.admin_consented
            && self
                .admin_consent_scopes
                .iter()
                .any(|s| s.eq_ignore_ascii_case(scope))
    }

    /// Whether `scope` is one of the app's configured permissions.
    pub(crate) fn configured(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s.eq_ignore_ascii_case(scope))
    }
}

impl Directory {
    /// The name Entra uses for a segment in messages.
    pub(crate) fn segment_name(&self, seg: &Segment, raw: &str) -> String {
        match seg {
            Segment::Tenant(i) => self.tenants[*i].display_name.clone(),
            _ => raw.to_owned(),
        }
    }

    /// Check that `app` may be used through `seg` (AADSTS700016, 50194, 9002332).
    pub(crate) fn check_app<'a>(
        &'a self,
        client_id: &str,
        seg: &Segment,
        raw_segment: &str,
    ) -> Result<&'a AppRegistration, crate::errors::EntraError> {
        use crate::errors::EntraError;
        let unknown =
            || EntraError::unknown_client(client_id, &self.segment_name(seg, raw_segment));
        let app = self.app(client_id).ok_or_else(unknown)?;
        let single = app.audience == SignInAudience::AzureADMyOrg;
        match seg {
            Segment::Tenant(i) => {
                let home = app.home_tenant.eq_ignore_ascii_case(&self.tenants[*i].id);
                if (single && !home) || app.audience == SignInAudience::PersonalMicrosoftAccount {
                    return Err(unknown());
                }
            }
            Segment::Common | Segment::Organizations => {
                if single && app.created_after_common_cutoff() {
                    return Err(EntraError::single_tenant_on_common(
                        &app.client_id,
                        &app.display_name,
                    ));
                }
            }
            Segment::Consumers => {
                if !app.allows_personal() {
                    return Err(EntraError::consumers_not_allowed(
                        &app.client_id,
                        &app.display_name,
                    ));
                }
            }
        }
        Ok(app)
    }

    /// Check that `user` may sign in to `app` through `seg` (AADSTS50034, 50020).
    pub(crate) fn check_user(
        &self,
        app: &AppRegistration,
        seg: &Segment,
        user: &User,
    ) -> Result<(), crate::errors::EntraError> {
        use crate::errors::EntraError;
        let name = |id: &str| {
            self.tenant_by_id(id)
                .map(|t| t.display_name.clone())
                .unwrap_or_default()
        };
        let outside = |directory: &str| {
            EntraError::bad(
                "invalid_grant",
                50034,
                format!(
                    "The user account {} does not exist in the {directory} directory. To sign into this application, the account must be added to the directory.",
                    user.upn
                ),
            )
        };
        match seg {
            Segment::Tenant(i) if !self.tenants[*i].id.eq_ignore_ascii_case(&user.tenant) => {
                return Err(outside(&self.tenants[*i].display_name));
            }
            Segment::Consumers => return Err(outside("Microsoft account")),
            _ => {}
        }
        if app.audience == SignInAudience::AzureADMyOrg
            && !app.home_tenant.eq_ignore_ascii_case(&user.tenant)
        {
            return Err(EntraError::bad(
                "access_denied",
                50020,
                format!(
                    "User account '{}' from identity provider '{}' does not exist in tenant '{}' and cannot access the application '{}'({}) in that tenant. The account needs to be added as an external user in the tenant first.",
                    user.upn,
                    name(&user.tenant),
                    name(&app.home_tenant),
                    app.client_id,
                    app.display_name
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defaults;

    #[test]
    fn default_directory_is_valid_and_round_trips_through_json() {
        let dir = Directory::default();
        dir.validate().unwrap();
        let text = dir.to_json().to_string();
        assert_eq!(Directory::from_json(&text).unwrap(), dir);
    }

    #[test]
    fn loads_from_a_file_and_names_a_missing_one() {
        let path = std::env::temp_dir().join(format!("mock-idp-dir-{}.json", crate::ids::guid()));
        std::fs::write(&path, Directory::default().to_json().to_string()).unwrap();
        let loaded = Directory::from_file(&path);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(loaded.unwrap(), Directory::default());
        let err = Directory::from_file(&path).unwrap_err();
        assert!(matches!(err, MockError::DirectoryIo { .. }));
        assert!(err.to_string().contains("mock-idp-dir-"));
    }

    #[test]
    fn segments_resolve_by_id_domain_and_keyword() {
        let dir = Directory::default();
        assert_eq!(dir.segment(defaults::TENANT_ID), Some(Segment::Tenant(0)));
        assert_eq!(
            dir.segment(&defaults::TENANT_ID.to_uppercase()),
            Some(Segment::Tenant(0))
        );
        assert_eq!(
            dir.segment("Contoso.onmicrosoft.com"),
            Some(Segment::Tenant(0))
        );
        assert_eq!(dir.segment("organizations"), Some(Segment::Organizations));
        assert_eq!(dir.segment("common"), Some(Segment::Common));
        assert_eq!(dir.segment("consumers"), Some(Segment::Consumers));
        assert_eq!(dir.segment("fabrikam.onmicrosoft.com"), None);
        assert_eq!(dir.segment("00000000-0000-0000-0000-000000000000"), None);
    }

    #[test]
    fn inconsistent_directories_are_refused() {
        let mut dir = Directory::default();
        dir.users[0].tenant = "11111111-1111-4111-8111-111111111111".into();
        assert!(matches!(
            dir.validate(),
            Err(MockError::DirectoryInvalid(_))
        ));
        assert!(matches!(
            Directory::from_json("{"),
            Err(MockError::DirectoryJson(_))
        ));
    }

    #[test]
    fn single_tenant_app_is_refused_on_common_but_not_on_its_tenant() {
        let dir = Directory::default();
        let err = dir
            .check_app(
                defaults::SINGLE_TENANT_CLIENT_ID,
                &Segment::Common,
                "common",
            )
            .unwrap_err();
        assert_eq!(err.code, Some(50194));
        assert!(dir
            .check_app(
                defaults::SINGLE_TENANT_CLIENT_ID,
                &Segment::Tenant(0),
                defaults::TENANT_ID
            )
            .is_ok());
        let err = dir
            .check_app(
                defaults::DESKTOP_CLIENT_ID,
                &Segment::Consumers,
                "consumers",
            )
            .unwrap_err();
        assert_eq!(err.code, Some(9002332));
    }
}
