//! Nick claims across the cluster: a nick is held by the client that
//! created its key in the `HUDDLE_NICKS` bucket (an atomic create: of
//! racing claims from any nodes exactly one wins). The value is the
//! holder's client id; the same client may take its claim over from
//! another node (it reconnected elsewhere). The holding node refreshes its
//! claims every [`NICK_TTL`]/3 and deletes them when their holder leaves;
//! the claims of a node that died expire after [`NICK_TTL`] (the bucket's
//! `max_age`).

use std::{collections::HashMap, sync::Mutex, time::Duration};

use async_nats::jetstream::{
    self,
    kv::{self, CreateErrorKind, Operation, UpdateErrorKind},
};
use bytes::Bytes;
use huddle_protocol::ClientId;
use tokio_util::sync::CancellationToken;

use super::{ClusterError, naming, open_bucket};

/// How long a claim outlives its node's last refresh.
pub(crate) const NICK_TTL: Duration = Duration::from_secs(30);

/// Why a claim was not made.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ClaimRefused {
    /// Another client holds the nick somewhere in the cluster.
    Taken,
    /// NATS did not answer; the client should try again.
    Unreachable(String),
}

#[derive(Debug, Clone, Copy)]
struct Held {
    client: ClientId,
    revision: u64,
}

/// The claims bucket and the claims this node holds.
#[derive(Debug)]
pub(crate) struct NickClaims {
    bucket: kv::Store,
    held: Mutex<HashMap<String, Held>>,
}

fn held(claims: &Mutex<HashMap<String, Held>>) -> std::sync::MutexGuard<'_, HashMap<String, Held>> {
    claims
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl NickClaims {
    /// Opens the bucket.
    pub(super) async fn open(jetstream: &jetstream::Context) -> Result<Self, ClusterError> {
        let bucket = open_bucket(jetstream, naming::NICKS_BUCKET, Some(NICK_TTL), true).await?;
        Ok(Self {
            bucket,
            held: Mutex::default(),
        })
    }

    /// Claims `folded` for `client`.
    pub(crate) async fn claim(&self, folded: &str, client: ClientId) -> Result<(), ClaimRefused> {
        let key = naming::nick_key(folded);
        let value = Bytes::copy_from_slice(client.as_uuid().as_bytes());
        let unreachable = |err: &dyn std::fmt::Display| ClaimRefused::Unreachable(err.to_string());
        // Twice: a claim deleted between our create and our read is free.
        for _ in 0..2 {
            let revision = match self.bucket.create(&key, value.clone()).await {
                Ok(revision) => revision,
                Err(err) if err.kind() == CreateErrorKind::AlreadyExists => {
                    let entry = self.bucket.entry(&key).await.map_err(|e| unreachable(&e))?;
                    match entry {
                        Some(entry) if entry.operation == Operation::Put => {
                            if entry.value != value {
                                return Err(ClaimRefused::Taken);
                            }
                            let update = self.bucket.update(&key, value.clone(), entry.revision);
                            match update.await {
                                Ok(revision) => revision,
                                Err(_) => continue,
                            }
                        }
                        _ => continue,
                    }
                }
                Err(err) => return Err(unreachable(&err)),
            };
            held(&self.held).insert(folded.to_owned(), Held { client, revision });
            return Ok(());
        }
        Err(ClaimRefused::Taken)
    }

    /// Who holds `folded` anywhere in the cluster: its client id.
    pub(crate) async fn holder(&self, folded: &str) -> Result<Option<ClientId>, String> {
        let entry = self.bucket.entry(naming::nick_key(folded)).await;
        let entry = entry.map_err(|err| err.to_string())?;
        Ok(entry
            .filter(|entry| entry.operation == Operation::Put)
            .and_then(|entry| uuid::Uuid::from_slice(&entry.value).ok())
            .map(ClientId::from_uuid))
    }

    /// Lets go of `folded` if `client` holds it here.
    pub(crate) async fn release(&self, folded: &str, client: ClientId) {
        let revision = {
            let mut claims = held(&self.held);
            match claims.get(folded) {
                Some(claim) if claim.client == client => {
                    let revision = claim.revision;
                    claims.remove(folded);
                    revision
                }
                _ => return,
            }
        };
        let key = naming::nick_key(folded);
        if let Err(err) = self
            .bucket
            .delete_expect_revision(&key, Some(revision))
            .await
        {
            tracing::debug!(%err, "a nick claim was not deleted (taken over, or it expires)");
        }
    }

    /// Refreshes every claim held here, every third of [`NICK_TTL`],
    /// until `shutdown`. A claim that cannot be refreshed (taken over by
    /// its client on another node) is forgotten.
    pub(crate) async fn keep_fresh(&self, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(NICK_TTL / 3) => {}
            }
            let claims: Vec<(String, Held)> = held(&self.held)
                .iter()
                .map(|(nick, claim)| (nick.clone(), *claim))
                .collect();
            for (folded, claim) in claims {
                let key = naming::nick_key(&folded);
                let value = Bytes::copy_from_slice(claim.client.as_uuid().as_bytes());
                let refreshed = self.bucket.update(&key, value, claim.revision).await;
                let mut claims = held(&self.held);
                match refreshed {
                    Ok(revision) => {
                        if let Some(current) = claims.get_mut(&folded)
                            && current.revision == claim.revision
                        {
                            current.revision = revision;
                        }
                    }
                    // Taken over (its client reconnected on another node):
                    // no longer this node's to refresh.
                    Err(err) if err.kind() == UpdateErrorKind::WrongLastRevision => {
                        if claims
                            .get(&folded)
                            .is_some_and(|c| c.revision == claim.revision)
                        {
                            claims.remove(&folded);
                        }
                    }
                    // NATS away for a moment: kept, refreshed next time.
                    Err(err) => {
                        tracing::warn!(%err, nick = %folded, "a nick claim could not be refreshed");
                    }
                }
            }
        }
    }
}
