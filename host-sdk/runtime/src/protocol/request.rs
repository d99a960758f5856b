//! Reading a request: its name first, then the fields that request takes. Unknown
//! fields are ignored; a missing or mistyped one is a [`ProtocolError::Malformed`]
//! naming it.

use std::{collections::BTreeMap, path::PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::ProtocolError;

/// One request, read.
#[derive(Debug, Clone)]
pub enum Request {
    /// The protocol and interface versions, and the requests known.
    Hello,
    /// Every library of the plugins folder, loaded or refused.
    Plugins,
    /// A plugin's form.
    Form(PluginRef),
    /// Per-field problems of values.
    Validate(FormRequest),
    /// Starts a verification: answers a session handle.
    VerifyStart(VerifyStart),
    /// A session's state, waiting up to `wait_ms` for a change.
    VerifyPoll(Poll),
    /// A pasted final browser address.
    VerifySubmit(Submit),
    /// Asks a session to cancel.
    VerifyCancel(Handle),
    /// Cancels a session if it still runs, and releases its handle.
    VerifyEnd(Handle),
    /// Saves what a session verified.
    Save(Save),
    /// Saves an edit that needs no new sign-in.
    Update(Update),
    /// The saved accounts, with their health.
    Accounts(Accounts),
    /// One saved account's health.
    Health(AccountRequest),
    /// An access token for a saved account.
    Token(Token),
    /// Removes a saved account.
    Remove(AccountRequest),
    /// A saved account's values as the plugin reads them back, for an Edit or
    /// Re-verify form (protocol 1.1).
    Load(AccountRequest),
    /// The conformance checks of a library file (protocol 1.1).
    Check(Check),
    /// Starts a delivery: answers a delivery handle.
    DeliveryStart(Box<DeliveryStart>),
    /// A delivery's state, waiting up to `wait_ms` for a change.
    DeliveryPoll(Poll),
    /// Asks a delivery to cancel.
    DeliveryCancel(Handle),
    /// Cancels a delivery if it still runs, and releases its handle.
    DeliveryEnd(Handle),
}

/// The names of every request, as `hello` lists them.
pub const NAMES: &[&str] = &[
    "hello",
    "plugins",
    "form",
    "validate",
    "verify.start",
    "verify.poll",
    "verify.submit",
    "verify.cancel",
    "verify.end",
    "save",
    "update",
    "accounts",
    "health",
    "token",
    "remove",
    "load",
    "check",
    "delivery.start",
    "delivery.poll",
    "delivery.cancel",
    "delivery.end",
];

/// A plugin, by id.
#[derive(Debug, Clone, Deserialize)]
pub struct PluginRef {
    /// The plugin id.
    pub plugin: String,
}

/// A plugin and form values.
#[derive(Debug, Clone, Deserialize)]
pub struct FormRequest {
    /// The plugin id.
    pub plugin: String,
    /// Values by field key; a field's default fills a missing value.
    #[serde(default)]
    pub values: BTreeMap<String, String>,
}

/// How to verify.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// A code typed on another device.
    DeviceCode,
    /// A sign-in in a browser, its final address pasted or caught by a listener.
    Browser,
    /// A check of the credentials or endpoint, with nobody signing in (interface 1.2).
    Direct,
}

/// `verify.start`.
#[derive(Debug, Clone, Deserialize)]
pub struct VerifyStart {
    /// The plugin id.
    pub plugin: String,
    /// Values by field key.
    #[serde(default)]
    pub values: BTreeMap<String, String>,
    /// How to verify.
    pub method: Method,
    /// With `browser`: catch the redirect on a loopback listener, so no paste is needed.
    #[serde(default)]
    pub loopback: bool,
}

/// A session or delivery handle.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Handle {
    /// The handle a start answered.
    pub handle: u64,
}

/// A poll: the handle and how long to wait for a change.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Poll {
    /// The handle.
    pub handle: u64,
    /// At most this long (milliseconds, capped at 30 000); 0 answers at once.
    #[serde(default)]
    pub wait_ms: u64,
}

/// `verify.submit`.
#[derive(Debug, Clone, Deserialize)]
pub struct Submit {
    /// The session handle.
    pub handle: u64,
    /// What the user pasted.
    pub text: String,
}

/// `save`.
#[derive(Debug, Clone, Deserialize)]
pub struct Save {
    /// The verified session whose values are saved.
    pub handle: u64,
    /// Replace a saved account of the same name.
    #[serde(default)]
    pub replace: bool,
    /// The saved account this one replaces (a rename in Edit): moved in one transaction.
    #[serde(default)]
    pub replaces: Option<String>,
}

/// `update`: an edit of a saved account that needs no new sign-in (its secret's expiry,
/// a message size); the plugin refuses one that does, naming what changed.
#[derive(Debug, Clone, Deserialize)]
pub struct Update {
    /// The plugin id.
    pub plugin: String,
    /// The saved account edited.
    pub account: String,
    /// Its values as edited, by field key (a secret field left out keeps the saved
    /// secret).
    #[serde(default)]
    pub values: BTreeMap<String, String>,
}

