//! How cluster mode names things in NATS, and the message id every node
//! derives from a room message's place in the stream. Plain functions,
//! no I/O.
//!
//! - A room's subject is `huddle.room.` + the lowercase hex of its folded
//!   name (NATS subjects cannot carry `.`, `*`, `>` or spaces, room names
//!   can); a nick's key in the claims bucket is the hex of its folded form
//!   (key-value keys allow `[-/_=.A-Za-z0-9]` only).
//! - A room message's id is a UUID (version 8, RFC 9562 variant) whose last
//!   8 bytes are the stream sequence (below 2^62, with the variant's two
//!   bits on top) and whose first 8 bytes are constant: ids sort as the
//!   stream does, and every node derives the same id from the same
//!   sequence without asking anyone.

use huddle_protocol::MessageId;
use uuid::Uuid;

/// The JetStream stream that holds every room's messages.
pub(crate) const ROOMS_STREAM: &str = "HUDDLE_ROOMS";
/// The subjects of [`ROOMS_STREAM`].
pub(crate) const ROOM_SUBJECTS: &str = "huddle.room.*";
/// The key-value bucket of nick claims.
pub(crate) const NICKS_BUCKET: &str = "HUDDLE_NICKS";
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

/// A nick's key in [`NICKS_BUCKET`].
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

/// The id of the room message stored at `sequence` in [`ROOMS_STREAM`].
pub(crate) fn message_id(sequence: u64) -> MessageId {
    let mut bytes = [0u8; 16];
    bytes[6] = 0x80; // version 8
    bytes[8..].copy_from_slice(&(sequence & (u64::MAX >> 2)).to_be_bytes());
    bytes[8] |= 0x80; // variant 0b10
    MessageId::from_uuid(Uuid::from_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_valid_uuids_that_sort_as_the_stream() {
        let ids: Vec<MessageId> = [1, 2, 255, 256, 1 << 40, (1 << 62) - 1]
            .into_iter()
            .map(message_id)
            .collect();
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]));
        for id in &ids {
            assert_eq!(id.as_uuid().get_version_num(), 8);
            assert_eq!(id.as_uuid().get_variant(), uuid::Variant::RFC4122);
        }
        assert_eq!(
            message_id(1).to_string(),
            "00000000-0000-8000-8000-000000000001"
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
