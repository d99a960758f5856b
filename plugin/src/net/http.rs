//! The HTTP client every request goes through: bounded in time and size, JSON only,
//! and failing with errors typed by what went wrong.
//!
//! Nothing here logs or echoes a request or response body: bodies carry codes and
//! tokens. Error text names the host, the status and the kind of fault only.

use std::{fmt, future::Future, pin::Pin, time::Duration};

use atrs_host_sdk::{ErrorKind, PluginError};
use oauth2::http::{
    self,
    header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE},
    HeaderValue, StatusCode,
};
use serde::de::DeserializeOwned;
use url::{Host, Url};

use crate::{
    net::request_id::{self, LastFailure, RequestIds},
    secret::Secret,
};

/// A request as built by `oauth2` or by us.
pub type HttpRequest = oauth2::HttpRequest;
/// A response with its body read in full (within [`Limits::max_body_bytes`]).
pub type HttpResponse = oauth2::HttpResponse;

/// How long and how much the client will wait for and read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Time to open a connection.
    pub connect_timeout: Duration,
    /// Time for a whole exchange: connect, send, and read the full answer.
    pub request_timeout: Duration,
    /// The largest answer accepted; sign-in answers are a few kilobytes.
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_body_bytes: 1024 * 1024,
        }
    }
}

/// The environment variable that replaces the time for one exchange (sign-in and Graph),
/// in seconds (fractions allowed): for slow networks, or tests of slow servers.
pub const REQUEST_TIMEOUT_VAR: &str = "ATRS_OFFICE365_REQUEST_TIMEOUT";

/// The time for one exchange that [`REQUEST_TIMEOUT_VAR`] sets, if it holds a positive number.
pub fn request_timeout_from_env() -> Option<Duration> {
    seconds_from_env(REQUEST_TIMEOUT_VAR)
}

/// A positive number of seconds (fractions allowed) from the variable `name`; `None` when
/// unset, unreadable, not positive or too large for a duration.
pub fn seconds_from_env(name: &str) -> Option<Duration> {
    let text = std::env::var(name).ok()?;
    seconds(&text)
}

/// `text` as a positive number of seconds (see [`seconds_from_env`]).
pub fn seconds(text: &str) -> Option<Duration> {
    let secs = text.trim().parse::<f64>().ok()?;
    (secs > 0.0)
        .then(|| Duration::try_from_secs_f64(secs).ok())
        .flatten()
}

impl Limits {
    /// The defaults, with [`REQUEST_TIMEOUT_VAR`] applied when set.
    pub fn from_env() -> Self {
        let default = Limits::default();
        Limits {
            request_timeout: request_timeout_from_env().unwrap_or(default.request_timeout),
            ..default
        }
    }
}

/// Why an exchange failed, by where it failed; never holds a body or a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// No connection could be opened.
    #[error("could not connect to {host}")]
    Connect {
        /// The host (and port) tried.
        host: String,
    },
    /// The exchange did not finish in time.
    #[error("{host} did not answer within {after:?}")]
    Timeout {
        /// The host asked.
        host: String,
        /// The limit that passed.
        after: Duration,
    },
    /// The connection broke off (reset, or closed before the answer was complete).
    #[error("the connection to {host} broke off")]
    Interrupted {
        /// The host asked.
        host: String,
    },
    /// The answer was larger than the limit.
    #[error("{host} sent more than {limit} bytes")]
    TooLarge {
        /// The host asked.
        host: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// The answer was not JSON (often an HTML page from a proxy or portal).
    #[error("{host} answered HTTP {status} with {content_type} instead of JSON")]
    NotJson {
        /// The host asked.
        host: String,
        /// The HTTP status.
        status: u16,
        /// The content type received (`none` when missing).
        content_type: String,
    },
    /// The answer was JSON but not of the expected shape, or cut short.
    #[error("{host} answered HTTP {status} with unreadable JSON ({problem})")]
    Unreadable {
        /// The host asked.
        host: String,
        /// The HTTP status.
        status: u16,
        /// What is wrong, without quoting any value.
        problem: String,
    },
    /// An HTTP status that carries no OAuth error (5xx, 404, a redirect …).
    #[error("{host} answered HTTP {status}")]
    Status {
        /// The host asked.
        host: String,
        /// The HTTP status.
        status: u16,
    },
    /// The request could not be built (a bug, or an impossible URL).
    #[error("the request to {host} could not be built")]
    Build {
        /// The host the request was for.
        host: String,
    },
    /// A proxy on the way asked for credentials (HTTP 407).
    #[error("the proxy on the way to {host} asks for authentication")]
    ProxyAuth {
        /// The host the request was for.
        host: String,
    },
    /// The certificate the host (or a proxy answering for it) presented was refused.
    #[error("the certificate of {host} was refused: {problem}")]
    Certificate {
        /// The host the request was for.
        host: String,
        /// Why it was refused.
        problem: CertificateProblem,
    },
    /// The TLS handshake failed for another reason than the certificate.
    #[error("the TLS handshake with {host} failed")]
    Tls {
        /// The host the request was for.
        host: String,
    },
}

