//! Microsoft Graph files: every documented way to name a drive — `/me/drive`,
//! `/users/{id}/drive`, `/drives/{drive-id}`, `/sites/{site-id}/drive` (and
//! `/sites/{host}:/{path}:/drive`) — and its items ([`crate::drive_address`]): the drive and
//! item entities (`GET`), simple upload (`PUT …/content`), upload sessions
//! (`POST …/createUploadSession`), and the site lookup (`GET /sites/{host}:/{path}`).

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, HttpBody};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::bearer::{bearer, bearer_any, bearer_as, named_user, Resource};
use crate::defaults::{SITE_HOST, SITE_ID, SITE_PATH};
use crate::delivery_store::{
    drive_id, finish, folder_id, item_path, DeliveryStore, DriveItem, Session, Target,
    SESSION_LIFETIME,
};
use crate::directory::User;
use crate::drive_address::{self, Action, ItemRef};
use crate::errors::GraphError;
use crate::graph_call::Call;
use crate::graph_json::canonical;
use crate::ids;
use crate::state::{AccessToken, Shared};

/// The largest simple upload Graph takes (250 MB).
const SIMPLE_MAX: u64 = 250 * 1024 * 1024;

/// Permissions that let a token write the user's own drive.
const OWN_DRIVE: [&str; 3] = [
    "Files.ReadWrite",
    "Files.ReadWrite.All",
    "Sites.ReadWrite.All",
];
/// Permissions that let a token read the user's own drive.
const OWN_DRIVE_READ: [&str; 6] = [
    "Files.Read",
    "Files.Read.All",
    "Files.ReadWrite",
    "Files.ReadWrite.All",
    "Sites.Read.All",
    "Sites.ReadWrite.All",
];
/// Permissions that let a token write a site's drive.
const SITE_DRIVE: [&str; 2] = ["Sites.ReadWrite.All", "Files.ReadWrite.All"];
/// Permissions that let a token look a site (or its drive) up.
const SITE_READ: [&str; 4] = [
    "Sites.Read.All",
    "Sites.ReadWrite.All",
    "Files.Read.All",
    "Files.ReadWrite.All",
];

/// A drive a request addresses.
struct Drive {
    /// The delivery store's key: `me:{user id}` or the site id.
    key: String,
    /// `OneDrive` or `Documents`.
    name: &'static str,
    /// The web address of its root folder.
    web_root: String,
    /// The user whose OneDrive it is (`None`: the site's library).
    owner: Option<User>,
}

impl Drive {
    fn of_user(user: &User) -> Drive {
        Drive {
            key: format!("me:{}", user.id),
            name: "OneDrive",
            web_root: one_drive_root(user),
            owner: Some(user.clone()),
        }
    }

    fn of_site() -> Drive {
        Drive {
            key: SITE_ID.to_owned(),
            name: "Documents",
            web_root: format!("https://{SITE_HOST}{SITE_PATH}/Shared%20Documents"),
            owner: None,
        }
    }

    /// Whether `token` may read it (`write`: write it).
    fn allows(&self, token: &AccessToken, write: bool) -> bool {
        let any: &[&str] = match (&self.owner, write) {
            (Some(_), true) => &OWN_DRIVE,
            (Some(_), false) => &OWN_DRIVE_READ,
            (None, true) => &SITE_DRIVE,
            (None, false) => &SITE_READ,
        };
        any.iter().any(|p| token.grant.has(p))
    }

    /// The drive entity.
    fn to_graph(&self) -> serde_json::Value {
        let owner = match &self.owner {
            Some(u) => json!({"user": {"id": u.id, "displayName": u.display_name}}),
            None => json!({"group": {"displayName": "Reports"}}),
        };
        json!({
            "id": drive_id(&self.key),
            "driveType": "business",
            "name": self.name,
            "webUrl": self.web_root,
            "owner": owner,
        })
    }
}

/// The request a drive handler serves.
struct DriveCall<'a> {
    shared: &'a Shared,
    method: Method,
    rest: String,
    query: Option<String>,
    headers: &'a HeaderMap,
    body: Body,
}

/// `/v1.0/me/drive`.
pub(crate) async fn me_drive_itself(
    State(shared): State<Arc<Shared>>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    me_drive(
        State(shared),
        method,
        Path(String::new()),
        RawQuery(query),
        headers,
        body,
    )
    .await
}

