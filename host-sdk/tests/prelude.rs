//! The prelude is all a plugin author imports: a webhook-like integration's form
//! checks, its saved account, its errors and a file delivery, written with
//! `use atrs_host_sdk::prelude::*;` and nothing else from the SDK (the in-memory host of
//! `testing` stands in for the real one).

use std::{path::PathBuf, time::Duration};

use atrs_host_sdk::prelude::*;
use atrs_host_sdk::testing::MemoryHost;

fn form() -> Vec<FormField> {
    let formats = FieldKind::Choice {
        options: vec![
            ChoiceOption::new("json", "JSON"),
            ChoiceOption::new("form", "Form"),
        ]
        .into(),
    };
    vec![
        FormField::new(ACCOUNT_NAME, "Account name", FieldKind::Text).required(),
        FormField::new("url", "Webhook URL", FieldKind::Text).required(),
        FormField::new("shared_secret", "Shared secret", FieldKind::Secret).required(),
        FormField::new("format", "Payload format", formats).with_default("json"),
    ]
}

/// The SDK's checks, and one of the plugin's own.
fn validate(values: &FormValues) -> Vec<FieldError> {
    let mut errors = form_checks(&form(), values);
    if let Some(url) = values.get_trimmed("url") {
        if !url.starts_with("https://") {
            errors.push(
                FieldError::new("url", "The webhook URL must start with https://.")
                    .with_hint("Copy the URL from the receiving service's settings."),
            );
        }
    }
    errors
}

/// Saves the account, refusing the first problem as an error naming its field.
fn save(host: &Host, values: &FormValues) -> Result<(), PluginError> {
    if let Some(problem) = validate(values).into_iter().next() {
        return Err(problem.into());
    }
    let name = values.get_trimmed(ACCOUNT_NAME).unwrap_or_default();
    let mut settings = Settings::new();
    settings.insert(
        "url".into(),
        values.get_trimmed("url").unwrap_or_default().into(),
    );
    let mut secrets = Secrets::new();
    for value in values.iter().filter(|v: &&FieldValue| v.is_secret()) {
        secrets.insert(value.key().into(), value.value().into());
    }
    let _lock: HostLock = host.lock(name, Duration::from_secs(1))?;
    host.log(LogLevel::Info, &format!("Saving \"{name}\"."));
    host.account_write(name, &settings, &secrets, None)
}

/// A delivery that has ended: what the host's poll sees.
struct Ended(DeliveryState);

impl DeliveryJob for Ended {
    fn poll(&self, _timeout: Duration) -> DeliveryState {
        self.0.clone()
    }
    fn cancel(&self) {}
}

/// Posts a file to the saved account's webhook (here: says where it would go).
fn deliver(
    host: &Host,
    account: &str,
    request: DeliveryRequest,
) -> Result<Box<dyn DeliveryJob>, PluginError> {
    let DeliveryRequest::File(FileRequest {
        source,
        file_name,
        conflict,
        ..
    }) = request
    else {
        return Err(PluginError::unsupported("A webhook takes files, not mail."));
    };
    if conflict == ConflictBehavior::Fail && file_name.is_empty() {
        return Err(PluginError::invalid_input("The file has no name."));
    }
    let settings = host.settings_read(account)?.ok_or_else(|| {
        PluginError::invalid_input(format!("There is no account named \"{account}\"."))
            .with_field(ACCOUNT_NAME)
            .with_hint("List the saved accounts and check the spelling.")
    })?;
    let url = settings.get("url").cloned().unwrap_or_default();
    Ok(Box::new(Ended(DeliveryState::Done(DeliveryReceipt {
        kind: DeliveryKind::File,
        id: file_name.clone(),
        web_url: Some(url.clone()),
        summary: format!("Posted {} to {url}", source.display()),
        bytes: 0,
        details: Vec::new(),
    }))))
}

fn values(url: &str) -> FormValues {
    let mut values = FormValues::new()
        .with(ACCOUNT_NAME, "Reports")
        .with("url", url)
        .with("format", "json");
    values.set_secret("shared_secret", "s3cret");
    values
}

#[test]
fn a_field_problem_is_an_invalid_input_error_naming_the_field() {
    let memory = MemoryHost::new();
    let host = memory.handle();
    let err = save(&host, &values("http://hooks.invalid/x")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(err.field(), Some("url"));
    assert_eq!(err.message(), "The webhook URL must start with https://.");
    assert_eq!(
        err.hint(),
        Some("Copy the URL from the receiving service's settings.")
    );

    let empty = save(&host, &FormValues::new()).unwrap_err();
    assert_eq!(
        (empty.kind(), empty.field()),
        (ErrorKind::InvalidInput, Some(ACCOUNT_NAME))
    );
    assert!(host.settings_read("Reports").unwrap().is_none());
}

#[test]
fn a_saved_account_takes_files_and_refuses_mail() {
    let memory = MemoryHost::new();
    let host = memory.handle();
    save(&host, &values("https://hooks.invalid/x")).unwrap();
    assert_eq!(
        host.secret_read("Reports", "shared_secret").unwrap(),
        Some("s3cret".into())
    );

    let file = FileRequest {
        source: PathBuf::from("/reports/q3.pdf"),
        folder: String::new(),
        site: None,
        file_name: "q3.pdf".into(),
        conflict: ConflictBehavior::Replace,
    };
    let job = deliver(&host, "Reports", DeliveryRequest::File(file.clone())).unwrap();
    match job.poll(Duration::ZERO) {
        DeliveryState::Done(receipt) => {
            assert_eq!(receipt.kind, DeliveryKind::File);
            assert_eq!(receipt.web_url.as_deref(), Some("https://hooks.invalid/x"));
        }
        other => panic!("not delivered: {other:?}"),
    }

    let mail = MailRequest::test_message("Reports", "a@example.invalid");
    let refused = deliver(&host, "Reports", DeliveryRequest::Mail(mail))
        .err()
        .unwrap();
    assert_eq!(refused.kind(), ErrorKind::Unsupported);

    let unknown = deliver(&host, "Nobody", DeliveryRequest::File(file))
        .err()
        .unwrap();
    assert_eq!(
        (unknown.kind(), unknown.field()),
        (ErrorKind::InvalidInput, Some(ACCOUNT_NAME))
    );
}

#[test]
fn every_kind_of_failure_is_one_call_away() {
    let failures = [
        (PluginError::network("No answer."), ErrorKind::Network),
        (
            PluginError::authorization_refused("Consent declined."),
            ErrorKind::AuthorizationRefused,
        ),
        (
            PluginError::provider("The hook said 500.").with_provider_code("500"),
            ErrorKind::Provider,
        ),
        (
            PluginError::timed_out("No answer in 30 s."),
            ErrorKind::TimedOut,
        ),
        (PluginError::cancelled("Cancelled."), ErrorKind::Cancelled),
    ];
    for (error, kind) in failures {
        assert_eq!(error.kind(), kind, "{error:?}");
    }
}
