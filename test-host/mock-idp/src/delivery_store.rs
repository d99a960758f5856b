//! What Graph deliveries leave behind: drafts, sent items, drive items, open upload sessions,
//! and the delivery faults a test armed. Content is never kept: each upload is hashed as it
//! arrives (SHA-256), so memory stays flat however large the file.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::errors::GraphError;

/// How long an upload session lives without a fragment (Graph extends it on each one).
pub(crate) const SESSION_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// The largest fragment a drive upload session takes (60 MiB).
pub(crate) const DRIVE_MAX_FRAGMENT: u64 = 60 * 1024 * 1024;
/// Drive fragments other than the last must be a multiple of this (320 KiB).
pub(crate) const DRIVE_FRAGMENT_UNIT: u64 = 320 * 1024;
/// The largest `PUT` an Outlook attachment session takes (4 MB).
pub(crate) const MAIL_MAX_FRAGMENT: u64 = 4 * 1024 * 1024;
/// The largest attachment an Outlook upload session accepts (150 MB).
pub(crate) const MAIL_MAX_ATTACHMENT: u64 = 150 * 1024 * 1024;

/// A recipient as Graph spells it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Recipient {
    /// The address.
    pub address: String,
}

/// An attachment received in full.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoredAttachment {
    /// Graph attachment id.
    pub id: String,
    /// File name.
    pub name: String,
    /// Content type.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    /// `inline` (contentBytes in the JSON) or `session` (an upload session).
    pub via: &'static str,
}

/// A message: a draft, or (with `sent_at`) a sent item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Message {
    /// Graph message id.
    pub id: String,
    /// The mailbox it was sent from (the signed-in user's, or one they send as).
    pub from: String,
    /// The signed-in user's object id.
    pub owner: String,
    /// Subject.
    pub subject: String,
    /// `Text` or `HTML`.
    pub body_type: String,
    /// Body length in characters.
    pub body_chars: usize,
    /// To.
    pub to: Vec<Recipient>,
    /// Cc.
    pub cc: Vec<Recipient>,
    /// Bcc.
    pub bcc: Vec<Recipient>,
    /// Attachments.
    pub attachments: Vec<StoredAttachment>,
    /// `sendMail` or `draft`.
    pub via: &'static str,
}

/// A file in a drive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DriveItem {
    /// Graph driveItem id.
    pub id: String,
    /// Which drive: `me:{user id}` or a site id.
    pub drive: String,
    /// Folder path, `/`-separated, no leading slash.
    pub folder: String,
    /// File name.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    /// The address a person opens it at.
    pub web_url: String,
    /// `simple` or `session`.
    pub via: &'static str,
}

impl DriveItem {
    /// The driveItem as Graph returns it.
    pub(crate) fn to_graph(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "name": self.name,
            "size": self.size,
            "webUrl": self.web_url,
            "file": {"hashes": {"sha256Hash": self.sha256.to_ascii_uppercase()}},
            "parentReference": {
                "driveId": drive_id(&self.drive),
                "driveType": "business",
                "id": folder_id(&self.drive, &self.folder),
                "path": format!("/drive/root:/{}", self.folder),
            },
        })
    }
}

/// The Graph id of the drive stored under `key` (`me:{user id}` or a site id): stable, so a
/// client may keep it, and shaped like OneDrive for Business ids (`b!…`).
pub(crate) fn drive_id(key: &str) -> String {
    format!("b!{}", &hex(&Sha256::digest(format!("drive:{key}")))[..40])
}

/// The item id of the folder at `path` (`""`: the root) in the drive stored under `key`.
pub(crate) fn folder_id(key: &str, path: &str) -> String {
    let digest = hex(&Sha256::digest(format!("folder:{key}:{path}")));
    format!("01{}", digest[..32].to_ascii_uppercase())
}

/// Where a finished upload session's bytes go.
#[derive(Clone, Debug)]
pub(crate) enum Target {
    /// An attachment of a draft.
    Attachment {
        /// The draft's id.
        message: String,
        /// File name.
        name: String,
        /// Content type.
        content_type: String,
    },
    /// A drive item.
    Drive {
        /// Which drive.
        drive: String,
        /// Folder path.
        folder: String,
        /// File name (already renamed when conflictBehavior was rename).
        name: String,
        /// `replace` / `rename` / `fail`.
        conflict: String,
        /// The web address prefix of the drive.
        web_root: String,
    },
}

/// An open upload session: bytes arrive in order and are hashed, never kept.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    /// What is being uploaded.
    pub target: Target,
    /// Total size: declared for attachments, taken from the first fragment for drive items.
    pub size: Option<u64>,
    /// Bytes accepted so far (the next expected offset).
    pub next: u64,
    /// Hash of the accepted bytes.
    pub hasher: Sha256,
    /// When it lapses.
    pub expires: Instant,
}

impl Session {
    /// Whether this is an Outlook attachment session (4 MB PUTs, 200 answers) or a drive one.
    pub fn is_mail(&self) -> bool {
        matches!(self.target, Target::Attachment { .. })
    }
}