/// `/v1.0/me/drive/{*rest}`.
pub(crate) async fn me_drive(
    State(shared): State<Arc<Shared>>,
    method: Method,
    Path(rest): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let call = Call::of(&headers);
    let request = DriveCall {
        shared: &shared,
        method,
        rest,
        query,
        headers: &headers,
        body,
    };
    let result = async {
        let (user, token) = bearer(&shared, &headers, &OWN_DRIVE_READ)?;
        serve(request, &call, &Drive::of_user(&user), &token).await
    }
    .await;
    result.unwrap_or_else(|e| call.fail(e))
}

/// `/v1.0/users/{user}/drive`.
pub(crate) async fn user_drive_itself(
    State(shared): State<Arc<Shared>>,
    method: Method,
    Path(user): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    user_drive(
        State(shared),
        method,
        Path((user, String::new())),
        RawQuery(query),
        headers,
        body,
    )
    .await
}

/// `/v1.0/users/{user}/drive/{*rest}`: the signed-in user's own drive by id, UPN or mail;
/// another user's OneDrive is not shared with them. An app token with a files role reaches
/// any user's OneDrive.
pub(crate) async fn user_drive(
    State(shared): State<Arc<Shared>>,
    method: Method,
    Path((who, rest)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let call = Call::of(&headers);
    let request = DriveCall {
        shared: &shared,
        method,
        rest,
        query,
        headers: &headers,
        body,
    };
    let result = async {
        let (user, token) = bearer_as(
            &shared,
            &headers,
            (&who, Resource::Other),
            &OWN_DRIVE_READ,
            GraphError::access_denied,
        )?;
        let named = named_user(&shared, &who)?;
        if named.id != user.id {
            return Err(GraphError::access_denied());
        }
        serve(request, &call, &Drive::of_user(&user), &token).await
    }
    .await;
    result.unwrap_or_else(|e| call.fail(e))
}

/// `/v1.0/drives/{drive}`.
pub(crate) async fn drive_by_id_itself(
    State(shared): State<Arc<Shared>>,
    method: Method,
    Path(drive): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    drive_by_id(
        State(shared),
        method,
        Path((drive, String::new())),
        RawQuery(query),
        headers,
        body,
    )
    .await
}

/// `/v1.0/drives/{drive}/{*rest}`: the signed-in user's OneDrive or the site's library by
/// drive id.
pub(crate) async fn drive_by_id(
    State(shared): State<Arc<Shared>>,
    method: Method,
    Path((id, rest)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let call = Call::of(&headers);
    let request = DriveCall {
        shared: &shared,
        method,
        rest,
        query,
        headers: &headers,
        body,
    };
    let result = async {
        let mut any: Vec<&str> = OWN_DRIVE_READ.to_vec();
        any.extend(SITE_READ);
        let (user, token) = bearer_any(&shared, &headers, &any)?;
        let owner_of = |u: &User| drive_id(&format!("me:{}", u.id)) == id;
        let drive = if drive_id(SITE_ID) == id {
            Drive::of_site()
        } else if let Some(user) = user.as_ref().filter(|u| owner_of(u)) {
            Drive::of_user(user)
        } else if let Some(owner) = shared
            .dir()
            .users
            .iter()
            .find(|u| user.is_none() && owner_of(u))
        {
            Drive::of_user(owner)
        } else if shared
            .dir()
            .users
            .iter()
            .any(|u| drive_id(&format!("me:{}", u.id)) == id)
        {
            return Err(GraphError::access_denied());
        } else {
            return Err(GraphError::new(
                StatusCode::NOT_FOUND,
                "itemNotFound",
                "The resource could not be found.",
            ));
        };
        serve(request, &call, &drive, &token).await
    }
    .await;
    result.unwrap_or_else(|e| call.fail(e))
}

/// `/v1.0/sites/{*rest}`: the site lookup, or its drive.
pub(crate) async fn sites(
    State(shared): State<Arc<Shared>>,
    method: Method,
    Path(rest): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let call = Call::of(&headers);
    let (site, drive_rest) = split_site(&rest);
    let request = DriveCall {
        shared: &shared,
        method,
        rest: drive_rest.unwrap_or_default().to_owned(),
        query,
        headers: &headers,
        body,
    };
    let result = async {
        let (_, token) = bearer_any(&shared, &headers, &SITE_READ)?;
        if !is_the_site(site) {
            return Err(GraphError::new(
                StatusCode::NOT_FOUND,
                "itemNotFound",
                "Requested site could not be found",
            ));
        }
        if drive_rest.is_some() {
            return serve(request, &call, &Drive::of_site(), &token).await;
        }
        if request.method != Method::GET {
            return Err(bad_request("Only GET is supported on a site."));
        }
        Ok(call.json(
            StatusCode::OK,
            &json!({
                "id": SITE_ID,
                "name": "Reports",
                "displayName": "Reports",
                "webUrl": format!("https://{SITE_HOST}{SITE_PATH}"),
            }),
        ))
    }
    .await;
    result.unwrap_or_else(|e| call.fail(e))
}

/// `{site}` and, when the request goes on to the site's drive, what follows `drive`.
fn split_site(rest: &str) -> (&str, Option<&str>) {
    // `{host}:/{path}:/drive/…` or `{site-id}/drive/…`
    let first = rest.split('/').next().unwrap_or(rest);
    let (site, after) = if first.ends_with(':') {
        let tail = rest.get(first.len() + 1..).unwrap_or_default();
        match tail.split_once(':') {
            Some((path, after)) => (&rest[..first.len() + 1 + path.len()], after),
            None => (rest, ""),
        }
    } else {
        (first, &rest[first.len()..])
    };
    let after = after.trim_start_matches('/');
    match after.split_once('/') {
        Some((seg, tail)) if seg.eq_ignore_ascii_case("drive") => (site, Some(tail)),
        None if after.eq_ignore_ascii_case("drive") => (site, Some("")),
        _ => (site, None),
    }
}

/// Whether `site` names the mock's one site, by id or by `{host}:/{path}`.
fn is_the_site(site: &str) -> bool {
    if site.eq_ignore_ascii_case(SITE_ID) {
        return true;
    }
    site.split_once(":/").is_some_and(|(host, path)| {
        host.eq_ignore_ascii_case(SITE_HOST)
            && format!("/{}", path.trim_matches('/')).eq_ignore_ascii_case(SITE_PATH)
    })
}

/// Serve an item address on `drive`.
async fn serve(
    request: DriveCall<'_>,
    call: &Call,
    drive: &Drive,
    token: &AccessToken,
) -> Result<Response, GraphError> {
    let address = drive_address::parse(&request.rest).map_err(|segment| {
        GraphError::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("Resource not found for the segment '{segment}'."),
        )
    })?;
    let write = request.method != Method::GET;
    if !drive.allows(token, write) {
        return Err(GraphError::access_denied());
    }
    match (&request.method, &address.item, address.action) {
        (&Method::GET, ItemRef::Drive, None) => Ok(call.json(StatusCode::OK, &drive.to_graph())),
        (&Method::GET, item, None) => {
            let store = request.shared.deliveries();
            let found = entity(&store, drive, item)?;
            Ok(call.json(StatusCode::OK, &found))
        }
        (&Method::PUT, item, Some(Action::Content)) => {
            let target = write_target(&request.shared.deliveries(), drive, item)?;
            // Graph documents `replace` as the default for PUT.
            let conflict = conflict_in_query(request.query.as_deref())
                .unwrap_or_else(|| "replace".to_owned());
            simple_upload(request, call, drive, target, &conflict).await
        }
        (&Method::POST, item, Some(Action::CreateUploadSession)) => {
            let target = write_target(&request.shared.deliveries(), drive, item)?;
            create_session(request, call, drive, target).await
        }
        (method, _, _) => Err(bad_request(&format!(
            "{method} is not supported on this address; use GET for the drive or an item, PUT …/content, or POST …/createUploadSession."
        ))),
    }
}

/// The `@microsoft.graph.conflictBehavior` query option, if sent (its name in any case).
fn conflict_in_query(query: Option<&str>) -> Option<String> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k.eq_ignore_ascii_case("@microsoft.graph.conflictBehavior"))
        .map(|(_, v)| v.into_owned())
}

