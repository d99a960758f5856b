//! Verify with browser: authorization code + PKCE (S256) with a single-use, expiring
//! `state` and a `nonce`. The user signs in at the address shown; the final address
//! comes back as a paste or through the loopback listener (checked for the state and,
//! RFC 9207, the issuer); the code is redeemed with the verifier (and the client secret
//! when one is given). Then the same confirmation, scope comparison and save rules as
//! the device code path ([`crate::signin::verified::conclude`]), with the ID token's nonce.
//!
//! Only what the server supports is sent: Microsoft's own parameters (`prompt` without
//! an advertised list, `response_mode` without one, `scope` at the token endpoint) go
//! only to Microsoft's sign-in hosts; any other server gets the standard parameters its
//! discovery document advertises.
//!
//! `response_mode`: `form_post` (RFC 9700 §4.3.1: the code stays out of the address bar
//! and history) only when the account's Browser answer asks for it, the listener runs and
//! the server offers it — then nothing can be pasted. Otherwise `query`, so the final
//! address can always be pasted. The Integrations menu verifies with the listener on and
//! the default `query`, because its paste fallback must keep working when the browser
//! runs on another computer.

use std::{convert::Infallible, sync::Arc, time::Duration};

use atrs_host_sdk::{session::Reporter, ErrorKind, Host, PluginError, SessionState};
use oauth2::{
    basic::{BasicRevocationErrorResponse, BasicTokenIntrospectionResponse},
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, StandardRevocableToken,
    TokenUrl,
};
use tokio::{sync::oneshot, time::Instant};
use url::Url;

use crate::{
    authority::aadsts::{Flow, ProviderError},
    authority::discovery::{Endpoints, Server},
    authority::redirect::RedirectUri,
    authority::token::{request_error, EntraTokenResponse, Tokens},
    clock::unix_now,
    config::AccountConfig,
    config::ResponseMode,
    net::http::{host_of, Http},
    random,
    secret::Secret,
    signin::auth_state::AuthState,
    signin::inbox::Inbox,
    signin::loopback::Listener,
    signin::paste::{AuthorizationResponse, IssuerRule},
};

/// How long one sign-in attempt (its address, state and listener) stays open; Entra's
/// authorization codes live about as long.
pub const ATTEMPT_LIFETIME: Duration = Duration::from_secs(600);

/// The `oauth2` client of a browser sign-in: authorization and token endpoints set.
type BrowserClient = oauth2::Client<
    ProviderError,
    EntraTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// Signs in through the browser against the discovered `endpoints`; answers arrive
/// through `inbox`. Returns the tokens and the nonce the ID token must carry.
pub async fn sign_in(
    config: &AccountConfig,
    http: &Http,
    host: &Host,
    reporter: &Reporter,
    endpoints: &Endpoints,
    inbox: Arc<Inbox>,
    loopback: bool,
) -> Result<(Tokens, Secret), PluginError> {
    endpoints
        .server
        .require_s256(&host_of(endpoints.authorization.as_str()))?;
    let attempt = Attempt {
        config,
        http,
        host,
        reporter,
        endpoints,
    };
    let nonce = Secret::new(random::url_safe::<NONCE_BYTES>());
    let tokens = attempt.sign_in(inbox, loopback, &nonce).await?;
    Ok((tokens, nonce))
}

/// The PKCE `S256` challenge of `verifier` (RFC 7636 §4.2): its SHA-256, base64url
/// without padding. Computed with *ring*, the plugin's crypto, as `oauth2` would with
/// `sha2` (whose code then stays out of the library).
fn pkce_s256(verifier: &str) -> String {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        verifier.as_bytes(),
    ))
}

/// Random bytes in a nonce (base64url-encoded, 43 characters).
const NONCE_BYTES: usize = 32;

