//! The pasted final browser address: the code (or the provider's error) it carries, or
//! why it cannot be used.
//!
//! Accepted forms, after trimming whitespace, quotes and angle brackets (and removing
//! line breaks a terminal or mail client put inside): the full redirect address, the
//! address without its scheme, just its query string (`?code=…&state=…` or
//! `code=…&state=…`), or a bare code. [`parse`] is a pure function of the text and the
//! attempt it is checked against, and never panics, whatever the input.

use std::borrow::Cow;

use atrs_host_sdk::{ErrorKind, PluginError};
use url::{Position, Url};

use crate::{
    authority::aadsts::ProviderError, authority::issuer::Issuer, authority::redirect::RedirectUri,
    secret::Secret, signin::auth_state::AuthState,
};

/// The most text looked at; a real redirect address is 1–3 KB.
pub const MAX_PASTE_BYTES: usize = 16 * 1024;
/// The shortest text taken for a bare code (Entra's are hundreds of characters; this
/// keeps "ok" or a user name from being sent as one).
const MIN_BARE_CODE: usize = 20;
/// The longest code accepted.
const MAX_CODE: usize = 8 * 1024;
/// Characters trimmed from both ends: quotes (straight and typographic) and angle brackets.
const WRAPPERS: &[char] = &[
    '"', '\'', '`', '<', '>', '\u{201c}', '\u{201d}', '\u{2018}', '\u{2019}', '\u{ab}', '\u{bb}',
    '\u{2039}', '\u{203a}',
];

/// RFC 9207 (mix-up defence): the issuer an answer's `iss` must name, and whether the
/// server promised to send it (`authorization_response_iss_parameter_supported`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerRule {
    /// The discovery document's issuer.
    pub issuer: Issuer,
    /// An answer without `iss` is refused.
    pub required: bool,
}

/// Where the text came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// Pasted by the user, who saw the sign-in through.
    Paste,
    /// Sent to the loopback listener by whatever browser tab or page reached it: an
    /// error without this attempt's state is ignored there, so no web page can end the
    /// sign-in with an `<img>` tag.
    Listener,
}

/// What a pasted address is checked against: the attempt's redirect URI, state and issuer.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    /// Where the browser is sent back to.
    pub redirect: &'a RedirectUri,
    /// The attempt's single-use state.
    pub state: &'a AuthState,
    /// What `iss` must be.
    pub issuer: &'a IssuerRule,
    /// Where the text came from.
    pub via: Via,
}

/// What a usable paste carries.
#[derive(Debug)]
pub enum AuthorizationResponse {
    /// An authorization code: from an address whose state matched, or pasted bare.
    Code(Secret),
    /// The provider sent the browser back with an error (`error=…`).
    Error(ProviderError),
}

/// Why pasted text cannot be used; each says what to do instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasteRejection {
    /// Nothing but whitespace and quotes.
    Empty,
    /// More than [`MAX_PASTE_BYTES`].
    TooLong,
    /// Neither an address, a query string nor something shaped like a code.
    Unrecognized,
    /// Starts like an address but is not a valid one.
    NotAnAddress,
    /// The sign-in page's own address (the one to open, not the one to paste).
    SignInPage,
    /// An address elsewhere than the redirect URI; `found` is its scheme, host and path.
    WrongAddress {
        /// The pasted address up to its path, shortened and printable.
        found: String,
    },
    /// An address without `code=` (or `error=`).
    NoCode,
    /// A code with characters no code has, or absurdly long.
    BadCode,
    /// A code without the `state` sent with the sign-in.
    NoState,
    /// A `state` other than this attempt's.
    StateMismatch,
    /// An `iss` other than the discovery document's issuer (RFC 9207).
    WrongIssuer {
        /// The `iss` given, shortened and printable.
        found: String,
    },
    /// No `iss`, from a server that always sends it (RFC 9207).
    NoIssuer,
    /// `code`, `state` or `error` given more than once.
    Ambiguous,
    /// The attempt already took an answer.
    AlreadyUsed,
    /// The attempt expired.
    Expired,
}

