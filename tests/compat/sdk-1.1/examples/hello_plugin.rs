// The example plugin: "Hello", a complete integration small enough to copy. It has a
// form (text, choice, secret), validation with per-field messages, a verification that
// succeeds at once, and saved accounts (settings and a secret, kept by the host). The
// crate docs' "Write your first plugin" shows this file; the end-to-end tests build it
// as a cdylib (`cargo build -p atrs-host-sdk --example hello_plugin`) and load it
// beside Office 365, and `atrs-test-host check` passes on it.

use atrs_host_sdk::{
    export_plugin, ChoiceOption, FieldError, FieldKind, FixedSession, FormField, FormValues, Host,
    Integration, Manifest, PluginError, SessionState, Settings, VerificationSession,
    VerifiedAccount, VerifyMethod,
};

/// One Hello instance: the host's services and the values last verified.
pub struct Hello {
    host: Host,
    verified: Option<FormValues>,
}

impl Integration for Hello {
    fn manifest() -> Manifest {
        Manifest::new(
            "hello",
            "Hello (example)",
            "1.0.0",
            "ATRS SDK examples",
            "A minimal integration to copy: a form, a verification and saved accounts.",
        )
    }

    fn new(host: Host) -> Result<Self, PluginError> {
        Ok(Hello {
            host,
            verified: None,
        })
    }

    fn describe(&self) -> Vec<FormField> {
        let greetings = vec![
            ChoiceOption::new("hello", "Hello"),
            ChoiceOption::new("hi", "Hi"),
        ];
        vec![
            FormField::new("account_name", "Account name", FieldKind::Text)
                .required()
                .with_help("A name to recognise this account by."),
            FormField::new(
                "greeting",
                "Greeting",
                FieldKind::Choice {
                    options: greetings.into(),
                },
            )
            .with_default("hello"),
            FormField::new("api_key", "API key", FieldKind::Secret)
                .with_help("Optional; the host keeps it in its secrets store."),
        ]
    }

    fn validate(&self, values: &FormValues) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if values.get_trimmed("account_name").is_none() {
            errors.push(
                FieldError::new("account_name", "Account name is empty.")
                    .with_hint("Type a name to recognise this account by."),
            );
        }
        if let Some(other) = values
            .get_trimmed("greeting")
            .filter(|g| !["hello", "hi"].contains(g))
        {
            errors.push(
                FieldError::new("greeting", format!("Unknown greeting `{other}`."))
                    .with_hint("Choose hello or hi."),
            );
        }
        errors
    }

    fn start_verification(
        &mut self,
        values: &FormValues,
        _method: VerifyMethod,
    ) -> Result<Box<dyn VerificationSession>, PluginError> {
        if let Some(e) = self.validate(values).into_iter().next() {
            return Err(PluginError::invalid_input(e.message()).with_field(e.field()));
        }
        // A real integration signs in here; a session that is already over does for Hello.
        let name = values.get_trimmed("account_name").unwrap_or_default();
        self.verified = Some(values.clone());
        Ok(Box::new(FixedSession::new(SessionState::verified(
            VerifiedAccount {
                account_name: name.into(),
                user_principal_name: format!("{name}@hello.invalid").into(),
                display_name: name.into(),
                user_id: None.into(),
                tenant_id: "hello".into(),
                granted_scopes: Default::default(),
                missing_scopes: Default::default(),
            },
        ))))
    }

    fn save(&mut self, values: &FormValues) -> Result<(), PluginError> {
        if self.verified.as_ref() != Some(values) {
            return Err(
                PluginError::invalid_input("These values have not been verified.")
                    .with_hint("Click Verify, then Save & Close."),
            );
        }
        let name = values.get_trimmed("account_name").unwrap_or_default();
        let greeting = values.get_trimmed("greeting").unwrap_or("hello");
        self.host.settings_write(
            name,
            &Settings::from([("greeting".into(), greeting.into())]),
        )?;
        match values.get_trimmed("api_key") {
            Some(key) => self.host.secret_write(name, "api_key", key),
            None => self.host.secrets_remove(name),
        }
    }

    fn load_account(&self, account: &str) -> Result<FormValues, PluginError> {
        let settings = self
            .host
            .settings_read(account)?
            .ok_or_else(|| not_found(account))?;
        let mut values = FormValues::new().with("account_name", account);
        values.set(
            "greeting",
            settings.get("greeting").map_or("hello", String::as_str),
        );
        Ok(values)
    }

    fn remove_account(&mut self, account: &str) -> Result<(), PluginError> {
        self.host
            .settings_read(account)?
            .ok_or_else(|| not_found(account))?;
        self.host.secrets_remove(account)?;
        self.host.settings_remove(account)
    }

    fn close(&mut self) {
        self.verified = None;
    }
}

fn not_found(account: &str) -> PluginError {
    PluginError::invalid_input(format!("There is no Hello account named \"{account}\"."))
        .with_field("account_name")
        .with_hint("List the saved accounts and check the spelling.")
}

export_plugin!(Hello);
