//! Putting a file in a OneDrive or SharePoint folder: a simple `PUT …:/content` up to
//! [`SIMPLE_LIMIT`], an upload session above it (resumed after a failed fragment, cancelled on
//! failure or cancel), with the conflict behaviour asked for.

use std::path::Path;

use atrs_host_sdk::{DeliveryKind, DeliveryReceipt, FileRequest};
use reqwest::Method;
use serde_json::json;
use url::Url;

use crate::delivery::byte_size;
use crate::delivery::delivery_error::{DeliveryError, Step};
use crate::delivery::graph::{Body, Graph, Reply};
use crate::delivery::graph_path::{folder_segments, single_segment, PathValue};
use crate::delivery::progress::Progress;
use crate::delivery::upload_session::{session_url, Upload, DRIVE_FRAGMENT};

/// Files up to this size go in one `PUT` (Graph: simple upload for small files).
pub const SIMPLE_LIMIT: u64 = 4 * 1024 * 1024;

/// The size of the file `request` uploads.
pub fn content_size(request: &FileRequest) -> Result<u64, DeliveryError> {
    std::fs::metadata(&request.source)
        .map(|m| m.len())
        .map_err(|e| unreadable(&request.source, &e))
}

/// The request's folder segments and file name, checked ([`crate::delivery::graph_path`]): what the
/// Graph path is built from.
pub fn destination(request: &FileRequest) -> Result<(Vec<&str>, &str), DeliveryError> {
    let name = request.file_name.trim();
    if name.is_empty() {
        return Err(DeliveryError::Input(
            "The file has no name: give the name it gets in the folder (for example Sales 2026-12.pdf).".into(),
        ));
    }
    single_segment(PathValue::FileName, name)?;
    Ok((folder_segments(&request.folder)?, name))
}

/// Upload `request`; the receipt names the driveItem and where to open it.
pub async fn upload(
    graph: &Graph,
    request: &FileRequest,
    progress: &Progress,
) -> Result<DeliveryReceipt, DeliveryError> {
    let (folder, name) = destination(request)?;
    let size = content_size(request)?;
    let step = Step::Upload {
        folder: folder.join("/"),
        name: name.to_owned(),
        site: request.site.clone(),
    };
    let drive = match &request.site {
        Some(site) => {
            progress.say("Finding the SharePoint site…");
            vec![
                "sites".to_owned(),
                site_id(graph, site).await?,
                "drive".to_owned(),
            ]
        }
        None => graph
            .owner(None)
            .into_iter()
            .chain(["drive"])
            .map(str::to_owned)
            .collect(),
    };
    let item = |action: &str| {
        let mut segs: Vec<String> = drive.clone();
        segs.push("root:".into());
        segs.extend(folder.iter().map(|s| s.to_string()));
        segs.push(format!("{name}:"));
        segs.push(action.into());
        let refs: Vec<&str> = segs.iter().map(String::as_str).collect();
        graph.url(&refs)
    };
    let conflict = request.conflict.name();
    let reply = if size <= SIMPLE_LIMIT {
        progress.say(&format!("Uploading {name}…"));
        let data = std::fs::read(&request.source).map_err(|e| unreadable(&request.source, &e))?;
        let mut url = item("content");
        url.query_pairs_mut()
            .append_pair("@microsoft.graph.conflictBehavior", conflict);
        graph
            .send(Method::PUT, url, Body::Bytes { data, range: None })
            .await
            .map_err(|e| DeliveryError::graph(step.clone(), e))?
    } else {
        progress.say(&format!("Uploading {name} in fragments…"));
        let session = graph
            .send(
                Method::POST,
                item("createUploadSession"),
                Body::Json(json!({"item": {"@microsoft.graph.conflictBehavior": conflict}})),
            )
            .await
            .map_err(|e| DeliveryError::graph(step.clone(), e))?;
        Upload {
            graph,
            url: session_url(graph, &session)?,
            path: &request.source,
            total: size,
            fragment: DRIVE_FRAGMENT,
            progress,
            before: 0,
            step: step.clone(),
        }
        .run()
        .await?
    };
    progress.sent(size);
    Ok(receipt(request, &folder.join("/"), size, &reply))
}

/// `GET /sites/{host}:/{path}` → the site's id.
async fn site_id(graph: &Graph, site: &str) -> Result<String, DeliveryError> {
    let bad = || {
        DeliveryError::Input(format!(
            "'{site}' is not a SharePoint site address: give it as https://contoso.sharepoint.com/sites/Name."
        ))
    };
    let parsed = Url::parse(site).map_err(|_| bad())?;
    let host = parsed.host_str().ok_or_else(bad)?;
    let path = parsed.path().trim_end_matches('/');
    let url = graph
        .url_encoded(&format!("sites/{host}:{path}"))
        .ok_or_else(bad)?;
    let reply = graph
        .send(Method::GET, url, Body::Empty)
        .await
        .map_err(|e| {
            DeliveryError::graph(
                Step::FindSite {
                    site: site.to_owned(),
                },
                e,
            )
        })?;
    reply.body["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| DeliveryError::Protocol("a site without an id".into()))
}

fn receipt(request: &FileRequest, folder: &str, size: u64, reply: &Reply) -> DeliveryReceipt {
    let name = reply.body["name"]
        .as_str()
        .unwrap_or(&request.file_name)
        .to_owned();
    let place = match &request.site {
        Some(site) => site.clone(),
        None => "OneDrive".to_owned(),
    };
    let folder = if folder.is_empty() { "/" } else { folder };
    DeliveryReceipt {
        kind: DeliveryKind::File,
        id: reply.body["id"].as_str().unwrap_or_default().to_owned(),
        web_url: reply.body["webUrl"].as_str().map(str::to_owned),
        summary: format!(
            "Uploaded {name} ({}) to {folder} in {place}.",
            byte_size::words(size)
        ),
        bytes: size,
        details: reply.ids.pairs(),
    }
}

fn unreadable(path: &Path, e: &std::io::Error) -> DeliveryError {
    DeliveryError::File {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}
