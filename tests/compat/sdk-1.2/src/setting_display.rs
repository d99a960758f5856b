//! How hosts show an account's saved settings (added in 1.2): a label for each key,
//! and whether a value is text, a date, a web address, or the plugin's own
//! bookkeeping that people need not see.
//!
//! A plugin lists what it wants shown differently from plain `key: value` in
//! [`crate::Integration::settings_display`]; a key it does not list is shown as text
//! under its own name. Hosts built before 1.2 (and hosts asking a plugin built before
//! it) fall back to their own rules — the reference host shows a `*_at` value of Unix
//! seconds as a date and hides a few internal keys (see [`SettingDisplay::fallback`]).

// abi_stable's StableAbi derive for non-exhaustive enums puts trait impls inside
// a const block, which this lint flags; the code is abi_stable's, not ours.
#![allow(non_local_definitions)]

use abi_stable::{std_types::RString, StableAbi};

/// What a setting's value is, for showing it.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq)]
#[sabi(kind(WithNonExhaustive(size = [u64; 1], traits(Debug, Clone, PartialEq))))]
#[non_exhaustive]
pub enum ShownAs {
    /// As it is.
    Text,
    /// Unix seconds, shown as a local date and time and how long ago or until.
    Date,
    /// A web address, shown so it can be opened.
    Url,
    /// The plugin's bookkeeping: shown only when the user asks for everything.
    Hidden,
}

impl ShownAs {
    /// The name used in JSON (`text`, `date`, `url`, `hidden`).
    pub fn name(self) -> &'static str {
        match self {
            ShownAs::Text => "text",
            ShownAs::Date => "date",
            ShownAs::Url => "url",
            ShownAs::Hidden => "hidden",
        }
    }
}

/// How one saved setting is shown: its label and what its value is.
///
/// A host that meets a [`ShownAs`] it does not know shows the value as text.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct SettingDisplay {
    /// The setting's key, as saved.
    pub key: RString,
    /// What people see instead of the key (`Client secret expires`).
    pub label: RString,
    shown_as: ShownAs_NE,
}

impl SettingDisplay {
    /// The setting `key`, labelled `label`, shown as `shown_as`.
    pub fn new(key: impl Into<String>, label: impl Into<String>, shown_as: ShownAs) -> Self {
        SettingDisplay {
            key: key.into().into(),
            label: label.into().into(),
            shown_as: ShownAs_NE::new(shown_as),
        }
    }

    /// What the value is; [`ShownAs::Text`] for a kind this side does not know.
    pub fn shown_as(&self) -> ShownAs {
        self.shown_as.as_enum().copied().unwrap_or(ShownAs::Text)
    }

    /// How a host shows `key` when the plugin did not say: a `*_at` key as a date,
    /// a value starting `https://` as a web address, anything else as text, each
    /// under its own key.
    pub fn fallback(key: &str, value: &str) -> Self {
        let shown_as = if key.ends_with("_at") && value.parse::<i64>().is_ok() {
            ShownAs::Date
        } else if value.starts_with("https://") {
            ShownAs::Url
        } else {
            ShownAs::Text
        };
        SettingDisplay::new(key, key, shown_as)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_reads_dates_and_addresses_from_the_key_and_value() {
        assert_eq!(
            SettingDisplay::fallback("verified_at", "1765000000").shown_as(),
            ShownAs::Date
        );
        assert_eq!(
            SettingDisplay::fallback("verified_at", "yesterday").shown_as(),
            ShownAs::Text
        );
        assert_eq!(
            SettingDisplay::fallback("authority", "https://login.example").shown_as(),
            ShownAs::Url
        );
        let plain = SettingDisplay::fallback("tenant_id", "contoso.com");
        assert_eq!(
            (plain.label.as_str(), plain.shown_as()),
            ("tenant_id", ShownAs::Text)
        );
        assert_eq!(ShownAs::Hidden.name(), "hidden");
    }
}