impl PasteRejection {
    /// The error shown to the user; `redirect` is the address the paste should start with.
    pub fn to_plugin_error(&self, redirect: &RedirectUri) -> PluginError {
        let expected = redirect.as_str();
        let copy_again = format!(
            "After signing in, copy the whole address from the browser's address bar (it starts with {expected}) and paste it here."
        );
        let (kind, message, hint) = match self {
            PasteRejection::Empty => (
                ErrorKind::InvalidInput,
                "Nothing was pasted.".to_owned(),
                copy_again,
            ),
            PasteRejection::TooLong => (
                ErrorKind::InvalidInput,
                format!("The pasted text is too long to be a sign-in address (more than {} KB).", MAX_PASTE_BYTES / 1024),
                copy_again,
            ),
            PasteRejection::Unrecognized => (
                ErrorKind::InvalidInput,
                "The pasted text is neither a browser address nor a sign-in code.".to_owned(),
                copy_again,
            ),
            PasteRejection::NotAnAddress => (
                ErrorKind::InvalidInput,
                "The pasted address is not a valid web address.".to_owned(),
                copy_again,
            ),
            PasteRejection::SignInPage => (
                ErrorKind::InvalidInput,
                "The pasted address is the sign-in page itself, not the address the sign-in ended on.".to_owned(),
                format!("Open that address in a browser and sign in; then paste the address the browser ends on (it starts with {expected})."),
            ),
            PasteRejection::WrongAddress { found } => (
                ErrorKind::InvalidInput,
                format!("The pasted address goes to {found}, not to this sign-in's return address {expected}."),
                format!("Paste the address the browser shows once the sign-in has finished; it starts with {expected}. If the browser ended anywhere else, the sign-in did not complete: choose Verify ▾ With Browser and try again."),
            ),
            PasteRejection::NoCode => (
                ErrorKind::InvalidInput,
                "The pasted address carries no sign-in code.".to_owned(),
                "Finish signing in in the browser first; then copy the address it ends on (it contains code=…) and paste it here.".to_owned(),
            ),
            PasteRejection::BadCode => (
                ErrorKind::InvalidInput,
                "The sign-in code in the pasted text is damaged (it has characters a code never has, or is far too long).".to_owned(),
                copy_again,
            ),
            PasteRejection::NoState => (
                ErrorKind::InvalidInput,
                "The pasted address has a sign-in code but no state, so it cannot be checked against this sign-in.".to_owned(),
                "Copy the whole address again (it may have been cut short): it contains both code= and state=.".to_owned(),
            ),
            PasteRejection::StateMismatch => (
                ErrorKind::InvalidInput,
                "The pasted address belongs to a different sign-in attempt (its state does not match this one).".to_owned(),
                "Use the address from the sign-in started here: open the sign-in address shown, sign in, and paste the address the browser ends on. Addresses from earlier attempts or other windows do not work.".to_owned(),
            ),
            PasteRejection::WrongIssuer { found } => (
                ErrorKind::InvalidInput,
                format!("The browser's answer says it comes from {found}, not from the sign-in service this sign-in started at (a sign-in mix-up, RFC 9207)."),
                "Choose Verify ▾ With Browser to start again, open only the sign-in address ATRS shows, and paste only the address that sign-in ends on.".to_owned(),
            ),
            PasteRejection::NoIssuer => (
                ErrorKind::InvalidInput,
                "The browser's answer does not say which sign-in service sent it (no iss), though this sign-in service always says so.".to_owned(),
                format!("Paste the whole address the browser ends on (it starts with {expected} and contains iss=…), not just the code."),
            ),
            PasteRejection::Ambiguous => (
                ErrorKind::InvalidInput,
                "The pasted address carries more than one code, state or error.".to_owned(),
                copy_again,
            ),
            PasteRejection::AlreadyUsed => (
                ErrorKind::InvalidInput,
                "This sign-in has already received its browser address, so the pasted text was not used.".to_owned(),
                "Wait for the result. A sign-in address works only once: to sign in again, choose Verify ▾ With Browser.".to_owned(),
            ),
            PasteRejection::Expired => (
                ErrorKind::TimedOut,
                "This browser sign-in has expired.".to_owned(),
                "Choose Verify ▾ With Browser to start a new sign-in, and finish it within 10 minutes.".to_owned(),
            ),
        };
        PluginError::new(kind, message).with_hint(hint)
    }
}

