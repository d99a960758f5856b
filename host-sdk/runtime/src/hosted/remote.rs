//! An isolated plugin held through the loader's calls: each call is one protocol
//! request to an isolating [`Runtime`], which forwards it to the plugin's runner.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use atrs_host_sdk::{
    AccountHealth, DeliveryKind, DeliveryRequest, DeliveryState, FieldError, FormField, FormValues,
    PluginError, SessionState, SettingDisplay, TokenGrant, TokenRequest, VerifyMethod,
};
use serde_json::{json, Value};

use super::from_wire;
use crate::locked::locked;
use crate::{wire, Runtime};

/// The runtime and the plugin a request goes to.
#[derive(Debug, Clone)]
struct Link {
    runtime: Arc<Runtime>,
    plugin: String,
}

impl Link {
    /// Sends `request`; its answer, or its error as the SDK's.
    fn ask(&self, request: Value) -> Result<Value, PluginError> {
        let call = request["request"].as_str().unwrap_or("request").to_owned();
        let answer: Value = serde_json::from_str(&self.runtime.handle(&request.to_string()))
            .map_err(|e| {
                PluginError::internal(format!(
                    "The runtime's answer to `{call}` is not JSON ({e})."
                ))
            })?;
        if answer["ok"] == true {
            Ok(answer)
        } else {
            Err(from_wire::error(&answer["error"], &call))
        }
    }

    /// Polls the session or delivery `handle` with `request`, waiting up to `timeout`.
    fn poll(&self, request: &str, handle: u64, timeout: Duration) -> Result<Value, PluginError> {
        let wait_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self.ask(json!({"request": request, "handle": handle, "wait_ms": wait_ms}))
    }

    /// Sends a request about a handle, when the answer does not matter (a cancel, an
    /// end): a runner that is gone has nothing left to cancel.
    fn tell(&self, request: &str, handle: u64) {
        let _ = self.ask(json!({"request": request, "handle": handle}));
    }
}

/// A session that verified: its handle stays open until its values are saved, another
/// verification starts, or the instance closes.
#[derive(Debug)]
struct Verified {
    handle: u64,
    values: BTreeMap<String, String>,
}

/// The values as the protocol carries them, for comparing what was verified with
/// what is saved.
fn plain(values: &FormValues) -> BTreeMap<String, String> {
    values
        .iter()
        .map(|v| (v.key().to_owned(), v.value().to_owned()))
        .collect()
}

/// One isolated plugin instance.
#[derive(Debug)]
pub struct RemotePlugin {
    link: Link,
    form: OnceLock<Value>,
    verified: Arc<Mutex<Option<Verified>>>,
}

impl RemotePlugin {
    /// The plugin `plugin` of `runtime`, which must isolate its plugins.
    pub fn new(runtime: Arc<Runtime>, plugin: impl Into<String>) -> Self {
        RemotePlugin {
            link: Link {
                runtime,
                plugin: plugin.into(),
            },
            form: OnceLock::new(),
            verified: Arc::default(),
        }
    }

    /// The `form` answer, asked once per instance.
    fn form(&self) -> Result<&Value, PluginError> {
        if let Some(form) = self.form.get() {
            return Ok(form);
        }
        let answer = self
            .link
            .ask(json!({"request": "form", "plugin": self.link.plugin}))?;
        Ok(self.form.get_or_init(|| answer))
    }

    pub(super) fn describe(&self) -> Result<Vec<FormField>, PluginError> {
        let form = self.form()?;
        Ok(form["fields"]
            .as_array()
            .into_iter()
            .flatten()
            .map(from_wire::field)
            .collect())
    }

    pub(super) fn validate(&self, values: &FormValues) -> Result<Vec<FieldError>, PluginError> {
        let answer = self.link.ask(json!({
            "request": "validate",
            "plugin": self.link.plugin,
            "values": wire::values_json(values),
        }))?;
        Ok(from_wire::field_errors(&answer["field_errors"]))
    }

