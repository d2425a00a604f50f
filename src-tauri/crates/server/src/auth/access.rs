//! What the guard decided about one request, as handlers and edges get it.
//!
//! The guard puts an [`Access`] in the request's extensions: who is asking,
//! what the request names ([`Target`], from the one parse of its path and
//! query), and a cancellation token that fires when the credential is
//! revoked or expires (or the server shuts down). Handlers take the target
//! from here, never from the query again; edges check the ID they are about
//! to serve against the caller once more ([`Access::view`], [`Access::publish`]).

use std::{collections::HashMap, sync::Arc};

use parking_lot::Mutex;
use relaydeck_hub::StreamId;
use tokio_util::sync::CancellationToken;

use super::{
    policy::{self, Id, Need, Target},
    query::Params,
    Principal,
};
use crate::error::ApiError;

/// The guard's decision about one request.
#[derive(Debug, Clone)]
pub struct Access {
    pub principal: Principal,
    pub target: Target,
    pub params: Arc<Params>,
    /// Fires when the credential that let this request in is revoked or
    /// expires, or the server shuts down: long-lived streams end with it.
    pub ended: CancellationToken,
}

impl Access {
    /// The one ID the route names (its `{id}` segment or ID parameter).
    pub fn id(&self) -> Result<&StreamId, ApiError> {
        self.target
            .id
            .as_ref()
            .ok_or_else(|| ApiError::Internal("this route names no ID".into()))
    }

    /// `Err(reason)` when a socket's URL named an invalid ID (closed with 1008 and the reason).
    pub fn valid_target(&self) -> Result<(), String> {
        self.target.invalid.clone().map_or(Ok(()), Err)
    }

    /// A query parameter, from the guard's parse.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params.get(key)
    }

    /// Defence in depth: an edge about to serve camera or source `id` asks again.
    pub fn view(&self, id: &str) -> Result<(), ApiError> {
        self.check(Need::View(Id::Path), id)
    }

    /// Defence in depth: an edge about to accept a stream under `id` asks again.
    pub fn publish(&self, id: &str) -> Result<(), ApiError> {
        self.check(Need::Publish(Id::Path), id)
    }

    /// The policy function applied to an ID the guard could not see in the
    /// path or query (a body, a registration message, a lookup).
    pub fn check(&self, need: Need, id: &str) -> Result<(), ApiError> {
        let target = Target {
            id: Some(StreamId::new(id).map_err(|e| ApiError::InvalidId {
                what: "ID".into(),
                id: id.into(),
                why: e.to_string(),
            })?),
            ..Target::default()
        };
        if self.ended.is_cancelled() {
            return Err(ApiError::Revoked);
        }
        if policy::permits(&self.principal, need, &target) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "these credentials do not allow this for '{id}'"
            )))
        }
    }

    /// Whether the connection ended because its credential went away (not a shutdown).
    pub fn revoked(&self, shutdown: &CancellationToken) -> bool {
        self.ended.is_cancelled() && !shutdown.is_cancelled()
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Access {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Access>()
            .cloned()
            .ok_or(ApiError::Unauthorized)
    }
}

/// One cancellation token per API token in use, so revoking (or the expiry
/// of) a token ends every stream and socket it opened, not only new requests.
/// Each is a child of the server's shutdown token.
#[derive(Debug)]
pub struct Revocations {
    shutdown: CancellationToken,
    live: Mutex<HashMap<String, (CancellationToken, Option<u64>)>>,
}

impl Revocations {
    pub fn new(shutdown: CancellationToken) -> Self {
        Self {
            shutdown,
            live: Mutex::default(),
        }
    }

    /// The token that ends what `principal` opened: the shutdown token for
    /// the admin's session, a per-token child for API tokens.
    pub fn ending_for(&self, principal: &Principal, expires_ms: Option<u64>) -> CancellationToken {
        match principal {
            Principal::Admin => self.shutdown.clone(),
            Principal::Token { id, .. } | Principal::Pairing { pass: id, .. } => {
                let mut live = self.live.lock();
                let entry = live
                    .entry(id.clone())
                    .or_insert_with(|| (self.shutdown.child_token(), expires_ms));
                entry.0.clone()
            }
        }
    }

    /// Ends everything opened with token `id`.
    pub fn revoke(&self, id: &str) {
        if let Some((token, _)) = self.live.lock().remove(id) {
            token.cancel();
        }
    }

    /// Ends everything opened with tokens that have expired by `now_ms`
    /// (the server calls this every second).
    pub fn expire(&self, now_ms: u64) -> usize {
        let mut live = self.live.lock();
        let before = live.len();
        live.retain(|_, (token, expires)| {
            let expired = expires.is_some_and(|e| e <= now_ms);
            if expired {
                token.cancel();
            }
            !expired && !token.is_cancelled()
        });
        before - live.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Scope;

    fn token(id: &str) -> Principal {
        Principal::Token {
            id: id.into(),
            scope: Scope::View,
            ids: None,
        }
    }

    #[test]
    fn revoking_one_token_ends_only_its_streams() {
        let shutdown = CancellationToken::new();
        let r = Revocations::new(shutdown.clone());
        let (a1, a2, b) = (
            r.ending_for(&token("a"), None),
            r.ending_for(&token("a"), None),
            r.ending_for(&token("b"), None),
        );
        r.revoke("a");
        assert!(a1.is_cancelled() && a2.is_cancelled() && !b.is_cancelled());
        assert!(!r.ending_for(&Principal::Admin, None).is_cancelled());
        shutdown.cancel();
        assert!(b.is_cancelled(), "shutdown ends everything");
    }

    #[test]
    fn expired_tokens_end_at_the_next_sweep() {
        let r = Revocations::new(CancellationToken::new());
        let soon = r.ending_for(&token("soon"), Some(1_000));
        let never = r.ending_for(&token("never"), None);
        assert_eq!(r.expire(999), 0);
        assert!(!soon.is_cancelled());
        assert_eq!(r.expire(1_000), 1);
        assert!(soon.is_cancelled() && !never.is_cancelled());
    }
}
