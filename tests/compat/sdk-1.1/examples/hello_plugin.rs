// The example plugin: "Hello", a complete integration small enough to copy. A form
// (text, choice, secret), a sign-in that shows a code the way a device-code flow does,
// and saved accounts kept by the host. The SDK runs the session (poll, cancel, commit
// once) and keeps the save-only-what-was-verified rule. The crate docs show this file;
// the end-to-end tests build it as a cdylib and load it beside Office 365.

use std::time::Duration;

use atrs_host_sdk::prelude::*;

/// One Hello instance: the host's services and the values last verified.
pub struct Hello {
    host: Host,
    verified: VerifiedValues<()>,
}

impl Integration for Hello {
    fn manifest() -> Manifest {
        Manifest::new(
            "hello",
            "Hello (example)",
            "1.1.0",
            "ATRS SDK examples",
            "A minimal integration to copy.",
        )
    }

    fn new(host: Host) -> Result<Self, PluginError> {
        Ok(Hello {
            host,
            verified: VerifiedValues::new(),
        })
    }

    fn describe(&self) -> Vec<FormField> {
        let greetings = FieldKind::choice([("hello", "Hello"), ("hi", "Hi")]);
        vec![
            FormField::new(ACCOUNT_NAME, "Account name", FieldKind::Text).required(),
            FormField::new("greeting", "Greeting", greetings).with_default("hello"),
            FormField::new("api_key", "API key", FieldKind::Secret),
        ]
    }

    // `validate` is the SDK's default: every required field must be filled in.

    fn start_verification(
        &mut self,
        values: &FormValues,
        _: VerifyMethod,
    ) -> Result<Box<dyn VerificationSession>, PluginError> {
        let name = values
            .get_trimmed(ACCOUNT_NAME)
            .unwrap_or_default()
            .to_owned();
        let commit = self.verified.recorder(values.clone(), ());
        // The flow reads top to bottom; the SDK answers the host while it runs.
        let session = Session::spawn(self.host.clone(), "Contacting Hello…", move |r| {
            r.show_code(
                "HELLO-42",
                "https://hello.invalid/device",
                "Nothing to do: Hello approves by itself.",
                0,
            );
            r.pause(Duration::from_millis(300))?; // a real flow polls its provider here
            let who = VerifiedAccount::new(&name, format!("{name}@hello.invalid"), &name, "hello");
            Ok(Success::new(who, commit))
        })?;
        Ok(Box::new(session))
    }

    fn save(&mut self, values: &FormValues) -> Result<(), PluginError> {
        self.verified.take_for(values)?;
        let name = values.get_trimmed(ACCOUNT_NAME).unwrap_or_default();
        let greeting = values.get_trimmed("greeting").unwrap_or("hello");
        let settings = Settings::from([("greeting".into(), greeting.into())]);
        let secrets = values
            .get_trimmed("api_key")
            .map(|k| ("api_key".into(), k.into()));
        self.host
            .account_write(name, &settings, &secrets.into_iter().collect(), None)
    }

    fn load_account(&self, account: &str) -> Result<FormValues, PluginError> {
        let settings = self
            .host
            .settings_read(account)?
            .ok_or_else(|| not_found(account))?;
        let greeting = settings.get("greeting").map_or("hello", String::as_str);
        Ok(FormValues::new()
            .with(ACCOUNT_NAME, account)
            .with("greeting", greeting))
    }

    fn remove_account(&mut self, account: &str) -> Result<(), PluginError> {
        self.host
            .settings_read(account)?
            .ok_or_else(|| not_found(account))?;
        self.host.secrets_remove(account)?;
        self.host.settings_remove(account)
    }
}

fn not_found(account: &str) -> PluginError {
    PluginError::invalid_input(format!("There is no Hello account named \"{account}\"."))
        .with_field(ACCOUNT_NAME)
        .with_hint("List the saved accounts and check the spelling.")
}

export_plugin!(Hello);