    pub(super) fn verify_methods(&self) -> Vec<VerifyMethod> {
        let offered: Vec<VerifyMethod> = match self.form() {
            Ok(form) => form["verify_methods"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(from_wire::method)
                .collect(),
            Err(_) => Vec::new(),
        };
        if offered.is_empty() {
            VerifyMethod::before_1_2()
        } else {
            offered
        }
    }

    pub(super) fn settings_display(&self) -> Vec<SettingDisplay> {
        self.form()
            .map(|form| {
                form["settings_display"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(from_wire::setting_display)
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(super) fn delivery_kinds(&self) -> Vec<DeliveryKind> {
        self.form()
            .map(|form| {
                form["delivery_kinds"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|k| k.as_str().and_then(from_wire::delivery_kind))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(super) fn start_verification(
        &mut self,
        values: &FormValues,
        method: VerifyMethod,
    ) -> Result<RemoteSession, PluginError> {
        let mut request = json!({
            "request": "verify.start",
            "plugin": self.link.plugin,
            "values": wire::values_json(values),
            "method": wire::method_name(&method),
        });
        if let VerifyMethod::Browser { loopback } = method {
            request["loopback"] = json!(loopback);
        }
        let answer = self.link.ask(request)?;
        // A new verification replaces the one that waited to be saved.
        if let Some(old) = locked(&self.verified).take() {
            self.link.tell("verify.end", old.handle);
        }
        Ok(RemoteSession {
            link: self.link.clone(),
            handle: answer["handle"].as_u64().unwrap_or_default(),
            values: plain(values),
            verified: self.verified.clone(),
            state: Mutex::new(Progress::Running),
        })
    }

    /// Saves what the last session verified, when `values` are the values it verified
    /// (as a new account, or in place of `previous`); an edit of a saved account that
    /// was not verified again goes to the plugin as an `update`, which it refuses when
    /// the edit needs a new sign-in.
    pub(super) fn save(
        &mut self,
        values: &FormValues,
        previous: Option<&str>,
    ) -> Result<(), PluginError> {
        let verified = {
            let mut verified = locked(&self.verified);
            match verified.as_ref() {
                Some(v) if v.values == plain(values) => verified.take(),
                _ => None,
            }
        };
        match (verified, previous) {
            (Some(verified), previous) => {
                let mut request = json!({
                    "request": "save",
                    "handle": verified.handle,
                    "replace": true,
                });
                if let Some(previous) = previous {
                    request["replaces"] = json!(previous);
                }
                self.link.ask(request).map(drop)
            }
            (None, Some(previous)) => self
                .link
                .ask(json!({
                    "request": "update",
                    "plugin": self.link.plugin,
                    "account": previous,
                    "values": wire::values_json(values),
                }))
                .map(drop),
            (None, None) => Err(PluginError::invalid_input(
                "These settings have not been verified, so they were not saved.",
            )
            .with_hint("Verify them first, then save.")),
        }
    }

    fn account_request(&self, request: &str, account: &str) -> Result<Value, PluginError> {
        self.link.ask(json!({
            "request": request,
            "plugin": self.link.plugin,
            "account": account,
        }))
    }

    pub(super) fn load_account(&self, account: &str) -> Result<FormValues, PluginError> {
        Ok(from_wire::values(&self.account_request("load", account)?))
    }

    pub(super) fn remove_account(&mut self, account: &str) -> Result<(), PluginError> {
        self.account_request("remove", account).map(drop)
    }

    pub(super) fn token(
        &self,
        account: &str,
        request: &TokenRequest,
    ) -> Result<TokenGrant, PluginError> {
        let answer = self.link.ask(json!({
            "request": "token",
            "plugin": self.link.plugin,
            "account": account,
            "scopes": request.scopes,
            "force": request.force_refresh,
        }))?;
        Ok(from_wire::token_grant(&answer))
    }

    pub(super) fn account_health(&self, account: &str) -> Result<AccountHealth, PluginError> {
        Ok(from_wire::health(
            &self.account_request("health", account)?["health"],
        ))
    }

    pub(super) fn start_delivery(
        &self,
        account: &str,
        request: &DeliveryRequest,
    ) -> Result<RemoteDelivery, PluginError> {
        let mut start = json!({
            "request": "delivery.start",
            "plugin": self.link.plugin,
            "account": account,
        });
        match request {
            DeliveryRequest::Mail(mail) => {
                start["mail"] = json!({
                    "from": mail.from,
                    "to": mail.to,
                    "cc": mail.cc,
                    "bcc": mail.bcc,
                    "subject": mail.subject,
                    "body": mail.body,
                    "html": mail.body_is_html,
                    "attachments": mail.attachments.iter().map(|a| json!({
                        "path": a.path,
                        "name": a.name,
                        "content_type": a.content_type,
                    })).collect::<Vec<_>>(),
                });
            }
            DeliveryRequest::File(file) => {
                start["file"] = json!({
                    "source": file.source,
                    "folder": file.folder,
                    "site": file.site,
                    "name": file.file_name,
                    "conflict": file.conflict.name(),
                });
            }
            DeliveryRequest::Push(push) => {
                start["push"] = json!({
                    "source": push.source,
                    "name": push.file_name,
                    "content_type": (!push.content_type.is_empty()).then_some(&push.content_type),
                });
            }
            other => {
                return Err(PluginError::unsupported(format!(
                    "This host cannot send a {} delivery to an isolated plugin.",
                    other.kind().name()
                ))
                .with_hint("Update the host, or run the plugin in the host's process."))
            }
        }
        let answer = self.link.ask(start)?;
        Ok(RemoteDelivery {
            link: self.link.clone(),
            handle: answer["handle"].as_u64().unwrap_or_default(),
        })
    }

    /// Ends the verification that waited to be saved.
    pub(super) fn close(&mut self) {
        if let Some(old) = locked(&self.verified).take() {
            self.link.tell("verify.end", old.handle);
        }
    }
}

impl Drop for RemotePlugin {
    fn drop(&mut self) {
        self.close();
    }
}

/// Where a remote session stands, as this side last saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Progress {
    Running,
    /// Verified: its handle now waits with the instance, to be saved.
    Verified,
    Failed,
    /// Cancelled while it ran.
    Cancelled,
    /// Asked to cancel after it had ended.
    CancelledAfterEnd,
}

/// A verification session in a plugin's runner.
#[derive(Debug)]
pub struct RemoteSession {
    link: Link,
    handle: u64,
    values: BTreeMap<String, String>,
    verified: Arc<Mutex<Option<Verified>>>,
    state: Mutex<Progress>,
}

impl RemoteSession {
    pub(super) fn poll(&self, timeout: Duration) -> SessionState {
        let state = match self.link.poll("verify.poll", self.handle, timeout) {
            Ok(answer) => from_wire::session_state(&answer, "verify.poll"),
            Err(e) => SessionState::failed(e),
        };
        let mut progress = locked(&self.state);
        match &state {
            SessionState::Verified(_) if *progress == Progress::Running => {
                *progress = Progress::Verified;
                *locked(&self.verified) = Some(Verified {
                    handle: self.handle,
                    values: self.values.clone(),
                });
            }
            SessionState::Failed(_) if *progress == Progress::Running => {
                *progress = Progress::Failed;
            }
            _ => {}
        }
        state
    }

    pub(super) fn submit(&self, pasted: &str) -> Result<(), PluginError> {
        self.link
            .ask(json!({"request": "verify.submit", "handle": self.handle, "text": pasted}))
            .map(drop)
    }

    pub(super) fn cancel(&self) {
        // Seen as it is now: a session that ended before the cancel keeps its result.
        if *locked(&self.state) == Progress::Running {
            self.poll(Duration::ZERO);
        }
        let mut progress = locked(&self.state);
        *progress = match *progress {
            Progress::Running | Progress::Cancelled => Progress::Cancelled,
            _ => Progress::CancelledAfterEnd,
        };
        if *progress == Progress::Cancelled {
            self.link.tell("verify.cancel", self.handle);
        }
    }

    pub(super) fn ended_before_cancel(&self) -> bool {
        *locked(&self.state) == Progress::CancelledAfterEnd
    }
}

impl Drop for RemoteSession {
    fn drop(&mut self) {
        // A verified session waits with its instance to be saved; any other ends here.
        let waiting = locked(&self.verified)
            .as_ref()
            .is_some_and(|v| v.handle == self.handle);
        if !waiting {
            self.link.tell("verify.end", self.handle);
        }
    }
}

/// A delivery in a plugin's runner.
#[derive(Debug)]
pub struct RemoteDelivery {
    link: Link,
    handle: u64,
}

impl RemoteDelivery {
    pub(super) fn poll(&self, timeout: Duration) -> DeliveryState {
        match self.link.poll("delivery.poll", self.handle, timeout) {
            Ok(answer) => from_wire::delivery_state(&answer, "delivery.poll"),
            Err(e) => DeliveryState::Failed(e),
        }
    }

    pub(super) fn cancel(&self) {
        self.link.tell("delivery.cancel", self.handle);
    }
}

impl Drop for RemoteDelivery {
    fn drop(&mut self) {
        self.link.tell("delivery.end", self.handle);
    }
}
