//! What a node publishes: the publishing node's id (16 bytes), the
//! sender's connection id (16), the sender's client id (16), the
//! recipient's client id (16; nil but for a direct message), then the
//! `ServerMessage` the nodes are to tell their clients, in huddle's wire
//! encoding: a `Chat` (its `id` left nil: whoever reads it derives the id
//! from the stream sequence), a `Presence` or a `Topic`.

use bytes::{BufMut, Bytes, BytesMut};
use huddle_protocol::{ClientId, ConnectionId, ServerMessage, decode_payload, encode_payload};
use uuid::Uuid;

const HEADER: usize = 64;

/// Where a message was accepted and between whom it goes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Route {
    /// The node that accepted it.
    pub(crate) node: Uuid,
    /// The sender's connection there.
    pub(crate) origin: ConnectionId,
    /// The sender's client id (its mailbox).
    pub(crate) sender: ClientId,
    /// The recipient's client id, for a direct message.
    pub(crate) recipient: Option<ClientId>,
}

/// The envelope of `message`, sent along `route`.
pub(super) fn seal(route: &Route, message: &ServerMessage) -> Option<Bytes> {
    let body = encode_payload(message)
        .map_err(|err| tracing::error!(%err, "cannot encode a message for the cluster"))
        .ok()?;
    let recipient = route.recipient.map_or(Uuid::nil(), |r| *r.as_uuid());
    let mut out = BytesMut::with_capacity(HEADER + body.len());
    out.put_slice(route.node.as_bytes());
    out.put_slice(route.origin.as_uuid().as_bytes());
    out.put_slice(route.sender.as_uuid().as_bytes());
    out.put_slice(recipient.as_bytes());
    out.put_slice(&body);
    Some(out.freeze())
}

/// A message read back from the stream: where it was accepted and what it
/// is. `None` for bytes that are not an envelope (nothing huddle wrote).
#[derive(Debug, PartialEq)]
pub(super) struct Opened {
    pub(super) route: Route,
    pub(super) message: ServerMessage,
}

/// Opens an envelope.
pub(super) fn open(bytes: &[u8]) -> Option<Opened> {
    let uuid = |at: usize| Uuid::from_slice(bytes.get(at..at + 16)?).ok();
    let recipient = uuid(48)?;
    let route = Route {
        node: uuid(0)?,
        origin: ConnectionId::from_uuid(uuid(16)?),
        sender: ClientId::from_uuid(uuid(32)?),
        recipient: (!recipient.is_nil()).then(|| ClientId::from_uuid(recipient)),
    };
    let message = decode_payload::<ServerMessage>(bytes.get(HEADER..)?).ok()?;
    Some(Opened { route, message })
}

#[cfg(test)]
mod tests {
    use huddle_protocol::{
        ChatMessage, ChatText, ClientMsgId, MessageId, MessageKind, Nick, RoomName, Target,
    };

    use super::*;

    #[test]
    fn an_envelope_opens_to_what_was_sealed_and_garbage_to_nothing() {
        let message = ServerMessage::Chat(ChatMessage {
            id: MessageId::from_uuid(Uuid::nil()),
            target: Target::Room(RoomName::new("#lobby").unwrap()),
            from: Nick::new("alice").unwrap(),
            kind: MessageKind::Normal,
            text: ChatText::new("hi").unwrap(),
            timestamp: 1_700_000_000_000,
            client_msg_id: ClientMsgId::from_uuid(Uuid::new_v4()),
        });
        for recipient in [None, Some(ClientId::from_uuid(Uuid::new_v4()))] {
            let route = Route {
                node: Uuid::new_v4(),
                origin: ConnectionId::from_uuid(Uuid::new_v4()),
                sender: ClientId::from_uuid(Uuid::new_v4()),
                recipient,
            };
            let sealed = seal(&route, &message);
            let opened = sealed.as_deref().and_then(open);
            let message = message.clone();
            assert_eq!(opened, Some(Opened { route, message }));
        }
        assert_eq!(open(b"short"), None);
        assert_eq!(open(&[7u8; 80]), None);
    }
}
