//! Request bodies as Graph reads them: property and action-parameter names are matched
//! without regard to case (Graph's own samples send `{"Message": …, "SaveToSentItems": …}`
//! to `sendMail` and `{"AttachmentItem": …}` to `createUploadSession`), so each name is
//! rewritten to Graph's spelling before the body is read.

use serde_json::Value;

/// The names the mock reads, as Graph spells them.
const NAMES: &[&str] = &[
    "@microsoft.graph.conflictBehavior",
    "@odata.type",
    "address",
    "attachmentItem",
    "attachmentType",
    "attachments",
    "bccRecipients",
    "body",
    "ccRecipients",
    "content",
    "contentBytes",
    "contentType",
    "emailAddress",
    "from",
    "item",
    "message",
    "name",
    "saveToSentItems",
    "size",
    "subject",
    "toRecipients",
];

/// `value` with every object member that matches one of Graph's names (ignoring case)
/// renamed to Graph's spelling, at any depth. Other members are kept as sent.
pub(crate) fn canonical(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let name = NAMES
                        .iter()
                        .find(|n| n.eq_ignore_ascii_case(&k))
                        .map_or(k, |n| (*n).to_owned());
                    (name, canonical(v))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_are_matched_without_regard_to_case_at_any_depth() {
        let sent = json!({"Message": {"Subject": "s", "ToRecipients": [{"EmailAddress": {"ADDRESS": "a@b.c"}}]},
                          "SaveToSentItems": "false", "X-Custom": 1});
        assert_eq!(
            canonical(sent),
            json!({"message": {"subject": "s", "toRecipients": [{"emailAddress": {"address": "a@b.c"}}]},
                   "saveToSentItems": "false", "X-Custom": 1})
        );
    }
}
