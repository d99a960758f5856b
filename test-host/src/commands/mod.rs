//! One module per `atrs-test-host` command.

pub mod accounts;
pub mod add;
pub mod check;
pub mod demo;
pub mod form;
pub mod plugins;
pub mod remove;
pub mod validate;
