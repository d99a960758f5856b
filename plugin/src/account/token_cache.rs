//! The access-token cache of a saved account, kept in the host's secrets store (so every
//! process on the same store shares it): one entry per set of scopes, served while more
//! than [`SKEW_SECS`] of its life is left.

use std::{ops::Deref, sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};

use crate::{authority::scopes, secret::Secret};

/// The longest access token lifetime believed (Entra's configurable maximum is a day): a
/// longer `expires_in` is cut to it, so a server cannot have a token cached for ever.
pub const MAX_ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// How long a token lives when the server's answer does not say (`expires_in` is only
/// recommended by RFC 6749 §5.1): an hour, Microsoft's usual lifetime.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// A token is served from cache only while more than this is left of it (5 minutes), so
/// a request made with it does not meet an expired token on the way.
pub const SKEW_SECS: i64 = 300;

/// One cached access token; `Debug` never shows the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedToken {
    /// The bearer token.
    #[serde(with = "exposed")]
    pub token: Secret,
    /// Unix seconds when it expires.
    pub expires_at: i64,
    /// The scopes it carries, as the provider listed them.
    pub scopes: Vec<String>,
    /// The scopes the refresh that got it asked for. The provider may grant fewer (a
    /// permission nobody consented to); a later request for the same scopes is served
    /// this token all the same, since asking again would only get the same answer.
    /// Empty in entries stored before it was kept.
    #[serde(default)]
    pub requested: Vec<String>,
}

impl CachedToken {
    /// Whether it answers a request for `wanted`: it carries every resource scope in it,
    /// or it is what a request for all of them got (OpenID scopes are never listed in a
    /// token's scopes and are not compared).
    fn covers(&self, wanted: &[String]) -> bool {
        // The same request as the one that got it, word for word: the usual case.
        if !self.requested.is_empty() && self.requested == wanted {
            return true;
        }
        // Compared in place ([`scopes::same`]): a cache hit allocates nothing here.
        let listed = |list: &[String]| {
            wanted
                .iter()
                .filter(|s| !scopes::is_oidc(s))
                .all(|s| list.iter().any(|have| scopes::same(have, s)))
        };
        listed(&self.scopes) || (!self.requested.is_empty() && listed(&self.requested))
    }

    /// The token a token endpoint just issued at `now`, asked for with `wanted`: it
    /// lives `expires_in` (an hour when the answer did not say, at most
    /// [`MAX_ACCESS_TOKEN_LIFETIME`]) and carries `scope` as listed, or — RFC 6749 §5.1:
    /// no `scope` means exactly what was asked — the resource scopes of `wanted`.
    pub fn issued(
        token: Secret,
        expires_in: Option<Duration>,
        scope: Option<&str>,
        wanted: &[String],
        now: i64,
    ) -> CachedToken {
        let lifetime = expires_in.unwrap_or(DEFAULT_LIFETIME);
        let scopes = match scope.map(str::trim).filter(|s| !s.is_empty()) {
            Some(listed) => listed.split_whitespace().map(str::to_owned).collect(),
            None => wanted
                .iter()
                .filter(|s| !scopes::is_oidc(s))
                .cloned()
                .collect(),
        };
        CachedToken {
            token,
            expires_at: crate::clock::expires_at(now, lifetime, MAX_ACCESS_TOKEN_LIFETIME),
            scopes,
            requested: wanted.to_vec(),
        }
    }

    /// Whether it may still be served at `now`.
    fn fresh_at(&self, now: i64) -> bool {
        self.expires_at.saturating_sub(now) > SKEW_SECS
    }
}

mod exposed {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::secret::Secret;