/// Why a server certificate was refused, in the words the fix depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CertificateProblem {
    /// Not issued by an authority this computer trusts (a TLS-inspecting proxy's own
    /// authority, a private test CA, or an attacker).
    #[error("issued by an unknown authority")]
    UnknownIssuer,
    /// Issued for another host name.
    #[error("issued for another name")]
    OtherName,
    /// Expired, or not valid yet.
    #[error("expired or not valid yet")]
    Expired,
    /// Revoked, damaged, of the wrong kind, or otherwise refused.
    #[error("not acceptable")]
    Other,
}

impl HttpError {
    /// The user-facing error: what happened and what to do; kind [`ErrorKind::Network`]
    /// (a slow server included: [`ErrorKind::TimedOut`] is kept for expired codes).
    pub fn to_plugin_error(&self) -> PluginError {
        let check_network = "Check the network connection, the cloud and the authority URL; a proxy or firewall may be blocking the sign-in service.";
        let try_later = "Try again in a few minutes; if it keeps happening, check the authority URL and any proxy in between.";
        let (message, hint) = match self {
            HttpError::Connect { host } => (
                format!("Could not connect to {host}."),
                check_network.to_owned(),
            ),
            HttpError::Timeout { host, after } => (
                format!("{host} did not answer within {} seconds.", after.as_secs().max(1)),
                format!("The service or the network is slow or down. {try_later}"),
            ),
            HttpError::Interrupted { host } => (
                format!("The connection to {host} broke off before its answer was complete."),
                try_later.to_owned(),
            ),
            HttpError::TooLarge { host, limit } => (
                format!(
                    "{host} sent an answer larger than {} KiB, which no sign-in service sends.",
                    limit / 1024
                ),
                "Check that the authority URL points at the Microsoft sign-in service and not at another site.".to_owned(),
            ),
            HttpError::NotJson {
                host,
                status,
                content_type,
            } => (
                format!(
                    "{host} answered HTTP {status}{} with {} instead of the expected JSON.",
                    reason(*status),
                    describe_content_type(content_type)
                ),
                "A proxy, captive portal or wrong authority URL is answering in place of the sign-in service. Check the authority URL and the network, then try again.".to_owned(),
            ),
            HttpError::Unreadable {
                host,
                status,
                problem,
            } => (
                format!("{host} answered HTTP {status} with JSON that could not be read: {problem}."),
                try_later.to_owned(),
            ),
            HttpError::Status { host, status } if *status >= 500 => (
                format!(
                    "{host} is having trouble (HTTP {status}{}).",
                    reason(*status)
                ),
                try_later.to_owned(),
            ),
            HttpError::Status { host, status } => (
                format!(
                    "{host} answered HTTP {status}{}, which a sign-in service does not answer here.",
                    reason(*status)
                ),
                "Check the authority URL and the Tenant ID.".to_owned(),
            ),
            HttpError::Build { host } => (
                format!("The request to {host} could not be built."),
                "This is a bug in the Office 365 plugin; report it.".to_owned(),
            ),
            HttpError::ProxyAuth { host } => (
                format!(
                    "The proxy between this computer and {host} asks for a user name and password (HTTP 407 Proxy Authentication Required)."
                ),
                format!(
                    "Give them in the proxy address (HTTPS_PROXY=http://USER:PASSWORD@PROXY:PORT), or ask your IT department to let {host} through the proxy without signing in. Proxies that sign in with Windows accounts (NTLM, Kerberos) are not supported."
                ),
            ),
            HttpError::Certificate { host, problem } => certificate_message(host, *problem),
            HttpError::Tls { host } => (
                format!("The secure connection to {host} could not be set up (the TLS handshake failed)."),
                format!(
                    "Something between this computer and {host} (a proxy or security software) may be interfering with encrypted traffic, or the authority URL points at a server that does not speak TLS. Check the authority URL, then ask your IT department."
                ),
            ),
        };
        // A request we could not build is our bug, not the network's.
        let kind = match self {
            HttpError::Build { .. } => ErrorKind::Internal,
            _ => ErrorKind::Network,
        };
        PluginError::new(kind, message).with_hint(hint)
    }
}

