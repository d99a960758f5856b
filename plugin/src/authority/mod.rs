//! The identity platform (the authority) as the plugin speaks to it, shared by the
//! sign-in, the saved account's refresh and delivery — none of them owns it:
//!
//! - [`discovery`]: endpoints and capabilities from the tenant's OpenID configuration,
//!   kept to the authority's own service; [`issuer`]: whose answers are accepted;
//! - [`token`]: token answers and `oauth2` request errors;
//! - [`aadsts`]: provider errors and the AADSTS table (plain message and fix per code);
//! - [`scopes`]: granted versus requested permissions; [`claims`]: the `cp1` capability
//!   and the claims challenges Graph answers with;
//! - [`redirect`]: which redirect URI is sent; [`admin_consent`]: the address for an
//!   administrator when permissions need consent; [`app_access`]: what an application
//!   account may reach (roles, Exchange access policies) and its refusals;
//!   [`delivery_permissions`]: which deliveries the granted permissions allow.
//!
//! May import: [`crate::net`] and the top-level form and leaves (`config`, `fields`,
//! `secret`, `clock`, `sign_in_kind`). Never `signin`, `account` or `delivery`, which all build on it.

pub mod aadsts;
pub mod admin_consent;
pub mod app_access;
pub mod claims;
pub mod delivery_permissions;
pub mod discovery;
pub mod issuer;
pub mod redirect;
pub mod scopes;
pub mod token;
