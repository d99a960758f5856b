//! A local look-alike of the Microsoft identity platform (Entra ID, v2.0 endpoints) and of
//! Microsoft Graph's `/me`, for offline demos and tests. It binds to 127.0.0.1 only.
//!
//! A client written for `https://login.microsoftonline.com` works against it unchanged when
//! pointed at [`MockIdp::base_url`] as its authority host (with [`MockConfig::tls`] over
//! HTTPS, trusting [`MockIdp::ca_file`], for clients that insist on it): discovery, device code,
//! authorization code with PKCE, refresh with rotation, Entra's error JSON and AADSTS codes.
//!
//! ```no_run
//! # async fn demo() -> Result<(), atrs_mock_idp::MockError> {
//! use atrs_mock_idp::{defaults, Endpoint, Fault, MockConfig, MockIdp};
//! let idp = MockIdp::start(MockConfig {
//!     auto_approve_delay: std::time::Duration::ZERO,
//!     device_interval_secs: 0,
//!     ..MockConfig::default()
//! })
//! .await?;
//! let discovery = format!(
//!     "{}/{}/v2.0/.well-known/openid-configuration",
//!     idp.base_url(),
//!     defaults::TENANT_ID
//! );
//! idp.set_fault_times(Endpoint::Token, Fault::Status { status: 503, retry_after: Some(1) }, 1);
//! // … run the client …
//! assert_eq!(idp.stats().count(Endpoint::Graph), 0);
//! # let _ = discovery; Ok(()) }
//! ```
//!
//! # Endpoints
//!
//! `{tenant}` is a tenant GUID, a verified domain, `organizations`, `common` or `consumers`;
//! anything else gets `400 invalid_tenant` AADSTS90002 (an error page at /authorize).
//!
//! | Path | |
//! |---|---|
//! | `GET /{tenant}/v2.0/.well-known/openid-configuration` | discovery; every URL points back here, `msgraph_host` is `127.0.0.1:PORT` |
//! | `GET /{tenant}/discovery/v2.0/keys` | a key set naming kid `mock` |
//! | `GET /common/discovery/instance?authorization_endpoint=…` | instance discovery (MSAL): the tenant's discovery address, this host as its only alias |
//! | `POST /{tenant}/oauth2/v2.0/devicecode` | device authorization; `verification_uri` is `/devicelogin` |
//! | `GET /{tenant}/oauth2/v2.0/authorize` | authorization code (+ PKCE S256/plain), `response_mode` query/fragment/form_post; `prompt` values outside [`MockConfig::prompt_values_supported`] refused (`invalid_request`); RFC 9207 `iss` with [`MockConfig::authorization_response_iss`] |
//! | `POST /{tenant}/oauth2/v2.0/token` | grants device code, authorization_code, refresh_token; `client_info` with `client_info=1` |
//! | `GET /{tenant}/oauth2/v2.0/logout` | signed-out page |
//! | `GET,POST /devicelogin`, `GET,POST /login/{txn}` | manual-mode pages: code, sign in, MFA, consent |
//! | `GET /v1.0/me` | Graph user (bearer token with `User.Read`), `$select` supported |
//! | `GET /oidc/userinfo` | OIDC claims (bearer token with `openid`) |
//! | `POST /v1.0/me/sendMail` · `/v1.0/users/{id}/sendMail` | 202; `Mail.Send`; inline `fileAttachment`s; Send As allowed on [`defaults::SEND_AS_MAILBOX`] only |
//! | `POST /v1.0/me/messages` · `DELETE /v1.0/me/messages/{id}` | a draft (201) · delete it (204); `Mail.ReadWrite` |
//! | `POST /v1.0/me/messages/{id}/attachments/createUploadSession` | `{"AttachmentItem":{…,"size"}}` → `uploadUrl`, `nextExpectedRanges: ["0-"]` |
//! | `POST /v1.0/me/messages/{id}/send` | sends the draft (202); `Mail.Send` |
//! | `GET {drive}` | the drive entity, where `{drive}` is any of `/v1.0/me/drive`, `/v1.0/users/{id or UPN}/drive` (the signed-in user's own), `/v1.0/drives/{drive-id}`, `/v1.0/sites/{site-id}/drive`, `/v1.0/sites/{host}:/{path}:/drive` |
//! | `GET {drive}/root` · `…/root:/{path}:` · `…/items/{item-id}` · `…/items/{parent-id}:/{path}:` | a driveItem (file, folder or root) |
//! | `PUT {item}/content` | simple upload to any of those item forms (`items/{item-id}/content` replaces that file), `?@microsoft.graph.conflictBehavior=` (default `replace`); `Files.ReadWrite` (a site: `Sites.ReadWrite.All`) |
//! | `POST {item}/createUploadSession` | `{"item":{"@microsoft.graph.conflictBehavior":…}}` (body optional; default `fail` for a new item) → `uploadUrl`, `["0-"]` |
//! | `GET /v1.0/sites/{host}:/{path}` · `/v1.0/sites/{site-id}` | the one site ([`defaults::SITE_HOST`] [`defaults::SITE_PATH`]); `Sites.Read.All` |
//! | `PUT /upload/{id}` · `GET` · `DELETE` | a fragment (`Content-Range`, in order, no `Authorization` — one that carries it is read to its end and answered 401; drive: multiples of 320 KiB, ≤ 60 MiB, 202 then 201/200 driveItem; mail: ≤ 4 MB, 200 then 201 + `Location`; 416 for a range already received) · `nextExpectedRanges` · cancel |
//!
//! # Control over HTTP (`/_mock`)
//!
//! For a server running in another process (the CLI). Bodies are JSON; answers are
//! `{"ok":true,…}` or `{"ok":false,"error":"…"}` with 400/404/409.
//!
//! | Request | Effect |
//! |---|---|
//! | `GET /_mock/stats` · `DELETE /_mock/stats` | the [`Stats`] snapshot · reset it |
//! | `POST /_mock/faults` `{"endpoint":"token","fault":{"kind":"status","status":503,"retry_after":5},"times":1}` | arm a [`Fault`] (`times` omitted = until cleared) |
//! | `DELETE /_mock/faults` | clear every fault |
//! | `POST /_mock/outcome` (or `/_mock/outcome/device`) `{"outcome":"decline"}` | [`MockIdp::set_device_outcome`] |
//! | `POST /_mock/outcome/browser` `{"outcome":"approve_as","upn":"…"}` | [`MockIdp::set_browser_outcome`] |
//! | `POST /_mock/device/{user_code}/approve` `{"upn":"…"}` (optional) | approve a device code |
//! | `POST /_mock/device/{user_code}/decline` · `…/expire` | decline it · make it expire now |
//! | `POST /_mock/refresh-tokens/expire` · `/_mock/access-tokens/expire` | expire all issued refresh / access tokens |
//! | `GET /_mock/directory` | the directory JSON |
//! | `GET /_mock/refresh-policy` · `POST` `{"access_token_secs":60,"refresh_token_secs":600,"rotate":true,"refuse_rotated":true}` | the [`RefreshPolicy`] · change some of its fields |
//! | `POST /_mock/refresh-failures` `{"upn":"…","failure":{"kind":"aadsts","code":50173},"times":1}` | refuse that account's refreshes ([`RefreshFailure`]; `times` omitted = until cleared) |
//! | `DELETE /_mock/refresh-failures` `{"upn":"…"}` (or `{}` for all) | stop refusing |
//! | `POST /_mock/discovery` `{"issuer":"https://elsewhere.test/v2.0","code_challenge_methods_supported":null}` | [`MockIdp::override_discovery`]: members set, `null` removes |
//! | `POST /_mock/id-token` `{"aud":"someone-else","exp":1}` | [`MockIdp::override_id_token`]: claims of ID tokens from now on |
//! | `GET /_mock/sent` · `/_mock/drafts` · `/_mock/drive` | sent items · drafts · drive items (each with size and SHA-256 of every attachment or file) |
//! | `GET /_mock/uploads` | [`UploadCounters`] (bytes received and accepted, fragments, 416s, sessions) and `open_sessions` |
//! | `POST /_mock/delivery-faults` `{"fail_chunk_at":N,"quota_bytes":N,"locked":["Reports/x.pdf"]}` · `DELETE` | arm [`DeliveryFaults`] · clear them |
//! | `DELETE /_mock/deliveries` | forget all deliveries, counters and delivery faults |
//! | `POST /_mock/tokens` `{"upn":"…","scopes":"Mail.Send Files.ReadWrite"}` | an access token with exactly those permissions |
//! | `POST /_mock/claims-challenges` `{"upn":"…","path_contains":"sendMail","needs_user":false}` · `DELETE` `{"upn":"…"}` (or `{}`) | [`MockIdp::arm_claims_challenge`]: that account's Graph requests (those whose path contains `path_contains`) get `401` with `WWW-Authenticate: Bearer … error="insufficient_claims", claims="…"` until a token issued for those claims is used; a token request carrying them gets that token, or with `needs_user` `interaction_required` (AADSTS50076) · clear |
//!
//! Refresh failure JSON: `{"kind":"aadsts","code":N}` for N in 700082, 70008, 50173, 70043,
//! 50076, 50079, 65001, 53003, 7000215, 7000222; `{"kind":"invalid_grant"}` and
//! `{"kind":"interaction_required"}` (codes no table lists); `{"kind":"status","status":503,
//! "retry_after":2}`. [`Stats::accounts`] counts token requests per account (UPN) and grant
//! type, how often a refresh token replaced by rotation was presented again, and the claims
//! counts: token requests declaring `cp1` ([`AccountCounts::cp1_declared`]) or answering a
//! claims challenge ([`AccountCounts::claims_answered`]), Graph requests challenged
//! ([`AccountCounts::claims_challenges`]), and the most Graph requests (upload URLs
//! included) of the mailbox in flight at once ([`AccountCounts::max_in_flight`]); each
//! [`RequestRecord`] keeps the `User-Agent` sent. Discovery says `claims_parameter_supported`.
//!
//! Fault JSON: `{"kind":"delay","ms":1500}`, `{"kind":"status","status":503,"retry_after":7}`,
//! `{"kind":"html"}`, `{"kind":"html_error","status":502}`, `{"kind":"truncated"}`,
//! `{"kind":"reset"}`, `{"kind":"oversized"}`, `{"kind":"slow_down","times":2}`,
//! `{"kind":"reset_mid_body"}` (head and half the body, then a TCP reset),
//! `{"kind":"flood","bytes":10485760}` (a chunked body of that size, no `Content-Length`),
//! `{"kind":"go_down"}` (answer, then stop listening: later connections are refused).
//! Endpoint names: `discovery`, `device_code`, `authorize`, `token`, `graph`, `user_info`,
//! `keys`, `device_login`, `sign_in`, `logout`, `upload` (upload URLs). A status fault on
//! `graph` or `upload` answers Graph's error JSON (e.g. 429 `activityLimitReached` with
//! `Retry-After`).
//!
//! Property and action-parameter names in Graph request bodies are matched without regard to
//! case, as Graph matches them (`{"Message": …}` to `sendMail`). Every Graph refusal, an
//! unknown path included (`400 BadRequest` "Resource not found for the segment '…'" under
//! `/v1.0/`, `404 NotFound` elsewhere, `405` for a method a path does not take), is Graph's
//! error shape `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`.
//!
//! Graph errors for deliveries: `ErrorAccessDenied` 403 (mail without `Mail.Send` /
//! `Mail.ReadWrite`), `accessDenied` 403 (drive or site without a Files/Sites permission),
//! `MailboxNotEnabledForRESTAPI` 404 (a user without mail, e.g. [`defaults::NO_MAIL_USER_UPN`]),
//! `ErrorSendAsDenied` 403, `ErrorInvalidRecipients` 400 (no `@`, or
//! [`defaults::UNRESOLVED_DOMAIN`]), `nameAlreadyExists` 409, `resourceLocked` 423,
//! `quotaLimitReached` 507, `itemNotFound` 404 (site, session), `invalidRange` 400/416. Every one
//! carries `innerError` with `date`, `request-id` and the `client-request-id` sent.
//!
//! # Errors it produces
//!
//! Token-endpoint errors carry Entra's full body (`error`, `error_description` starting
//! `AADSTSnnnn:` with trace id, correlation id and timestamp lines, `error_codes`, `timestamp`,
//! `trace_id`, `correlation_id`, `error_uri`, `suberror` where Entra sends one), with
//! `application/json; charset=utf-8` and `Cache-Control: no-store, no-cache`; grant errors are
//! 400 and `invalid_client` is 401.
//!
//! | AADSTS | `error` | How to reach it |
//! |---|---|---|
//! | 70016 | `authorization_pending` | poll before the user approved |
//! | — (65004 in the mock) | `authorization_declined` | the user declined the device code |
//! | 70020 | `expired_token` | poll after `expires_in` (or [`MockIdp::expire_device_code`]) |
//! | 70000 | `bad_verification_code` | unknown or already redeemed device code |
//! | — | `slow_down` | [`Fault::SlowDown`] on [`Endpoint::Token`] |
//! | 7000218 | `invalid_client` 401 | no secret: web redirect, or public client flows off after approval |
//! | 7000215 | `invalid_client` 401 | wrong secret, e.g. the secret's id |
//! | 7000222 | `invalid_client` 401 | expired secret |
//! | 700025 | `invalid_client` 401 | a public client (desktop redirect, device code) sends a secret |
//! | 700027 | `invalid_client` 401 | a client assertion naming (`x5t#S256`) no certificate registered on the app, one whose registration expired ([`defaults::CERT_EXPIRED_KEY_PEM`]), or a signature that does not verify |
//! | 700024 | `invalid_client` 401 | a client assertion past its `exp` (or before its `nbf`) |
//! | 50012 | `invalid_client` 401 | a client assertion whose `aud` is not this token endpoint, or whose `jti` was seen before |
//! | 700021 | `invalid_client` 401 | a client assertion whose `iss`/`sub` is not the client id |
//! | 50027 | `invalid_client` 401 | a client assertion that is not an RS256 JWT |
//! | 700016 | `unauthorized_client` | unknown client id (error page at /authorize) |
//! | 90002 | `invalid_tenant` | unknown tenant |
//! | 50194 | `invalid_request` | single-tenant app on `/common` or `/organizations` |
//! | 9002332 | `invalid_request` | work-or-school app on `/consumers` |
//! | 50011 | error page / `invalid_client` 401 | redirect URI not registered / differs at /token |
//! | 54005 | `invalid_grant` | authorization code redeemed twice |
//! | 70008 | `invalid_grant` | authorization code older than [`MockConfig::code_lifetime`] |
//! | 501481 | `invalid_grant` | PKCE verifier missing or wrong |
//! | 50149, 501491 | `invalid_request` (redirect) | bad `code_challenge_method` / challenge size |
//! | 65001 | `invalid_grant` + `suberror: consent_required` (`consent_required` at /authorize) | refresh or `prompt=none` asking for unconsented or admin-only scopes |
//! | 65004 | `access_denied` (redirect) | consent declined |
//! | 50058 | `login_required` (redirect) | `prompt=none` in manual mode |
//! | 700082 | `invalid_grant` | refresh token expired ([`MockIdp::expire_refresh_tokens`], `--refresh-expired`, unused longer than [`RefreshPolicy::refresh_token_secs`]) |
//! | 70000 | `invalid_grant` | a refresh token replaced by rotation, when [`RefreshPolicy::refuse_rotated`] |
//! | any of [`RefreshFailure::CODES`] | Entra's `error` for it | [`MockIdp::set_refresh_failure`] |
//! | 70011 | `invalid_scope` | unknown scope, or `.default` mixed with others |
//! | 28000 | `invalid_request` | Graph and Outlook (`https://outlook.office.com/SMTP.Send`, `IMAP.AccessAsUser.All`, `POP.AccessAsUser.All`) permissions in one request |
//! | 90023 | `invalid_request` (redirect) | a `prompt` value not in `prompt_values_supported` |
//! | 900144 | `invalid_request` | missing parameter |
//! | 70003 | `unsupported_grant_type` | other grant types |
//! | 900561 | `invalid_request` | GET on a POST-only endpoint |
//! | 9002327 / 9002326 | `invalid_request` | SPA redirect redeemed without / non-SPA with `Origin` |
//! | 50034, 50126, 70018, 70019, 90119, 90120 | on the pages | unknown user, wrong password, wrong/expired/empty/used user code |
//!
//! Certificate credentials: [`defaults::CERT_CLIENT_ID`] is a confidential app with a
//! certificate registered ([`defaults::CERT_PEM`], its test key [`defaults::CERT_KEY_PEM`]);
//! a token request proves it with `client_assertion_type` [`JWT_BEARER`] and a
//! `client_assertion` (RFC 7523: RS256, header `x5t#S256`, `iss` = `sub` = client id, `aud` =
//! this token endpoint, `exp`, a fresh `jti`); [`sign_client_assertion`] makes one for tests.
//!
//! # What is simplified
//!
//! - Access and refresh tokens are opaque random strings. ID tokens are JWTs whose signature
//!   bytes are random: **the mock does not sign**, so do not verify signatures against it.
//! - `scope` in token responses lists the Graph permissions granted, then `profile openid
//!   email`; like Entra it never lists `offline_access`. Permissions the app is not configured
//!   for, or that need a missing admin consent, are left out silently in interactive flows.
//! - Authorization codes are spent only by a successful redemption.
//! - Manual mode keeps no browser session: `prompt=none` answers `login_required`.