/// The driveItem entity an item address names.
fn entity(
    store: &DeliveryStore,
    drive: &Drive,
    item: &ItemRef,
) -> Result<serde_json::Value, GraphError> {
    let path = match item {
        ItemRef::Drive | ItemRef::Root => String::new(),
        ItemRef::Path(p) => p.clone(),
        ItemRef::Id(id) => {
            if let Some(file) = store.file_by_id(&drive.key, id) {
                return Ok(file.to_graph());
            }
            store
                .folder_by_id(&drive.key, id)
                .ok_or_else(item_not_found)?
        }
        ItemRef::Under { parent, path } => {
            let base = store
                .folder_by_id(&drive.key, parent)
                .ok_or_else(item_not_found)?;
            item_path(&base, path)
        }
    };
    if let Some(file) = store.file_at(&drive.key, &path) {
        return Ok(file.to_graph());
    }
    if !store.folders(&drive.key).contains(&path) {
        return Err(item_not_found());
    }
    Ok(folder_entity(store, drive, &path))
}

/// A folder (or the root) as a driveItem.
fn folder_entity(store: &DeliveryStore, drive: &Drive, path: &str) -> serde_json::Value {
    let mut v = json!({
        "id": folder_id(&drive.key, path),
        "name": path.rsplit('/').next().filter(|n| !n.is_empty()).unwrap_or("root"),
        "webUrl": if path.is_empty() { drive.web_root.clone() } else { format!("{}/{path}", drive.web_root) },
        "folder": {"childCount": store.child_count(&drive.key, path)},
    });
    if path.is_empty() {
        v["root"] = json!({});
        v["parentReference"] = json!({"driveId": drive_id(&drive.key), "driveType": "business"});
    } else {
        let parent = path.rsplit_once('/').map_or("", |(p, _)| p);
        v["parentReference"] = json!({
            "driveId": drive_id(&drive.key),
            "driveType": "business",
            "id": folder_id(&drive.key, parent),
            "path": format!("/drive/root:/{parent}"),
        });
    }
    v
}