/// `accounts`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Accounts {
    /// Only this plugin's accounts.
    #[serde(default)]
    pub plugin: Option<String>,
    /// Ask each account's plugin for its health (default true).
    #[serde(default = "yes")]
    pub health: bool,
}

fn yes() -> bool {
    true
}

/// One saved account, by name (and plugin, when several have that name).
#[derive(Debug, Clone, Deserialize)]
pub struct AccountRequest {
    /// The account name.
    pub account: String,
    /// The plugin id, when several have an account of that name.
    #[serde(default)]
    pub plugin: Option<String>,
}

/// `check`.
#[derive(Debug, Clone, Deserialize)]
pub struct Check {
    /// The library file to check.
    pub library: PathBuf,
    /// Values for the checks that fill in the form (a test server's address).
    #[serde(default)]
    pub values: BTreeMap<String, String>,
    /// Count a check that did not run for want of values as not conforming.
    #[serde(default)]
    pub strict: bool,
    /// The bound on each call into the library (default 5 000).
    #[serde(default)]
    pub call_timeout_ms: Option<u64>,
}

/// `token`.
#[derive(Debug, Clone, Deserialize)]
pub struct Token {
    /// The account name.
    pub account: String,
    /// The plugin id, when several have an account of that name.
    #[serde(default)]
    pub plugin: Option<String>,
    /// Scopes; none = the scopes saved with the account.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Refresh even when the cache has a token.
    #[serde(default)]
    pub force: bool,
}

/// `delivery.start`.
#[derive(Debug, Clone, Deserialize)]
pub struct DeliveryStart {
    /// The account name.
    pub account: String,
    /// The plugin id, when several have an account of that name.
    #[serde(default)]
    pub plugin: Option<String>,
    /// An e-mail to send.
    #[serde(default)]
    pub mail: Option<Mail>,
    /// A file to put in a folder.
    #[serde(default)]
    pub file: Option<File>,
    /// A file handed to the account's own endpoint (interface 1.2's `push`).
    #[serde(default)]
    pub push: Option<Push>,
}

/// A file for an integration that takes files at its own endpoint.
#[derive(Debug, Clone, Deserialize)]
pub struct Push {
    /// The local file.
    pub source: PathBuf,
    /// The name the receiver is told (default: the file's name).
    #[serde(default)]
    pub name: Option<String>,
    /// Its media type (default: the plugin decides).
    #[serde(default)]
    pub content_type: Option<String>,
}

/// An e-mail.
#[derive(Debug, Clone, Deserialize)]
pub struct Mail {
    /// Send as this mailbox instead of the account's own.
    #[serde(default)]
    pub from: Option<String>,
    /// Recipients.
    pub to: Vec<String>,
    /// Copy recipients.
    #[serde(default)]
    pub cc: Vec<String>,
    /// Blind-copy recipients.
    #[serde(default)]
    pub bcc: Vec<String>,
    /// The subject.
    #[serde(default)]
    pub subject: String,
    /// The body.
    #[serde(default)]
    pub body: String,
    /// Whether the body is HTML.
    #[serde(default)]
    pub html: bool,
    /// Files to attach.
    #[serde(default)]
    pub attachments: Vec<AttachmentSpec>,
}

/// An attachment: a file, with an optional name and content type.
#[derive(Debug, Clone, Deserialize)]
pub struct AttachmentSpec {
    /// The file.
    pub path: PathBuf,
    /// The name it is sent under (default: the file's name).
    #[serde(default)]
    pub name: Option<String>,
    /// Its content type (default: application/octet-stream).
    #[serde(default)]
    pub content_type: Option<String>,
}

/// A file for a folder.
#[derive(Debug, Clone, Deserialize)]
pub struct File {
    /// The local file.
    pub source: PathBuf,
    /// The folder, from the drive's root.
    pub folder: String,
    /// A SharePoint site instead of the account's own drive.
    #[serde(default)]
    pub site: Option<String>,
    /// The name it gets (default: the file's name).
    #[serde(default)]
    pub name: Option<String>,
    /// `fail` (default), `replace` or `rename`.
    #[serde(default)]
    pub conflict: Option<String>,
}

/// One JSON text as a request object: the echoed `id`, and the object or why it is not
/// one ([`read`] then reads the request from it).
pub fn parse(text: &str) -> (Value, Result<Value, ProtocolError>) {
    match serde_json::from_str::<Value>(text) {
        Ok(value) => (value.get("id").cloned().unwrap_or(Value::Null), Ok(value)),
        Err(e) => (
            Value::Null,
            Err(ProtocolError::NotJson {
                detail: e.to_string(),
            }),
        ),
    }
}

