//! How cluster mode names things in NATS, and the message id every node
//! derives from a room message's place in the stream. Plain functions,
//! no I/O.
//!
//! - A room's subject is `huddle.room.` + the lowercase hex of its folded
//!   name (NATS subjects cannot carry `.`, `*`, `>` or spaces, room names
//!   can); a nick's key in the claims bucket is the hex of its folded form
//!   (key-value keys allow `[-/_=.A-Za-z0-9]` only).
//! - Direct messages go to `huddle.direct.<recipient>.<sender>` (client
//!   ids in hex) in their own stream: one publish files the message in
//!   both mailboxes, under one id.
//! - A message's id is a UUID (version 8, RFC 9562 variant) whose last 8
//!   bytes are its stream's sequence (below 2^62, with the variant's two
//!   bits on top), whose byte 7 says which stream (0 rooms, 1 direct
//!   messages) and whose other bytes are constant: ids sort as the stream
//!   does, and every node derives the same id from the same sequence
//!   without asking anyone.

use huddle_protocol::MessageId;
use uuid::Uuid;

/// The two streams messages are published to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    /// Every room's messages.
    Rooms,
    /// Every direct message.
    Directs,
}

impl Stream {
    /// The JetStream stream's name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Rooms => "HUDDLE_ROOMS",
            Self::Directs => "HUDDLE_DIRECT",
        }
    }

    /// The subjects it holds.
    pub(crate) fn subjects(self) -> &'static str {
        match self {
            Self::Rooms => "huddle.room.*",
            Self::Directs => "huddle.direct.*.*",
        }
    }

    /// The id of the message stored at `sequence` in this stream.
    pub(crate) fn message_id(self, sequence: u64) -> MessageId {
        let mut bytes = [0u8; 16];
        bytes[6] = 0x80; // version 8
        bytes[7] = match self {
            Self::Rooms => 0,
            Self::Directs => 1,
        };
        bytes[8..].copy_from_slice(&(sequence & (u64::MAX >> 2)).to_be_bytes());
        bytes[8] |= 0x80; // variant 0b10
        MessageId::from_uuid(Uuid::from_bytes(bytes))
    }
}
/// The key-value bucket of nick claims.
pub(crate) const NICKS_BUCKET: &str = "HUDDLE_NICKS";
/// The key-value bucket of rooms' passwords (hashes) and topics.
pub(crate) const ROOM_META_BUCKET: &str = "HUDDLE_ROOM_META";
/// The key-value bucket of nicks' bindings to keys.
pub(crate) const BINDINGS_BUCKET: &str = "HUDDLE_BINDINGS";
/// The key-value bucket of the live nodes.
pub(crate) const NODES_BUCKET: &str = "HUDDLE_NODES";
/// The key-value bucket of what the nodes share (the identity).
pub(crate) const SHARED_BUCKET: &str = "HUDDLE_SHARED";

fn hex(text: &str) -> String {
    use std::fmt::Write as _;
    text.bytes().fold(String::new(), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

/// The subject a room's messages are published on.
pub(crate) fn room_subject(folded_room: &str) -> String {
    format!("huddle.room.{}", hex(folded_room))
}

/// The subject of a direct message from `sender` to `recipient`.
pub(crate) fn direct_subject(
    recipient: &huddle_protocol::ClientId,
    sender: &huddle_protocol::ClientId,
) -> String {
    format!(
        "huddle.direct.{}.{}",
        recipient.as_uuid().simple(),
        sender.as_uuid().simple()
    )
}

/// A room's key in [`ROOM_META_BUCKET`].
pub(crate) fn room_key(folded_room: &str) -> String {
    hex(folded_room)
}

/// A nick's key in [`NICKS_BUCKET`] and [`BINDINGS_BUCKET`].
pub(crate) fn nick_key(folded_nick: &str) -> String {
    hex(folded_nick)
}

/// The header value that lets JetStream drop a resend: the sender's
/// client id and its id for the message.
pub(crate) fn dedup_id(
    client: &huddle_protocol::ClientId,
    id: &huddle_protocol::ClientMsgId,
) -> String {
    format!("{}:{}", client.as_uuid().simple(), id.as_uuid().simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_valid_uuids_that_sort_as_the_stream() {
        let ids: Vec<MessageId> = [1, 2, 255, 256, 1 << 40, (1 << 62) - 1]
            .into_iter()
            .map(|sequence| Stream::Rooms.message_id(sequence))
            .collect();
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]));
        assert_ne!(Stream::Rooms.message_id(7), Stream::Directs.message_id(7));
        for id in &ids {
            assert_eq!(id.as_uuid().get_version_num(), 8);
            assert_eq!(id.as_uuid().get_variant(), uuid::Variant::RFC4122);
        }
        assert_eq!(
            Stream::Rooms.message_id(1).to_string(),
            "00000000-0000-8000-8000-000000000001"
        );
        assert_eq!(
            Stream::Directs.message_id(1).to_string(),
            "00000000-0000-8001-8000-000000000001"
        );
    }

    #[test]
    fn names_become_tokens_nats_accepts() {
        assert_eq!(room_subject("a.b c*>"), "huddle.room.612e6220632a3e");
        assert_eq!(nick_key("zoë"), "7a6fc3ab");
        assert!(
            !room_subject("é")
                .trim_start_matches("huddle.room.")
                .contains('.')
        );
    }
}