    pub fn serialize<S: Serializer>(s: &Secret, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(s.expose())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

/// A cached token shared with the cache that holds it, so a cache hit copies nothing
/// (a token and its scopes are a dozen allocations).
#[derive(Debug, Clone)]
pub struct SharedToken {
    cache: Arc<TokenCache>,
    index: usize,
}

impl From<CachedToken> for SharedToken {
    fn from(token: CachedToken) -> SharedToken {
        SharedToken {
            cache: Arc::new(TokenCache::of(token)),
            index: 0,
        }
    }
}

impl Deref for SharedToken {
    type Target = CachedToken;

    fn deref(&self) -> &CachedToken {
        &self.cache.entries[self.index]
    }
}

/// The cached tokens of one account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenCache {
    entries: Vec<CachedToken>,
}

impl TokenCache {
    /// A cache holding only `token`.
    pub fn of(token: CachedToken) -> TokenCache {
        TokenCache {
            entries: vec![token],
        }
    }

    /// The cache as stored; a missing or unreadable value is an empty cache (a cache can
    /// always be rebuilt by a refresh, so damage costs one request, never an error).
    pub fn parse(stored: Option<&str>) -> TokenCache {
        let entries = stored
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        TokenCache { entries }
    }

    /// The value to store.
    pub fn to_stored(&self) -> String {
        serde_json::to_string(&self.entries).expect("strings and numbers always serialize")
    }

    /// A token carrying `wanted` with more than the skew left at `now`.
    pub fn find(&self, wanted: &[String], now: i64) -> Option<&CachedToken> {
        self.find_index(wanted, now).map(|i| &self.entries[i])
    }

    /// [`TokenCache::find`], handed out with the cache it is in rather than copied.
    pub fn find_shared(self: &Arc<Self>, wanted: &[String], now: i64) -> Option<SharedToken> {
        self.find_index(wanted, now).map(|index| SharedToken {
            cache: Arc::clone(self),
            index,
        })
    }

