//! Requests for isolated plugins: the runtime answers what it can itself (which plugin
//! owns an account, the saved list), sends the rest to the plugin's runner, and keeps
//! its own handles for the runner's sessions and deliveries, so a handle outlives a
//! runner that died: polling it then answers `failed` with what happened.

use std::{sync::Arc, time::Duration};

use serde_json::{json, Value};

use super::{Answer, Runtime, MAX_POLL_WAIT};
use crate::locked::locked;
use crate::{
    conformance_run,
    isolation::{Isolated, RunnerCommand, RunnerError},
    protocol::{
        request::{self, AccountRequest, Request},
        ProtocolError,
    },
    service_calls::ServiceServer,
    services::PluginServices,
};

/// A session or delivery that lives in a runner.
#[derive(Debug)]
pub(super) struct Remote {
    plugin: String,
    generation: u64,
    handle: u64,
    what: &'static str,
}

/// Time a runner gets for one request beyond the call bound and the poll's own wait.
const MARGIN: Duration = Duration::from_secs(5);

impl Runtime {
    /// The isolated plugin `plugin`, set up on first use.
    fn isolated(&self, plugin: &str) -> Result<Arc<Isolated>, ProtocolError> {
        let mut open = locked(&self.isolated);
        if let Some(isolated) = open.get(plugin) {
            return Ok(isolated.clone());
        }
        let library = self.catalog.find(plugin)?;
        let services =
            PluginServices::new(plugin, self.store.clone(), self.log, self.browser.clone())
                .with_log_sink(self.log_sink.clone());
        let isolated = Arc::new(Isolated::new(
            library.manifest().display_name.as_str(),
            library.path().to_owned(),
            RunnerCommand {
                program: self
                    .runner
                    .clone()
                    .unwrap_or_else(RunnerCommand::default_program),
                call_timeout: self.call_bound(),
                log_level: self.log_level.clone(),
                trusted_keys: self.trusted_keys.clone(),
                plugin_id: plugin.to_owned(),
            },
            ServiceServer::new(plugin, self.store.clone(), services),
        ));
        open.insert(plugin.to_owned(), isolated.clone());
        Ok(isolated)
    }

    fn call_bound(&self) -> Duration {
        self.call_timeout.unwrap_or(super::DEFAULT_CALL_BOUND)
    }

    /// Sends `request` to `plugin`'s runner; its answer without `ok` (or its error).
    fn forward(
        &self,
        plugin: &str,
        request: Value,
        wait: Duration,
    ) -> Result<(u64, Value), ProtocolError> {
        let isolated = self.isolated(plugin)?;
        let bound = self.call_bound() + wait.min(MAX_POLL_WAIT) + MARGIN;
        let (generation, mut answer) = isolated.request(&request, bound)?;
        if answer["ok"] != true {
            let error = answer["error"].clone();
            // The runner gave up on a call the plugin never returned from: the plugin
            // is stuck in that process, so the process goes and the next request
            // starts a fresh one.
            if error["origin"] == "host" && error["kind"] == "timed_out" {
                isolated.stop(
                    generation,
                    RunnerError::Unresponsive {
                        plugin: isolated.name().to_owned(),
                        bound: self.call_bound(),
                    },
                );
            }
            return Err(ProtocolError::Remote(error));
        }
        if let Value::Object(fields) = &mut answer {
            fields.remove("ok");
            fields.remove("id");
        }
        Ok((generation, answer))
    }

    /// Keeps a runner's handle under one of the runtime's own.
    fn keep(&self, plugin: &str, generation: u64, mut answer: Value, what: &'static str) -> Answer {
        let handle = answer["handle"].as_u64().unwrap_or(0);
        let ours = self.remote.insert(Remote {
            plugin: plugin.to_owned(),
            generation,
            handle,
            what,
        });
        answer["handle"] = json!(ours);
        Ok(answer)
    }

    fn remote(&self, handle: u64, what: &'static str) -> Result<Arc<Remote>, ProtocolError> {
        self.remote
            .get(handle)
            .filter(|r| r.what == what)
            .ok_or(ProtocolError::NoHandle { what, handle })
    }

    /// Sends a request about a runner's session or delivery, under the runner's handle.
    fn forward_handle(&self, remote: &Remote, mut request: Value, wait: Duration) -> Answer {
        let isolated = self.isolated(&remote.plugin)?;
        if let Some(why) = isolated.ended(remote.generation) {
            return Err(why.into());
        }
        request["handle"] = json!(remote.handle);
        Ok(self.forward(&remote.plugin, request, wait)?.1)
    }

    /// A poll of a runner's session or delivery: `failed` with what happened when the
    /// runner that had it is gone.
    fn poll_remote(
        &self,
        handle: u64,
        what: &'static str,
        request: Value,
        wait: Duration,
    ) -> Answer {
        let remote = self.remote(handle, what)?;
        match self.forward_handle(&remote, request, wait) {
            Err(ProtocolError::Runner(why)) => {
                let error = ProtocolError::Runner(why).to_json();
                Ok(json!({"state": "failed", "error": error}))
            }
            other => other,
        }
    }

