//! # libatrs_host — the host runtime behind a small, frozen C surface
//!
//! A host written in C, C# or anything with a C FFI opens a runtime
//! ([`atrs_host_open`], or [`atrs_host_open_with_services`] to keep accounts in its own
//! database), sends it requests of the runtime's JSON protocol ([`atrs_host_request`]),
//! frees each answer ([`atrs_host_free`]) and closes it ([`atrs_host_close`]). The
//! header is `include/atrs_host.h`, generated from this crate.
//!
//! Rules every function keeps: a null or non-UTF-8 argument is an error answer, never
//! undefined behaviour; no panic or unwind crosses into the caller; every call into a
//! plugin is bounded by the runtime's call timeout; all functions may be called from
//! any thread at once, except that no call may use a runtime after
//! [`atrs_host_close`] began on it.
//!
//! Modules: [`ffi`] (the exported functions), [`services`] (host services over the
//! caller's callback, run on the runtime's own callback threads: `dispatch`), [`text`]
//! (strings across the boundary).

#![warn(missing_docs)]

mod dispatch;
pub mod ffi;
pub mod services;
pub mod text;

pub use ffi::*;
pub use services::{AtrsReply, AtrsServiceCallback};
