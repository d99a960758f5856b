//! The default directory: the fixed Contoso tenant, its app registrations and users.
//!
//! The demo and the tests code against these names; the values never change.

use crate::directory::{
    AppRegistration, ClientCertificate, ClientSecret, Directory, Platform, RedirectUri,
    SignInAudience, Tenant, User,
};

/// Contoso's tenant id.
pub const TENANT_ID: &str = "4b1a9d2e-7c3f-4e85-9a60-2f1d8c7b5e34";
/// Contoso's verified domain, usable as the tenant segment.
pub const TENANT_DOMAIN: &str = "contoso.onmicrosoft.com";
/// Contoso's display name.
pub const TENANT_NAME: &str = "Contoso";

/// The desktop app the demo uses: public client flows on, `http://localhost` and the
/// native-client URI (Mobile & desktop), multi-tenant, no secrets.
pub const DESKTOP_CLIENT_ID: &str = "0f4e6c1a-5b2d-4f3e-8a9c-7d6e5f4a3b21";
/// The desktop app's display name.
pub const DESKTOP_APP_NAME: &str = "ATRS Reports (desktop)";
/// The native-client redirect URI for embedded web views.
pub const NATIVE_CLIENT_REDIRECT_URI: &str =
    "https://login.microsoftonline.com/common/oauth2/nativeclient";

/// A confidential web app: `http://localhost` under Web, public client flows off.
pub const WEB_CLIENT_ID: &str = "2a7c9e1b-3d4f-4a6b-8c0d-1e2f3a4b5c6d";
/// The web app's valid secret *value*.
pub const WEB_CLIENT_SECRET: &str = "mS8Q~Xw2vKp9LrT4nZbY7cHd1FgJ5aEs3uWq6o0i";
/// The valid secret's *id* (sending it instead of the value gives AADSTS7000215).
pub const WEB_CLIENT_SECRET_ID: &str = "7e1d3c5b-9a8f-4e2d-b6c4-0a1b2c3d4e5f";
/// An expired secret value of the web app (AADSTS7000222).
pub const WEB_CLIENT_EXPIRED_SECRET: &str = "Zp3Q~oLd.SeCrEt-Expired_2023~aB4cD5eF6gH7";
/// The expired secret's id.
pub const WEB_CLIENT_EXPIRED_SECRET_ID: &str = "c3b2a190-8f7e-4d6c-9b5a-4e3d2c1b0a99";

/// An app with public client flows off and only a desktop redirect: device-code polls fail with AADSTS7000218.
pub const NO_PUBLIC_FLOWS_CLIENT_ID: &str = "5c3e7a9b-1d2f-4b6a-9e8c-3f4a5b6c7d8e";

/// A single-tenant app created after October 2018: `/common` gives AADSTS50194.
pub const SINGLE_TENANT_CLIENT_ID: &str = "9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c6d";

/// An app whose `Mail.Send` needs admin consent that was never given.
pub const ADMIN_CONSENT_CLIENT_ID: &str = "6b5a4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d";

/// The default (simulated) user.
pub const USER_UPN: &str = "adele.vance@contoso.onmicrosoft.com";
/// The default user's object id.
pub const USER_ID: &str = "87d349ed-44d7-43e1-9a83-5f2406dee5bd";
/// The default user's display name.
pub const USER_DISPLAY_NAME: &str = "Adele Vance";
/// The default user's mail address.
pub const USER_MAIL: &str = "AdeleV@contoso.onmicrosoft.com";
/// The default user's password.
pub const USER_PASSWORD: &str = "Contoso-Adele-2024!";
/// The default user's MFA code, "sent to the phone" in manual mode.
pub const USER_MFA_CODE: &str = "246810";

/// A user whose Graph `mail` is `null`.
pub const NO_MAIL_USER_UPN: &str = "megan.bowen@contoso.onmicrosoft.com";
/// That user's object id.
pub const NO_MAIL_USER_ID: &str = "48d31887-5fad-4d73-a9f5-3c356e68a038";
/// That user's display name.
pub const NO_MAIL_USER_DISPLAY_NAME: &str = "Megan Bowen";
/// That user's password.
pub const NO_MAIL_USER_PASSWORD: &str = "Contoso-Megan-2024!";
/// That user's MFA code.
pub const NO_MAIL_USER_MFA_CODE: &str = "135790";

