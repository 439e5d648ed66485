//! What a node publishes for a room message: the publishing node's id (16
//! bytes), the sender's connection id (16 bytes), then the `ChatMessage`
//! in huddle's wire encoding (its `id` is left nil: the id is derived from
//! the stream sequence by whoever reads it).

use bytes::{BufMut, Bytes, BytesMut};
use huddle_protocol::{ChatMessage, ConnectionId, decode_payload, encode_payload};
use uuid::Uuid;

const HEADER: usize = 32;

/// The envelope of `message`, accepted on `node` from connection `origin`.
pub(super) fn seal(node: Uuid, origin: ConnectionId, message: &ChatMessage) -> Option<Bytes> {
    let body = encode_payload(message)
        .map_err(|err| tracing::error!(%err, "cannot encode a room message for the cluster"))
        .ok()?;
    let mut out = BytesMut::with_capacity(HEADER + body.len());
    out.put_slice(node.as_bytes());
    out.put_slice(origin.as_uuid().as_bytes());
    out.put_slice(&body);
    Some(out.freeze())
}

/// A message read back from the stream: where it was accepted and what it
/// is. `None` for bytes that are not an envelope (nothing huddle wrote).
#[derive(Debug, PartialEq)]
pub(super) struct Opened {
    pub(super) node: Uuid,
    pub(super) origin: ConnectionId,
    pub(super) message: ChatMessage,
}

/// Opens an envelope.
pub(super) fn open(bytes: &[u8]) -> Option<Opened> {
    let node = Uuid::from_slice(bytes.get(..16)?).ok()?;
    let origin = ConnectionId::from_uuid(Uuid::from_slice(bytes.get(16..HEADER)?).ok()?);
    let message = decode_payload::<ChatMessage>(bytes.get(HEADER..)?).ok()?;
    Some(Opened {
        node,
        origin,
        message,
    })
}

#[cfg(test)]
mod tests {
    use huddle_protocol::{ChatText, ClientMsgId, MessageId, MessageKind, Nick, RoomName, Target};

    use super::*;

    #[test]
    fn an_envelope_opens_to_what_was_sealed_and_garbage_to_nothing() {
        let message = ChatMessage {
            id: MessageId::from_uuid(Uuid::nil()),
            target: Target::Room(RoomName::new("#lobby").unwrap()),
            from: Nick::new("alice").unwrap(),
            kind: MessageKind::Normal,
            text: ChatText::new("hi").unwrap(),
            timestamp: 1_700_000_000_000,
            client_msg_id: ClientMsgId::from_uuid(Uuid::new_v4()),
        };
        let (node, origin) = (Uuid::new_v4(), ConnectionId::from_uuid(Uuid::new_v4()));
        let sealed = seal(node, origin, &message);
        let opened = sealed.as_deref().and_then(open);
        assert_eq!(
            opened,
            Some(Opened {
                node,
                origin,
                message
            })
        );
        assert_eq!(open(b"short"), None);
        assert_eq!(open(&[7u8; 40]), None);
    }
}
