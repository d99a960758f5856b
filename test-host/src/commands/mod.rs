//! One module per `atrs-test-host` command.

pub mod form;
pub mod plugins;
pub mod validate;
