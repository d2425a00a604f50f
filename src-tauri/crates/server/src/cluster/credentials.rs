//! API tokens shared by the cluster: the credentials bucket, and this
//! node's replica of it in its own `auth.json`.
//!
//! The bucket (`relaydeck_CLUSTER_auth`, 3 replicas) holds `token.ID` → the
//! token's record (its SHA-256, never the secret). Every node watches it and
//! keeps its local file in step, so tokens are checked locally, also while
//! NATS is down. A token created on a node goes to the bucket as soon as it
//! can; a revocation goes to the bucket *first* ([`revoke`]), and the API
//! answers only once NATS has acknowledged it: from then on each node drops
//! the token as the delete reaches its watch, and ends what it opened.
//! A node that was away replays the bucket when it returns, deletes included.
//! A token the bucket has never seen (created before the node joined, or
//! while NATS was down) is uploaded; one the bucket deleted is never revived.

use std::{sync::Arc, time::Duration};

use async_nats::jetstream::kv::{self, Operation};
use bytes::Bytes;
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use super::link::{Bucket, Link};
use crate::auth::{Auth, Revocations, TokenRecord};

fn key(id: &str) -> String {
    format!("token.{id}")
}

/// Revokes token `id` in the cluster: returns once NATS has acknowledged it.
pub async fn revoke(link: &Link, id: &str) -> Result<(), String> {
    let attempt = async {
        let kv = link.store(Bucket::Auth).await?;
        kv.delete(key(id)).await.map_err(|e| e.to_string())
    };
    match tokio::time::timeout(Duration::from_secs(5), attempt).await {
        Ok(r) => r,
        Err(_) => Err("NATS did not answer within 5 s".into()),
    }
}

/// Keeps `auth`'s tokens and the bucket in step until `shutdown`.
pub async fn run(
    link: Link,
    auth: Arc<Auth>,
    revocations: Arc<Revocations>,
    shutdown: CancellationToken,
) {
    let Some(mut added) = auth.store.follow_additions() else {
        return;
    };
    let mut pending: Vec<TokenRecord> = Vec::new();
    while !shutdown.is_cancelled() {
        if let Err(e) = session(
            &link,
            &auth,
            &revocations,
            &mut added,
            &mut pending,
            &shutdown,
        )
        .await
        {
            tracing::debug!("credentials replica: {e}; retrying");
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// One connected stretch: upload what the bucket never saw, then follow it.
async fn session(
    link: &Link,
    auth: &Auth,
    revocations: &Revocations,
    added: &mut tokio::sync::mpsc::UnboundedReceiver<TokenRecord>,
    pending: &mut Vec<TokenRecord>,
    shutdown: &CancellationToken,
) -> Result<(), String> {
    let kv = link.store(Bucket::Auth).await?;
    for t in auth.store.tokens() {
        let seen = kv
            .entry(key(&t.id))
            .await
            .map_err(|e| format!("cannot read token {}: {e}", t.id))?;
        if seen.is_none() {
            put(&kv, &t).await?;
        }
    }
    while let Some(t) = pending.pop() {
        if let Err(e) = put(&kv, &t).await {
            pending.push(t);
            return Err(e);
        }
    }
    let mut watch = kv
        .watch_with_history("token.>")
        .await
        .map_err(|e| e.to_string())?;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            t = added.recv() => {
                let Some(t) = t else { return Ok(()) };
                if let Err(e) = put(&kv, &t).await {
                    pending.push(t);
                    return Err(e);
                }
            }
            entry = watch.next() => match entry {
                Some(Ok(e)) => apply(auth, revocations, e),
                Some(Err(e)) => return Err(format!("the watch broke: {e}")),
                None => return Err("the watch ended".into()),
            },
        }
    }
}

async fn put(kv: &kv::Store, t: &TokenRecord) -> Result<(), String> {
    let data = serde_json::to_vec(t).expect("serialisable");
    let started = std::time::Instant::now();
    let r = kv
        .put(key(&t.id), Bytes::from(data))
        .await
        .map(|_| ())
        .map_err(|e| format!("cannot store token {}: {e}", t.id));
    tracing::debug!(token = %t.id, took = ?started.elapsed(), ok = r.is_ok(), "token to the cluster");
    r
}

fn apply(auth: &Auth, revocations: &Revocations, e: kv::Entry) {
    let Some(id) = e.key.strip_prefix("token.") else {
        return;
    };
    match e.operation {
        Operation::Put => match serde_json::from_slice::<TokenRecord>(&e.value) {
            Ok(t) if t.id == id => match auth.store.apply_replica_token(t) {
                Ok(true) => tracing::info!(token = %id, "API token from the cluster"),
                Ok(false) => {}
                Err(err) => tracing::warn!(token = %id, "cannot keep a cluster token: {err}"),
            },
            _ => tracing::warn!(key = %e.key, "ignoring a malformed token record in the cluster"),
        },
        Operation::Delete | Operation::Purge => {
            match auth.store.remove_replica_token(id) {
                Ok(true) => tracing::info!(token = %id, "API token revoked in the cluster"),
                Ok(false) => {}
                Err(err) => tracing::warn!(token = %id, "cannot drop a revoked token: {err}"),
            }
            // Whatever it opened here ends, as for a revocation on this node.
            revocations.revoke(id);
        }
    }
}