/// A shared mailbox the default user may send as (Send As right granted).
pub const SEND_AS_MAILBOX: &str = "reports@contoso.onmicrosoft.com";
/// A shared mailbox the default user may not send as (`ErrorSendAsDenied`).
pub const SEND_AS_DENIED_MAILBOX: &str = "finance@contoso.onmicrosoft.com";
/// Recipients at this domain are refused (`ErrorInvalidRecipients`).
pub const UNRESOLVED_DOMAIN: &str = "unresolved.invalid";
/// The SharePoint host of the mock's one site.
pub const SITE_HOST: &str = "contoso.sharepoint.com";
/// The server-relative path of the mock's one site.
pub const SITE_PATH: &str = "/sites/Reports";
/// The site's Graph id (`host,site collection id,web id`).
pub const SITE_ID: &str =
    "contoso.sharepoint.com,5a58bb09-1fba-41c1-8125-69da264370a0,9f2ec1da-0be4-4a74-9254-973f0add78fd";

/// The delegated scopes every default app may be granted: Graph's by name, the Outlook
/// resource's by full URI.
pub const APP_SCOPES: [&str; 11] = [
    "openid",
    "profile",
    "email",
    "offline_access",
    "User.Read",
    "Mail.Send",
    "Mail.ReadWrite",
    "Files.ReadWrite",
    "Sites.ReadWrite.All",
    "https://outlook.office.com/SMTP.Send",
    "https://outlook.office.com/IMAP.AccessAsUser.All",
];

/// A confidential app for app-only access (a scheduler service, no user signs in): a
/// client secret ([`APP_ONLY_CLIENT_SECRET`]) or nothing else, and the application
/// permissions [`APP_ONLY_ROLES`], granted by an administrator.
pub const APP_ONLY_CLIENT_ID: &str = "3c9e5a7b-2d4f-4e6a-8b1c-5d7e9f1a3b5c";
/// The client secret of every app-only app of the default directory.
pub const APP_ONLY_CLIENT_SECRET: &str = "aP7Q~Sch3dUl3r.Only_Secret~Vx9Yz2Ab4Cd6Ef";
/// The id of [`APP_ONLY_CLIENT_SECRET`] (sending it gives AADSTS7000215).
pub const APP_ONLY_CLIENT_SECRET_ID: &str = "e4d3c2b1-a0f9-4e8d-9c7b-6a5f4e3d2c1b";
/// The application permissions configured (and, on [`APP_ONLY_CLIENT_ID`], granted).
pub const APP_ONLY_ROLES: [&str; 5] = [
    "Mail.Send",
    "Mail.ReadWrite",
    "Files.ReadWrite.All",
    "Sites.ReadWrite.All",
    "User.Read.All",
];
/// An app-only app with [`APP_ONLY_ROLES`] configured but never granted: its tokens carry no
/// `roles`.
pub const APP_ONLY_UNGRANTED_CLIENT_ID: &str = "7a1b3c5d-9e2f-4a6b-8c0d-2e4f6a8b0c1d";
/// An app-only app granted `Mail.Send` and `User.Read.All` only (no files, no mail reading).
pub const APP_ONLY_MAIL_CLIENT_ID: &str = "1e3f5a7c-9b2d-4c6e-8f0a-3b5d7f9a1c2e";

/// The default directory is Contoso's ([`directory`]).
/// A confidential app (Web redirect) that authenticates with a certificate: client
/// assertions signed with [`CERT_KEY_PEM`] are accepted, ones signed with
/// [`CERT_EXPIRED_KEY_PEM`] are refused as signed with an expired credential (AADSTS700027).
pub const CERT_CLIENT_ID: &str = "8e2f4a6c-1b3d-4c5e-9f7a-2b4c6d8e0f1a";
/// The private key (PKCS#8 PEM) of the certificate registered on [`CERT_CLIENT_ID`] — a test
/// key, published here on purpose.
pub const CERT_KEY_PEM: &str = include_str!("../fixtures/certificate-app.key.pem");
/// The certificate (PEM) registered on [`CERT_CLIENT_ID`].
pub const CERT_PEM: &str = include_str!("../fixtures/certificate-app.cert.pem");
/// The private key of a certificate whose registration on [`CERT_CLIENT_ID`] has expired.
pub const CERT_EXPIRED_KEY_PEM: &str = include_str!("../fixtures/certificate-app-expired.key.pem");
/// The certificate whose registration on [`CERT_CLIENT_ID`] has expired.
pub const CERT_EXPIRED_PEM: &str = include_str!("../fixtures/certificate-app-expired.cert.pem");
/// [`CERT_PEM`] with [`CERT_KEY_PEM`] as OpenSSL 3.0 exports them by default (`openssl
/// pkcs12 -export -in certificate-app.cert.pem -inkey certificate-app.key.pem -passout
/// pass:Interop-Pa55`): PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) bags, an HMAC-SHA256 MAC.
/// Made by OpenSSL, not by this crate's writer, so a reader is tested against it.
pub const CERT_PFX_OPENSSL3: &[u8] = include_bytes!("../fixtures/certificate-app.openssl3.pfx");
/// The same with `-legacy`: the certificate bag in `pbeWithSHA1And40BitRC2-CBC`, the key in
/// `pbeWithSHA1And3-KeyTripleDES-CBC`, an HMAC-SHA1 MAC (what older tools and Windows before
/// 1709 wrote).
pub const CERT_PFX_OPENSSL_LEGACY: &[u8] =
    include_bytes!("../fixtures/certificate-app.openssl-legacy.pfx");
