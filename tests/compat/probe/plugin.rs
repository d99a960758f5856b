//! The compatibility matrix's probe plugin: one source, built against interface 1.0,
//! 1.1 and 2.0 (each in its own cargo workspace). It answers every call with something
//! a probe host can recognise, and under interface 1.1 also uses what 1.1 added: a
//! `FieldKind::Url` field and the `help_url` call.

use atrs_host_sdk::{
    export_plugin, AccessToken, ChoiceOption, FieldError, FieldKind, FixedSession, FormField,
    FormValues, Host, Integration, Manifest, PluginError, SessionState, Settings,
    VerificationSession, VerifiedAccount, VerifyMethod,
};

/// The probe integration.
pub struct Probe {
    host: Host,
}

/// The form values a saved account keeps.
const SAVED_KEYS: [&str; 2] = ["region", "homepage"];

impl Integration for Probe {
    fn manifest() -> Manifest {
        Manifest::new(
            "probe",
            "Probe",
            env!("CARGO_PKG_VERSION"),
            "ATRS compatibility matrix",
            "Answers every call so a host can tell what crossed the boundary.",
        )
    }

    fn new(host: Host) -> Result<Self, PluginError> {
        Ok(Probe { host })
    }

    fn describe(&self) -> Vec<FormField> {
        let regions = ["north", "south"]
            .iter()
            .map(|r| ChoiceOption::new(*r, *r))
            .collect();
        #[allow(unused_mut)]
        let mut fields = vec![
            FormField::new("account_name", "Account name", FieldKind::Text).required(),
            FormField::new("token", "Token", FieldKind::Secret),
            FormField::new("region", "Region", FieldKind::Choice { options: regions })
                .with_default("north"),
        ];
        #[cfg(feature = "interface_1_1")]
        fields.push(FormField::new("homepage", "Home page", FieldKind::Url));
        fields
    }

    fn validate(&self, values: &FormValues) -> Vec<FieldError> {
        match values.get_trimmed("account_name") {
            Some(_) => Vec::new(),
            None => vec![FieldError::new("account_name", "Account name is empty.")],
        }
    }

    fn start_verification(
        &mut self,
        values: &FormValues,
        _method: VerifyMethod,
    ) -> Result<Box<dyn VerificationSession>, PluginError> {
        let name = values.get_trimmed("account_name").unwrap_or("probe");
        let account = VerifiedAccount {
            account_name: name.into(),
            user_principal_name: "probe@example.invalid".into(),
            display_name: "Probe".into(),
            user_id: None.into(),
            tenant_id: "matrix".into(),
            granted_scopes: Default::default(),
            missing_scopes: Default::default(),
        };
        Ok(Box::new(FixedSession::new(SessionState::verified(account))))
    }

    fn save(&mut self, values: &FormValues) -> Result<(), PluginError> {
        let name = values
            .get_trimmed("account_name")
            .ok_or_else(|| PluginError::invalid_input("Account name is empty."))?;
        let settings: Settings = SAVED_KEYS
            .iter()
            .filter_map(|k| values.get(k).map(|v| (k.to_string(), v.to_owned())))
            .collect();
        self.host.settings_write(name, &settings)
    }

    fn load_account(&self, account: &str) -> Result<FormValues, PluginError> {
        let settings = self
            .host
            .settings_read(account)?
            .ok_or_else(|| PluginError::invalid_input("No such account."))?;
        let mut values = FormValues::new().with("account_name", account);
        for (k, v) in settings {
            values.set(k, v);
        }
        Ok(values)
    }

    fn remove_account(&mut self, account: &str) -> Result<(), PluginError> {
        self.host.secrets_remove(account)?;
        self.host.settings_remove(account)
    }

    fn access_token(&self, account: &str) -> Result<AccessToken, PluginError> {
        Ok(AccessToken {
            token: format!("probe-token-for-{account}").into(),
            expires_at: 4_102_444_800,
            scopes: Default::default(),
        })
    }

    #[cfg(feature = "interface_1_1")]
    fn help_url(&self) -> Option<String> {
        Some("https://example.invalid/probe/help".into())
    }
}

export_plugin!(Probe);
