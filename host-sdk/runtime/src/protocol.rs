//! The runtime's message protocol: every request is one JSON object, and so is every
//! answer. Front ends that are not Rust (the C library, the .NET host) and the plugin
//! runner speak it; the schema of its answers is [`SCHEMA`], and the rules by which it
//! grows are in `protocol/README.md`, beside the schema.
//!
//! A request names itself in `request` and may carry an `id`, which its answer echoes.
//! An answer has `ok`; a failed one has `error` with `kind`, `origin` (`host` or
//! `plugin`), `message`, `hint`, `field`, `provider_code`, `trace_id` and
//! `correlation_id`. Unknown fields are ignored.

pub mod error;
pub mod request;

pub use error::ProtocolError;
pub use request::Request;

/// The protocol's version: the minor grows with every added request or field.
pub const PROTOCOL_VERSION: &str = "1.1";

/// The JSON Schema (draft 2020-12) every answer validates against.
pub const SCHEMA: &str = include_str!("protocol/schema.json");
