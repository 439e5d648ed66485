//! The publisher task: publishes the room and direct messages the hub
//! accepted, in the order accepted, and answers each sender when JetStream
//! has stored its message (`Ack` with the id derived from the stream
//! sequence) or could not (`Internal`: send it again; the resend is
//! de-duplicated by its `Nats-Msg-Id` if the first copy was stored after
//! all). A direct message's recipient is looked up here, in the nick
//! claims (its client id names its mailbox): nobody holding the nick
//! anywhere in the cluster is `NoSuchNick`.

use std::sync::Arc;

use async_nats::{
    HeaderMap,
    jetstream::{self, context::PublishError, publish::PublishAck},
};
use futures_util::{StreamExt, stream::FuturesOrdered};
use huddle_protocol::{ChatMessage, ErrorCode, ErrorReport, ServerMessage, ShortText, Target};
use tokio_util::sync::CancellationToken;

use super::{
    ClusterLink, PublishQueue,
    envelope::{self, Route},
    naming::{self, Stream},
};
use crate::{hub::Request, outbound::Outbound};

/// Publishes waiting for JetStream's answer at once, beyond which the task
/// waits for answers before publishing more.
const IN_FLIGHT: usize = 4096;
/// How long an unconfirmed publish is retried.
const RETRY_FOR: std::time::Duration = std::time::Duration::from_secs(10);
/// The pause between two tries.
const RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(200);

/// Whom to answer for a published message.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) outbound: Outbound,
    pub(crate) request: Request,
    /// When the message was accepted (the `Ack`'s timestamp).
    pub(crate) timestamp: u64,
}

impl Reply {
    /// Tells the sender its message was not stored, and to send it again.
    pub(crate) fn refuse(self, why: &str) {
        self.refuse_as(ErrorCode::Internal, &format!("{why}; send it again"));
    }

    fn refuse_as(self, code: ErrorCode, text: &str) {
        let error = ServerMessage::Error(ErrorReport {
            code,
            text: ShortText::lossy(text),
            request: self.request.kind,
            id: Some(self.request.id),
        });
        let _ = self.outbound.send(&error);
    }

    fn acknowledge(self, stream: Stream, sequence: u64, timestamp: u64) {
        let _ = self.outbound.send(&ServerMessage::Ack {
            id: self.request.id,
            message_id: stream.message_id(sequence),
            timestamp,
        });
    }
}

/// A message to publish (its route's recipient is found here).
#[derive(Debug)]
pub(crate) struct Publish {
    pub(crate) route: Route,
    pub(crate) message: ChatMessage,
    pub(crate) reply: Reply,
}

/// Publishes what the hub queues until `shutdown`, then answers what is
/// in flight.
pub(crate) async fn run_publisher(
    link: Arc<ClusterLink>,
    mut queue: PublishQueue,
    shutdown: CancellationToken,
) {
    let mut in_flight = FuturesOrdered::new();
    loop {
        tokio::select! {
            biased;
            Some(()) = in_flight.next(), if !in_flight.is_empty() => {}
            publish = queue.recv(), if in_flight.len() < IN_FLIGHT => {
                let Some(publish) = publish else { break };
                in_flight.push_back(publish_one(link.clone(), publish));
            }
            () = shutdown.cancelled() => break,
        }
    }
    while in_flight.next().await.is_some() {}
}

/// Publishes one message and answers its sender. A publish JetStream did
/// not confirm (NATS restarting, a leader moving) is made again with the
/// same `Nats-Msg-Id` for up to [`RETRY_FOR`]: stored already, it is
/// answered as a duplicate with its sequence, so the sender is never told
/// "send again" about a message that is in the stream after all — unless
/// NATS stays away longer than that.
async fn publish_one(link: Arc<ClusterLink>, publish: Publish) {
    let Publish {
        mut route,
        message,
        reply,
    } = publish;
    let (stream, subject) = match &message.target {
        Target::Room(room) => (Stream::Rooms, naming::room_subject(room.folded())),
        Target::Direct(to) => match link.nicks.holder(to.folded()).await {
            Ok(Some(recipient)) => {
                route.recipient = Some(recipient);
                (
                    Stream::Directs,
                    naming::direct_subject(&recipient, &route.sender),
                )
            }
            Ok(None) => {
                return reply.refuse_as(ErrorCode::NoSuchNick, &format!("no user is called {to}"));
            }
            Err(why) => return reply.refuse(&format!("the cluster did not answer ({why})")),
        },
    };
    let Some(payload) = envelope::seal(&route, &message) else {
        return reply.refuse("the message could not be encoded");
    };
    let dedup = naming::dedup_id(&route.sender, &message.client_msg_id);
    let jetstream = link.jetstream();
    let started = tokio::time::Instant::now();
    let answer = loop {
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", dedup.as_str());
        let answer = match jetstream
            .publish_with_headers(subject.clone(), headers, payload.clone())
            .await
        {
            Ok(confirmation) => confirmation.await,
            Err(err) => Err(err),
        };
        match answer {
            Err(_) if started.elapsed() < RETRY_FOR => {
                tokio::time::sleep(RETRY_PAUSE).await;
            }
            answer => break answer,
        }
    };
    settle(jetstream, stream, answer, reply).await;
}

async fn settle(
    jetstream: &jetstream::Context,
    stream: Stream,
    answer: Result<PublishAck, PublishError>,
    reply: Reply,
) {
    match answer {
        Ok(ack) if ack.duplicate => {
            // A resend of a stored message: its original time, if readable.
            let timestamp = original_timestamp(jetstream, stream, ack.sequence)
                .await
                .unwrap_or(reply.timestamp);
            reply.acknowledge(stream, ack.sequence, timestamp);
        }
        Ok(ack) => {
            let timestamp = reply.timestamp;
            reply.acknowledge(stream, ack.sequence, timestamp);
        }
        Err(err) => {
            tracing::warn!(%err, "JetStream did not confirm a room message");
            reply.refuse(&format!(
                "the cluster did not confirm storing this message ({err})"
            ));
        }
    }
}

async fn original_timestamp(
    jetstream: &jetstream::Context,
    stream: Stream,
    sequence: u64,
) -> Option<u64> {
    let stream = jetstream.get_stream(stream.name()).await.ok()?;
    let stored = stream.get_raw_message(sequence).await.ok()?;
    envelope::open(&stored.payload).map(|opened| opened.message.timestamp)
}
