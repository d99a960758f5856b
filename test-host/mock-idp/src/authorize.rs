//! The authorization endpoint `/{tenant}/oauth2/v2.0/authorize` (authorization code + PKCE).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

use crate::config::{ApproveMode, DeviceOutcome};
use crate::directory::{Platform, Segment, User};
use crate::errors::EntraError;
use crate::login::{self, Purpose};
use crate::params::Params;
use crate::redirect::{self, ResponseMode, Target};
use crate::scopes::{self, Grant, Requested};
use crate::state::{AuthCode, Shared, Store};
use crate::{discovery, ids, pages, reply};

/// A validated authorization request.
#[derive(Clone, Debug)]
pub(crate) struct AuthorizeRequest {
    /// The app.
    pub client_id: String,
    /// The tenant segment.
    pub segment: Segment,
    /// Where the answer goes.
    pub target: Target,
    /// The platform of the matched redirect registration.
    pub platform: Platform,
    /// OIDC nonce.
    pub nonce: Option<String>,
    /// PKCE challenge and method.
    pub challenge: Option<(String, String)>,
    /// Scopes asked for.
    pub requested: Requested,
    /// `login_hint`.
    pub login_hint: Option<String>,
    /// `prompt`.
    pub prompt: Option<String>,
}

/// Why a request was refused.
enum Refusal {
    /// The redirect can't be trusted: show Microsoft's error page, send nothing to the app.
    Page(EntraError),
    /// Send the error to the app's redirect URI.
    Redirect(Box<Target>, EntraError),
}

/// `GET /{tenant}/oauth2/v2.0/authorize`.
pub(crate) async fn authorize(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let p = Params::parse(query.unwrap_or_default().as_bytes());
    match validate(&shared, &tenant, &p) {
        Err(Refusal::Page(e)) => {
            shared.log(format_args!("authorize refused: {}", e.headline()));
            reply::html(StatusCode::BAD_REQUEST, pages::sign_in_error(&e.headline()))
        }
        Err(Refusal::Redirect(target, e)) => target.send(e.redirect_params()),
        Ok(req) => proceed(&shared, req),
    }
}

/// Check the request in Entra's order: tenant, client and redirect URI first (an error page),
/// then everything else (an error redirect).
fn validate(shared: &Shared, tenant: &str, p: &Params) -> Result<AuthorizeRequest, Refusal> {
    let dir = shared.dir();
    let seg = dir
        .segment(tenant)
        .ok_or_else(|| Refusal::Page(EntraError::unknown_tenant(tenant)))?;
    let client_id = p.require("client_id").map_err(Refusal::Page)?;
    let app_check = dir.check_app(client_id, &seg, tenant);
    let app = match &app_check {
        Ok(app) => *app,
        Err(e) if e.code == Some(700016) => return Err(Refusal::Page(e.clone())),
        Err(e) => dir.app(client_id).ok_or_else(|| Refusal::Page(e.clone()))?,
    };
    let redirect_uri = p.require("redirect_uri").map_err(Refusal::Page)?;
    let registration = redirect::registered(app, redirect_uri).ok_or_else(|| {
        Refusal::Page(EntraError::redirect_mismatch(redirect_uri, &app.client_id))
    })?;
    let target = Target {
        redirect_uri: redirect_uri.to_owned(),
        mode: ResponseMode::parse(p.get("response_mode")).unwrap_or(ResponseMode::Query),
        state: p.get("state").map(str::to_owned),
        issuer: shared
            .config
            .authorization_response_iss
            .then(|| discovery::issuer(shared, &seg)),
    };
    let fail = |e: EntraError| Refusal::Redirect(Box::new(target.clone()), e);
    app_check.map_err(fail)?;
    if let Some(prompt) = p.get("prompt") {
        let supported = &shared.config.prompt_values_supported;
        if let Some(bad) = prompt
            .split(' ')
            .find(|v| !supported.iter().any(|s| s == v))
        {
            return Err(fail(EntraError::unsupported_prompt(bad)));
        }
    }
    let response_type = p.require("response_type").map_err(fail)?;
    if response_type != "code" {
        return Err(fail(EntraError::bad(
            "unsupported_response_type",
            700054,
            format!("response_type '{response_type}' is not enabled for the application."),
        )));
    }
    let raw_scope = p.require("scope").map_err(fail)?;
    let requested =
        scopes::parse(raw_scope, &shared.graph_host).map_err(|e| fail(EntraError::from(e)))?;
    let challenge = pkce_challenge(p).map_err(fail)?;
    Ok(AuthorizeRequest {
        client_id: app.client_id.clone(),
        segment: seg,
        platform: registration.platform,
        nonce: p.get("nonce").map(str::to_owned),
        challenge,
        requested,
        login_hint: p.get("login_hint").map(str::to_owned),
        prompt: p.get("prompt").map(str::to_owned),
        target,
    })
}

