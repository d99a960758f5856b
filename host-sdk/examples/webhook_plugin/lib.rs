// The second example plugin: "Webhook" — an integration with no sign-in. Its form is
// a URL, a shared secret and a payload format; Verify sends a signed test request
// (VerifyMethod::Direct: the host offers no code and no browser, and says "connected
// to …"); deliveries POST a file to the URL (DeliveryKind::Push: no folder), with
// progress and a cancel that ends a blocked request at once (see http.rs). Accounts
// are kept by the SDK's FormStore. The end-to-end tests build it as a cdylib and
// drive it against a receiver on 127.0.0.1.

mod http;

use std::{fs::File, time::SystemTime};

use atrs_host_sdk::{
    delivering::{Delivery, Progress},
    prelude::*,
    ErrorKind,
};
use ring::hmac;

/// One Webhook instance: its saved accounts, kept as its form by the host.
pub struct Webhook {
    store: FormStore,
}

/// What a request needs from an account's values.
struct Endpoint {
    target: http::Target,
    url: String,
    key: hmac::Key,
    json: bool,
}

impl Endpoint {
    fn of(values: &FormValues) -> Result<Endpoint, PluginError> {
        let url = values.get_trimmed("url").unwrap_or_default().to_owned();
        let target =
            http::target(&url).map_err(|e| PluginError::invalid_input(e).with_field("url"))?;
        let secret = values.get("secret").unwrap_or_default();
        Ok(Endpoint {
            target,
            url,
            key: hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes()),
            json: values.get_trimmed("format") != Some("raw"),
        })
    }

    /// POSTs `body`, signed: `X-ATRS-Signature: sha256=<hex HMAC of timestamp.body>`.
    fn send(
        &self,
        body: &[u8],
        name: &str,
        cancel: &CancelToken,
        p: Option<&Progress>,
    ) -> Result<(), PluginError> {
        let stamp = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut signed = hmac::Context::with_key(&self.key);
        signed.update(format!("{stamp}.").as_bytes());
        signed.update(body);
        let hex: String = signed
            .sign()
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let kind = if self.json {
            "application/json"
        } else {
            "application/octet-stream"
        };
        let headers = [
            ("Content-Type", kind.to_owned()),
            ("X-ATRS-Timestamp", stamp.to_string()),
            ("X-ATRS-Signature", format!("sha256={hex}")),
            ("X-ATRS-File-Name", name.to_owned()),
        ];
        let total = body.len() as u64;
        let report = |n| p.iter().for_each(|p| p.running("Sending", n, total));
        match http::post(&self.target, &headers, body, total, cancel, report)? {
            200..=299 => Ok(()),
            401 | 403 => Err(PluginError::new(
                ErrorKind::AuthorizationRefused,
                format!("{} refused the signature.", self.url),
            )
            .with_field("secret")
            .with_hint("Check that the shared secret is the one the receiver has.")),
            code => Err(PluginError::new(
                ErrorKind::Provider,
                format!("{} answered HTTP {code}.", self.url),
            )
            .with_hint("Check the receiver's log for why, then try again.")),
        }
    }
}

impl Integration for Webhook {
    fn manifest() -> Manifest {
        let about = "Sends reports to an HTTP endpoint, signed with a shared secret.";
        Manifest::new(
            "webhook",
            "Webhook (example)",
            "1.2.0",
            "ATRS SDK examples",
            about,
        )
    }

    fn new(host: Host) -> Result<Self, PluginError> {
        let formats = FieldKind::choice([("json", "JSON envelope"), ("raw", "The file as it is")]);
        let fields = vec![
            FormField::new(ACCOUNT_NAME, "Account name", FieldKind::Text).required(),
            FormField::new("url", "URL", FieldKind::Text)
                .required()
                .with_placeholder("http://reports.example.com/atrs"),
            FormField::new("secret", "Shared secret", FieldKind::Secret).required(),
            FormField::new("format", "Payload format", formats).with_default("json"),
        ];
        Ok(Webhook {
            store: FormStore::new(host, fields),
        })
    }

    fn validate(&self, values: &FormValues) -> Vec<FieldError> {
        let mut errors = atrs_host_sdk::form_checks(self.store.fields(), values);
        if let Some(Err(e)) = values.get_trimmed("url").map(http::target) {
            errors.push(
                FieldError::new("url", e).with_hint("For example http://reports.example.com/atrs."),
            );
        }
        errors
    }

    fn start_verification(
        &mut self,
        values: &FormValues,
        _: VerifyMethod,
    ) -> Result<Box<dyn VerificationSession>, PluginError> {
        // Re-verify leaves the secret empty: the saved one is meant.
        let endpoint = Endpoint::of(&self.store.with_saved_secrets(values)?)?;
        let name = values
            .get_trimmed(ACCOUNT_NAME)
            .unwrap_or_default()
            .to_owned();
        let commit = self.store.recorder(values);
        let session = Session::spawn(
            self.store.host().clone(),
            "Sending a test request…",
            move |r| {
                let test = format!(r#"{{"type":"atrs.test","account":{name:?}}}"#);
                endpoint.send(test.as_bytes(), "test.json", &r.cancel_token(), None)?;
                let reached =
                    VerifiedAccount::connection(&name, &endpoint.url, &endpoint.target.host);
                Ok(Success::new(reached, commit))
            },
        )?;
        Ok(Box::new(session))
    }

    fn verify_methods(&self) -> Vec<VerifyMethod> {
        vec![VerifyMethod::Direct]
    }

    fn form_store(&self) -> Option<&FormStore> {
        Some(&self.store)
    }

    fn delivery_kinds(&self) -> Vec<DeliveryKind> {
        vec![DeliveryKind::Push]
    }

    fn start_delivery(
        &self,
        account: &str,
        request: DeliveryRequest,
    ) -> Result<Box<dyn DeliveryJob>, PluginError> {
        let DeliveryRequest::Push(push) = request else {
            return Err(PluginError::unsupported(
                "A webhook takes files as they are, not mail or folders.",
            ));
        };
        let mut values = self.store.load(account)?;
        values.remove("secret");
        let endpoint = Endpoint::of(&self.store.with_saved_secrets(&values)?)?;
        let job = Delivery::spawn(self.store.host().clone(), "Reading the file…", move |p| {
            let mut content = Vec::new();
            std::io::Read::read_to_end(
                &mut File::open(&push.source).map_err(|e| {
                    PluginError::invalid_input(format!("{}: {e}.", push.source.display()))
                        .with_hint("Check the file's path and that it can be read.")
                })?,
                &mut content,
            )
            .map_err(|e| PluginError::internal(format!("Reading the file: {e}.")))?;
            endpoint.send(&content, &push.file_name, &p.cancel_token(), Some(p))?;
            let summary = format!(
                "Sent {} ({} bytes) to {}",
                push.file_name,
                content.len(),
                endpoint.url
            );
            Ok(DeliveryReceipt {
                kind: DeliveryKind::Push,
                id: push.file_name,
                web_url: None,
                summary,
                bytes: content.len() as u64,
                details: Vec::new(),
            })
        })?;
        Ok(Box::new(job))
    }
}

export_plugin!(Webhook);
