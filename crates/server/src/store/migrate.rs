//! Upgrading a database written by an older schema, in the transaction that
//! records the new version.
//!
//! Version 1 (the first release) stored room messages only, each a
//! `ChatMessage` without `client_msg_id`. Version 2 adds mailboxes and that
//! field: every version-1 row is re-encoded, its `client_msg_id` taken from
//! its own message id (unique, and never equal to a client's random id).

use huddle_protocol::{
    ChatMessage, ChatText, ClientMsgId, MessageId, MessageKind, Nick, Target, decode_payload,
    encode_payload,
};
use redb::{ReadableTable, WriteTransaction};
use serde::Deserialize;

use super::schema::MESSAGES;

/// A room message as schema version 1 stored it.
#[derive(Deserialize)]
struct ChatMessageV1 {
    id: MessageId,
    target: Target,
    from: Nick,
    kind: MessageKind,
    text: ChatText,
    timestamp: u64,
}

impl From<ChatMessageV1> for ChatMessage {
    fn from(old: ChatMessageV1) -> Self {
        ChatMessage {
            client_msg_id: ClientMsgId::from_uuid(*old.id.as_uuid()),
            id: old.id,
            target: old.target,
            from: old.from,
            kind: old.kind,
            text: old.text,
            timestamp: old.timestamp,
        }
    }
}

/// Re-encodes every version-1 row in the current layout; returns how many.
/// A row that decodes in neither layout is an error naming its key.
pub(super) fn from_version_1(txn: &WriteTransaction) -> Result<usize, String> {
    let mut messages = txn.open_table(MESSAGES).map_err(|e| e.to_string())?;
    let mut rows: Vec<(String, u128, Vec<u8>)> = Vec::new();
    for row in messages.iter().map_err(|e| e.to_string())? {
        let (key, value) = row.map_err(|e| e.to_string())?;
        let (room, id) = key.value();
        let old: ChatMessageV1 = decode_payload(value.value())
            .map_err(|err| format!("message {room}/{id:032x} is unreadable: {err}"))?;
        let bytes = encode_payload(&ChatMessage::from(old)).map_err(|e| e.to_string())?;
        rows.push((room.to_owned(), id, bytes));
    }
    for (room, id, bytes) in &rows {
        messages
            .insert((room.as_str(), *id), bytes.as_slice())
            .map_err(|e| e.to_string())?;
    }
    Ok(rows.len())
}
