//! The fan-out task: one ordered consumer of the rooms stream per node,
//! from its first message, handing each to the hub, which queues it to
//! this node's members of the room and keeps it in the room's history in
//! memory. Every node reads the one stream in its one order, so every
//! member of a room sees its messages in the same order, whichever node
//! they are on. If the consumer breaks (NATS restarted, the node cut off),
//! it is made again from the sequence after the last one handed over: no
//! message is skipped or handed over twice.

use std::{sync::Arc, time::Duration};

use async_nats::jetstream::{
    self,
    consumer::{DeliverPolicy, pull::OrderedConfig},
};
use futures_util::StreamExt;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{envelope, naming};
use crate::hub::Hub;

/// Reads the rooms stream into `hub` until `shutdown`.
/// `reconnects` changes when NATS is reconnected to: the consumer is then
/// made again at once.
pub(crate) async fn run_fanout(
    jetstream: jetstream::Context,
    hub: Arc<Hub>,
    (node, mut reconnects): (uuid::Uuid, watch::Receiver<u64>),
    shutdown: CancellationToken,
) {
    let mut next = 1;
    loop {
        reconnects.borrow_and_update();
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = read_from(&jetstream, &hub, node, &mut next) => {}
            _ = reconnects.changed() => {
                tracing::info!(next, "NATS reconnected: reading the rooms stream again");
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

/// Reads the stream from sequence `*next` until the consumer fails,
/// advancing `*next` past every message handed over.
async fn read_from(jetstream: &jetstream::Context, hub: &Hub, node: uuid::Uuid, next: &mut u64) {
    let stream = match jetstream.get_stream(naming::ROOMS_STREAM).await {
        Ok(stream) => stream,
        Err(err) => return tracing::warn!(%err, "cannot open the rooms stream"),
    };
    let config = OrderedConfig {
        deliver_policy: DeliverPolicy::ByStartSequence {
            start_sequence: *next,
        },
        ..Default::default()
    };
    let messages = match stream.create_consumer(config).await {
        Ok(consumer) => consumer.messages().await,
        Err(err) => return tracing::warn!(%err, "cannot read the rooms stream"),
    };
    let mut messages = match messages {
        Ok(messages) => messages,
        Err(err) => return tracing::warn!(%err, "cannot read the rooms stream"),
    };
    while let Some(message) = messages.next().await {
        let message = match message {
            Ok(message) => message,
            Err(err) => return tracing::warn!(%err, "the rooms stream broke off"),
        };
        let Ok(info) = message.info() else { continue };
        let sequence = info.stream_sequence;
        if sequence < *next {
            continue;
        }
        *next = sequence + 1;
        match envelope::open(&message.payload) {
            Some(opened) => {
                let origin = (opened.node == node).then_some(opened.origin);
                let mut chat = opened.message;
                chat.id = naming::message_id(sequence);
                hub.deliver_from_cluster(chat, origin);
            }
            None => tracing::warn!(sequence, "a message in the rooms stream is not huddle's"),
        }
    }
}
