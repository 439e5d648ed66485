//! Room passwords and topics across a cluster: a room's `RoomMeta` (the
//! Argon2id hash of its password, never the password) is put in the
//! `HUDDLE_ROOM_META` bucket when a node makes the room, and every node
//! mirrors the bucket into its hub (`Hub::room_meta_from_cluster`), so a
//! protected room asks for its password on every node. The mirror is a
//! watch of the whole bucket, made again (from its current values) if it
//! breaks.

use std::{sync::Arc, time::Duration};

use async_nats::jetstream::{
    self,
    kv::{self, Operation},
};
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use super::{ClusterError, ClusterLink, naming, open_bucket};
use crate::{hub::Hub, room::RoomMeta};

/// Opens the bucket.
pub(super) async fn open(jetstream: &jetstream::Context) -> Result<kv::Store, ClusterError> {
    open_bucket(jetstream, naming::ROOM_META_BUCKET, None, false).await
}

/// Stores `meta` for every node (in the background: nobody waits).
pub(crate) fn share(link: &Arc<ClusterLink>, meta: &RoomMeta) {
    let Ok(value) = serde_json::to_vec(meta) else {
        return;
    };
    let key = naming::room_key(meta.name.folded());
    let link = link.clone();
    tokio::spawn(async move {
        if let Err(err) = link.room_meta.put(key, value.into()).await {
            tracing::warn!(%err, "a room's password or topic was not shared with the cluster");
        }
    });
}

/// Mirrors the bucket into `hub` until `shutdown`.
pub(crate) async fn run_mirror(link: Arc<ClusterLink>, hub: Arc<Hub>, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = mirror(&link.room_meta, &hub) => {}
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

async fn mirror(bucket: &kv::Store, hub: &Hub) {
    let mut watch = match bucket.watch_with_history(">").await {
        Ok(watch) => watch,
        Err(err) => return tracing::warn!(%err, "cannot watch the rooms' passwords"),
    };
    while let Some(entry) = watch.next().await {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => return tracing::warn!(%err, "the watch of the rooms' passwords broke"),
        };
        if entry.operation != Operation::Put {
            continue;
        }
        match serde_json::from_slice::<RoomMeta>(&entry.value) {
            Ok(meta) => hub.room_meta_from_cluster(meta),
            Err(err) => tracing::warn!(%err, key = entry.key, "a room's stored meta is damaged"),
        }
    }
}
