//! Nicks bound to keys across the cluster: whoever last held a nick on
//! any node keeps it for the hold time (`--nick-binding-days`, 30 days by
//! default) after leaving, as on a single server (`hub/nick_bindings.rs`).
//! The `HUDDLE_BINDINGS` bucket maps each nick to the client id (key) that
//! last claimed or let go of it; the bucket's `max_age` is the hold time,
//! so each put starts the hold again and a binding nobody refreshes goes by
//! itself. A claim is checked against it before the claim is made
//! (`NickClaim::make`), and the binding is put when the claim is made and
//! again when it is let go of.

use std::time::Duration;

use async_nats::jetstream::{
    self,
    kv::{self, Operation},
};
use bytes::Bytes;
use huddle_protocol::ClientId;

use super::{ClusterError, naming, open_bucket};

/// Why the binding did not allow a claim.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BindingRefused {
    /// Another key holds the nick for this many more days (at least 1).
    Bound { days: u64 },
    /// NATS did not answer; the client should try again.
    Unreachable(String),
}

/// The bindings bucket; `None` when bindings are off (hold time 0).
#[derive(Debug)]
pub(crate) struct BoundNicks {
    bucket: Option<kv::Store>,
    hold: Duration,
}

impl BoundNicks {
    /// Opens the bucket with `hold` as its age limit (the first node to
    /// make the bucket sets it for all).
    pub(super) async fn open(
        jetstream: &jetstream::Context,
        hold: Duration,
    ) -> Result<Self, ClusterError> {
        let bucket = match hold.is_zero() {
            true => None,
            false => {
                Some(open_bucket(jetstream, naming::BINDINGS_BUCKET, Some(hold), false).await?)
            }
        };
        Ok(Self { bucket, hold })
    }

    /// Refuses `client` the nick `folded` if another key holds its binding.
    pub(crate) async fn check(&self, folded: &str, client: ClientId) -> Result<(), BindingRefused> {
        let Some(bucket) = &self.bucket else {
            return Ok(());
        };
        let entry = bucket.entry(naming::nick_key(folded)).await;
        let entry = entry.map_err(|err| BindingRefused::Unreachable(err.to_string()))?;
        let Some(entry) = entry.filter(|entry| entry.operation == Operation::Put) else {
            return Ok(());
        };
        if entry.value == client.as_uuid().as_bytes()[..] {
            return Ok(());
        }
        match self.left(&entry) {
            Some(left) => Err(BindingRefused::Bound {
                days: left.as_secs().div_ceil(24 * 60 * 60).max(1),
            }),
            None => Ok(()),
        }
    }

    /// The key `folded` is bound to, if its binding has not ended: a
    /// direct message to it waits in that key's mailbox while nobody holds
    /// the nick (`hub/offline.rs`).
    pub(crate) async fn holder(&self, folded: &str) -> Result<Option<ClientId>, String> {
        let Some(bucket) = &self.bucket else {
            return Ok(None);
        };
        let entry = bucket.entry(naming::nick_key(folded)).await;
        let entry = entry.map_err(|err| err.to_string())?;
        let Some(entry) = entry.filter(|entry| entry.operation == Operation::Put) else {
            return Ok(None);
        };
        if self.left(&entry).is_none() {
            return Ok(None);
        }
        Ok(uuid::Uuid::from_slice(&entry.value)
            .ok()
            .map(ClientId::from_uuid))
    }

    /// How long `entry`'s binding has left, if any.
    fn left(&self, entry: &kv::Entry) -> Option<Duration> {
        let now = crate::wall_clock::now_millis() / 1000;
        let created = u64::try_from(entry.created.unix_timestamp()).unwrap_or(0);
        let age = Duration::from_secs(now.saturating_sub(created));
        self.hold.checked_sub(age).filter(|left| !left.is_zero())
    }

    /// Binds `folded` to `client` for the hold time from now.
    pub(crate) async fn bind(&self, folded: &str, client: ClientId) {
        let Some(bucket) = &self.bucket else {
            return;
        };
        let value = Bytes::copy_from_slice(client.as_uuid().as_bytes());
        if let Err(err) = bucket.put(naming::nick_key(folded), value).await {
            tracing::warn!(%err, nick = folded, "a nick's binding could not be stored");
        }
    }
}
