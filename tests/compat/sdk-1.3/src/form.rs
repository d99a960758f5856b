//! The account form: fields a plugin describes, values a host collects, per-field errors.

// abi_stable's StableAbi derive for non-exhaustive enums puts trait impls inside
// a const block, which this lint flags; the code is abi_stable's, not ours.
#![allow(non_local_definitions)]

use std::fmt;

use abi_stable::{
    std_types::{ROption, RString, RVec},
    StableAbi,
};

/// A named string, the unit of settings documents and extra details.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Eq, Debug)]
pub struct KeyValue {
    key: RString,
    value: RString,
}

impl KeyValue {
    /// A pair of `key` and `value`.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        KeyValue {
            key: RString::from(key.into()),
            value: RString::from(value.into()),
        }
    }

    /// The key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The value.
    pub fn value(&self) -> &str {
        &self.value
    }
}

/// One choice of a [`FieldKind::Choice`] field.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Eq, Debug)]
pub struct ChoiceOption {
    /// The value stored when this option is picked.
    pub value: RString,
    /// What the user sees.
    pub label: RString,
}

impl ChoiceOption {
    /// An option stored as `value` and shown as `label`.
    pub fn new(value: impl Into<String>, label: impl Into<String>) -> Self {
        ChoiceOption {
            value: RString::from(value.into()),
            label: RString::from(label.into()),
        }
    }
}

/// How a field is entered and shown.
///
/// Non-exhaustive across the ABI: a host that meets a kind it does not know shows the
/// field as [`FieldKind::Text`] (see [`FormField::kind`]).
#[repr(u8)]
#[derive(StableAbi, Clone, PartialEq, Debug)]
// 64 bytes of storage: room for later kinds that carry data (a number range, a pattern).
#[sabi(kind(WithNonExhaustive(size = [u64; 8], traits(Debug, Clone, PartialEq))))]
#[non_exhaustive]
pub enum FieldKind {
    /// Free text.
    Text,
    /// A secret: masked when typed, never shown again, stored in the secrets store.
    Secret,
    /// One of a fixed list of options.
    Choice {
        /// The options, in display order.
        options: RVec<ChoiceOption>,
    },
    /// Added in 1.3: a web address; a 1.0, 1.1 or 1.2 host shows it as text.
    Url,
}

impl FieldKind {
    /// A choice among `options`, each a stored value and the label shown for it.
    pub fn choice<'a>(options: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        FieldKind::Choice {
            options: options
                .into_iter()
                .map(|(value, label)| ChoiceOption::new(value, label))
                .collect(),
        }
    }
}

/// One field of the form a plugin shows under Add / Edit.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq)]
pub struct FormField {
    /// Stable identifier, used as the key of [`FormValues`]; unique and non-empty.
    pub key: RString,
    /// What the user sees next to the field.
    pub label: RString,
    kind: FieldKind_NE,
    /// Whether the form is incomplete without it.
    pub required: bool,
    /// The value the field starts with.
    pub default: ROption<RString>,
    /// An example shown in an empty field.
    pub placeholder: ROption<RString>,
    /// One sentence on where to find the value.
    pub help: ROption<RString>,
    /// Shown only when the user opens the advanced settings.
    pub advanced: bool,
}

impl FormField {
    /// A field named `key`, labelled `label`, of `kind`; optional and not advanced.
    pub fn new(key: impl Into<String>, label: impl Into<String>, kind: FieldKind) -> Self {
        FormField {
            key: RString::from(key.into()),
            label: RString::from(label.into()),
            kind: FieldKind_NE::new(kind),
            required: false,
            default: ROption::RNone,
            placeholder: ROption::RNone,
            help: ROption::RNone,
            advanced: false,
        }
    }

    /// Marks the field required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Marks the field advanced.
    pub fn advanced(mut self) -> Self {
        self.advanced = true;
        self
    }

    /// Sets the starting value.
    pub fn with_default(mut self, value: impl Into<String>) -> Self {
        self.default = ROption::RSome(RString::from(value.into()));
        self
    }