#![warn(missing_docs)]

mod access_policy;
mod app_only;
mod authorize;
mod bearer;
mod claims_challenge;
pub mod cli;
mod client_assertion;
mod client_auth;
mod config;
mod connection;
mod control;
pub mod defaults;
mod delivery_control;
mod delivery_store;
mod device_code;
mod directory;
mod discovery;
mod drive_address;
mod errors;
mod fault_injection;
mod faults;
mod graph;
mod graph_call;
mod graph_drive;
mod graph_json;
mod graph_mail;
mod ids;
mod in_flight;
mod issuance;
mod login;
mod pages;
mod params;
pub mod pkcs12_file;
mod redirect;
mod refresh_rules;
mod reply;
mod scopes;
mod server;
mod sign_in;
mod sign_in_page;
mod state;
mod stats;
mod tls;
mod token;
mod upload_session;

pub use claims_challenge::ClaimsChallenge;
pub use client_assertion::{sign_client_assertion, JWT_BEARER};
pub use config::{ApproveMode, DeviceOutcome, MockConfig, ENTRA_PROMPT_VALUES};
pub use delivery_store::{
    DeliveryFaults, DriveItem, Message, Recipient, StoredAttachment, UploadCounters,
};
pub use directory::{
    AppRegistration, ClientCertificate, ClientSecret, Directory, Platform, RedirectUri,
    SignInAudience, Tenant, User,
};
pub use errors::MockError;
pub use faults::{Endpoint, Fault, OVERSIZED_BYTES};
pub use refresh_rules::{RefreshFailure, RefreshPolicy, NINETY_DAYS_SECS};
pub use server::{MockIdp, SecretsSeen};
pub use stats::{AccountCounts, RequestRecord, Stats};

/// The device code grant's `grant_type` value (RFC 8628).
pub const DEVICE_CODE_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";
