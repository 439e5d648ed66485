//! The fan-out tasks: per node, one ordered consumer of each stream (rooms,
//! direct messages), from its first message, handing each to the hub,
//! which queues it to this node's recipients and keeps it in memory (a
//! room's history, the two mailboxes). Every node reads a stream in its
//! one order, so every member of a room sees its messages in the same
//! order, whichever node they are on. If the consumer breaks, or NATS is
//! reconnected to, it is made again from the sequence after the last one
//! handed over: no message is skipped or handed over twice. A node whose
//! members of a room fall behind (most of their queues a quarter full:
//! the node writes slower than the stream comes, its CPU shared or short)
//! stops reading for a flusher pass at a time, up to [`MAX_PAUSE`], so it
//! lags in the stream instead of dropping its readers as slow; the acks of
//! its own senders wait with it.

use std::{sync::Arc, time::Duration};

use async_nats::jetstream::consumer::{DeliverPolicy, pull::OrderedConfig};
use futures_util::StreamExt;
use huddle_protocol::ServerMessage;
use tokio_util::sync::CancellationToken;

use super::{ClusterLink, envelope, naming::Stream};
use crate::hub::Hub;

/// The longest a node waits for its writers before reading on (then a
/// reader still behind is dropped as slow, as on a single server).
const MAX_PAUSE: Duration = Duration::from_millis(250);

/// Reads `stream` into `hub` until `shutdown`.
pub(crate) async fn run_fanout(
    stream: Stream,
    link: Arc<ClusterLink>,
    hub: Arc<Hub>,
    shutdown: CancellationToken,
) {
    let mut next = 1;
    let mut reconnects = link.reconnects.clone();
    loop {
        reconnects.borrow_and_update();
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = read_from(stream, &link, &hub, &mut next) => {}
            _ = reconnects.changed() => {
                tracing::info!(next, stream = stream.name(), "NATS reconnected: reading again");
                continue;
            }
        }
        // The consumer ended or could not be made: try again shortly.
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
}

/// Reads `stream` from sequence `*next` until the consumer fails,
/// advancing `*next` past every message handed over.
async fn read_from(stream: Stream, link: &ClusterLink, hub: &Hub, next: &mut u64) {
    let name = stream.name();
    let source = match link.jetstream().get_stream(name).await {
        Ok(source) => source,
        Err(err) => return tracing::warn!(%err, name, "cannot open the stream"),
    };
    let config = OrderedConfig {
        deliver_policy: DeliverPolicy::ByStartSequence {
            start_sequence: *next,
        },
        ..Default::default()
    };
    let messages = match source.create_consumer(config).await {
        Ok(consumer) => consumer.messages().await,
        Err(err) => return tracing::warn!(%err, name, "cannot read the stream"),
    };
    let mut messages = match messages {
        Ok(messages) => messages,
        Err(err) => return tracing::warn!(%err, name, "cannot read the stream"),
    };
    while let Some(message) = messages.next().await {
        let message = match message {
            Ok(message) => message,
            Err(err) => return tracing::warn!(%err, name, "the stream broke off"),
        };
        let Ok(info) = message.info() else { continue };
        let sequence = info.stream_sequence;
        if sequence < *next {
            continue;
        }
        *next = sequence + 1;
        let congested = hand_over(stream, link, hub, sequence, &message.payload);
        // Acks for everything up to here may go out now.
        link.fanned_out(stream, sequence);
        if let Some(room) = congested {
            wait_for_writers(hub, &room).await;
        }
    }
}

/// Waits, a flusher pass at a time and at most [`MAX_PAUSE`], while most
/// of `room`'s members here still have a backlog.
async fn wait_for_writers(hub: &Hub, room: &huddle_protocol::RoomName) {
    let deadline = tokio::time::Instant::now() + MAX_PAUSE;
    while hub.room_congested(room) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(crate::outbound::WRITE_INTERVAL).await;
    }
}

/// Hands the message at `sequence` to the hub; the room it went to if
/// that room's members here are falling behind.
fn hand_over(
    stream: Stream,
    link: &ClusterLink,
    hub: &Hub,
    sequence: u64,
    payload: &[u8],
) -> Option<huddle_protocol::RoomName> {
    let Some(opened) = envelope::open(payload) else {
        let name = stream.name();
        tracing::warn!(sequence, name, "a message in the stream is not huddle's");
        return None;
    };
    let route = opened.route;
    let from_here = route.node == link.node;
    match (stream, opened.message, route.recipient) {
        (Stream::Rooms, ServerMessage::Chat(mut chat), _) => {
            chat.id = stream.message_id(sequence);
            // The sender is answered with an Ack, not its own message.
            return hub.deliver_from_cluster(chat, from_here.then_some(route.origin));
        }
        (Stream::Directs, ServerMessage::Chat(mut chat), Some(recipient)) => {
            chat.id = stream.message_id(sequence);
            let origin = (route.node, route.origin);
            hub.deliver_direct_from_cluster(chat, (route.sender, origin), recipient);
        }
        // This node told its own members when it happened.
        (Stream::Rooms, ServerMessage::Presence(presence), _) if !from_here => {
            hub.presence_from_cluster(presence, route.node);
        }
        (Stream::Rooms, ServerMessage::Topic { room, topic, by }, _) => {
            hub.topic_from_cluster(&room, topic, by);
        }
        _ => {}
    }
    None
}