/// Reads pasted text as checked against `expect`: a code, the provider's error, or why not.
pub fn parse(pasted: &str, expect: &Expect<'_>) -> Result<AuthorizationResponse, PasteRejection> {
    if pasted.len() > MAX_PASTE_BYTES {
        return Err(PasteRejection::TooLong);
    }
    let text = clean(pasted);
    if text.is_empty() {
        return Err(PasteRejection::Empty);
    }
    let params = match form_of(&text, expect.redirect)? {
        Form::Address(url) => params_of_address(&url, expect.redirect)?,
        Form::Query(query) => Params::parse(query),
        Form::Bare(code) => return bare_code(code, expect),
    };
    answer(&params, expect)
}

/// Trims whitespace, quotes and angle brackets from the ends, and drops whitespace and
/// invisible characters inside (a wrapped line, a zero-width space from a chat app).
fn clean(pasted: &str) -> String {
    let invisible = |c: char| {
        c.is_whitespace() || matches!(c, '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}')
    };
    pasted
        .trim_matches(|c: char| invisible(c) || WRAPPERS.contains(&c))
        .chars()
        .filter(|c| !invisible(*c))
        .collect()
}

/// The shapes pasted text comes in.
enum Form<'a> {
    Address(Url),
    Query(&'a str),
    Bare(&'a str),
}

fn form_of<'a>(text: &'a str, redirect: &RedirectUri) -> Result<Form<'a>, PasteRejection> {
    if let Some(query) = text.strip_prefix('?').or_else(|| text.strip_prefix('#')) {
        return Ok(Form::Query(query));
    }
    if has_scheme(text) {
        return Url::parse(text)
            .map(Form::Address)
            .map_err(|_| PasteRejection::NotAnAddress);
    }
    // `localhost:53123/?code=…`: an address whose scheme the browser hid.
    if let Some(q) = text.find('?') {
        let before = &text[..q];
        if !before.contains('=') && before.contains(['/', ':', '.']) {
            let scheme = redirect.url().scheme();
            return Url::parse(&format!("{scheme}://{text}"))
                .map(Form::Address)
                .map_err(|_| PasteRejection::NotAnAddress);
        }
    }
    if text.contains('=') {
        return Ok(Form::Query(text));
    }
    Ok(Form::Bare(text))
}

