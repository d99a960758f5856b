//! Plain-HTTP tests of every endpoint, error and fault of the mock, plus flows driven by the
//! `oauth2` crate as an independent client. One test binary keeps linking cheap.

mod app_only;
mod browser;
mod certificate;
mod claims;
mod common;
mod control;
mod delivery;
mod device;
mod discovery;
mod faults;
mod graph;
mod graph_contract;
mod oauth2_client;
mod refresh;
mod standards;
