//! What an accepted message becomes in the store: a [`Record`] (a room
//! message, or a direct message filed in two mailboxes) turned into rows.

use huddle_protocol::{ChatMessage, ClientId, DirectEntry, MessageId, RoomName, encode_payload};

use super::schema::mailbox_key;

/// What a message was accepted as: its server id and timestamp. A resend of
/// the same client message is acknowledged with exactly this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Accepted {
    pub(crate) id: MessageId,
    pub(crate) timestamp: u64,
}

impl Accepted {
    pub(crate) fn of(message: &ChatMessage) -> Self {
        Self {
            id: message.id,
            timestamp: message.timestamp,
        }
    }
}

/// What to store: a room message, or a direct message (filed in both its
/// sender's and its recipient's mailbox).
#[derive(Debug)]
pub(crate) enum Record<'a> {
    Room(&'a RoomName, &'a ChatMessage),
    Direct {
        sender: ClientId,
        recipient: ClientId,
        message: &'a ChatMessage,
    },
}

/// One row of `messages`, encoded by the caller.
#[derive(Debug)]
pub(super) struct Row {
    pub(super) key: String,
    pub(super) id: u128,
    pub(super) bytes: Vec<u8>,
}

impl Record<'_> {
    pub(super) fn rows(&self) -> Vec<Row> {
        let encoded = |key: String, id: MessageId, payload: Result<Vec<u8>, _>| {
            payload
                .map_err(|err| tracing::error!(%err, "cannot encode a message for the store"))
                .ok()
                .map(|bytes| Row {
                    key,
                    id: id.as_uuid().as_u128(),
                    bytes,
                })
        };
        match self {
            Record::Room(room, message) => encoded(
                room.folded().to_owned(),
                message.id,
                encode_payload(*message),
            )
            .into_iter()
            .collect(),
            Record::Direct {
                sender,
                recipient,
                message,
            } => {
                let mut owners = vec![(*sender, true)];
                if recipient != sender {
                    owners.push((*recipient, false));
                }
                owners
                    .into_iter()
                    .filter_map(|(owner, outgoing)| {
                        let entry = DirectEntry {
                            outgoing,
                            message: (*message).clone(),
                        };
                        encoded(mailbox_key(owner), message.id, encode_payload(&entry))
                    })
                    .collect()
            }
        }
    }

    pub(super) fn message(&self) -> &ChatMessage {
        match self {
            Record::Room(_, message) | Record::Direct { message, .. } => message,
        }
    }
}