/// Delivery faults armed by a test (`POST /_mock/delivery-faults` takes this as JSON).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryFaults {
    /// The first upload fragment that starts at or after this offset keeps only half of its
    /// bytes and answers 500, once.
    pub fail_chunk_at: Option<u64>,
    /// Free space left across drives; an upload that does not fit gets 507.
    pub quota_bytes: Option<u64>,
    /// `folder/name` paths that are locked (423).
    pub locked: BTreeSet<String>,
    /// The tenant's maximum message size; `None`: Exchange Online's default, 35 MB. A message
    /// whose attachments, base64-encoded as Exchange counts them, exceed it is refused at send
    /// (`ErrorMessageSizeExceeded`).
    pub max_message_bytes: Option<u64>,
}

/// Exchange Online's default maximum message size (35 MB).
pub const DEFAULT_MAX_MESSAGE: u64 = 35 * 1024 * 1024;

impl DeliveryFaults {
    /// Whether a message with these attachments is over the tenant's limit.
    pub(crate) fn too_big(&self, attachments: &[StoredAttachment]) -> bool {
        let raw: u64 = attachments.iter().map(|a| a.size).sum();
        raw.saturating_mul(4) / 3 > self.max_message_bytes.unwrap_or(DEFAULT_MAX_MESSAGE)
    }
}

/// Counters a test reads to prove a resume did not restart.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UploadCounters {
    /// Every body byte received by upload URLs (accepted or not).
    pub bytes_received: u64,
    /// Bytes accepted into sessions.
    pub bytes_accepted: u64,
    /// Fragments answered.
    pub fragments: u64,
    /// Fragments refused with 416 (a range the server already had).
    pub refused_ranges: u64,
    /// Sessions created.
    pub sessions_created: u64,
    /// Sessions cancelled with `DELETE`.
    pub sessions_cancelled: u64,
    /// `PUT`s to an upload URL that carried an `Authorization` header (should be 0).
    pub authorized_puts: u64,
}

/// Everything delivered, in flight, or armed.
#[derive(Debug, Default)]
pub(crate) struct DeliveryStore {
    /// Drafts by id.
    pub drafts: BTreeMap<String, Message>,
    /// Sent items in order.
    pub sent: Vec<Message>,
    /// Drive items by (drive, folder/name).
    pub items: BTreeMap<(String, String), DriveItem>,
    /// Open upload sessions by id.
    pub sessions: HashMap<String, Session>,
    /// Armed faults.
    pub faults: DeliveryFaults,
    /// Upload counters.
    pub counters: UploadCounters,
}

/// `folder/name`, or `name` at the root.
pub(crate) fn item_path(folder: &str, name: &str) -> String {
    if folder.is_empty() {
        name.to_owned()
    } else {
        format!("{folder}/{name}")
    }
}

/// `report.pdf` → `report 1.pdf`, `report 2.pdf`, … as OneDrive renames.
pub(crate) fn renamed(name: &str, n: u32) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{stem} {n}.{ext}"),
        _ => format!("{name} {n}"),
    }
}

/// Lower-case hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why a drive write is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DriveRefusal {
    /// conflictBehavior fail and the name exists (409 nameAlreadyExists).
    Exists,
    /// The item is locked (423 resourceLocked).
    Locked,
    /// Not enough space (507 quotaLimitReached).
    Quota,
}

impl DriveRefusal {
    /// Graph's answer for the refusal.
    pub(crate) fn into_graph(self) -> GraphError {
        match self {
            DriveRefusal::Exists => GraphError::new(
                StatusCode::CONFLICT,
                "nameAlreadyExists",
                "The specified item name already exists.",
            ),
            DriveRefusal::Locked => GraphError::new(
                StatusCode::LOCKED,
                "resourceLocked",
                "The resource you are attempting to access is locked.",
            ),
            DriveRefusal::Quota => GraphError::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "quotaLimitReached",
                "Insufficient Space Available",
            ),
        }
    }
}

impl DeliveryStore {
    /// The name a new item gets under `conflict`, or why it may not be written.
    pub fn resolve_name(
        &self,
        drive: &str,
        folder: &str,
        name: &str,
        conflict: &str,
        size: u64,
    ) -> Result<String, DriveRefusal> {
        let path = item_path(folder, name);
        if self.faults.locked.contains(&path) {
            return Err(DriveRefusal::Locked);
        }
        if self.faults.quota_bytes.is_some_and(|q| size > q) {
            return Err(DriveRefusal::Quota);
        }
        let exists = |n: &str| {
            self.items
                .contains_key(&(drive.to_owned(), item_path(folder, n)))
        };
        if !exists(name) {
            return Ok(name.to_owned());
        }
        match conflict {
            "fail" => Err(DriveRefusal::Exists),
            "rename" => Ok((1..)
                .map(|n| renamed(name, n))
                .find(|n| !exists(n))
                .unwrap_or_else(|| name.to_owned())),
            _ => Ok(name.to_owned()),
        }
    }

