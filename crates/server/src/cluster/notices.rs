//! Notices from one node to a connection on another: the automatic reply
//! of an away user to a direct message sent from another node. Plain NATS
//! (no JetStream): a notice is worth nothing once its connection is gone.
//! Subject `huddle.notice.<node>` (the node's id, simple hex); payload the
//! connection id (16 bytes) then the text (UTF-8).

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::StreamExt;
use huddle_protocol::{ChatText, ConnectionId};
use tokio_util::sync::CancellationToken;

use super::ClusterLink;
use crate::hub::Hub;

fn subject(node: uuid::Uuid) -> String {
    format!("huddle.notice.{}", node.simple())
}

impl ClusterLink {
    /// Sends `text` to connection `conn` on `node` (best effort).
    pub(crate) fn notify(&self, (node, conn): (uuid::Uuid, ConnectionId), text: ChatText) {
        let mut payload = BytesMut::with_capacity(16 + text.len());
        payload.put_slice(conn.as_uuid().as_bytes());
        payload.put_slice(text.as_bytes());
        let client = self.client.clone();
        tokio::spawn(async move {
            if let Err(err) = client.publish(subject(node), payload.freeze()).await {
                tracing::debug!(%err, "a notice for another node was not sent");
            }
        });
    }
}

/// Hands the notices sent to this node to `hub` until `shutdown`.
pub(crate) async fn run_receiver(
    link: Arc<ClusterLink>,
    hub: Arc<Hub>,
    shutdown: CancellationToken,
) {
    let mut notices = match link.client.subscribe(subject(link.node)).await {
        Ok(notices) => notices,
        Err(err) => return tracing::warn!(%err, "cannot receive notices from other nodes"),
    };
    loop {
        let notice = tokio::select! {
            () = shutdown.cancelled() => return,
            notice = notices.next() => match notice {
                Some(notice) => notice,
                None => return,
            },
        };
        if let Some((conn, text)) = open(&notice.payload) {
            hub.notice_connection(conn, text);
        }
    }
}

fn open(payload: &Bytes) -> Option<(ConnectionId, ChatText)> {
    let conn = uuid::Uuid::from_slice(payload.get(..16)?).ok()?;
    let text = std::str::from_utf8(payload.get(16..)?).ok()?;
    Some((ConnectionId::from_uuid(conn), ChatText::new(text).ok()?))
}
