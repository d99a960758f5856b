//! `upload NAME FILE --to-folder PATH [--site URL] [--conflict replace|rename|fail]`: a file
//! into OneDrive or a SharePoint site through a saved account — or, without
//! `--to-folder`, to an integration that takes files at its own endpoint (a `push`
//! delivery: a webhook, an API).

use std::path::PathBuf;

use atrs_host_sdk::{ConflictBehavior, DeliveryKind, DeliveryRequest, FileRequest, PushRequest};

use crate::commands::deliver;
use crate::{context::Context, error::CommandError};

/// What `upload` was given.
#[derive(Debug, Clone)]
pub struct UploadArgs {
    /// The saved account.
    pub account: String,
    /// The file.
    pub file: PathBuf,
    /// The destination folder (`None`: the integration's own endpoint).
    pub folder: Option<String>,
    /// A SharePoint site address.
    pub site: Option<String>,
    /// The name in the folder (default: the file's own).
    pub name: Option<String>,
    /// What to do when the name is taken.
    pub conflict: ConflictBehavior,
}

impl From<crate::cli::UploadCli> for UploadArgs {
    fn from(c: crate::cli::UploadCli) -> Self {
        UploadArgs {
            account: c.account,
            file: c.file,
            folder: c.to_folder,
            site: c.site,
            name: c.name,
            conflict: match c.conflict {
                crate::cli::ConflictArg::Replace => ConflictBehavior::Replace,
                crate::cli::ConflictArg::Rename => ConflictBehavior::Rename,
                crate::cli::ConflictArg::Fail => ConflictBehavior::Fail,
            },
        }
    }
}

/// `upload`.
pub fn run(ctx: &Context, args: &UploadArgs) -> Result<(), CommandError> {
    if !args.file.is_file() {
        return Err(CommandError::usage(format!(
            "{} is not a file that can be uploaded.",
            args.file.display()
        ))
        .with_hint("Check the FILE path."));
    }
    let file_name = match &args.name {
        Some(n) => n.clone(),
        None => args
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    let Some(folder) = &args.folder else {
        let opened = deliver::open_account(ctx, &args.account)?;
        let (integration, saved) = (&opened.0, &opened.1);
        let kinds = integration.delivery_kinds();
        if kinds.contains(&DeliveryKind::File) && !kinds.contains(&DeliveryKind::Push) {
            return Err(CommandError::usage(format!(
                "The {} integration puts files in folders: say which with --to-folder.",
                saved.plugin
            ))
            .with_hint("Add --to-folder PATH, e.g. --to-folder Reports/2026 (the drive's top folder: --to-folder /)."));
        }
        let request = PushRequest {
            file_name,
            ..PushRequest::of_file(&args.file)
        };
        return deliver::run_opened(ctx, "upload", opened, DeliveryRequest::Push(request));
    };
    let request = FileRequest {
        source: args.file.clone(),
        folder: folder.clone(),
        site: args.site.clone(),
        file_name,
        conflict: args.conflict,
    };
    deliver::run(ctx, "upload", &args.account, DeliveryRequest::File(request))
}