    /// Store a finished drive item (replacing one with its path) and charge the quota.
    pub fn put_item(&mut self, item: DriveItem) -> DriveItem {
        if let Some(q) = self.faults.quota_bytes.as_mut() {
            *q = q.saturating_sub(item.size);
        }
        let key = (item.drive.clone(), item_path(&item.folder, &item.name));
        let kept = match self.items.get(&key) {
            Some(old) => DriveItem {
                id: old.id.clone(),
                ..item
            },
            None => item,
        };
        self.items.insert(key, kept.clone());
        kept
    }

    /// The file with this item id in the drive stored under `key`.
    pub fn file_by_id(&self, key: &str, id: &str) -> Option<&DriveItem> {
        self.items.values().find(|i| i.drive == key && i.id == id)
    }

    /// The file at `path` (`folder/name`) in the drive stored under `key`.
    pub fn file_at(&self, key: &str, path: &str) -> Option<&DriveItem> {
        self.items.get(&(key.to_owned(), path.to_owned()))
    }

    /// Every folder of the drive stored under `key` that holds a file (at any depth), and
    /// the root (`""`).
    pub fn folders(&self, key: &str) -> BTreeSet<String> {
        let mut all = BTreeSet::from([String::new()]);
        for item in self.items.values().filter(|i| i.drive == key) {
            let mut path = item.folder.as_str();
            while !path.is_empty() {
                all.insert(path.to_owned());
                path = path.rsplit_once('/').map_or("", |(parent, _)| parent);
            }
        }
        all
    }

    /// The path of the folder with this item id in the drive stored under `key`.
    pub fn folder_by_id(&self, key: &str, id: &str) -> Option<String> {
        self.folders(key)
            .into_iter()
            .find(|path| folder_id(key, path) == id)
    }

    /// How many files and folders sit directly in the folder at `path`.
    pub fn child_count(&self, key: &str, path: &str) -> usize {
        let files = self
            .items
            .values()
            .filter(|i| i.drive == key && i.folder == path)
            .count();
        let folders = self
            .folders(key)
            .iter()
            .filter(|f| !f.is_empty() && f.rsplit_once('/').map_or("", |(p, _)| p) == path)
            .count();
        files + folders
    }

    /// Take the armed chunk fault if a fragment starting at `start` hits it.
    pub fn take_chunk_fault(&mut self, start: u64) -> bool {
        match self.faults.fail_chunk_at {
            Some(at) if start >= at => {
                self.faults.fail_chunk_at = None;
                true
            }
            _ => false,
        }
    }
}

/// Hex SHA-256 of a finished hasher.
pub(crate) fn finish(hasher: Sha256) -> String {
    hex(&hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str) -> DriveItem {
        DriveItem {
            id: "id".into(),
            drive: "d".into(),
            folder: "Reports".into(),
            name: name.into(),
            size: 10,
            sha256: String::new(),
            web_url: String::new(),
            via: "simple",
        }
    }

    #[test]
    fn conflict_behaviours_resolve_as_onedrive_does() {
        let mut s = DeliveryStore::default();
        s.put_item(item("a.pdf"));
        assert_eq!(
            s.resolve_name("d", "Reports", "a.pdf", "fail", 1),
            Err(DriveRefusal::Exists)
        );
        assert_eq!(
            s.resolve_name("d", "Reports", "a.pdf", "replace", 1)
                .unwrap(),
            "a.pdf"
        );
        assert_eq!(
            s.resolve_name("d", "Reports", "a.pdf", "rename", 1)
                .unwrap(),
            "a 1.pdf"
        );
        s.put_item(item("a 1.pdf"));
        assert_eq!(
            s.resolve_name("d", "Reports", "a.pdf", "rename", 1)
                .unwrap(),
            "a 2.pdf"
        );
        assert_eq!(
            s.resolve_name("d", "Other", "a.pdf", "fail", 1).unwrap(),
            "a.pdf"
        );
    }

    #[test]
    fn quota_and_locks_refuse_and_the_quota_is_charged() {
        let mut s = DeliveryStore::default();
        s.faults.quota_bytes = Some(15);
        s.faults.locked.insert("Reports/l.pdf".into());
        assert_eq!(
            s.resolve_name("d", "Reports", "l.pdf", "replace", 1),
            Err(DriveRefusal::Locked)
        );
        assert!(s
            .resolve_name("d", "Reports", "b.pdf", "replace", 10)
            .is_ok());
        s.put_item(item("b.pdf"));
        assert_eq!(
            s.resolve_name("d", "Reports", "c.pdf", "replace", 10),
            Err(DriveRefusal::Quota)
        );
    }

    #[test]
    fn a_chunk_fault_fires_once_at_or_after_its_offset() {
        let mut s = DeliveryStore::default();
        s.faults.fail_chunk_at = Some(100);
        assert!(!s.take_chunk_fault(0));
        assert!(s.take_chunk_fault(120));
        assert!(!s.take_chunk_fault(200));
    }
}