/// Where a write goes.
struct WriteTarget {
    folder: String,
    name: String,
    /// Named by its own item id: an existing file whose content is replaced.
    existing: bool,
}

/// The file a `PUT …/content` or `createUploadSession` writes.
fn write_target(
    store: &DeliveryStore,
    drive: &Drive,
    item: &ItemRef,
) -> Result<WriteTarget, GraphError> {
    let path = match item {
        ItemRef::Drive | ItemRef::Root => {
            return Err(bad_request(
                "The root folder has no content: name a file under it (root:/{name}:).",
            ))
        }
        ItemRef::Path(p) => p.clone(),
        ItemRef::Id(id) => {
            if let Some(file) = store.file_by_id(&drive.key, id) {
                return Ok(WriteTarget {
                    folder: file.folder.clone(),
                    name: file.name.clone(),
                    existing: true,
                });
            }
            if store.folder_by_id(&drive.key, id).is_some() {
                return Err(bad_request(
                    "The item is a folder: name a file under it (items/{parent-id}:/{name}:).",
                ));
            }
            return Err(item_not_found());
        }
        ItemRef::Under { parent, path } => {
            if store.file_by_id(&drive.key, parent).is_some() {
                return Err(bad_request("The parent item is a file, not a folder."));
            }
            let base = store
                .folder_by_id(&drive.key, parent)
                .ok_or_else(item_not_found)?;
            item_path(&base, path)
        }
    };
    let (folder, name) = match path.rsplit_once('/') {
        Some((f, n)) => (f.to_owned(), n.to_owned()),
        None => (String::new(), path),
    };
    if name.is_empty() {
        return Err(bad_request("The item path names no file."));
    }
    Ok(WriteTarget {
        folder,
        name,
        existing: false,
    })
}

/// `POST …/createUploadSession` with an optional `{"item": {…}}` body. A new item's
/// `conflictBehavior` defaults to `fail`, as Graph documents.
async fn create_session(
    request: DriveCall<'_>,
    call: &Call,
    drive: &Drive,
    target: WriteTarget,
) -> Result<Response, GraphError> {
    let bytes = axum::body::to_bytes(request.body, 64 * 1024)
        .await
        .map_err(|_| bad_request("The request body is too large."))?;
    let wire: serde_json::Value = if bytes.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(&bytes)
            .map(canonical)
            .map_err(|e| bad_request(&format!("Cannot read the request body: {e}")))?
    };
    let conflict = match wire["item"]["@microsoft.graph.conflictBehavior"].as_str() {
        Some(c) => c.to_owned(),
        None => conflict_in_query(request.query.as_deref())
            .unwrap_or_else(|| if target.existing { "replace" } else { "fail" }.to_owned()),
    };
    check_conflict(&conflict)?;
    let WriteTarget { folder, name, .. } = target;
    let mut store = request.shared.deliveries();
    let resolved = store
        .resolve_name(&drive.key, &folder, &name, &conflict, 0)
        .map_err(|r| r.into_graph())?;
    let id = ids::opaque(32);
    store.sessions.insert(
        id.clone(),
        Session {
            target: Target::Drive {
                drive: drive.key.clone(),
                folder,
                name: resolved,
                conflict,
                web_root: drive.web_root.clone(),
            },
            size: None,
            next: 0,
            hasher: Sha256::new(),
            expires: Instant::now() + SESSION_LIFETIME,
        },
    );
    store.counters.sessions_created += 1;
    let expires = chrono::Utc::now() + SESSION_LIFETIME;
    Ok(call.json(
        StatusCode::OK,
        &json!({
            "uploadUrl": format!("{}/upload/{id}", request.shared.base_url),
            "expirationDateTime": expires.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "nextExpectedRanges": ["0-"],
        }),
    ))
}