/// What a refused certificate means and what to do about it.
fn certificate_message(host: &str, problem: CertificateProblem) -> (String, String) {
    let company_ca = "If your network inspects encrypted traffic (a company proxy or security software), ask your IT department for its root certificate as a PEM file and name it under Extra trusted certificates, or in SSL_CERT_FILE.";
    match problem {
        CertificateProblem::UnknownIssuer => (
            format!("The certificate {host} presented was not issued by an authority this computer trusts."),
            format!("{company_ca} Otherwise someone may be intercepting the connection: do not sign in from this network."),
        ),
        CertificateProblem::OtherName => (
            format!("The certificate {host} presented was issued for another name."),
            format!("Check the authority URL. A proxy or security software may be answering for {host}; ask your IT department."),
        ),
        CertificateProblem::Expired => (
            format!("The certificate {host} presented has expired or is not valid yet."),
            "Check this computer's date and time. If they are right, the service, or a proxy in between, has an outdated certificate: tell your IT department.".to_owned(),
        ),
        CertificateProblem::Other => (
            format!("The certificate {host} presented was refused."),
            company_ca.to_owned(),
        ),
    }
}

fn reason(status: u16) -> String {
    StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map(|r| format!(" {r}"))
        .unwrap_or_default()
}

fn describe_content_type(content_type: &str) -> String {
    let lower = content_type.to_ascii_lowercase();
    if lower.starts_with("text/html") {
        "a web page".to_owned()
    } else if content_type == "none" {
        "content of no stated type".to_owned()
    } else {
        format!("`{content_type}`")
    }
}

/// The HTTP client: reqwest with our limits, no redirects, typed failures.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    limits: Limits,
    last_failure: LastFailure,
    /// Shared by the copies of one built client ([`Http::same_client`]).
    built: std::sync::Arc<()>,
}

impl fmt::Debug for Http {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Http")
            .field("limits", &self.limits)
            .finish()
    }
}

impl Http {
    /// A client within `limits`; `loopback_only` skips system proxies (a local test server).
    pub fn new(limits: Limits, loopback_only: bool) -> Result<Self, PluginError> {
        Self::trusting(limits, loopback_only, Vec::new())
    }

