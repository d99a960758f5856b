//! Sign-in: everything it takes to get a first verified account, by device code or in the
//! browser.
//!
//! - [`skeleton`]: the one skeleton both methods share (discover → sign in → confirm);
//!   [`flow_task`]: a sign-in flow as a task on the runtime, inside the SDK's session;
//! - [`device_code`]: the device code sign-in (RFC 8628);
//! - [`direct`]: an application account verified with nobody signing in (client
//!   credentials, then Graph proves the mailbox and drive it reaches);
//! - [`browser`]: the browser sign-in (authorization code + PKCE), with [`auth_state`]
//!   (the single-use `state`), [`paste`] (the pasted final address, checked for state and
//!   RFC 9207 `iss`), [`loopback`] (the listener that catches it, by query or form post,
//!   on 127.0.0.1 and `[::1]`) and [`inbox`] (where either way delivers it, once);
//! - [`id_token`]: the ID token's claims, checked (iss, aud, exp, nonce); [`confirm`]: who
//!   signed in (Graph `/me`, userinfo, ID token), with [`claims_answer`] answering a
//!   claims challenge on `/me` by one token request; [`verified`]: what a success leaves
//!   for Save.
//!
//! May import: [`crate::account`] (what Save keeps: the verified facts, the first cached
//! token), [`crate::authority`], [`crate::net`] and the top-level form and leaves. Never
//! `delivery`; nothing but the top-level integration imports `signin`.

pub mod auth_state;
pub mod browser;
pub mod claims_answer;
pub mod confirm;
pub mod device_code;
pub mod direct;
pub mod flow_task;
pub mod id_token;
pub mod inbox;
pub mod loopback;
pub mod paste;
pub mod skeleton;
pub mod verified;