/// The same with both bags in 3DES and an HMAC-SHA1 MAC (`-certpbe PBE-SHA1-3DES -keypbe
/// PBE-SHA1-3DES -macalg sha1`), as Windows' "TripleDES-SHA1" export choice writes.
pub const CERT_PFX_3DES_SHA1: &[u8] = include_bytes!("../fixtures/certificate-app.3des-sha1.pfx");
/// The password of the `CERT_PFX_*` files.
pub const CERT_PFX_PASSWORD: &str = "Interop-Pa55";
/// `x5t#S256` of [`CERT_PEM`].
const CERT_THUMBPRINT: &str = "oVdFBRdePp-XxPIKRlLYQMTnPkXjpwx0HSm_iKWHPAQ";
/// The RSA public key of [`CERT_PEM`] (PKCS#1 DER, base64).
const CERT_PUBLIC_KEY: &str = "MIIBCgKCAQEAqIXGRj+b1ywwIWbKpXk8so9DJeA9PjknGntSRHRHcAJUb6fpNHzDb26/SE8A8jPIZaxb0Et3HoQowAfngtZSyLysGF9tI9DxjRn/fPiS1ngmsH6OnKBbjV5UJiJLwfIO7eb9GXGau0zAy9hwNHnInoEIVTZDpwaylRBoDw4zs8BjOwofN40cylWTr08bgtjKtQj9t+mLVzMwLjUxMJjL+GlKmqyvCRRzEaQ3aM/fPGbgcmCUXt8R7sm6U7mTxsCX1eaZ5CmNKzlsVedzPSUaHIf1Wx/LKizkBL4pHq+ofgztkkoQbuwGwWJAVORHsNHJtjH2/yr6naiYI1aKceX4TQIDAQAB";
/// `x5t#S256` of [`CERT_EXPIRED_PEM`].
const CERT_EXPIRED_THUMBPRINT: &str = "3_720874gtnmjmtjKAgRC3Tzpr8_BPYF7oaZOiYRi8E";
/// The RSA public key of [`CERT_EXPIRED_PEM`].
const CERT_EXPIRED_PUBLIC_KEY: &str = "MIIBCgKCAQEA48ftPvP/y8DGnvht3Q/Ey0iqvJem9CdKPGVSZ9h2SmaLW+gegI8rPag0fjZ0CCtQ3pSrorc3qGB8yxw7hq/Uofg+zYNk6x8ASMDCmgWlGfFwq4hqER51id59f9HPjemoIYTXUJRDwn20YqmKV9FL3QzgH8/C7ES+KHLObuiglBMdviETqAzTMFZsUG1uOSeWnpelbEdM5DrzyrrytUAUdRmhGlzQqR1tgFFFAORM2LemX+K9IqAQxZCvnyLTQg7gQ1yIFd3PPnHctzQX+2ANN5PD+hNcf0Fxnd7Om6nZGpCn0ovQkAq04RfVNZXSDBM5vfPX/Ug3zsa8JnpEAIlXdQIDAQAB";

impl Default for Directory {
    fn default() -> Self {
        directory()
    }
}

