//! Direct-message history. The server keeps each user's direct messages,
//! sent and received, in a mailbox keyed by the user's `ClientId`, so a
//! client that reconnects (or restarts) with the same id can fill its gap and
//! page back through a conversation. The rules are in `docs/PROTOCOL.md`
//! §5.3.

use serde::{Deserialize, Serialize};

use crate::{
    message::{ChatMessage, Target},
    names::Nick,
};

/// One direct message as its mailbox's owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectEntry {
    /// True if the owner sent it; false if the owner received it.
    pub outgoing: bool,
    /// The message, with `target: Direct(recipient)` and `from: sender`
    /// (both nicks as they were when it was sent).
    pub message: ChatMessage,
}

impl DirectEntry {
    /// The other side of the conversation: the recipient of an outgoing
    /// message, the sender of an incoming one.
    pub fn peer(&self) -> &Nick {
        match (&self.message.target, self.outgoing) {
            (Target::Direct(recipient), true) => recipient,
            _ => &self.message.from,
        }
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::{ids::MessageId, message::MessageKind, text::ChatText};

    fn entry(outgoing: bool) -> DirectEntry {
        DirectEntry {
            outgoing,
            message: ChatMessage {
                id: MessageId::from_uuid(Uuid::from_u128(1)),
                target: Target::Direct(Nick::new("bob").unwrap_or_else(|_| unreachable!())),
                from: Nick::new("al").unwrap_or_else(|_| unreachable!()),
                kind: MessageKind::Normal,
                text: ChatText::new("hi").unwrap_or_else(|_| unreachable!()),
                timestamp: 0,
                client_msg_id: crate::ids::ClientMsgId::random(),
            },
        }
    }

    #[test]
    fn the_peer_is_the_other_side() {
        assert_eq!(entry(true).peer().as_str(), "bob");
        assert_eq!(entry(false).peer().as_str(), "al");
    }
}