/// Whether `text` starts with `scheme://`.
fn has_scheme(text: &str) -> bool {
    let Some(end) = text.find("://") else {
        return false;
    };
    let scheme = &text[..end];
    scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// The parameters of an address that is the redirect URI.
fn params_of_address(url: &Url, redirect: &RedirectUri) -> Result<Params, PasteRejection> {
    if is_sign_in_page(url) {
        return Err(PasteRejection::SignInPage);
    }
    if !redirect.matches(url) {
        return Err(PasteRejection::WrongAddress {
            found: shown_address(url),
        });
    }
    let query = Params::parse(url.query().unwrap_or(""));
    // We ask for response_mode=query; a fragment answer is read all the same.
    match url.fragment() {
        Some(fragment) if !query.has_answer() => Ok(Params::parse(fragment)),
        _ => Ok(query),
    }
}

fn is_sign_in_page(url: &Url) -> bool {
    let path = url.path().to_ascii_lowercase();
    path.ends_with("/oauth2/v2.0/authorize") || path.ends_with("/oauth2/authorize")
}

/// Scheme, host, port and path of `url`, printable and at most 100 characters.
fn shown_address(url: &Url) -> String {
    let head = &url[..Position::AfterPath];
    let mut shown: String = head
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(100)
        .collect();
    if head.chars().count() > 100 {
        shown.push('…');
    }
    shown
}

/// Query or fragment parameters, decoded.
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(query: &str) -> Self {
        Params(
            url::form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The value of `name`; `Ambiguous` when it is given twice with different values.
    fn one(&self, name: &str) -> Result<Option<&str>, PasteRejection> {
        let mut found: Option<&str> = None;
        for (_, v) in self.0.iter().filter(|(k, _)| k == name) {
            match found {
                Some(seen) if seen != v => return Err(PasteRejection::Ambiguous),
                _ => found = Some(v),
            }
        }
        Ok(found)
    }

    /// The first value of `name`, for fields only shown.
    fn first(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn has_answer(&self) -> bool {
        self.0.iter().any(|(k, _)| k == "code" || k == "error")
    }
}

/// The answer in an address's or query string's parameters.
fn answer(params: &Params, expect: &Expect<'_>) -> Result<AuthorizationResponse, PasteRejection> {
    let code = params.one("code")?.filter(|c| !c.is_empty());
    let state = params.one("state")?;
    let error = params.one("error")?.filter(|e| !e.is_empty());
    if let Some(error) = error {
        // Real error redirects carry the state. A pasted one without it cannot be
        // checked, but can only end this attempt, never sign anyone in; the listener,
        // which any page can reach, ignores it.
        match state {
            Some(s) if !expect.state.matches(s) => return Err(PasteRejection::StateMismatch),
            None if expect.via == Via::Listener => return Err(PasteRejection::NoState),
            _ => {}
        }
        check_issuer(params.one("iss")?, expect.issuer)?;
        if expect.state.is_spent() {
            return Err(PasteRejection::AlreadyUsed);
        }
        return Ok(AuthorizationResponse::Error(ProviderError::from_redirect(
            error,
            |name| params.first(name),
        )));
    }
    let Some(code) = code else {
        return Err(PasteRejection::NoCode);
    };
    let Some(state) = state else {
        return Err(PasteRejection::NoState);
    };
    if !expect.state.matches(state) {
        return Err(PasteRejection::StateMismatch);
    }
    check_issuer(params.one("iss")?, expect.issuer)?;
    if expect.state.is_spent() {
        return Err(PasteRejection::AlreadyUsed);
    }
    checked_code(code).map(AuthorizationResponse::Code)
}

/// RFC 9207 §2.4: an `iss` must be the issuer; none at all only where the server does
/// not promise one.
fn check_issuer(iss: Option<&str>, rule: &IssuerRule) -> Result<(), PasteRejection> {
    match iss {
        Some(iss) if rule.issuer.matches(iss, None) => Ok(()),
        Some(iss) => Err(PasteRejection::WrongIssuer {
            found: iss
                .chars()
                .filter(char::is_ascii_graphic)
                .take(100)
                .collect(),
        }),
        None if rule.required => Err(PasteRejection::NoIssuer),
        None => Ok(()),
    }
}

/// A code pasted on its own: no state to check, so only its shape is.
fn bare_code(text: &str, expect: &Expect<'_>) -> Result<AuthorizationResponse, PasteRejection> {
    let shaped = (MIN_BARE_CODE..=MAX_CODE).contains(&text.len())
        && text.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '*' | '!' | '$' | '%')
        });
    if !shaped {
        return Err(PasteRejection::Unrecognized);
    }
    if expect.issuer.required {
        return Err(PasteRejection::NoIssuer);
    }
    if expect.state.is_spent() {
        return Err(PasteRejection::AlreadyUsed);
    }
    // Copied out of an address bar, it may still be percent-encoded.
    let decoded: Cow<'_, str> = url::form_urlencoded::parse(format!("c={text}").as_bytes())
        .next()
        .map(|(_, v)| Cow::Owned(v.into_owned()))
        .unwrap_or(Cow::Borrowed(text));
    checked_code(&decoded).map(AuthorizationResponse::Code)
}