/// Hands pasted text to `inbox`, logging the outcome (never the text).
pub fn paste_check(
    inbox: Arc<Inbox>,
    host: Host,
) -> impl Fn(&str) -> Result<(), PluginError> + Send + Sync + 'static {
    move |pasted| match inbox.submit(pasted) {
        Ok(()) => {
            host.info("Took the pasted browser address.");
            Ok(())
        }
        Err(e) => {
            host.info(&format!("The pasted text was not used: {}", e.message()));
            Err(e)
        }
    }
}

/// One browser sign-in against discovered endpoints.
struct Attempt<'a> {
    config: &'a AccountConfig,
    http: &'a Http,
    host: &'a Host,
    reporter: &'a Reporter,
    endpoints: &'a Endpoints,
}

impl Attempt<'_> {
    /// Shows the sign-in address, waits for the answer, and redeems the code.
    async fn sign_in(
        &self,
        inbox: Arc<Inbox>,
        loopback: bool,
        nonce: &Secret,
    ) -> Result<Tokens, PluginError> {
        let listener = if loopback { self.listen().await } else { None };
        let mode = self.response_mode(listener.is_some());
        let listener = listener.map(|l| l.expecting(mode));
        let redirect = match &listener {
            Some(l) => l.redirect().clone(),
            None => RedirectUri::for_paste(&self.config.authority()),
        };
        let client = self.client(&redirect);
        let state = AuthState::new(ATTEMPT_LIFETIME);
        // oauth2's `new_random_sha256`, from our random source: 32 bytes, S256.
        let verifier = PkceCodeVerifier::new(random::url_safe::<32>());
        let challenge = pkce_s256(verifier.secret());
        let url = self.authorize_url(&client, &state, &challenge, mode, nonce);
        let deadline = state.deadline();
        let issuer = IssuerRule {
            issuer: self.endpoints.issuer.clone(),
            required: self.endpoints.server.iss_in_responses,
        };
        let pastable = mode == ResponseMode::Query;
        let answer = inbox.open(redirect.clone(), state, issuer, pastable);
        let listening = listener.as_ref().map(|l| l.redirect().as_str().into());
        self.reporter.show(SessionState::OpenBrowser {
            url: url.as_str().into(),
            message: instructions(&redirect, listening.is_some(), mode).into(),
            expires_at: unix_now() + ATTEMPT_LIFETIME.as_secs() as i64,
            listening: listening.into(),
        });
        let how = match (&listener, mode) {
            (Some(l), ResponseMode::FormPost) => format!(
                " (response_mode=form_post to the listener on {}; no paste)",
                if l.has_ipv6() {
                    "127.0.0.1 and [::1]"
                } else {
                    "127.0.0.1"
                }
            ),
            (Some(l), ResponseMode::Query) => format!(
                " (listening on {}; a paste works too)",
                if l.has_ipv6() {
                    "127.0.0.1 and [::1]"
                } else {
                    "127.0.0.1"
                }
            ),
            (None, _) => " (by paste)".to_owned(),
        };
        self.host.info(&format!(
            "Showing the browser sign-in address at {}; waiting up to {} s for the browser to return to {redirect}{how}.",
            host_of(url.as_str()),
            ATTEMPT_LIFETIME.as_secs(),
        ));
        let answer = wait_for_answer(answer, listener, inbox, self.host.clone(), deadline).await;
        let code = match answer? {
            AuthorizationResponse::Code(code) => code,
            AuthorizationResponse::Error(e) => return Err(e.to_plugin_error_in(Flow::Browser)),
        };
        self.reporter
            .working("Signed in; redeeming the sign-in code…");
        self.redeem(&client, code, verifier).await
    }

    /// The loopback listener, or none (then the user pastes) when it cannot be bound.
    async fn listen(&self) -> Option<Listener> {
        match Listener::bind().await {
            Ok(l) => Some(l),
            Err(e) => {
                self.host.warn(&format!(
                    "Could not listen on 127.0.0.1 for the browser's redirect ({}); the final address must be pasted.",
                    e.kind()
                ));
                None
            }
        }
    }

    fn client(&self, redirect: &RedirectUri) -> BrowserClient {
        let client = oauth2::Client::new(ClientId::new(self.config.client_id.clone()))
            .set_auth_uri(AuthUrl::from_url(self.endpoints.authorization.clone()))
            .set_token_uri(TokenUrl::from_url(self.endpoints.token.clone()))
            .set_redirect_uri(RedirectUrl::from_url(redirect.url().clone()))
            // As Entra's docs and oauth2's msgraph example do: the secret in the body.
            .set_auth_type(AuthType::RequestBody);
        // Only confidential apps get a secret: a public client sending one is refused
        // (AADSTS700025), which tells the user to remove it.
        match &self.config.client_secret {
            Some(secret) => client.set_client_secret(ClientSecret::new(secret.expose().to_owned())),
            None => client,
        }
    }

    /// `form_post` when asked for, the listener runs and the server offers it; else `query`.
    fn response_mode(&self, listening: bool) -> ResponseMode {
        if self.config.response_mode != ResponseMode::FormPost {
            return ResponseMode::Query;
        }
        let why_not = if !listening {
            "the loopback listener is not running"
        } else if !self.endpoints.server.names_response_mode("form_post") {
            "the sign-in service does not offer it"
        } else {
            return ResponseMode::FormPost;
        };
        self.host.info(&format!(
            "Browser answer form_post was asked for, but {why_not}: using query, so the final address can be pasted."
        ));
        ResponseMode::Query
    }

    fn authorize_url(
        &self,
        client: &BrowserClient,
        state: &AuthState,
        challenge: &str,
        mode: ResponseMode,
        nonce: &Secret,
    ) -> Url {
        let value = state.value().expose().to_owned();
        let mut request = client
            .authorize_url(move || CsrfToken::new(value))
            .add_scopes(self.config.scopes.iter().map(|s| Scope::new(s.clone())))
            // What `set_pkce_challenge` adds (after the scope here, not before it).
            .add_extra_param("code_challenge", challenge)
            .add_extra_param("code_challenge_method", "S256");
        let hint = crate::account::saved::signed_in_user(self.host, self.config);
        for (name, value) in authorize_params(&self.endpoints.server, mode, hint, nonce) {
            request = request.add_extra_param(name, value);
        }
        request.url().0
    }

    /// Redeems `code` with the PKCE verifier (and the secret, when given) for tokens.
    async fn redeem(
        &self,
        client: &BrowserClient,
        code: Secret,
        verifier: PkceCodeVerifier,
    ) -> Result<Tokens, PluginError> {
        let token_host = host_of(self.endpoints.token.as_str());
        self.host
            .info(&format!("Redeeming the sign-in code at {token_host}."));
        let mut request = client
            .exchange_code(AuthorizationCode::new(code.expose().to_owned()))
            .set_pkce_verifier(verifier);
        if self.endpoints.server.microsoft.is_some() {
            // A Microsoft extension: the scopes the tokens are for.
            request = request.add_extra_param("scope", self.config.scopes.join(" "));
        }
        if let Some(claims) =
            crate::authority::claims::request_claims(None, self.endpoints.server.takes_claims())
        {
            request = request.add_extra_param("claims", claims);
        }
        if self.config.certificate.is_some() {
            for (name, value) in self
                .config
                .client_credentials(self.endpoints.token.as_str())
            {
                request = request.add_extra_param(name, value.expose().to_owned());
            }
        }
        let response = request
            .request_async(self.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(provider) => {
                    provider.to_plugin_error_in(Flow::Browser)
                }
                other => request_error(other, &token_host, "sign-in code redemption"),
            })?;
        Ok(response.into())
    }
}