    fn owner_forward(
        &self,
        r: &AccountRequest,
        mut request: Value,
    ) -> Result<(String, u64, Value), ProtocolError> {
        let plugin = self.owner(r)?;
        request["plugin"] = json!(plugin);
        let (generation, answer) = self.forward(&plugin, request, Duration::ZERO)?;
        Ok((plugin, generation, answer))
    }

    /// The conformance run in a runner of its own for the library named, ended with
    /// the run: a library that crashes or hangs ends the request with what happened.
    fn check_isolated(&self, r: &request::Check, raw: Value) -> Answer {
        const CHECKER: &str = "conformance";
        let name = r
            .library
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| r.library.display().to_string());
        let services =
            PluginServices::new(CHECKER, self.store.clone(), self.log, self.browser.clone())
                .with_log_sink(self.log_sink.clone());
        let runner = Isolated::new(
            name,
            r.library.clone(),
            RunnerCommand {
                program: self
                    .runner
                    .clone()
                    .unwrap_or_else(RunnerCommand::default_program),
                call_timeout: conformance_run::call_timeout(r),
                log_level: self.log_level.clone(),
                // The run checks the file as it is, signed or not (a vendor's build).
                trusted_keys: None,
                plugin_id: CHECKER.to_owned(),
            },
            ServiceServer::new(CHECKER, self.store.clone(), services),
        );
        let answer = runner.request(&raw, conformance_run::run_bound(r));
        runner.close();
        let mut answer = answer?.1;
        if answer["ok"] != true {
            return Err(ProtocolError::Remote(answer["error"].clone()));
        }
        if let Value::Object(fields) = &mut answer {
            fields.remove("ok");
            fields.remove("id");
        }
        Ok(answer)
    }

    /// Answers `request` for isolated plugins; `raw` is the request as it came.
    pub(super) fn answer_isolated(&self, request: Request, raw: Value) -> Answer {
        let wait = |raw: &Value| Duration::from_millis(raw["wait_ms"].as_u64().unwrap_or(0));
        match request {
            Request::Hello | Request::Plugins => self.answer_here(request),
            Request::Form(r) => Ok(self.forward(&r.plugin, raw, Duration::ZERO)?.1),
            Request::Validate(r) => Ok(self.forward(&r.plugin, raw, Duration::ZERO)?.1),
            Request::VerifyStart(r) => {
                let (generation, answer) = self.forward(&r.plugin, raw, Duration::ZERO)?;
                self.keep(&r.plugin, generation, answer, "verification session")
            }
            Request::VerifyPoll(r) => {
                let wait = wait(&raw);
                self.poll_remote(r.handle, "verification session", raw, wait)
            }
            Request::VerifySubmit(r) => {
                let remote = self.remote(r.handle, "verification session")?;
                self.forward_handle(&remote, raw, Duration::ZERO)
            }
            Request::VerifyCancel(r) => {
                let remote = self.remote(r.handle, "verification session")?;
                self.forward_handle(&remote, raw, Duration::ZERO)
            }
            Request::VerifyEnd(r) | Request::DeliveryEnd(r) => {
                let what = if matches!(request, Request::VerifyEnd(_)) {
                    "verification session"
                } else {
                    "delivery"
                };
                let remote = self.remote(r.handle, what)?;
                self.remote.remove(r.handle);
                // A runner that is gone took the session with it: nothing to end.
                match self.forward_handle(&remote, raw, Duration::ZERO) {
                    Err(ProtocolError::Runner(_)) => Ok(json!({})),
                    other => other,
                }
            }
            Request::Save(r) => {
                let remote = self.remote(r.handle, "verification session")?;
                let answer = self.forward_handle(&remote, raw, Duration::ZERO)?;
                self.remote.remove(r.handle);
                Ok(answer)
            }
            Request::Update(r) => Ok(self.forward(&r.plugin, raw, Duration::ZERO)?.1),
            Request::Accounts(r) => self.list_accounts(&r, |account| {
                let request = json!({
                    "request": "health",
                    "account": account.account,
                    "plugin": account.plugin,
                });
                match self.forward(&account.plugin, request, Duration::ZERO) {
                    Ok((_, answer)) => answer["health"].clone(),
                    Err(e) => json!({"error": e.to_json()}),
                }
            }),
            Request::Check(r) => self.check_isolated(&r, raw),
            Request::Health(r) | Request::Remove(r) | Request::Load(r) => {
                Ok(self.owner_forward(&r, raw)?.2)
            }
            Request::Token(r) => {
                let account = AccountRequest {
                    account: r.account.clone(),
                    plugin: r.plugin.clone(),
                };
                Ok(self.owner_forward(&account, raw)?.2)
            }
            Request::DeliveryStart(r) => {
                let account = AccountRequest {
                    account: r.account.clone(),
                    plugin: r.plugin.clone(),
                };
                let (plugin, generation, answer) = self.owner_forward(&account, raw)?;
                self.keep(&plugin, generation, answer, "delivery")
            }
            Request::DeliveryPoll(r) => {
                let wait = wait(&raw);
                self.poll_remote(r.handle, "delivery", raw, wait)
            }
            Request::DeliveryCancel(r) => {
                let remote = self.remote(r.handle, "delivery")?;
                self.forward_handle(&remote, raw, Duration::ZERO)
            }
        }
    }
}