fn checked_code(code: &str) -> Result<Secret, PasteRejection> {
    if code.is_empty() || code.len() > MAX_CODE || !code.chars().all(|c| c.is_ascii_graphic()) {
        return Err(PasteRejection::BadCode);
    }
    Ok(Secret::new(code))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const STATE: &str = "st4te-Xy_z0123456789abcdefghijklmnopqrstuv";
    const CODE: &str = "0.AXoA1b2c3d-e4f5_g6h7.i8j9k0AbCdEfGhIjKlMnOpQrStUvWxYz";

    fn state() -> AuthState {
        AuthState::with_value(STATE, Duration::from_secs(600))
    }

    fn loopback() -> RedirectUri {
        RedirectUri::loopback(53123)
    }

    fn native() -> RedirectUri {
        RedirectUri::for_paste("https://login.microsoftonline.com")
    }

    const ISSUER: &str =
        "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0";

    fn rule(required: bool) -> IssuerRule {
        let issuer = Issuer::of_discovery(
            Some(ISSUER),
            &Url::parse("https://login.microsoftonline.com").unwrap(),
            &crate::config::Tenant::Domain("contoso.com".into()),
            "h",
        )
        .unwrap();
        IssuerRule { issuer, required }
    }

    fn run(
        text: &str,
        redirect: &RedirectUri,
        state: &AuthState,
    ) -> Result<AuthorizationResponse, PasteRejection> {
        let issuer = rule(false);
        parse(
            text,
            &Expect {
                redirect,
                state,
                issuer: &issuer,
                via: Via::Paste,
            },
        )
    }

    fn run_with(
        text: &str,
        issuer: &IssuerRule,
        via: Via,
    ) -> Result<AuthorizationResponse, PasteRejection> {
        parse(
            text,
            &Expect {
                redirect: &loopback(),
                state: &state(),
                issuer,
                via,
            },
        )
    }

    #[test]
    fn rfc_9207_iss_must_be_the_issuer_and_present_when_promised() {
        let iss = url::form_urlencoded::byte_serialize(ISSUER.as_bytes()).collect::<String>();
        let with_iss =
            |v: &str| format!("http://localhost:53123/?code={CODE}&state={STATE}&iss={v}");
        let plain = format!("http://localhost:53123/?code={CODE}&state={STATE}");
        for required in [false, true] {
            assert_eq!(
                got(run_with(&with_iss(&iss), &rule(required), Via::Paste)),
                code()
            );
            assert_eq!(
                got(run_with(
                    &with_iss("https%3A%2F%2Fevil.test%2Fv2.0"),
                    &rule(required),
                    Via::Paste
                )),
                refused(PasteRejection::WrongIssuer {
                    found: "https://evil.test/v2.0".into()
                })
            );
            let error = format!("?error=access_denied&state={STATE}&iss=https%3A%2F%2Fevil.test");
            assert!(matches!(
                run_with(&error, &rule(required), Via::Paste),
                Err(PasteRejection::WrongIssuer { .. })
            ));
        }
        assert_eq!(got(run_with(&plain, &rule(false), Via::Paste)), code());
        assert_eq!(
            got(run_with(&plain, &rule(true), Via::Paste)),
            refused(PasteRejection::NoIssuer)
        );
        assert_eq!(
            got(run_with(CODE, &rule(true), Via::Paste)),
            refused(PasteRejection::NoIssuer)
        );
        let e = PasteRejection::WrongIssuer {
            found: "https://evil.test/v2.0".into(),
        }
        .to_plugin_error(&loopback());
        assert!(e.message().contains("mix-up"), "{e}");
    }

    #[test]
    fn the_listener_ignores_an_error_without_this_attempt_s_state() {
        assert_eq!(
            got(run_with(
                "?error=access_denied",
                &rule(false),
                Via::Listener
            )),
            refused(PasteRejection::NoState)
        );
        assert_eq!(
            got(run_with(
                "?error=access_denied&state=forged",
                &rule(false),
                Via::Listener
            )),
            refused(PasteRejection::StateMismatch)
        );
        assert_eq!(
            got(run_with(
                &format!("?error=access_denied&state={STATE}"),
                &rule(false),
                Via::Listener
            )),
            Got::Error("access_denied".into(), vec![])
        );
    }

    /// What a parse came to, comparable in a table.
    #[derive(Debug, PartialEq, Eq)]
    enum Got {
        Code(String),
        Error(String, Vec<u64>),
        Refused(PasteRejection),
    }

    fn got(r: Result<AuthorizationResponse, PasteRejection>) -> Got {
        match r {
            Ok(AuthorizationResponse::Code(c)) => Got::Code(c.expose().to_owned()),
            Ok(AuthorizationResponse::Error(e)) => Got::Error(e.error, e.error_codes),
            Err(r) => Got::Refused(r),
        }
    }

    fn code() -> Got {
        Got::Code(CODE.to_owned())
    }

    fn refused(r: PasteRejection) -> Got {
        Got::Refused(r)
    }

    #[test]
    fn accepted_and_refused_forms_against_a_loopback_redirect() {
        let full = format!("http://localhost:53123/?code={CODE}&state={STATE}&session_state=x");
        let query = format!("code={CODE}&state={STATE}");
        let wrong_state = format!("http://localhost:53123/?code={CODE}&state=other");
        let cases: Vec<(&str, String, Got)> = vec![
            ("full address", full.clone(), code()),
            ("wrapped in spaces and quotes", format!("  \"{full}\"\n"), code()),
            ("in angle brackets", format!("<{full}>"), code()),
            ("typographic quotes", format!("\u{201c}{full}\u{201d}"), code()),
            ("line-wrapped by a terminal", format!("{}\n{}", &full[..40], &full[40..]), code()),
            ("zero-width space inside", full.replacen("code", "co\u{200b}de", 1), code()),
            ("any port on loopback", full.replace("53123", "8080"), code()),
            ("no trailing slash", full.replace(":53123/?", ":53123?"), code()),
            ("scheme hidden", full.replace("http://", ""), code()),
            ("query with ?", format!("?{query}"), code()),
            ("query without ?", query.clone(), code()),
            ("query as a fragment", format!("#{query}"), code()),
            ("state first", format!("state={STATE}&code={CODE}"), code()),
            ("answer in the fragment", format!("http://localhost:53123/#{query}"), code()),
            ("code repeated identically", format!("{query}&code={CODE}"), code()),
            ("bare code", CODE.to_owned(), code()),
            ("bare code in quotes", format!("'{CODE}'"), code()),
            ("bare code percent-encoded", CODE.replace('.', "%2E"), code()),
            ("empty", String::new(), refused(PasteRejection::Empty)),
            ("only quotes and spaces", " \" ' \t\n ".into(), refused(PasteRejection::Empty)),
            ("wrong state", wrong_state, refused(PasteRejection::StateMismatch)),
            ("state missing", format!("http://localhost:53123/?code={CODE}"), refused(PasteRejection::NoState)),
            ("empty state", format!("code={CODE}&state="), refused(PasteRejection::StateMismatch)),
            ("no code", format!("http://localhost:53123/?state={STATE}"), refused(PasteRejection::NoCode)),
            ("empty code", format!("code=&state={STATE}"), refused(PasteRejection::NoCode)),
            ("two different codes", format!("{query}&code=other"), refused(PasteRejection::Ambiguous)),
            ("two different states", format!("{query}&state=other"), refused(PasteRejection::Ambiguous)),
            ("127.0.0.1 instead of localhost", full.replace("localhost", "127.0.0.1"), refused(PasteRejection::WrongAddress { found: "http://127.0.0.1:53123/".into() })),
            ("https instead of http", full.replace("http://", "https://"), refused(PasteRejection::WrongAddress { found: "https://localhost:53123/".into() })),
            ("another path", full.replace(":53123/", ":53123/callback"), refused(PasteRejection::WrongAddress { found: "http://localhost:53123/callback".into() })),
            ("another host", format!("https://evil.example/?code={CODE}&state={STATE}"), refused(PasteRejection::WrongAddress { found: "https://evil.example/".into() })),
            ("the sign-in page", format!("https://login.microsoftonline.com/common/oauth2/v2.0/authorize?client_id=x&state={STATE}"), refused(PasteRejection::SignInPage)),
            ("not a valid address", "http://[::1/?code=x".into(), refused(PasteRejection::NotAnAddress)),
            ("a word", "hello".into(), refused(PasteRejection::Unrecognized)),
            ("a sentence", "I signed in, now what?".into(), refused(PasteRejection::Unrecognized)),
            ("short token", "0.AXoA".into(), refused(PasteRejection::Unrecognized)),
            ("code with a control character", format!("code=ab%07cd&state={STATE}"), refused(PasteRejection::BadCode)),
            ("code with unicode", format!("code=%C3%A9t%C3%A9&state={STATE}"), refused(PasteRejection::BadCode)),
            ("unicode host", format!("http://lоcalhost:53123/?code={CODE}&state={STATE}"), refused(PasteRejection::WrongAddress { found: "http://xn--lcalhost-nbh:53123/".into() })),
            ("emoji", "🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑".into(), refused(PasteRejection::Unrecognized)),
            ("too long", "a".repeat(MAX_PASTE_BYTES + 1), refused(PasteRejection::TooLong)),
        ];
        for (what, text, expected) in cases {
            assert_eq!(
                got(run(&text, &loopback(), &state())),
                expected,
                "{what}: {text:?}"
            );
        }
    }

    #[test]
    fn the_native_client_redirect_must_match_exactly() {
        let base = "https://login.microsoftonline.com/common/oauth2/nativeclient";
        let ok = format!("{base}?code={CODE}&state={STATE}");
        assert_eq!(got(run(&ok, &native(), &state())), code());
        assert_eq!(
            got(run(&ok.replace("http", "HTTP"), &native(), &state())),
            code(),
            "scheme and host are case-insensitive"
        );
        for (bad, found) in [
            (
                ok.replace("nativeclient", "NativeClient"),
                "https://login.microsoftonline.com/common/oauth2/NativeClient",
            ),
            (
                ok.replace(".com/", ".com:8443/"),
                "https://login.microsoftonline.com:8443/common/oauth2/nativeclient",
            ),
            (
                ok.replace("https://", "http://"),
                "http://login.microsoftonline.com/common/oauth2/nativeclient",
            ),
            (
                ok.replace(".com", ".us"),
                "https://login.microsoftonline.us/common/oauth2/nativeclient",
            ),
            (
                format!("http://localhost/?code={CODE}&state={STATE}"),
                "http://localhost/",
            ),
        ] {
            assert_eq!(
                got(run(&bad, &native(), &state())),
                refused(PasteRejection::WrongAddress {
                    found: found.into()
                }),
                "{bad}"
            );
        }
    }

    #[test]
    fn an_error_redirect_keeps_the_aadsts_code_and_ids() {
        let description = "AADSTS65004: User declined to consent to access the app.\r\nTrace ID: 0c8f1e2d-aaaa-bbbb-cccc-000000000001\r\nCorrelation ID: 9a1b2c3d-dddd-eeee-ffff-000000000002\r\nTimestamp: 2024-05-01 10:00:00Z";
        let address = Url::parse_with_params(
            "http://localhost:53123/",
            [
                ("error", "access_denied"),
                ("error_description", description),
                (
                    "error_uri",
                    "https://login.microsoftonline.com/error?code=65004",
                ),
                ("state", STATE),
            ],
        )
        .unwrap();
        let Ok(AuthorizationResponse::Error(e)) = run(address.as_str(), &loopback(), &state())
        else {
            panic!("an error answer");
        };
        assert_eq!(e.error, "access_denied");
        assert_eq!(e.error_codes, vec![65004]);
        assert_eq!(
            e.trace_id.as_deref(),
            Some("0c8f1e2d-aaaa-bbbb-cccc-000000000001")
        );
        assert_eq!(
            e.correlation_id.as_deref(),
            Some("9a1b2c3d-dddd-eeee-ffff-000000000002")
        );
        assert_eq!(e.timestamp.as_deref(), Some("2024-05-01 10:00:00Z"));
        assert!(e.error_uri.is_some());
        let shown = e.to_plugin_error();
        assert_eq!(shown.kind(), ErrorKind::AuthorizationRefused);
        assert_eq!(shown.provider_code(), Some("AADSTS65004"));
        assert_eq!(
            shown.trace_id(),
            Some("0c8f1e2d-aaaa-bbbb-cccc-000000000001")
        );
    }

    #[test]
    fn error_redirects_are_checked_too() {
        let with_state =
            |s: &str| format!("?error=access_denied&error_description=AADSTS65004%3A+x&state={s}");
        assert_eq!(
            got(run(&with_state("other"), &loopback(), &state())),
            refused(PasteRejection::StateMismatch)
        );
        assert_eq!(
            got(run(&with_state(STATE), &loopback(), &state())),
            Got::Error("access_denied".into(), vec![65004])
        );
        assert_eq!(
            got(run("error=login_required", &loopback(), &state())),
            Got::Error("login_required".into(), vec![]),
            "no state: accepted, it can only end the attempt"
        );
        let odd = got(run(
            "error=%1b%5B31mevil%3Cb%3E&error_description=AADSTS99999999999999%3A&state="
                .replace("state=", &format!("state={STATE}"))
                .as_str(),
            &loopback(),
            &state(),
        ));
        assert_eq!(
            odd,
            Got::Error("31mevilb".into(), vec![]),
            "printable, bounded"
        );
    }

    #[test]
    fn a_spent_state_refuses_every_later_answer() {
        let mut s = state();
        s.spend();
        let full = format!("http://localhost:53123/?code={CODE}&state={STATE}");
        assert_eq!(
            got(run(&full, &loopback(), &s)),
            refused(PasteRejection::AlreadyUsed)
        );
        assert_eq!(
            got(run(CODE, &loopback(), &s)),
            refused(PasteRejection::AlreadyUsed)
        );
        assert_eq!(
            got(run(
                &format!("error=access_denied&state={STATE}"),
                &loopback(),
                &s
            )),
            refused(PasteRejection::AlreadyUsed)
        );
        assert_eq!(
            got(run(&full.replace(STATE, "other"), &loopback(), &s)),
            refused(PasteRejection::StateMismatch),
            "another attempt's address is still called that"
        );
    }

    #[test]
    fn every_refusal_says_what_to_do_without_quoting_secrets() {
        let redirect = loopback();
        for r in [
            PasteRejection::Empty,
            PasteRejection::TooLong,
            PasteRejection::Unrecognized,
            PasteRejection::NotAnAddress,
            PasteRejection::SignInPage,
            PasteRejection::WrongAddress {
                found: "https://evil.example/".into(),
            },
            PasteRejection::NoCode,
            PasteRejection::BadCode,
            PasteRejection::NoState,
            PasteRejection::WrongIssuer {
                found: "https://evil.example/".into(),
            },
            PasteRejection::NoIssuer,
            PasteRejection::StateMismatch,
            PasteRejection::Ambiguous,
            PasteRejection::AlreadyUsed,
            PasteRejection::Expired,
        ] {
            let e = r.to_plugin_error(&redirect);
            assert!(e.message().ends_with('.'), "{r:?}: {e}");
            let hint = e.hint().expect("a hint");
            assert!(hint.ends_with('.'), "{r:?}: {hint}");
            assert!(!format!("{e:?}").contains(STATE) && !format!("{e:?}").contains(CODE));
        }
        let e = PasteRejection::WrongAddress {
            found: "https://evil.example/".into(),
        }
        .to_plugin_error(&redirect);
        assert!(e.message().contains("https://evil.example/"), "{e}");
        assert!(
            e.hint().unwrap().contains("http://localhost:53123/"),
            "{e:?}"
        );
    }

    #[test]
    fn absurd_inputs_never_panic() {
        let long_unicode = "é".repeat(MAX_PASTE_BYTES / 2);
        let inputs: Vec<String> = vec![
            "\0".into(),
            "?".into(),
            "#".into(),
            "=".into(),
            "&&&&".into(),
            "://".into(),
            "a://".into(),
            "?code".into(),
            "code=%".into(),
            "code=%ZZ&state=%".into(),
            "http://".into(),
            "http://localhost:99999/?code=x".into(),
            "http://localhost:53123/?code=x&state=y#code=z".into(),
            "localhost?".into(),
            "=?".into(),
            "\u{feff}\u{200b}".into(),
            "<>".into(),
            "\"\"\"".into(),
            "AADSTS".into(),
            "😀://x?code=1".into(),
            "\u{202e}http://localhost:53123/?code=x&state=y".into(),
            long_unicode,
            format!("?{}", "code=a&".repeat(2000)),
            format!("http://localhost:53123/?{}", "x=1&".repeat(3000)),
            (0u8..=255).map(char::from).collect(),
        ];
        for text in &inputs {
            let _ = run(text, &loopback(), &state());
            let _ = run(text, &native(), &state());
        }
        // Every char boundary of a mixed string, as a truncated paste would be.
        let mixed = format!("“http://localhost:53123/?code={CODE}&state={STATE}&x=é😀”");
        for (i, _) in mixed.char_indices() {
            let _ = run(&mixed[..i], &loopback(), &state());
            let _ = run(&mixed[i..], &loopback(), &state());
        }
    }
}