/// The default directory built from the constants above.
pub fn directory() -> Directory {
    let app = |client_id: &str, name: &str| AppRegistration {
        client_id: client_id.to_owned(),
        display_name: name.to_owned(),
        home_tenant: TENANT_ID.to_owned(),
        audience: SignInAudience::AzureADMultipleOrgs,
        created: "2024-01-15".to_owned(),
        public_client: true,
        redirect_uris: vec![RedirectUri {
            uri: "http://localhost".to_owned(),
            platform: Platform::Desktop,
        }],
        secrets: Vec::new(),
        certificates: Vec::new(),
        scopes: APP_SCOPES.iter().map(|s| s.to_string()).collect(),
        admin_consent_scopes: Vec::new(),
        admin_consented: false,
        app_roles: Vec::new(),
        app_roles_granted: false,
    };
    let desktop = AppRegistration {
        redirect_uris: vec![
            RedirectUri {
                uri: "http://localhost".to_owned(),
                platform: Platform::Desktop,
            },
            RedirectUri {
                uri: NATIVE_CLIENT_REDIRECT_URI.to_owned(),
                platform: Platform::Desktop,
            },
        ],
        ..app(DESKTOP_CLIENT_ID, DESKTOP_APP_NAME)
    };
    let web = AppRegistration {
        public_client: false,
        redirect_uris: vec![RedirectUri {
            uri: "http://localhost".to_owned(),
            platform: Platform::Web,
        }],
        secrets: vec![
            ClientSecret {
                id: WEB_CLIENT_SECRET_ID.to_owned(),
                value: WEB_CLIENT_SECRET.to_owned(),
                expired: false,
            },
            ClientSecret {
                id: WEB_CLIENT_EXPIRED_SECRET_ID.to_owned(),
                value: WEB_CLIENT_EXPIRED_SECRET.to_owned(),
                expired: true,
            },
        ],
        ..app(WEB_CLIENT_ID, "ATRS Reports (web)")
    };
    let certificate = AppRegistration {
        public_client: false,
        redirect_uris: vec![RedirectUri {
            uri: "http://localhost".to_owned(),
            platform: Platform::Web,
        }],
        certificates: vec![
            ClientCertificate {
                thumbprint: CERT_THUMBPRINT.to_owned(),
                public_key: CERT_PUBLIC_KEY.to_owned(),
                expired: false,
            },
            ClientCertificate {
                thumbprint: CERT_EXPIRED_THUMBPRINT.to_owned(),
                public_key: CERT_EXPIRED_PUBLIC_KEY.to_owned(),
                expired: true,
            },
        ],
        app_roles: APP_ONLY_ROLES.iter().map(|s| s.to_string()).collect(),
        app_roles_granted: true,
        ..app(CERT_CLIENT_ID, "ATRS Reports (certificate)")
    };
    let no_public = AppRegistration {
        public_client: false,
        ..app(NO_PUBLIC_FLOWS_CLIENT_ID, "ATRS Reports (public flows off)")
    };
    let single = AppRegistration {
        audience: SignInAudience::AzureADMyOrg,
        created: "2023-06-01".to_owned(),
        ..app(SINGLE_TENANT_CLIENT_ID, "ATRS Reports (single tenant)")
    };
    let app_only = |client_id: &str, name: &str, roles: &[&str], granted: bool| AppRegistration {
        public_client: false,
        redirect_uris: Vec::new(),
        secrets: vec![ClientSecret {
            id: APP_ONLY_CLIENT_SECRET_ID.to_owned(),
            value: APP_ONLY_CLIENT_SECRET.to_owned(),
            expired: false,
        }],
        scopes: Vec::new(),
        app_roles: roles.iter().map(|s| s.to_string()).collect(),
        app_roles_granted: granted,
        ..app(client_id, name)
    };
    let scheduler = app_only(
        APP_ONLY_CLIENT_ID,
        "ATRS Scheduler (app-only)",
        &APP_ONLY_ROLES,
        true,
    );
    let ungranted = app_only(
        APP_ONLY_UNGRANTED_CLIENT_ID,
        "ATRS Scheduler (no admin consent)",
        &APP_ONLY_ROLES,
        false,
    );
    let mail_only = app_only(
        APP_ONLY_MAIL_CLIENT_ID,
        "ATRS Scheduler (mail only)",
        &["Mail.Send", "User.Read.All"],
        true,
    );
    let admin = AppRegistration {
        admin_consent_scopes: vec!["Mail.Send".to_owned()],
        ..app(ADMIN_CONSENT_CLIENT_ID, "ATRS Reports (admin consent)")
    };
    Directory {
        tenants: vec![Tenant {
            id: TENANT_ID.to_owned(),
            display_name: TENANT_NAME.to_owned(),
            domains: vec![TENANT_DOMAIN.to_owned()],
            region: "NA".to_owned(),
        }],
        apps: vec![
            desktop,
            web,
            no_public,
            single,
            admin,
            certificate,
            scheduler,
            ungranted,
            mail_only,
        ],
        users: vec![
            User {
                id: USER_ID.to_owned(),
                upn: USER_UPN.to_owned(),
                display_name: USER_DISPLAY_NAME.to_owned(),
                given_name: Some("Adele".to_owned()),
                surname: Some("Vance".to_owned()),
                mail: Some(USER_MAIL.to_owned()),
                job_title: Some("Retail Manager".to_owned()),
                password: USER_PASSWORD.to_owned(),
                mfa_code: Some(USER_MFA_CODE.to_owned()),
                tenant: TENANT_ID.to_owned(),
            },
            User {
                id: NO_MAIL_USER_ID.to_owned(),
                upn: NO_MAIL_USER_UPN.to_owned(),
                display_name: NO_MAIL_USER_DISPLAY_NAME.to_owned(),
                given_name: Some("Megan".to_owned()),
                surname: Some("Bowen".to_owned()),
                mail: None,
                job_title: Some("Marketing Manager".to_owned()),
                password: NO_MAIL_USER_PASSWORD.to_owned(),
                mfa_code: Some(NO_MAIL_USER_MFA_CODE.to_owned()),
                tenant: TENANT_ID.to_owned(),
            },
        ],
    }
}
