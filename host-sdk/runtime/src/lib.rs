//! # atrs-host-runtime — everything an ATRS host does besides drawing its UI
//!
//! The reference test host, the C library and the plugin runner are front ends over
//! this crate. Modules, by concept:
//!
//! - [`catalog`]: the plugins folder — what loaded, what was refused, finding by id;
//! - [`store`]: where accounts live ([`store::AccountStore`], one trait, several
//!   backends) and the named locks every process on a store shares;
//! - [`services`]: the host services each plugin instance is lent, over a store
//!   ([`browser_url`]: which addresses it opens);
//! - [`session_driver`]: drives a verification session for any view of it;
//! - [`protocol`]: the JSON requests and answers every front end speaks, and
//!   [`runtime`]: the [`Runtime`] that answers them ([`handles`] names the sessions and
//!   deliveries that outlive a request);
//! - [`isolation`]: plugins in processes of their own, and [`runner`]: the runner's
//!   side (one plugin, served over pipes); [`hosted`]: a plugin held through the
//!   loader's calls, in this process or isolated, for front ends written in Rust;
//!   [`runner_environment`]: what a runner inherits of its host's environment;
//! - [`service_calls`]: host services as JSON calls, for plugins whose host is across
//!   a boundary (the C library's callback, a runner's pipe);
//! - [`conformance_run`]: the conformance checks of a library, as the `check` request;
//! - [`process_guard`]: what a host or runner process does for itself first (no core
//!   dumps while it holds secrets, panics without their payload);
//! - [`wire`]: the JSON shape of the SDK's values; [`media_type`]: file types by name.

#![warn(missing_docs)]

pub mod browser_url;
pub mod catalog;
pub mod conformance_run;
pub mod handles;
pub mod hosted;
pub mod isolation;
mod leader_follower;
mod locked;
pub mod media_type;
pub mod process_guard;
pub mod protocol;
pub mod runner;
pub mod runner_environment;
pub mod runtime;
pub mod service_calls;
pub mod services;
pub mod session_driver;
pub mod store;
pub mod wire;

pub use runtime::{HostHooks, Runtime, RuntimeOptions};
