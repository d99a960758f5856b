//! The network layer every exchange goes through, whoever makes it (sign-in, refresh,
//! delivery):
//!
//! - [`http`]: the bounded, typed HTTP client (time and size limits, JSON only, errors by
//!   where the exchange failed), and what an address is (`host_of`, `is_loopback`);
//! - [`trust`]: extra certificate authorities besides the system's store;
//! - [`tls`]: the cipher suites offered (AES-GCM; no ChaCha20);
//! - [`request_id`]: the `client-request-id` on every request and the ids of the last
//!   failed exchange;
//! - [`cloud`]: the national clouds, their sign-in hosts and where their Graph lives;
//! - [`provider_text`]: text a server sent, made safe to show.
//!
//! May import: nothing of the plugin's own but the shared leaves at the top (`secret`).
//! Everything else may import `net`; `net` knows no account, form, sign-in or delivery.

pub mod cloud;
pub mod http;
pub mod provider_text;
pub mod request_id;
pub mod tls;
pub mod trust;