    /// [`Http::new`] that also trusts the certificate authorities `roots` (see
    /// [`crate::net::trust`]).
    pub fn trusting(
        limits: Limits,
        loopback_only: bool,
        roots: Vec<reqwest::Certificate>,
    ) -> Result<Self, PluginError> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(limits.connect_timeout)
            .timeout(limits.request_timeout)
            // OAuth endpoints never redirect; following one could send a code elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("atrs-office365/", env!("CARGO_PKG_VERSION")));
        if loopback_only {
            builder = builder.no_proxy();
        }
        for root in roots {
            builder = builder.add_root_certificate(root);
        }
        super::tls::install();
        let client = builder.build().map_err(|e| {
            PluginError::internal(format!("The HTTP client could not be set up ({e}).")).with_hint(
                "This is a bug in the Office 365 plugin or a broken TLS setup; report it.",
            )
        })?;
        Ok(Http {
            client,
            limits,
            last_failure: LastFailure::default(),
            built: std::sync::Arc::default(),
        })
    }

    /// The same client (its connections shared) with a failure record of its own, so
    /// [`Http::annotate`] names only exchanges made through the copy.
    pub fn fresh(&self) -> Http {
        Http {
            last_failure: LastFailure::default(),
            ..self.clone()
        }
    }

    /// Whether `other` is a copy of the client this one is (built once, not twice).
    pub fn same_client(&self, other: &Http) -> bool {
        std::sync::Arc::ptr_eq(&self.built, &other.built)
    }

    /// `e` with the ids of the last exchange, if it failed (see [`crate::net::request_id`]).
    pub fn annotate(&self, e: PluginError) -> PluginError {
        self.last_failure.annotate(e)
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Sends `request` and reads the whole answer, within the limits.
    /// Every request carries a fresh `client-request-id`.
    pub async fn execute(&self, mut request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let host = host_of(&request.uri().to_string());
        let limit = self.limits.request_timeout;
        let id = request_id::new_id();
        if let Ok(value) = HeaderValue::from_str(&id) {
            let headers = request.headers_mut();
            headers.insert(request_id::CLIENT_REQUEST_ID, value);
            headers.insert(
                request_id::RETURN_CLIENT_REQUEST_ID,
                HeaderValue::from_static("true"),
            );
        }
        let result = match tokio::time::timeout(limit, self.exchange(request, &host)).await {
            Ok(result) => result,
            Err(_) => Err(HttpError::Timeout { host, after: limit }),
        };
        let trace_id = result.as_ref().ok().and_then(|r| {
            r.headers()
                .get(request_id::MS_REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .and_then(request_id::printable)
        });
        let failed = result.as_ref().map_or(true, |r| !r.status().is_success());
        self.last_failure.record(
            RequestIds {
                client_request_id: id,
                trace_id,
            },
            failed,
        );
        result
    }

    async fn exchange(&self, request: HttpRequest, host: &str) -> Result<HttpResponse, HttpError> {
        let request = reqwest::Request::try_from(request).map_err(|_| HttpError::Build {
            host: host.to_owned(),
        })?;
        let mut response = self
            .client
            .execute(request)
            .await
            .map_err(|e| classify(&e, host, self.limits.request_timeout))?;
        // A plain-http request goes to the proxy itself, which answers 407 in place
        // of the server (over https the proxy refuses the tunnel, see `classify`).
        if response.status() == StatusCode::PROXY_AUTHENTICATION_REQUIRED {
            return Err(HttpError::ProxyAuth {
                host: host.to_owned(),
            });
        }
        let limit = self.limits.max_body_bytes;
        let too_large = || HttpError::TooLarge {
            host: host.to_owned(),
            limit,
        };
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| classify(&e, host, self.limits.request_timeout))?
        {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        let mut out = http::Response::builder().status(response.status());
        if let Some(headers) = out.headers_mut() {
            *headers = response.headers().clone();
        }
        out.body(body).map_err(|_| HttpError::Build {
            host: host.to_owned(),
        })
    }

    /// Sends an OAuth request and lets through only JSON answers: a success, or an
    /// OAuth error object (`{"error": …}`); anything else becomes an [`HttpError`].
    ///
    pub async fn oauth(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let host = host_of(&request.uri().to_string());
        let response = self.execute(request).await?;
        require_json(&response, &host)?;
        let status = response.status();
        if status != StatusCode::OK && !is_oauth_error(response.body()) {
            return Err(
                match serde_json::from_slice::<serde::de::IgnoredAny>(response.body()) {
                    Ok(_) => HttpError::Status {
                        host,
                        status: status.as_u16(),
                    },
                    Err(e) => unreadable(&host, status.as_u16(), &e),
                },
            );
        }
        Ok(response)
    }

    /// POSTs a form to `url` through [`Http::oauth`].
    pub async fn post_form(
        &self,
        url: &Url,
        form: &[(&str, &str)],
    ) -> Result<HttpResponse, HttpError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish()
            .into_bytes();
        let request = http::Request::builder()
            .method(http::Method::POST)
            .uri(url.as_str())
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            )
            .body(body)
            .map_err(|_| HttpError::Build {
                host: host_of(url.as_str()),
            })?;
        self.oauth(request).await
    }

    /// GETs `url` (with a bearer token if given) and requires a JSON answer.
    pub async fn get_json(
        &self,
        url: &Url,
        bearer: Option<&Secret>,
    ) -> Result<HttpResponse, HttpError> {
        let host = host_of(url.as_str());
        let mut builder = http::Request::builder()
            .method(http::Method::GET)
            .uri(url.as_str())
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(token) = bearer {
            let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
                .map_err(|_| HttpError::Build { host: host.clone() })?;
            value.set_sensitive(true);
            builder = builder.header(AUTHORIZATION, value);
        }
        let request = builder
            .body(Vec::new())
            .map_err(|_| HttpError::Build { host: host.clone() })?;
        let response = self.execute(request).await?;
        require_json(&response, &host)?;
        Ok(response)
    }
}