/// Reads a request from a JSON value.
pub fn read(value: Value) -> Result<Request, ProtocolError> {
    if !value.is_object() {
        return Err(ProtocolError::NotJson {
            detail: "it is not an object".to_owned(),
        });
    }
    let name = match value.get("request") {
        Some(Value::String(name)) => name.clone(),
        _ => return Err(ProtocolError::NoRequest),
    };
    fn fields<T: serde::de::DeserializeOwned>(
        name: &str,
        value: Value,
    ) -> Result<T, ProtocolError> {
        serde_json::from_value(value).map_err(|e| ProtocolError::Malformed {
            request: name.to_owned(),
            detail: e.to_string(),
        })
    }
    let request = match name.as_str() {
        "hello" => Request::Hello,
        "plugins" => Request::Plugins,
        "form" => Request::Form(fields(&name, value)?),
        "validate" => Request::Validate(fields(&name, value)?),
        "verify.start" => Request::VerifyStart(fields(&name, value)?),
        "verify.poll" => Request::VerifyPoll(fields(&name, value)?),
        "verify.submit" => Request::VerifySubmit(fields(&name, value)?),
        "verify.cancel" => Request::VerifyCancel(fields(&name, value)?),
        "verify.end" => Request::VerifyEnd(fields(&name, value)?),
        "save" => Request::Save(fields(&name, value)?),
        "update" => Request::Update(fields(&name, value)?),
        "accounts" => Request::Accounts(fields(&name, value)?),
        "health" => Request::Health(fields(&name, value)?),
        "token" => Request::Token(fields(&name, value)?),
        "remove" => Request::Remove(fields(&name, value)?),
        "load" => Request::Load(fields(&name, value)?),
        "check" => Request::Check(fields(&name, value)?),
        "delivery.start" => {
            let start: DeliveryStart = fields(&name, value)?;
            let given = [
                start.mail.is_some(),
                start.file.is_some(),
                start.push.is_some(),
            ];
            if given.iter().filter(|g| **g).count() != 1 {
                return Err(ProtocolError::Malformed {
                    request: name,
                    detail: "give exactly one of `mail`, `file` and `push`".to_owned(),
                });
            }
            Request::DeliveryStart(Box::new(start))
        }
        "delivery.poll" => Request::DeliveryPoll(fields(&name, value)?),
        "delivery.cancel" => Request::DeliveryCancel(fields(&name, value)?),
        "delivery.end" => Request::DeliveryEnd(fields(&name, value)?),
        _ => return Err(ProtocolError::UnknownRequest { name }),
    };
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(text: &str) -> Result<Request, ProtocolError> {
        parse(text).1.and_then(read)
    }

    fn error_of(text: &str) -> ProtocolError {
        read_text(text).unwrap_err()
    }

    #[test]
    fn the_id_is_echoed_even_when_the_request_is_refused() {
        let (id, _) = parse(r#"{"id": 7, "request": "nope"}"#);
        assert_eq!(id, 7);
        let result = read_text(r#"{"id": 7, "request": "nope"}"#);
        assert!(matches!(result, Err(ProtocolError::UnknownRequest { .. })));
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let result = read_text(r#"{"request": "form", "plugin": "p", "future": [1, 2]}"#);
        assert!(matches!(result, Ok(Request::Form(PluginRef { plugin })) if plugin == "p"));
    }

    #[test]
    fn a_missing_or_mistyped_field_is_named() {
        let e = error_of(r#"{"request": "verify.start", "plugin": "p"}"#);
        assert!(e.to_string().contains("missing field `method`"), "{e}");
        let e = error_of(r#"{"request": "verify.poll", "handle": "one"}"#);
        assert!(
            e.to_string().contains("verify.poll") && e.to_string().contains("invalid type"),
            "{e}"
        );
        let e =
            error_of(r#"{"request": "verify.start", "plugin": "p", "method": "carrier_pigeon"}"#);
        assert!(e.to_string().contains("carrier_pigeon"), "{e}");
        assert_eq!(e.kind(), "invalid_request");
    }

    #[test]
    fn text_that_is_not_an_object_with_a_request_is_refused() {
        assert!(matches!(
            error_of("not json"),
            ProtocolError::NotJson { .. }
        ));
        assert!(matches!(error_of("[1]"), ProtocolError::NotJson { .. }));
        assert!(matches!(error_of("{}"), ProtocolError::NoRequest));
        assert!(matches!(
            error_of(r#"{"request": 5}"#),
            ProtocolError::NoRequest
        ));
    }

    #[test]
    fn a_delivery_is_mail_or_file_not_both() {
        let e = error_of(r#"{"request": "delivery.start", "account": "A"}"#);
        assert!(e.to_string().contains("exactly one"), "{e}");
        let ok = read_text(
            r#"{"request": "delivery.start", "account": "A", "mail": {"to": ["a@b.test"]}}"#,
        );
        assert!(matches!(ok, Ok(Request::DeliveryStart(_))));
    }

    #[test]
    fn every_named_request_is_read() {
        for name in NAMES {
            let e = read_text(&format!(r#"{{"request": "{name}"}}"#)).err();
            assert!(
                !matches!(e, Some(ProtocolError::UnknownRequest { .. })),
                "{name}"
            );
        }
    }
}
