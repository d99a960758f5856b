//! Microsoft Graph files: OneDrive (`/me/drive`) and one SharePoint site (`/sites/…`).
//! Simple upload (`PUT …:/content`), upload sessions (`POST …:/createUploadSession`) and the
//! site lookup (`GET /sites/{host}:/{path}`).

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

use crate::bearer::bearer;
use crate::defaults::{SITE_HOST, SITE_ID, SITE_PATH};
use crate::delivery_store::{finish, item_path, DriveItem, Session, Target, SESSION_LIFETIME};
use crate::directory::User;
use crate::errors::GraphError;
use crate::graph_call::Call;
use crate::ids;
use crate::params::Params;
use crate::state::Shared;

/// The largest simple upload Graph takes (250 MB).
const SIMPLE_MAX: u64 = 250 * 1024 * 1024;

/// Permissions that let a token write the user's own drive.
const OWN_DRIVE: [&str; 3] = [
    "Files.ReadWrite",
    "Files.ReadWrite.All",
    "Sites.ReadWrite.All",
];
/// Permissions that let a token write a site's drive.
const SITE_DRIVE: [&str; 2] = ["Sites.ReadWrite.All", "Files.ReadWrite.All"];
/// Permissions that let a token look a site up.
const SITE_READ: [&str; 3] = [
    "Sites.Read.All",
    "Sites.ReadWrite.All",
    "Files.ReadWrite.All",
];

/// Which drive a request addresses.
struct Drive {
    key: String,
    web_root: String,
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
    let result = async {
        let (user, _) = bearer(&shared, &headers, &OWN_DRIVE)?;
        let drive = Drive {
            key: format!("me:{}", user.id),
            web_root: one_drive_root(&user),
        };
        item_call(
            &shared,
            &method,
            &drive,
            &rest,
            query.as_deref(),
            &headers,
            body,
        )
        .await
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
    let result = async {
        if let Some(drive_rest) = rest
            .strip_prefix(SITE_ID)
            .and_then(|r| r.strip_prefix("/drive/"))
        {
            bearer(&shared, &headers, &SITE_DRIVE)?;
            let drive = Drive {
                key: SITE_ID.to_owned(),
                web_root: format!("https://{SITE_HOST}{SITE_PATH}/Shared%20Documents"),
            };
            return item_call(
                &shared,
                &method,
                &drive,
                drive_rest,
                query.as_deref(),
                &headers,
                body,
            )
            .await;
        }
        bearer(&shared, &headers, &SITE_READ)?;
        if method != Method::GET {
            return Err(bad_request("Only GET is supported on a site."));
        }
        let found = rest.split_once(":/").is_some_and(|(host, path)| {
            host.eq_ignore_ascii_case(SITE_HOST)
                && format!("/{}", path.trim_end_matches('/')).eq_ignore_ascii_case(SITE_PATH)
        }) || rest == SITE_ID;
        if !found {
            return Err(GraphError::new(
                StatusCode::NOT_FOUND,
                "itemNotFound",
                "Requested site could not be found",
            ));
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

/// `root:/{folder}/{name}:/content` (PUT) or `…:/createUploadSession` (POST).
async fn item_call(
    shared: &Shared,
    method: &Method,
    drive: &Drive,
    rest: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, GraphError> {
    let call = Call::of(headers);
    let (path, action) = rest
        .strip_prefix("root:/")
        .and_then(|r| r.rsplit_once(":/"))
        .ok_or_else(|| {
            bad_request("Address an item as root:/{path}:/content or :/createUploadSession.")
        })?;
    let (folder, name) = match path.trim_matches('/').rsplit_once('/') {
        Some((f, n)) => (f.to_owned(), n.to_owned()),
        None => (String::new(), path.trim_matches('/').to_owned()),
    };
    if name.is_empty() {
        return Err(bad_request("The item path names no file."));
    }
    match (method, action) {
        (&Method::PUT, "content") => {
            let conflict = Params::parse(query.unwrap_or_default().as_bytes())
                .get("@microsoft.graph.conflictBehavior")
                .map(str::to_owned)
                .unwrap_or_else(|| "replace".to_owned());
            let item = Item {
                drive,
                folder,
                name,
            };
            simple_upload(shared, &call, item, &conflict, headers, body).await
        }
        (&Method::POST, "createUploadSession") => {
            let bytes = axum::body::to_bytes(body, 64 * 1024)
                .await
                .map_err(|_| bad_request("The request body is too large."))?;
            let wire: serde_json::Value = if bytes.is_empty() {
                json!({})
            } else {
                serde_json::from_slice(&bytes)
                    .map_err(|e| bad_request(&format!("Cannot read the request body: {e}")))?
            };
            let conflict = wire["item"]["@microsoft.graph.conflictBehavior"]
                .as_str()
                .unwrap_or("replace")
                .to_owned();
            check_conflict(&conflict)?;
            let mut store = shared.deliveries();
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
                    "uploadUrl": format!("{}/upload/{id}", shared.base_url),
                    "expirationDateTime": expires.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    "nextExpectedRanges": ["0-"],
                }),
            ))
        }
        _ => Err(bad_request("Unsupported request on a drive item.")),
    }
}

/// The item a request names: which drive, which folder, which name.
struct Item<'a> {
    drive: &'a Drive,
    folder: String,
    name: String,
}

async fn simple_upload(
    shared: &Shared,
    call: &Call,
    item: Item<'_>,
    conflict: &str,
    headers: &HeaderMap,
    mut body: Body,
) -> Result<Response, GraphError> {
    let Item {
        drive,
        folder,
        name,
    } = item;
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

fn bad_request(message: &str) -> GraphError {
    GraphError::new(StatusCode::BAD_REQUEST, "invalidRequest", message)
}