/// `oauth2` sends its requests through [`Http::oauth`], so its errors stay typed.
impl<'c> oauth2::AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.oauth(request))
    }
}

/// `host[:port]` of a URL, for messages.
pub fn host_of(url: &str) -> String {
    match Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            _ => "the server".to_owned(),
        },
        Err(_) => "the server".to_owned(),
    }
}

/// Whether the URL's host is a loopback address or `localhost`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Fails unless the answer says it is JSON.
pub fn require_json(response: &HttpResponse, host: &str) -> Result<(), HttpError> {
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let is_json = content_type.as_deref().is_some_and(|ct| {
        let essence = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        essence == "application/json" || essence.ends_with("+json")
    });
    if is_json {
        return Ok(());
    }
    Err(HttpError::NotJson {
        host: host.to_owned(),
        status: response.status().as_u16(),
        content_type: content_type
            .map(|ct| ct.chars().take(60).collect())
            .unwrap_or_else(|| "none".to_owned()),
    })
}

/// Parses a JSON body into `T`; the error says what is wrong without quoting values.
pub fn parse_json<T: DeserializeOwned>(
    response: &HttpResponse,
    host: &str,
) -> Result<T, HttpError> {
    serde_json::from_slice(response.body())
        .map_err(|e| unreadable(host, response.status().as_u16(), &e))
}

/// An [`HttpError::Unreadable`] for a serde error, keeping only what is safe to show.
pub fn unreadable(host: &str, status: u16, e: &serde_json::Error) -> HttpError {
    use serde_json::error::Category;
    let problem = match e.classify() {
        Category::Eof => "the answer is cut short".to_owned(),
        Category::Syntax => format!("malformed at line {} column {}", e.line(), e.column()),
        Category::Io => "it could not be read".to_owned(),
        Category::Data => {
            // "missing field `x`" names a field only; other data errors may quote the
            // value (which could be a token), so they are not repeated.
            let text = e.to_string();
            match text.strip_prefix("missing field `") {
                Some(rest) => format!(
                    "the field `{}` is missing",
                    rest.split('`').next().unwrap_or("?")
                ),
                None => "a field is missing or of the wrong type".to_owned(),
            }
        }
    };
    HttpError::Unreadable {
        host: host.to_owned(),
        status,
        problem,
    }
}

fn is_oauth_error(body: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Shape {
        error: String,
    }
    serde_json::from_slice::<Shape>(body).is_ok_and(|s| !s.error.is_empty())
}

/// Sorts a reqwest failure into an [`HttpError`] without keeping its text (it may
/// quote the URL, which is harmless, but we keep one wording for every fault).
fn classify(e: &reqwest::Error, host: &str, after: Duration) -> HttpError {
    let host = host.to_owned();
    if let Some(tls) = tls_error_in(e) {
        return match tls {
            rustls::Error::InvalidCertificate(why) => HttpError::Certificate {
                host,
                problem: certificate_problem(why),
            },
            _ => HttpError::Tls { host },
        };
    }
    if refused_for_proxy_auth(e) {
        return HttpError::ProxyAuth { host };
    }
    if e.is_timeout() {
        HttpError::Timeout { host, after }
    } else if e.is_connect() {
        HttpError::Connect { host }
    } else if e.is_builder() {
        HttpError::Build { host }
    } else {
        // Request, body and decode failures after connecting: the peer reset or
        // closed the connection, or sent a malformed HTTP message.
        HttpError::Interrupted { host }
    }
}