/// The authorization request's parameters beyond `oauth2`'s (client id, redirect, scope,
/// state, PKCE): only what `server` supports.
///
/// - `nonce`, always (OpenID Connect Core §3.1.2.1; checked in the ID token).
/// - `response_mode`, when the server names the mode (Microsoft's service names all);
///   `query` is the default for `code` and may go unsaid.
/// - `login_hint` (standard) when re-verifying a saved account; otherwise
///   `prompt=select_account`, so a browser signed in to another account does not choose
///   for the user — where the server supports that value (Microsoft's does; others only
///   if `prompt_values_supported` lists it).
pub fn authorize_params(
    server: &Server,
    mode: ResponseMode,
    login_hint: Option<String>,
    nonce: &Secret,
) -> Vec<(&'static str, String)> {
    let mut params = vec![("nonce", nonce.expose().to_owned())];
    if server.names_response_mode(mode.key()) {
        params.push(("response_mode", mode.key().to_owned()));
    }
    match login_hint {
        Some(upn) => params.push(("login_hint", upn)),
        None if server.supports_prompt("select_account") => {
            params.push(("prompt", "select_account".to_owned()))
        }
        None => {}
    }
    params
}

/// Waits for the answer — a paste or the listener, whichever comes first — until
/// `deadline`; the listener is dropped (its port closed) when this returns.
async fn wait_for_answer(
    answer: oneshot::Receiver<AuthorizationResponse>,
    listener: Option<Listener>,
    inbox: Arc<Inbox>,
    host: Host,
    deadline: Instant,
) -> Result<AuthorizationResponse, PluginError> {
    let listen = async move {
        match listener {
            Some(l) => l.serve(inbox, host).await,
            None => std::future::pending::<Infallible>().await,
        }
    };
    tokio::select! {
        answer = answer => answer.map_err(|_| {
            PluginError::internal("The browser's answer was lost before the sign-in could use it.")
                .with_hint("This is a bug in the Office 365 plugin; report it. Choose Verify ▾ With Browser to try again.")
        }),
        never = listen => match never {},
        () = tokio::time::sleep_until(deadline) => Err(expired()),
    }
}

