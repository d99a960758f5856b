//! One module per `atrs-test-host` command.

pub mod accounts;
pub mod add;
pub mod check;
pub mod demo;
pub mod form;
pub mod owner;
pub mod plugins;
pub mod refresh;
pub mod remove;
pub mod token;
pub mod validate;
