//! A running delivery as the host sees it ([`atrs_host_sdk::DeliveryJob`]): the work runs on
//! the plugin's runtime, the host polls [`Progress`] and may cancel; a cancel stops every
//! request and wait at once and the clean-up (draft deleted, session cancelled) follows.

use std::future::Future;
use std::time::Duration;

use atrs_host_sdk::{DeliveryJob, DeliveryReceipt, DeliveryRequest, DeliveryState, PluginError};

use crate::delivery::delivery_error::DeliveryError;
use crate::delivery::graph::Graph;
use crate::delivery::progress::{cancel_pair, Cancel, CancelSwitch, Progress};
use crate::runtime::Runtime;
use crate::{delivery::drive, delivery::mail};

/// The content bytes `request` sends, checked before anything starts: the values that
/// become Graph path segments (folder, file name, mailbox sent as), missing files, more
/// than Graph takes.
pub fn content_size(request: &DeliveryRequest) -> Result<u64, PluginError> {
    match request {
        DeliveryRequest::Mail(m) => mail::check_sender(m).and_then(|_| mail::content_size(m)),
        DeliveryRequest::File(f) => drive::destination(f).and_then(|_| drive::content_size(f)),
        _ => Ok(0),
    }
    .map_err(|e| e.to_plugin_error())
}

/// Deliver `request` through `graph`, reporting to `progress`.
pub async fn deliver(
    graph: &Graph,
    request: &DeliveryRequest,
    progress: &Progress,
) -> Result<DeliveryReceipt, DeliveryError> {
    match request {
        DeliveryRequest::Mail(m) => mail::send(graph, m, progress).await,
        DeliveryRequest::File(f) => drive::upload(graph, f, progress).await,
        _ => Err(DeliveryError::Input(
            "This build of the Office 365 plugin does not know this kind of delivery.".into(),
        )),
    }
}

/// A delivery started on the plugin's runtime.
pub struct Job {
    progress: Progress,
    switch: CancelSwitch,
}

impl Job {
    /// Start `request`: `connect` builds the Graph client (discovery, token), then it is
    /// delivered.
    pub fn start<F, Fut>(
        runtime: &Runtime,
        request: DeliveryRequest,
        connect: F,
    ) -> Result<Job, PluginError>
    where
        F: FnOnce(Cancel) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Graph, PluginError>> + Send + 'static,
    {
        Job::start_as(runtime, request, None, connect)
    }

    /// [`Job::start`] for an application account when `application` names the mailbox it
    /// acts for and the app's client ID: its refusals name application permissions and
    /// Exchange access policies.
    pub fn start_as<F, Fut>(
        runtime: &Runtime,
        request: DeliveryRequest,
        application: Option<(String, String)>,
        connect: F,
    ) -> Result<Job, PluginError>
    where
        F: FnOnce(Cancel) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Graph, PluginError>> + Send + 'static,
    {
        let total = content_size(&request)?;
        let handle = runtime.handle()?;
        let progress = Progress::new("Connecting to Microsoft Graph…", total);
        let (switch, cancel) = cancel_pair();
        let task_progress = progress.clone();
        handle.spawn(async move {
            let end = match connect(cancel.clone()).await {
                Err(e) => DeliveryState::Failed(e),
                Ok(graph) => match deliver(&graph, &request, &task_progress).await {
                    Ok(receipt) => DeliveryState::Done(receipt),
                    Err(e) if cancel.is_raised() || e.is_cancelled() => {
                        DeliveryState::Failed(cancelled())
                    }
                    Err(e) => DeliveryState::Failed(e.to_plugin_error_as(
                        application.as_ref().map(|(m, c)| (m.as_str(), c.as_str())),
                    )),
                },
            };
            task_progress.finish(end);
        });
        Ok(Job { progress, switch })
    }
}

fn cancelled() -> PluginError {
    PluginError::cancelled("The delivery was cancelled; nothing was sent or left half-uploaded.")
}

impl DeliveryJob for Job {
    fn poll(&self, timeout: Duration) -> DeliveryState {
        self.progress.poll(timeout)
    }

    fn cancel(&self) {
        self.switch.raise();
    }
}

impl Drop for Job {
    /// A job the host drops is cancelled (its clean-up still runs).
    fn drop(&mut self) {
        self.switch.raise();
    }
}

/// Start delivering `request` through a saved account with these settings: they name the
/// authority, whose discovery names the Graph host, and the mailbox's maximum message size
/// (a message over it is refused here, before anything is sent), and the site a file
/// goes to when the request names none; `token` is the account's token source.
pub fn start_for_account(
    config: crate::config::AccountConfig,
    runtime: &Runtime,
    limits: crate::net::http::Limits,
    mut request: DeliveryRequest,
    token: crate::delivery::graph::TokenFn,
) -> Result<Job, PluginError> {
    // A file for no site in particular goes to the account's own site, when it has one.
    if let DeliveryRequest::File(file) = &mut request {
        if file.site.is_none() {
            file.site.clone_from(&config.site);
        }
    }
    let loopback = config
        .authority_override
        .as_ref()
        .is_some_and(crate::net::http::is_loopback);
    if let DeliveryRequest::Mail(m) = &request {
        mail::check_message_limit(m, config.max_message_bytes).map_err(|e| e.to_plugin_error())?;
    }
    let http = crate::net::http::Http::new(limits, loopback)?;
    let permits = crate::delivery::politeness::permits_for(&config);
    let acting_for = config.mailbox.clone().filter(|_| config.is_application());
    let application = acting_for
        .clone()
        .map(|mailbox| (mailbox, config.client_id.clone()));
    Job::start_as(runtime, request, application, move |cancel| async move {
        let endpoints = tokio::select! {
            found = crate::authority::discovery::discover(&http, &config) => found?,
            _ = cancel.raised() => return Err(cancelled()),
        };
        let base = endpoints.graph.ok_or_else(|| {
            PluginError::unsupported(
                "This account's identity provider names no Microsoft Graph host, so nothing can be delivered through it.",
            )
            .with_hint("Deliveries need an Office 365 / Microsoft Entra ID account; check the account's cloud and authority.")
        })?;
        Ok(Graph::new(
            &base,
            token,
            crate::delivery::graph::RetryPolicy::from_env(),
            cancel,
            loopback,
        )?
        .with_permits(permits)
        .acting_for(acting_for))
    })
}