/// What the user must do, for the redirect in use.
fn instructions(redirect: &RedirectUri, listening: bool, mode: ResponseMode) -> String {
    if listening && mode == ResponseMode::FormPost {
        format!(
            "Sign in with your browser at the address shown, on this computer. When you have signed in, the browser hands the sign-in to {redirect} by itself (by form post: the code never appears in the address bar) and the verification continues. Nothing needs to be pasted, and nothing can be. The app registration must list http://localhost as a redirect URI."
        )
    } else if listening {
        format!(
            "Sign in with your browser at the address shown. When you have signed in, the browser returns to {redirect} and the verification continues by itself. If the browser cannot reach that address (for example, it runs on another computer), copy the address it ends on and paste it here. The app registration must list http://localhost as a redirect URI."
        )
    } else if redirect.is_loopback() {
        format!(
            "Sign in with your browser at the address shown. Afterwards the browser opens {redirect} and says it cannot connect: that is expected. Copy the whole address from its address bar (it starts with {redirect}?code=) and paste it here. The app registration must list http://localhost as a redirect URI."
        )
    } else {
        format!(
            "Sign in with your browser at the address shown. The browser ends on a blank page: copy the whole address from its address bar (it starts with {redirect}?code=) and paste it here. The app registration must list {redirect} under Authentication → Mobile and desktop applications."
        )
    }
}

