//! One module per `atrs-test-host` command.

pub mod accounts;
pub mod add;
pub mod check;
pub mod deliver;
pub mod demo;
pub mod few_at_a_time;
pub mod form;
pub mod owner;
pub mod plugins;
pub mod progress_bar;
pub mod recipients;
pub mod refresh;
pub mod remove;
pub mod send;
pub mod signing;
pub mod store;
pub mod token;
pub mod upload;
pub mod validate;