/// `PUT …/content`: the whole file in one request.
async fn simple_upload(
    request: DriveCall<'_>,
    call: &Call,
    drive: &Drive,
    target: WriteTarget,
    conflict: &str,
) -> Result<Response, GraphError> {
    let DriveCall {
        shared,
        headers,
        mut body,
        ..
    } = request;
    let WriteTarget { folder, name, .. } = target;
    check_conflict(conflict)?;
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    if declared > SIMPLE_MAX {
        return Err(GraphError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "requestTooLarge",
            "Simple uploads are limited to 250 MB; use an upload session.",
        ));
    }
    shared
        .deliveries()
        .resolve_name(&drive.key, &folder, &name, conflict, declared)
        .map_err(|r| r.into_graph())?;
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    while let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|_| bad_request("The request body broke off."))?;
        if let Ok(data) = frame.into_data() {
            size += data.len() as u64;
            if size > SIMPLE_MAX {
                return Err(bad_request("Simple uploads are limited to 250 MB."));
            }
            hasher.update(&data);
        }
    }
    let mut store = shared.deliveries();
    let resolved = store
        .resolve_name(&drive.key, &folder, &name, conflict, size)
        .map_err(|r| r.into_graph())?;
    let created = !store
        .items
        .contains_key(&(drive.key.clone(), item_path(&folder, &resolved)));
    let item = store.put_item(DriveItem {
        id: ids::opaque(24),
        web_url: format!("{}/{}", drive.web_root, item_path(&folder, &resolved)),
        drive: drive.key.clone(),
        folder,
        name: resolved,
        size,
        sha256: finish(hasher),
        via: "simple",
    });
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(call.json(status, &item.to_graph()))
}

fn check_conflict(conflict: &str) -> Result<(), GraphError> {
    match conflict {
        "replace" | "rename" | "fail" => Ok(()),
        other => Err(bad_request(&format!(
            "'{other}' is not a conflictBehavior: use replace, rename or fail."
        ))),
    }
}

/// `https://contoso-my.sharepoint.com/personal/adele_vance_contoso_onmicrosoft_com/Documents`.
fn one_drive_root(user: &User) -> String {
    let personal: String = user
        .upn
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("https://contoso-my.sharepoint.com/personal/{personal}/Documents")
}

fn item_not_found() -> GraphError {
    GraphError::new(
        StatusCode::NOT_FOUND,
        "itemNotFound",
        "The resource could not be found.",
    )
}

fn bad_request(message: &str) -> GraphError {
    GraphError::new(StatusCode::BAD_REQUEST, "invalidRequest", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_addresses_split_into_site_and_drive() {
        assert_eq!(split_site(SITE_ID), (SITE_ID, None));
        let by_id = format!("{SITE_ID}/drive/root:/a.pdf:/content");
        assert_eq!(split_site(&by_id), (SITE_ID, Some("root:/a.pdf:/content")));
        assert_eq!(split_site(&format!("{SITE_ID}/drive")), (SITE_ID, Some("")));
        let by_path = format!("{SITE_HOST}:{SITE_PATH}:/drive/items/X");
        let (site, rest) = split_site(&by_path);
        assert!(is_the_site(site), "{site}");
        assert_eq!(rest, Some("items/X"));
        let lookup = format!("{SITE_HOST}:{SITE_PATH}");
        assert_eq!(split_site(&lookup), (lookup.as_str(), None));
        assert!(is_the_site(&lookup));
        assert!(!is_the_site("contoso.sharepoint.com:/sites/Nope"));
    }
}