/// The attempt's own deadline passed.
fn expired() -> PluginError {
    PluginError::new(
        ErrorKind::TimedOut,
        format!(
            "The browser sign-in was not finished within {} minutes.",
            ATTEMPT_LIFETIME.as_secs() / 60
        ),
    )
    .with_hint(
        "Choose Verify ▾ With Browser again and finish signing in before the time shown runs out.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pkce_challenge_is_rfc_7636_s256_as_oauth2_makes_it() {
        // RFC 7636, Appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            pkce_s256(verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let fresh = PkceCodeVerifier::new(random::url_safe::<32>());
        assert_eq!(
            pkce_s256(fresh.secret()),
            oauth2::PkceCodeChallenge::from_code_verifier_sha256(&fresh).as_str()
        );
    }

    #[test]
    fn instructions_name_the_redirect_to_register() {
        let native = RedirectUri::for_paste("https://login.microsoftonline.com");
        let text = instructions(&native, false, ResponseMode::Query);
        assert!(text.contains("blank page"), "{text}");
        assert!(text.contains("https://login.microsoftonline.com/common/oauth2/nativeclient"));
        let local = RedirectUri::for_paste("http://127.0.0.1:9");
        assert!(instructions(&local, false, ResponseMode::Query).contains("cannot connect"));
        let listening = instructions(&RedirectUri::loopback(5000), true, ResponseMode::Query);
        assert!(listening.contains("http://localhost:5000/"), "{listening}");
        assert!(listening.contains("continues by itself"));
        let posted = instructions(&RedirectUri::loopback(5000), true, ResponseMode::FormPost);
        assert!(posted.contains("nothing can be"), "{posted}");
    }

    fn names(params: &[(&'static str, String)]) -> Vec<&'static str> {
        params.iter().map(|(k, _)| *k).collect()
    }

    #[test]
    fn microsoft_s_parameters_go_only_to_microsoft() {
        let nonce = Secret::new("n");
        let microsoft = Server {
            microsoft: Some(crate::net::cloud::Cloud::Global),
            ..Server::default()
        };
        let params = authorize_params(&microsoft, ResponseMode::Query, None, &nonce);
        assert_eq!(names(&params), ["nonce", "response_mode", "prompt"]);
        assert_eq!(params[2].1, "select_account");
        let standard = Server::default();
        let params = authorize_params(&standard, ResponseMode::Query, None, &nonce);
        assert_eq!(
            names(&params),
            ["nonce"],
            "a bare server gets only standard parameters"
        );
        let listed = Server {
            prompt_values: Some(vec!["login".into(), "select_account".into()]),
            response_modes: Some(vec!["query".into(), "form_post".into()]),
            ..Server::default()
        };
        let params = authorize_params(&listed, ResponseMode::FormPost, None, &nonce);
        assert_eq!(names(&params), ["nonce", "response_mode", "prompt"]);
        assert_eq!(params[1].1, "form_post");
        let params = authorize_params(&listed, ResponseMode::Query, Some("a@b.c".into()), &nonce);
        assert_eq!(names(&params), ["nonce", "response_mode", "login_hint"]);
    }

    #[test]
    fn the_listener_closes_when_the_attempt_expires() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let result = rt.block_on(async {
            let listener = Listener::bind().await.unwrap();
            let redirect = listener.redirect().clone();
            let port = redirect.url().port().unwrap();
            let inbox = Inbox::new();
            let rx = inbox.open(
                redirect,
                AuthState::with_value("s", Duration::from_secs(600)),
                IssuerRule {
                    issuer: crate::authority::issuer::Issuer::of_discovery(
                        Some("http://127.0.0.1:9/t.example/v2.0"),
                        &Url::parse("http://127.0.0.1:9").unwrap(),
                        &crate::config::Tenant::Domain("t.example".into()),
                        "h",
                    )
                    .unwrap(),
                    required: false,
                },
                true,
            );
            let host = atrs_host_sdk::testing::MemoryHost::new().handle();
            let deadline = Instant::now() + Duration::from_millis(50);
            let result = wait_for_answer(rx, Some(listener), inbox, host, deadline).await;
            (result, port)
        });
        let (result, port) = result;
        assert_eq!(result.unwrap_err().kind(), ErrorKind::TimedOut);
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "the port is closed"
        );
    }

    #[test]
    fn our_deadline_is_a_timeout_with_a_fix() {
        let e = expired();
        assert_eq!(e.kind(), ErrorKind::TimedOut);
        assert!(e.message().contains("10 minutes"));
        assert!(e.hint().unwrap().contains("With Browser"));
    }
}