    /// Sets the example shown in the empty field.
    pub fn with_placeholder(mut self, value: impl Into<String>) -> Self {
        self.placeholder = ROption::RSome(RString::from(value.into()));
        self
    }

    /// Sets the help sentence.
    pub fn with_help(mut self, value: impl Into<String>) -> Self {
        self.help = ROption::RSome(RString::from(value.into()));
        self
    }

    /// The kind; one this host does not know is shown as [`FieldKind::Text`].
    pub fn kind(&self) -> FieldKind {
        self.kind.as_enum().cloned().unwrap_or(FieldKind::Text)
    }

    /// Whether the kind is one this host knows (false for kinds of a newer SDK).
    pub fn kind_is_known(&self) -> bool {
        self.kind.as_enum().is_ok()
    }

    /// Whether values of this field are secrets.
    pub fn is_secret(&self) -> bool {
        matches!(self.kind.as_enum(), Ok(FieldKind::Secret))
    }
}

impl fmt::Debug for FormField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FormField")
            .field("key", &self.key.as_str())
            .field("label", &self.label.as_str())
            .field("kind", &self.kind())
            .field("required", &self.required)
            .field("default", &self.default)
            .field("advanced", &self.advanced)
            .finish()
    }
}

/// What makes a form unusable for a host, one phrase per problem; empty when the form
/// is sound.
///
/// Empty, repeated or spaced keys make values impossible to tell apart or to type; a
/// choice without options, or with a default that is not an option, cannot be filled.
pub fn form_problems(fields: &[FormField]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut first_use: Vec<(&str, usize)> = Vec::new();
    for (index, field) in fields.iter().enumerate() {
        let n = index + 1;
        let key = field.key.as_str();
        if key.is_empty() {
            problems.push(format!("field {n} (\"{}\") has an empty key", field.label));
            continue;
        }
        if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
            problems.push(format!(
                "key {key:?} of field {n} contains white space or control characters"
            ));
        }
        match first_use.iter().find(|(k, _)| *k == key) {
            Some((_, first)) => {
                problems.push(format!("key `{key}` is used by fields {first} and {n}"))
            }
            None => first_use.push((key, n)),
        }
        if let Ok(FieldKind::Choice { options }) = field.kind.as_enum() {
            let default = field.default.as_ref().into_option();
            if options.is_empty() {
                problems.push(format!("choice `{key}` has no options"));
            } else if let Some(d) = default.filter(|d| !options.iter().any(|o| o.value == **d)) {
                problems.push(format!(
                    "the default `{d}` of choice `{key}` is not one of its options"
                ));
            }
        }
    }
    problems
}

/// One value the user entered.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Eq)]
pub struct FieldValue {
    key: RString,
    value: RString,
    secret: bool,
}

impl FieldValue {
    /// The field key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The value as entered.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether the value is a secret (never printed by `Debug`).
    pub fn is_secret(&self) -> bool {
        self.secret
    }
}

impl fmt::Debug for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value: &dyn fmt::Debug = if self.secret {
            &crate::secret::REDACTED
        } else {
            &self.value.as_str()
        };
        f.debug_struct("FieldValue")
            .field("key", &self.key.as_str())
            .field("value", value)
            .finish()
    }
}

/// The form key that holds an account's name, the name its settings and secrets are
/// saved under (by convention every integration's first field).
pub const ACCOUNT_NAME: &str = "account_name";

/// The values of a form, in entry order; secret values are redacted by `Debug`.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Eq, Default)]
pub struct FormValues {
    values: RVec<FieldValue>,
}