/// `code_challenge` and `code_challenge_method` (`plain` when omitted, as RFC 7636 says).
fn pkce_challenge(p: &Params) -> Result<Option<(String, String)>, EntraError> {
    let Some(challenge) = p.get("code_challenge") else {
        return Ok(None);
    };
    let method = p.get("code_challenge_method").unwrap_or("plain");
    if method != "S256" && method != "plain" {
        return Err(EntraError::bad(
            "invalid_request",
            50149,
            "Invalid Code_Challenge_method parameter.",
        ));
    }
    if !(43..=128).contains(&challenge.len()) {
        return Err(EntraError::bad(
            "invalid_request",
            501491,
            "Invalid size of Code_Challenge parameter.",
        ));
    }
    Ok(Some((challenge.to_owned(), method.to_owned())))
}

/// Answer a valid request: silently, at once (auto mode), or through the sign-in pages.
fn proceed(shared: &Shared, req: AuthorizeRequest) -> Response {
    let mut store = shared.store();
    if req.prompt.as_deref() == Some("none") {
        return silent(shared, &mut store, req);
    }
    let outcome = store.browser_outcome.clone();
    if shared.config.approve == ApproveMode::Manual || outcome == DeviceOutcome::Ignore {
        let hint = req.login_hint.clone();
        let client_id = req.client_id.clone();
        let seg = req.segment.clone();
        return login::start(
            shared,
            &mut store,
            Purpose::Authorize(Box::new(req)),
            &client_id,
            seg,
            hint,
            None,
        );
    }
    if outcome == DeviceOutcome::Decline {
        return req
            .target
            .send(EntraError::consent_declined().redirect_params());
    }
    let dir = shared.dir();
    let wanted = match &outcome {
        DeviceOutcome::ApproveAs(upn) => Some(upn.clone()),
        _ => req.login_hint.clone(),
    };
    let user = match &wanted {
        Some(upn) => dir.user(upn),
        None => dir.default_user(),
    };
    let Some(user) = user else {
        let (client_id, seg) = (req.client_id.clone(), req.segment.clone());
        let error = "AADSTS50034: We couldn't find an account with that username.".to_owned();
        return login::start(
            shared,
            &mut store,
            Purpose::Authorize(Box::new(req)),
            &client_id,
            seg,
            wanted,
            Some(error),
        );
    };
    let app = dir.app(&req.client_id).expect("validated client");
    if let Err(e) = dir.check_user(app, &req.segment, user) {
        return req
            .target
            .send(e.with_error("access_denied").redirect_params());
    }
    let grant = scopes::interactive(app, &req.requested);
    complete(shared, &mut store, &req, user, grant)
}

/// `prompt=none`: no pages. Manual mode has no browser session (login_required, AADSTS50058);
/// auto mode signs the user in and needs every permission already consented (65001).
fn silent(shared: &Shared, store: &mut Store, req: AuthorizeRequest) -> Response {
    let dir = shared.dir();
    if shared.config.approve == ApproveMode::Manual {
        return req
            .target
            .send(EntraError::login_required().redirect_params());
    }
    let user = match (&store.browser_outcome, &req.login_hint) {
        (DeviceOutcome::ApproveAs(upn), _) | (_, Some(upn)) => dir.user(upn),
        _ => dir.default_user(),
    };
    let Some(user) = user else {
        return req
            .target
            .send(EntraError::login_required().redirect_params());
    };
    let app = dir.app(&req.client_id).expect("validated client");
    if let Err(e) = dir.check_user(app, &req.segment, user) {
        return req
            .target
            .send(e.with_error("interaction_required").redirect_params());
    }
    let consented = store.consented(&app.client_id, &user.id);
    match scopes::silent(app, &consented, &req.requested) {
        Ok(grant) => complete(shared, store, &req, user, grant),
        Err(()) => req.target.send(
            EntraError::consent_required(&app.client_id, &app.display_name)
                .with_error("consent_required")
                .redirect_params(),
        ),
    }
}

/// Record consent, issue an authorization code, and send it to the app.
pub(crate) fn complete(
    shared: &Shared,
    store: &mut Store,
    req: &AuthorizeRequest,
    user: &User,
    grant: Grant,
) -> Response {
    store.consent(&req.client_id, &user.id, &grant);
    let code = format!("0.A{}", ids::opaque(180));
    store.auth_codes.insert(
        code.clone(),
        AuthCode {
            client_id: req.client_id.clone(),
            redirect_uri: req.target.redirect_uri.clone(),
            platform: req.platform,
            challenge: req.challenge.clone(),
            grant,
            user: user.id.clone(),
            nonce: req.nonce.clone(),
            issued: Instant::now(),
            used: false,
        },
    );
    shared.log(format_args!(
        "authorization code issued to {} for {}",
        req.client_id, user.upn
    ));
    let mut target = req.target.clone();
    // Entra's issuer template names the tenant once the user is known.
    target.issuer = target
        .issuer
        .map(|iss| iss.replace("{tenantid}", &user.tenant));
    target.send(vec![("code", code), ("session_state", ids::guid())])
}
