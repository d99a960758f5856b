// The example plugin: "Hello", a complete integration small enough to copy. A form
// (text, choice, secret), a sign-in that shows a code the way a device-code flow does,
// and saved accounts kept by the host. The SDK runs the session (poll, cancel, commit
// once), keeps the save-only-what-was-verified rule, and stores the form (FormStore:
// no save, load or remove to write). The crate docs show this file; the end-to-end
// tests build it as a cdylib and load it beside Office 365.

use std::time::Duration;

use atrs_host_sdk::prelude::*;

/// One Hello instance: its saved accounts, kept as its form by the host.
pub struct Hello {
    store: FormStore,
}

impl Integration for Hello {
    fn manifest() -> Manifest {
        let about = "A minimal integration to copy.";
        Manifest::new(
            "hello",
            "Hello (example)",
            "1.2.0",
            "ATRS SDK examples",
            about,
        )
    }

    fn new(host: Host) -> Result<Self, PluginError> {
        let greetings = FieldKind::choice([("hello", "Hello"), ("hi", "Hi")]);
        let fields = vec![
            FormField::new(ACCOUNT_NAME, "Account name", FieldKind::Text).required(),
            FormField::new("greeting", "Greeting", greetings).with_default("hello"),
            FormField::new("api_key", "API key", FieldKind::Secret),
        ];
        Ok(Hello {
            store: FormStore::new(host, fields),
        })
    }

    // `describe` and `validate` are the SDK's defaults: the FormStore's fields, and
    // every required field filled in.

    fn start_verification(
        &mut self,
        values: &FormValues,
        _: VerifyMethod,
    ) -> Result<Box<dyn VerificationSession>, PluginError> {
        let name = values
            .get_trimmed(ACCOUNT_NAME)
            .unwrap_or_default()
            .to_owned();
        // A flow that uses the API key reads it from `self.store.with_saved_secrets(values)?`:
        // left empty on Re-verify, it is the saved one.
        let commit = self.store.recorder(values);
        // The flow reads top to bottom; the SDK answers the host while it runs.
        let session = Session::spawn(self.store.host().clone(), "Contacting Hello…", move |r| {
            let about = "Nothing to do: Hello approves by itself.";
            r.show_code("HELLO-42", "https://hello.invalid/device", about, 0);
            r.pause(Duration::from_millis(300))?; // a real flow polls its provider here
            let who = VerifiedAccount::new(&name, format!("{name}@hello.invalid"), &name, "hello");
            Ok(Success::new(who, commit))
        })?;
        Ok(Box::new(session))
    }

    fn verify_methods(&self) -> Vec<VerifyMethod> {
        vec![VerifyMethod::DeviceCode] // the host offers no browser sign-in
    }

    fn form_store(&self) -> Option<&FormStore> {
        Some(&self.store) // save, Edit, Re-verify, rename and remove come from here
    }
}

export_plugin!(Hello);