    fn find_index(&self, wanted: &[String], now: i64) -> Option<usize> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, t)| t.fresh_at(now) && t.covers(wanted))
            .max_by_key(|(_, t)| t.expires_at)
            .map(|(i, _)| i)
    }

    /// Adds `token`, dropping entries that expired by `now` and any it makes redundant
    /// (it carries their scopes, or it answers the same request).
    pub fn put(&mut self, token: CachedToken, now: i64) {
        let same_request =
            |t: &CachedToken| !t.requested.is_empty() && t.requested == token.requested;
        self.entries
            .retain(|t| t.expires_at > now && !token.covers(&t.scopes) && !same_request(t));
        self.entries.push(token);
    }

    /// When the longest-lived cached token expires.
    pub fn valid_until(&self) -> Option<i64> {
        self.entries.iter().map(|t| t.expires_at).max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(value: &str, expires_at: i64, scopes: &str) -> CachedToken {
        CachedToken {
            token: Secret::new(value),
            expires_at,
            scopes: scopes.split_whitespace().map(str::to_owned).collect(),
            requested: Vec::new(),
        }
    }

    fn want(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn an_issued_token_carries_what_was_asked_when_the_answer_lists_no_scope() {
        let wanted = want("openid offline_access User.Read");
        let listed = CachedToken::issued(Secret::new("a"), None, Some(" Mail.Send "), &wanted, 10);
        assert_eq!(listed.scopes, want("Mail.Send"));
        assert_eq!(listed.expires_at, 10 + 3600, "an hour when unsaid");
        let unlisted = CachedToken::issued(
            Secret::new("a"),
            Some(std::time::Duration::from_secs(90 * 24 * 3600)),
            None,
            &wanted,
            10,
        );
        assert_eq!(unlisted.scopes, want("User.Read"), "OpenID scopes dropped");
        assert_eq!(unlisted.requested, wanted);
        assert_eq!(unlisted.expires_at, 10 + 24 * 3600, "capped at a day");
    }

    #[test]
    fn served_while_more_than_the_skew_is_left_and_for_subsets_only() {
        let mut cache = TokenCache::default();
        cache.put(
            token("at-1", 1000 + 3600, "User.Read Mail.Send profile openid"),
            1000,
        );
        let saved = want("openid profile offline_access User.Read Mail.Send");
        assert!(cache.find(&saved, 1000).is_some());
        assert!(cache
            .find(&want("https://graph.microsoft.com/mail.send"), 1000)
            .is_some());
        assert!(cache.find(&want("Files.Read"), 1000).is_none());
        assert!(cache.find(&saved, 1000 + 3600 - SKEW_SECS - 1).is_some());
        assert!(cache.find(&saved, 1000 + 3600 - SKEW_SECS).is_none());
    }

    #[test]
    fn a_shared_hit_is_the_entry_find_picks_and_stays_whole_while_the_cache_is_replaced() {
        let mut cache = TokenCache::default();
        cache.put(token("both", 1000 + 1800, "Files.Read Mail.Send"), 1000);
        cache.put(token("long", 1000 + 3600, "Mail.Send"), 1000);
        cache.put(token("short", 1000 + 900, "User.Read"), 1000);
        let cache = Arc::new(cache);
        for (asked, at) in [
            ("User.Read", 1000),
            ("Mail.Send", 1000),
            ("Files.Read", 1000),
            ("User.Read", 2000),
        ] {
            let found = cache.find(&want(asked), at).cloned();
            let shared = cache.find_shared(&want(asked), at).map(|t| (*t).clone());
            assert_eq!(shared, found, "{asked} at {at}");
        }
        assert!(cache.find_shared(&want("Calendars.Read"), 1000).is_none());
        // A hit handed out keeps its token after the memo lets go of the cache.
        let hit = cache.find_shared(&want("Mail.Send"), 1000).unwrap();
        drop(cache);
        assert_eq!(hit.token.expose(), "long");
        // A token from a refresh is handed out the same way.
        let fresh = SharedToken::from(token("new", 5000, "User.Read"));
        assert_eq!((fresh.token.expose(), fresh.expires_at), ("new", 5000));
    }

    #[test]
    fn a_request_the_provider_granted_less_for_is_served_what_it_got() {
        // Asked for Mail.Send, which nobody consented to: the token lacks it. Asking
        // again would only get the same answer, so the cache serves it for that request
        // (and for any part of it), but not for a scope it was never asked for.
        let saved = want("openid profile offline_access User.Read Mail.Send");
        let mut cache = TokenCache::default();
        let mut got = token("at-1", 1000 + 3600, "User.Read");
        got.requested = saved.clone();
        cache.put(got, 1000);
        assert_eq!(cache.find(&saved, 1000).unwrap().token.expose(), "at-1");
        assert!(cache.find(&want("Mail.Send"), 1000).is_some());
        assert!(cache.find(&want("Files.Read"), 1000).is_none());
        // An entry stored before `requested` was kept is served by its scopes only.
        let old = TokenCache::parse(Some(
            r#"[{"token":"at-0","expires_at":9000,"scopes":["User.Read"]}]"#,
        ));
        assert!(old.find(&want("User.Read"), 1000).is_some());
        assert!(old.find(&saved, 1000).is_none());
    }

    #[test]
    fn round_trips_as_stored_and_damage_is_an_empty_cache() {
        let mut cache = TokenCache::default();
        cache.put(token("at-1", 5000, "User.Read"), 1000);
        cache.put(token("at-2", 6000, "Files.Read"), 1000);
        cache.put(token("at-3", 7000, "User.Read Mail.Send"), 1000);
        let stored = cache.to_stored();
        let back = TokenCache::parse(Some(&stored));
        assert_eq!(back, cache);
        assert_eq!(back.entries.len(), 2, "at-3 replaces at-1, which it covers");
        assert_eq!(back.valid_until(), Some(7000));
        assert_eq!(TokenCache::parse(Some("{nope")), TokenCache::default());
        assert!(!format!("{cache:?}").contains("at-1"));
    }
}
