//! Which nodes are alive: each node puts its id in the `HUDDLE_NODES`
//! bucket every [`BEAT`] and the bucket forgets a key [`NODE_TTL`] after
//! its last put; each beat, a node lists the live ids and drops the room
//! members of the others (`Hub::forget_nodes`) — so a node killed without
//! a word has its members leave every room within [`NODE_TTL`] + [`BEAT`].

use std::{collections::HashSet, sync::Arc, time::Duration};

use async_nats::jetstream::{self, kv};
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use super::{ClusterError, ClusterLink, naming, open_bucket};
use crate::hub::Hub;

/// How often a node says it is alive.
const BEAT: Duration = Duration::from_secs(2);
/// How long a node counts as alive after it last said so.
const NODE_TTL: Duration = Duration::from_secs(6);

/// Opens the nodes bucket.
pub(super) async fn open(jetstream: &jetstream::Context) -> Result<kv::Store, ClusterError> {
    open_bucket(jetstream, naming::NODES_BUCKET, Some(NODE_TTL), false).await
}

/// Beats and forgets dead nodes' members until `shutdown`.
pub(crate) async fn run_liveness(
    link: Arc<ClusterLink>,
    hub: Arc<Hub>,
    shutdown: CancellationToken,
) {
    let me = link.node.simple().to_string();
    loop {
        if let Err(err) = link.nodes.put(&me, bytes::Bytes::new()).await {
            tracing::warn!(%err, "cannot tell the cluster this node is alive");
        }
        match live_nodes(&link.nodes).await {
            Ok(alive) => hub.forget_nodes(&alive),
            Err(err) => tracing::warn!(%err, "cannot list the cluster's live nodes"),
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(BEAT) => {}
        }
    }
    // Gone at once rather than after the TTL.
    let _ = link.nodes.delete(&me).await;
}

async fn live_nodes(bucket: &kv::Store) -> Result<HashSet<uuid::Uuid>, String> {
    let mut keys = bucket.keys().await.map_err(|err| err.to_string())?;
    let mut alive = HashSet::new();
    while let Some(key) = keys.next().await {
        let key = key.map_err(|err| err.to_string())?;
        if let Ok(node) = uuid::Uuid::parse_str(&key) {
            alive.insert(node);
        }
    }
    Ok(alive)
}
