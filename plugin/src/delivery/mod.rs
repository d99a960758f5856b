//! Delivery through a saved account (interface 1.1): mail and files sent with Microsoft
//! Graph.
//!
//! - [`job`]: the [`atrs_host_sdk::DeliveryJob`] the host polls and cancels;
//!   [`progress`]: bytes sent of total and the cancel signal;
//! - [`graph`]: the Graph client (client-request-id, retry bound, Retry-After, claims
//!   challenges), with [`politeness`] (the User-Agent, at most four requests in flight per
//!   account); [`delivery_error`]: Graph's refusals mapped to what to do;
//! - [`mail`]: sendMail, or a draft with attachment upload sessions, then send;
//!   [`drive`]: OneDrive / SharePoint simple upload or upload session; [`graph_path`]:
//!   values that become Graph path segments;
//! - [`upload_session`]: fragments from disk, resumed from the server's ranges, which
//!   [`upload_check`] checks (and the uploadUrl) before they are used;
//! - [`byte_size`]: sizes and counts in words for receipts and messages.
//!
//! May import: [`crate::authority`] (discovery, claims), [`crate::net`] and the top-level
//! form and leaves (`config`, `fields`, `secret`, `runtime`). Never `signin` or `account`:
//! the access token comes in as a [`graph::TokenFn`] the integration builds from the
//! account.

pub mod byte_size;
pub mod delivery_error;
pub mod drive;
pub mod graph;
pub mod graph_path;
pub mod job;
pub mod mail;
pub mod politeness;
pub mod progress;
pub mod upload_check;
pub mod upload_session;
