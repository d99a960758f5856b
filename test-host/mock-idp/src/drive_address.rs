//! How a request names a drive item after the drive's own segments (`/me/drive`,
//! `/users/{id}/drive`, `/drives/{id}`, `/sites/{id}/drive`), in Graph's documented forms:
//! `root`, `root:/{path}:`, `items/{item-id}` and `items/{parent-id}:/{path}:`, each optionally
//! followed by an action (`/content`, `/createUploadSession`). Keywords are matched without
//! regard to case, as Graph does.

/// The item a request names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ItemRef {
    /// No item: the drive itself.
    Drive,
    /// `root` (or `root:` with an empty path).
    Root,
    /// `root:/{path}:`, the path without leading or trailing `/`.
    Path(String),
    /// `items/{item-id}`.
    Id(String),
    /// `items/{parent-id}:/{path}:`.
    Under {
        /// The parent folder's item id.
        parent: String,
        /// The path below it.
        path: String,
    },
}

/// What an action segment asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// `/content`.
    Content,
    /// `/createUploadSession`.
    CreateUploadSession,
}

/// A parsed item address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Address {
    /// Which item.
    pub item: ItemRef,
    /// Which action, if any.
    pub action: Option<Action>,
}

/// Parse what follows the drive's segments (already percent-decoded). `Err` carries the
/// segment Graph would name in "Resource not found for the segment '…'".
pub(crate) fn parse(rest: &str) -> Result<Address, String> {
    let rest = rest.trim_start_matches('/');
    if rest.is_empty() {
        return Ok(Address {
            item: ItemRef::Drive,
            action: None,
        });
    }
    let (head, tail) = match rest.find([':', '/']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if head.eq_ignore_ascii_case("root") {
        if let Some(path_form) = tail.strip_prefix(':') {
            let (path, action) = split_path(path_form)?;
            let item = if path.is_empty() {
                ItemRef::Root
            } else {
                ItemRef::Path(path)
            };
            return Ok(Address { item, action });
        }
        return Ok(Address {
            item: ItemRef::Root,
            action: action_after(tail)?,
        });
    }
    if head.eq_ignore_ascii_case("items") {
        let after = tail.strip_prefix('/').unwrap_or_default();
        let (id, tail) = match after.find([':', '/']) {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, ""),
        };
        if id.is_empty() {
            return Err("items".to_owned());
        }
        if let Some(path_form) = tail.strip_prefix(':') {
            let (path, action) = split_path(path_form)?;
            let item = if path.is_empty() {
                ItemRef::Id(id.to_owned())
            } else {
                ItemRef::Under {
                    parent: id.to_owned(),
                    path,
                }
            };
            return Ok(Address { item, action });
        }
        return Ok(Address {
            item: ItemRef::Id(id.to_owned()),
            action: action_after(tail)?,
        });
    }
    Err(head.to_owned())
}

/// `/{path}`, `/{path}:` or `/{path}:/{action}` → the trimmed path and the action.
fn split_path(form: &str) -> Result<(String, Option<Action>), String> {
    let (path, action) = match form.rsplit_once(":/") {
        Some((p, a)) => (p, action_after(&format!("/{a}"))?),
        None => (form.strip_suffix(':').unwrap_or(form), None),
    };
    Ok((path.trim_matches('/').to_owned(), action))
}

/// `""` → none, `/content` → [`Action::Content`], …; anything else is an unknown segment.
fn action_after(tail: &str) -> Result<Option<Action>, String> {
    let name = tail.strip_prefix('/').unwrap_or(tail);
    if name.is_empty() {
        return Ok(None);
    }
    if name.eq_ignore_ascii_case("content") {
        Ok(Some(Action::Content))
    } else if name.eq_ignore_ascii_case("createUploadSession") {
        Ok(Some(Action::CreateUploadSession))
    } else {
        Err(name.split('/').next().unwrap_or(name).to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(rest: &str) -> (ItemRef, Option<Action>) {
        let a = parse(rest).unwrap_or_else(|e| panic!("{rest}: {e}"));
        (a.item, a.action)
    }

    #[test]
    fn every_documented_form_parses() {
        assert_eq!(ok(""), (ItemRef::Drive, None));
        assert_eq!(ok("root"), (ItemRef::Root, None));
        assert_eq!(ok("root:"), (ItemRef::Root, None));
        assert_eq!(
            ok("root:/Reports/a b.pdf:"),
            (ItemRef::Path("Reports/a b.pdf".into()), None)
        );
        assert_eq!(
            ok("root:/Reports/a.pdf"),
            (ItemRef::Path("Reports/a.pdf".into()), None)
        );
        assert_eq!(
            ok("root:/Reports/a.pdf:/content"),
            (ItemRef::Path("Reports/a.pdf".into()), Some(Action::Content))
        );
        assert_eq!(
            ok("ROOT:/a.pdf:/createuploadsession"),
            (
                ItemRef::Path("a.pdf".into()),
                Some(Action::CreateUploadSession)
            )
        );
        assert_eq!(ok("items/X1"), (ItemRef::Id("X1".into()), None));
        assert_eq!(
            ok("items/X1/content"),
            (ItemRef::Id("X1".into()), Some(Action::Content))
        );
        assert_eq!(
            ok("items/X1/createUploadSession"),
            (ItemRef::Id("X1".into()), Some(Action::CreateUploadSession))
        );
        assert_eq!(
            ok("items/P:/n.pdf:/content"),
            (
                ItemRef::Under {
                    parent: "P".into(),
                    path: "n.pdf".into()
                },
                Some(Action::Content)
            )
        );
        assert_eq!(
            ok("items/P:/sub/n.pdf:"),
            (
                ItemRef::Under {
                    parent: "P".into(),
                    path: "sub/n.pdf".into()
                },
                None
            )
        );
    }

    #[test]
    fn unknown_segments_are_named() {
        assert_eq!(parse("children").unwrap_err(), "children");
        assert_eq!(parse("root/thumbnails").unwrap_err(), "thumbnails");
        assert_eq!(parse("items/X/permissions").unwrap_err(), "permissions");
        assert_eq!(parse("root:/a.pdf:/preview").unwrap_err(), "preview");
        assert_eq!(parse("items/").unwrap_err(), "items");
    }
}