/// The errors `e` was caused by, outermost first, including those an `io::Error`
/// wraps (its `source` skips the wrapped error itself).
fn causes<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Vec<&'a (dyn std::error::Error + 'static)> {
    let mut found = Vec::new();
    let mut next = Some(e);
    while let Some(error) = next {
        found.push(error);
        if let Some(wrapped) = error
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            found.push(wrapped);
        }
        next = error.source();
    }
    found
}

/// The TLS failure behind `e`, if it is one.
fn tls_error_in<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    causes(e)
        .into_iter()
        .find_map(|cause| cause.downcast_ref::<rustls::Error>())
}

/// Whether a proxy refused to open the tunnel until we authenticate (HTTP 407 to
/// `CONNECT`). hyper-util keeps its tunnel error private, so its text is what we can
/// check; the end-to-end proxy test pins it.
fn refused_for_proxy_auth(e: &(dyn std::error::Error + 'static)) -> bool {
    causes(e)
        .into_iter()
        .any(|cause| cause.to_string().contains("proxy authorization required"))
}

fn certificate_problem(why: &rustls::CertificateError) -> CertificateProblem {
    use rustls::CertificateError as E;
    match why {
        E::UnknownIssuer => CertificateProblem::UnknownIssuer,
        E::NotValidForName | E::NotValidForNameContext { .. } => CertificateProblem::OtherName,
        E::Expired | E::ExpiredContext { .. } | E::NotValidYet | E::NotValidYetContext { .. } => {
            CertificateProblem::Expired
        }
        _ => CertificateProblem::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{
        io::{Read, Write},
        net::TcpListener,
        thread,
    };

    /// A one-shot loopback server answering every connection with `reply` bytes.
    fn serve(reply: Vec<u8>, connections: usize) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || {
            for stream in listener.incoming().take(connections) {
                let Ok(mut stream) = stream else { return };
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(&reply);
            }
        });
        format!("http://{addr}/x")
    }

    fn response(status: &str, content_type: &str, body: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    fn limits() -> Limits {
        Limits {
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_millis(700),
            max_body_bytes: 64,
        }
    }

    fn post(url: &str) -> Result<HttpResponse, HttpError> {
        let http = Http::new(limits(), true).unwrap();
        let url = Url::parse(url).unwrap();
        rt().block_on(http.post_form(&url, &[("a", "b")]))
    }

    #[test]
    fn json_answers_and_oauth_errors_pass() {
        let ok = post(&serve(
            response("200 OK", "application/json; charset=utf-8", "{}"),
            1,
        ))
        .unwrap();
        assert_eq!(ok.status(), 200);
        let err = post(&serve(
            response("400 Bad Request", "application/json", r#"{"error":"x"}"#),
            1,
        ))
        .unwrap();
        assert_eq!(err.status(), 400);
    }

    #[test]
    fn html_is_refused_with_the_status() {
        let e = post(&serve(
            response("503 Service Unavailable", "text/html", "<h1>x</h1>"),
            1,
        ))
        .unwrap_err();
        assert!(matches!(e, HttpError::NotJson { status: 503, .. }), "{e:?}");
        let shown = e.to_plugin_error();
        assert_eq!(shown.kind(), ErrorKind::Network);
        assert!(shown.message().contains("a web page"), "{shown}");
        assert!(shown.message().contains("503"), "{shown}");
    }

    #[test]
    fn json_without_an_oauth_error_on_a_failure_status_is_a_status_error() {
        let e = post(&serve(
            response("503 Service Unavailable", "application/json", "{}"),
            1,
        ))
        .unwrap_err();
        assert!(matches!(e, HttpError::Status { status: 503, .. }), "{e:?}");
        assert!(e.to_plugin_error().message().contains("having trouble"));
    }

    #[test]
    fn oversized_answers_are_cut_off() {
        let big = "x".repeat(200);
        let e = post(&serve(response("200 OK", "application/json", &big), 1)).unwrap_err();
        assert!(matches!(e, HttpError::TooLarge { limit: 64, .. }), "{e:?}");
    }

    #[test]
    fn truncated_answers_are_interrupted() {
        let reply = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 50\r\nconnection: close\r\n\r\n{\"a\":".to_vec();
        let e = post(&serve(reply, 1)).unwrap_err();
        assert!(matches!(e, HttpError::Interrupted { .. }), "{e:?}");
    }

    #[test]
    fn slow_servers_time_out() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        thread::spawn(move || {
            let (_stream, _) = listener.accept().unwrap();
            let _ = rx.recv();
        });
        let started = std::time::Instant::now();
        let e = post(&format!("http://{addr}/x")).unwrap_err();
        drop(tx);
        assert!(matches!(e, HttpError::Timeout { .. }), "{e:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn refused_connections_are_connect_errors() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let e = post(&format!("http://{addr}/x")).unwrap_err();
        assert!(matches!(e, HttpError::Connect { .. }), "{e:?}");
    }

    #[test]
    fn a_407_answer_is_a_proxy_authentication_error_with_a_fix() {
        let e = post(&serve(
            response(
                "407 Proxy Authentication Required",
                "text/html",
                "<h1>x</h1>",
            ),
            1,
        ))
        .unwrap_err();
        assert!(matches!(e, HttpError::ProxyAuth { .. }), "{e:?}");
        let shown = e.to_plugin_error();
        assert_eq!(shown.kind(), ErrorKind::Network);
        assert!(
            shown
                .message()
                .contains("asks for a user name and password"),
            "{shown}"
        );
        assert!(shown
            .hint()
            .unwrap_or_default()
            .contains("HTTPS_PROXY=http://USER:PASSWORD@"));
    }

    #[test]
    fn tls_failures_are_found_inside_io_errors_and_sorted_by_certificate_problem() {
        use rustls::CertificateError as C;
        let wrapped = |why: C| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                rustls::Error::InvalidCertificate(why),
            )
        };
        let e = wrapped(C::UnknownIssuer);
        let found = tls_error_in(&e).expect("found inside the io::Error");
        assert!(matches!(
            found,
            rustls::Error::InvalidCertificate(C::UnknownIssuer)
        ));
        assert!(tls_error_in(&std::io::Error::other("no tls here")).is_none());
        for (why, problem) in [
            (C::UnknownIssuer, CertificateProblem::UnknownIssuer),
            (C::NotValidForName, CertificateProblem::OtherName),
            (C::Expired, CertificateProblem::Expired),
            (C::NotValidYet, CertificateProblem::Expired),
            (C::Revoked, CertificateProblem::Other),
        ] {
            assert_eq!(certificate_problem(&why), problem);
        }
    }

    #[test]
    fn certificate_errors_say_it_is_about_certificates_and_name_the_host() {
        for problem in [
            CertificateProblem::UnknownIssuer,
            CertificateProblem::OtherName,
            CertificateProblem::Expired,
            CertificateProblem::Other,
        ] {
            let shown = HttpError::Certificate {
                host: "login.example.test".into(),
                problem,
            }
            .to_plugin_error();
            assert_eq!(shown.kind(), ErrorKind::Network);
            assert!(
                shown
                    .message()
                    .starts_with("The certificate login.example.test presented"),
                "{shown}"
            );
            assert!(!shown.hint().unwrap_or_default().is_empty());
        }
        let unknown = HttpError::Certificate {
            host: "h".into(),
            problem: CertificateProblem::UnknownIssuer,
        }
        .to_plugin_error();
        assert!(unknown.hint().unwrap_or_default().contains("SSL_CERT_FILE"));
    }

    #[test]
    fn a_refused_tunnel_is_recognised_by_hyper_utils_wording() {
        let e = std::io::Error::other("tunnel error: proxy authorization required");
        assert!(refused_for_proxy_auth(&e));
        assert!(!refused_for_proxy_auth(&std::io::Error::other(
            "tunnel error: unsuccessful"
        )));
    }

    #[test]
    fn unreadable_json_never_quotes_values() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct T {
            n: u64,
        }
        let e = serde_json::from_str::<T>(r#"{"n":"secret-token-value"}"#).unwrap_err();
        let shown = unreadable("h", 200, &e).to_string();
        assert!(!shown.contains("secret-token-value"), "{shown}");
        let e = serde_json::from_str::<T>("{}").unwrap_err();
        assert!(unreadable("h", 200, &e)
            .to_string()
            .contains("`n` is missing"));
        let e = serde_json::from_str::<T>(r#"{"n":"#).unwrap_err();
        assert!(unreadable("h", 200, &e).to_string().contains("cut short"));
    }
}
