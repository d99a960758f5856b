//! `send NAME --to ADDR … [--attach FILE …]` and `send-test NAME --to ADDR`: e-mail through
//! a saved account.

use std::path::{Path, PathBuf};

use atrs_host_sdk::{Attachment, DeliveryRequest, MailRequest};

use atrs_host_runtime::media_type::content_type;

use crate::commands::{deliver, recipients::addresses};
use crate::{context::Context, error::CommandError};

/// What `send` was given.
#[derive(Debug, Clone, Default)]
pub struct SendArgs {
    /// The saved account.
    pub account: String,
    /// Send as this mailbox.
    pub from: Option<String>,
    /// To.
    pub to: Vec<String>,
    /// Cc.
    pub cc: Vec<String>,
    /// Bcc.
    pub bcc: Vec<String>,
    /// Subject.
    pub subject: Option<String>,
    /// Body text.
    pub body: Option<String>,
    /// Body read from a file.
    pub body_file: Option<PathBuf>,
    /// Whether the body is HTML.
    pub html: bool,
    /// Files to attach.
    pub attach: Vec<PathBuf>,
}

impl From<crate::cli::SendCli> for SendArgs {
    fn from(c: crate::cli::SendCli) -> Self {
        SendArgs {
            account: c.account,
            from: c.from,
            to: c.to,
            cc: c.cc,
            bcc: c.bcc,
            subject: c.subject,
            body: c.body,
            body_file: c.body_file,
            html: c.html,
            attach: c.attach,
        }
    }
}

/// `send`.
pub fn run(ctx: &Context, args: &SendArgs) -> Result<(), CommandError> {
    let to = addresses("--to", &args.to)?;
    let cc = addresses("--cc", &args.cc)?;
    let bcc = addresses("--bcc", &args.bcc)?;
    let from = match &args.from {
        Some(f) => Some(single("--from", f)?),
        None => None,
    };
    let body = match (&args.body, &args.body_file) {
        (Some(_), Some(_)) => {
            return Err(CommandError::usage("Give --body or --body-file, not both."))
        }
        (Some(b), None) => b.clone(),
        (None, Some(f)) => std::fs::read_to_string(f).map_err(|e| {
            CommandError::usage(format!("{} could not be read ({e}).", f.display()))
                .with_hint("Check the path given to --body-file.")
        })?,
        (None, None) => String::new(),
    };
    let attachments = args
        .attach
        .iter()
        .map(|p| attachment(p))
        .collect::<Result<Vec<_>, _>>()?;
    let subject = args.subject.clone().unwrap_or_default();
    let missing: Vec<&str> = [
        ("a subject", subject.trim().is_empty()),
        ("a body", body.trim().is_empty()),
    ]
    .into_iter()
    .filter_map(|(what, empty)| empty.then_some(what))
    .collect();
    if !missing.is_empty() {
        ctx.output.note(format!(
            "Note: the message goes out without {} (give --subject and --body to add them).",
            missing.join(" and ")
        ));
    }
    let request = MailRequest {
        from,
        to,
        cc,
        bcc,
        subject,
        body,
        body_is_html: args.html,
        attachments,
    };
    deliver::run(ctx, "send", &args.account, DeliveryRequest::Mail(request))
}

/// `send-test`: the short message that proves sending works.
pub fn run_test(ctx: &Context, account: &str, to: &str) -> Result<(), CommandError> {
    let to = addresses("--to", &[to.to_owned()])?;
    let mut request = MailRequest::test_message(account, &to[0]);
    request.to = to;
    deliver::run(ctx, "send-test", account, DeliveryRequest::Mail(request))
}

/// The one address `flag` takes.
fn single(flag: &str, value: &str) -> Result<String, CommandError> {
    match addresses(flag, &[value.to_owned()])?.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(
            CommandError::usage(format!("{flag} takes one address, not a list."))
                .with_hint(format!("Give {flag} a single address.")),
        ),
    }
}

/// An attachment named after its file, typed by its extension.
fn attachment(path: &Path) -> Result<Attachment, CommandError> {
    if !path.is_file() {
        return Err(CommandError::usage(format!(
            "{} is not a file that can be attached.",
            path.display()
        ))
        .with_hint("Check the path given to --attach."));
    }
    if path.metadata().is_ok_and(|m| m.len() == 0) {
        return Err(CommandError::usage(format!(
            "{} is empty (0 bytes); an empty attachment is not sent.",
            path.display()
        ))
        .with_hint("Check that the file was written completely, or leave out that --attach."));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "attachment".into());
    Ok(Attachment {
        path: path.to_path_buf(),
        content_type: content_type(&name).into(),
        name,
    })
}