impl FormValues {
    /// No values.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a plain value, replacing an earlier value of the same key.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.insert(key.into(), value.into(), false)
    }

    /// Sets a secret value, replacing an earlier value of the same key.
    pub fn set_secret(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.insert(key.into(), value.into(), true)
    }

    /// Builder form of [`FormValues::set`].
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.set(key, value);
        self
    }

    fn insert(&mut self, key: String, value: String, secret: bool) -> &mut Self {
        let entry = FieldValue {
            key: RString::from(key),
            value: RString::from(value),
            secret,
        };
        match self.values.iter_mut().find(|v| v.key == entry.key) {
            Some(existing) => *existing = entry,
            None => self.values.push(entry),
        }
        self
    }

    /// Removes a value.
    pub fn remove(&mut self, key: &str) {
        self.values.retain(|v| v.key.as_str() != key);
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|v| v.key.as_str() == key)
            .map(FieldValue::value)
    }

    /// The value of `key` with surrounding white space removed; `None` when blank.
    pub fn get_trimmed(&self, key: &str) -> Option<&str> {
        self.get(key).map(str::trim).filter(|v| !v.is_empty())
    }

    /// Every value.
    pub fn iter(&self) -> impl Iterator<Item = &FieldValue> {
        self.values.iter()
    }

    /// How many values are set.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether no value is set.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

impl fmt::Debug for FormValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.values.iter()).finish()
    }
}

/// A problem with one field's value, shown next to that field.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Eq, Debug)]
pub struct FieldError {
    field: RString,
    message: RString,
    hint: ROption<RString>,
}

impl FieldError {
    /// `message` about the field `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: RString::from(field.into()),
            message: RString::from(message.into()),
            hint: ROption::RNone,
        }
    }

    /// Adds how to fix it.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = ROption::RSome(RString::from(hint.into()));
        self
    }

    /// The field key.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// How to fix it.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_ref().map(RString::as_str).into_option()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_replaces_and_get_trims() {
        let mut v = FormValues::new();
        v.set("a", " x ").set("a", "  y  ");
        assert_eq!(v.len(), 1);
        assert_eq!(v.get("a"), Some("  y  "));
        assert_eq!(v.get_trimmed("a"), Some("y"));
        v.set("b", "   ");
        assert_eq!(v.get_trimmed("b"), None);
        v.remove("a");
        assert_eq!(v.get("a"), None);
    }

    #[test]
    fn debug_redacts_secret_values() {
        let mut v = FormValues::new();
        v.set("client_id", "visible-id")
            .set_secret("client_secret", "hunter2-value");
        let shown = format!("{v:?}");
        assert!(shown.contains("visible-id"), "{shown}");
        assert!(!shown.contains("hunter2-value"), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
    }

    #[test]
    fn malformed_forms_are_described_problem_by_problem() {
        let choice = |options: Vec<ChoiceOption>| FieldKind::Choice {
            options: options.into(),
        };
        let fields = vec![
            FormField::new("name", "Name", FieldKind::Text),
            FormField::new("", "Nameless", FieldKind::Text),
            FormField::new("name", "Name again", FieldKind::Text),
            FormField::new("client id", "Client", FieldKind::Text),
            FormField::new("empty", "Empty", choice(vec![])),
            FormField::new("cloud", "Cloud", choice(vec![ChoiceOption::new("a", "A")]))
                .with_default("b"),
        ];
        assert_eq!(
            form_problems(&fields),
            [
                "field 2 (\"Nameless\") has an empty key",
                "key `name` is used by fields 1 and 3",
                "key \"client id\" of field 4 contains white space or control characters",
                "choice `empty` has no options",
                "the default `b` of choice `cloud` is not one of its options",
            ]
        );
        assert!(form_problems(&fields[..1]).is_empty());
    }

    #[test]
    fn unknown_kind_falls_back_to_text_and_secret_is_detected() {
        let f = FormField::new("s", "Secret", FieldKind::Secret);
        assert!(f.is_secret());
        assert!(f.kind_is_known());
        let c = FormField::new(
            "c",
            "Cloud",
            FieldKind::Choice {
                options: RVec::new(),
            },
        );
        assert!(!c.is_secret());
        assert_eq!(
            c.kind(),
            FieldKind::Choice {
                options: RVec::new()
            }
        );
    }
}
