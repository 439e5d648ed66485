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
use huddle_protocol::{ErrorCode, ErrorReport, ServerMessage, ShortText, Target};
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

    pub(crate) fn acknowledge(self, stream: Stream, sequence: u64, timestamp: u64) {
        let _ = self.outbound.send(&ServerMessage::Ack {
            id: self.request.id,
            message_id: stream.message_id(sequence),
            timestamp,
        });
    }
}

/// A message to publish (its route's recipient is found here): a `Chat`
/// whose sender waits for an answer, or a `Presence` or `Topic` that
/// nobody waits for.
#[derive(Debug)]
pub(crate) struct Publish {
    pub(crate) route: Route,
    pub(crate) message: ServerMessage,
    pub(crate) reply: Option<Reply>,
}

/// Publishes what the hub queues until `shutdown`, then answers what is
/// in flight. Messages are handed to NATS one after the other, in the
/// order accepted (so a sender's messages keep their order in the
/// stream); only the waits for JetStream's confirmations overlap.
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
                if let Some(sent) = send(&link, publish).await {
                    in_flight.push_back(confirm(link.clone(), sent));
                }
            }
            () = shutdown.cancelled() => break,
        }
    }
    while in_flight.next().await.is_some() {}
}

/// A message handed to NATS, waiting for JetStream's confirmation.
struct Sent {
    stream: Stream,
    subject: String,
    headers: HeaderMap,
    payload: bytes::Bytes,
    confirmation: Result<jetstream::context::PublishAckFuture, PublishError>,
    reply: Option<Reply>,
}

/// Finds where `publish` goes and hands it to NATS; `None` if it has
/// nowhere to go (its sender told why).
async fn send(link: &ClusterLink, publish: Publish) -> Option<Sent> {
    let Publish {
        mut route,
        message,
        reply,
    } = publish;
    let (stream, subject) = match destination(link, &mut route, &message).await {
        Ok(destination) => destination,
        Err(refusal) => {
            if let Some(reply) = reply {
                refusal.tell(reply);
            }
            return None;
        }
    };
    let Some(payload) = envelope::seal(&route, &message) else {
        if let Some(reply) = reply {
            reply.refuse("the message could not be encoded");
        }
        return None;
    };
    // Only a chat message has an id of its sender's to de-duplicate by.
    let mut headers = HeaderMap::new();
    if let ServerMessage::Chat(chat) = &message {
        let dedup = naming::dedup_id(&route.sender, &chat.client_msg_id);
        headers.insert("Nats-Msg-Id", dedup.as_str());
    }
    let confirmation = link
        .jetstream()
        .publish_with_headers(subject.clone(), headers.clone(), payload.clone())
        .await;
    Some(Sent {
        stream,
        subject,
        headers,
        payload,
        confirmation,
        reply,
    })
}

/// Waits for JetStream to confirm `sent` and answers its sender. A publish
/// JetStream did not confirm (NATS restarting, a leader moving) is made
/// again with the same `Nats-Msg-Id` for up to [`RETRY_FOR`]: stored
/// already, it is answered as a duplicate with its sequence, so the sender
/// is never told "send again" about a message that is in the stream after
/// all — unless NATS stays away longer than that.
async fn confirm(link: Arc<ClusterLink>, sent: Sent) {
    let jetstream = link.jetstream();
    let started = tokio::time::Instant::now();
    let mut confirmation = sent.confirmation;
    let answer = loop {
        let answer = match confirmation {
            Ok(confirmation) => confirmation.await,
            Err(err) => Err(err),
        };
        match answer {
            Err(_) if started.elapsed() < RETRY_FOR => {
                tokio::time::sleep(RETRY_PAUSE).await;
                confirmation = jetstream
                    .publish_with_headers(
                        sent.subject.clone(),
                        sent.headers.clone(),
                        sent.payload.clone(),
                    )
                    .await;
            }
            answer => break answer,
        }
    };
    match sent.reply {
        Some(reply) => settle(&link, sent.stream, answer, reply).await,
        None => {
            if let Err(err) = answer {
                tracing::warn!(%err, "JetStream did not confirm a presence or topic change");
            }
        }
    }
}

/// Why a message has nowhere to go.
enum Undeliverable {
    NoSuchNick(String),
    Unanswered(String),
    Unroutable,
}

impl Undeliverable {
    fn tell(self, reply: Reply) {
        match self {
            Self::NoSuchNick(text) => reply.refuse_as(ErrorCode::NoSuchNick, &text),
            Self::Unanswered(why) => reply.refuse(&format!("the cluster did not answer ({why})")),
            Self::Unroutable => reply.refuse("this message cannot go through the cluster"),
        }
    }
}

/// The stream and subject `message` goes to; a direct message's recipient
/// is looked up in the nick claims and written into `route`.
async fn destination(
    link: &ClusterLink,
    route: &mut Route,
    message: &ServerMessage,
) -> Result<(Stream, String), Undeliverable> {
    let room = match message {
        ServerMessage::Chat(chat) => match &chat.target {
            Target::Room(room) => room,
            Target::Direct(to) => {
                let holder = link.nicks.holder(to.folded()).await;
                let recipient = match holder.map_err(Undeliverable::Unanswered)? {
                    Some(online) => online,
                    // Offline but bound: it waits in the key's mailbox.
                    None => link
                        .bound_nicks
                        .holder(to.folded())
                        .await
                        .map_err(Undeliverable::Unanswered)?
                        .ok_or_else(|| {
                            Undeliverable::NoSuchNick(format!("no user is called {to}"))
                        })?,
                };
                route.recipient = Some(recipient);
                let subject = naming::direct_subject(&recipient, &route.sender);
                return Ok((Stream::Directs, subject));
            }
        },
        ServerMessage::Presence(presence) => &presence.room,
        ServerMessage::Topic { room, .. } => room,
        _ => return Err(Undeliverable::Unroutable),
    };
    Ok((Stream::Rooms, naming::room_subject(room.folded())))
}

/// Answers a sender once JetStream answered: the ack waits for this
/// node's fan-out to reach the message (`ack_gate.rs`).
async fn settle(
    link: &ClusterLink,
    stream: Stream,
    answer: Result<PublishAck, PublishError>,
    reply: Reply,
) {
    match answer {
        Ok(ack) => {
            let timestamp = match ack.duplicate {
                // A resend of a stored message: its original time, if readable.
                true => original_timestamp(link.jetstream(), stream, ack.sequence)
                    .await
                    .unwrap_or(reply.timestamp),
                false => reply.timestamp,
            };
            link.acknowledge_after_fanout(stream, ack.sequence, (reply, timestamp));
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
    match envelope::open(&stored.payload)?.message {
        ServerMessage::Chat(chat) => Some(chat.timestamp),
        _ => None,
    }
}
