//! Every message of the protocol. The client sends [`ClientMessage`]s, the
//! server sends [`ServerMessage`]s; each frame carries exactly one.
//!
//! Two things are frozen across all versions so a mismatch can always be
//! reported: `ClientMessage::Hello` is variant 0 and its first field is the
//! protocol version; `ServerMessage::Reject` is variant 1 and its layout never
//! changes. New variants are only ever appended, never inserted.
//!
//! The payload types both sides share are here; the two enums are in
//! `message/client.rs` and `message/server.rs`.

use serde::{Deserialize, Serialize};

mod client;
mod server;

pub use client::{ClientMessage, RequestKind};
pub use server::ServerMessage;

pub use crate::direct::DirectEntry;
pub use crate::transfer::{FileChunk, FileOffer};
use crate::{
    error::ErrorCode,
    ids::{ClientMsgId, ConnectionId, MessageId, ServerId},
    limits::Limits,
    names::{Nick, RoomName},
    text::{ChatText, ShortText},
};

/// A client's first frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The protocol version the client speaks. Frozen as the first field.
    pub version: u16,
    /// The client installation's public key: who this is, the same across
    /// reconnects (the server keys mailboxes, resends and nicks by it).
    pub public_key: crate::proof::PublicKey,
    /// The key's Ed25519 signature of this connection's channel binding
    /// (see [`crate::proof`]): 64 bytes.
    pub proof: bytes::Bytes,
    /// The nick the client asks for.
    pub nick: Nick,
    /// The client program's name, e.g. `huddle`.
    pub client_name: ShortText,
    /// The client program's version, e.g. `0.1.0`.
    pub client_version: ShortText,
}

impl Hello {
    /// A `Hello` for this protocol version from the holder of `key`,
    /// proving it for the connection whose channel binding is `binding`
    /// (zeros over plain TCP): what every client sends first.
    pub fn proving(
        key: &crate::proof::IdentityKey,
        nick: Nick,
        binding: &[u8; crate::proof::CHANNEL_BINDING_LEN],
        client_name: ShortText,
        client_version: ShortText,
    ) -> Self {
        Self {
            version: crate::PROTOCOL_VERSION,
            public_key: key.public_key(),
            proof: key.prove(binding),
            nick,
            client_name,
            client_version,
        }
    }
}

/// Whether a chat message is plain speech or an action (`/me waves`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MessageKind {
    /// Plain speech.
    Normal,
    /// An action, displayed as `* nick text`.
    Action,
}

/// The server's answer to an accepted `Hello`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// The protocol version the server speaks. Frozen as the first field.
    pub version: u16,
    /// The server instance's id.
    pub server_id: ServerId,
    /// This connection's id.
    pub connection_id: ConnectionId,
    /// The server's display name.
    pub server_name: ShortText,
    /// The message of the day, if any.
    pub motd: Option<ChatText>,
    /// The nick the client now has.
    pub nick: Nick,
    /// The limits in force on this connection.
    pub limits: Limits,
}

/// The server's refusal of a `Hello`; the connection is closed after it.
/// Its layout is frozen across all versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reject {
    /// Why, as a stable code.
    pub code: ErrorCode,
    /// The protocol version the server speaks.
    pub server_version: u16,
    /// Why, for humans.
    pub text: String,
}

/// Where a chat message was said.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Target {
    /// In a room.
    Room(RoomName),
    /// Directly to the user with this nick.
    Direct(Nick),
}

/// A chat message as the server relays and stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// The server's id for it (UUID v7: sorts by acceptance time).
    pub id: MessageId,
    /// Where it was said.
    pub target: Target,
    /// Who said it (the nick at the time).
    pub from: Nick,
    /// Speech or action.
    pub kind: MessageKind,
    /// The text.
    pub text: ChatText,
    /// When the server accepted it, in milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// The sender's id for it (from `Say` or `Direct`). A message its sender
    /// resends after a server crash keeps this id, though the server may give
    /// it a new `id`: a receiver that saw the first copy knows the second.
    pub client_msg_id: ClientMsgId,
}

/// One match of a `Search`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SearchHit {
    /// A room message.
    Room(ChatMessage),
    /// One of the caller's own direct messages.
    Direct(DirectEntry),
}

impl SearchHit {
    /// The message matched.
    pub fn message(&self) -> &ChatMessage {
        match self {
            SearchHit::Room(message) => message,
            SearchHit::Direct(entry) => &entry.message,
        }
    }
}

/// Something that happened to a room's membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PresenceEvent {
    /// The user joined the room.
    Joined,
    /// The user left the room.
    Left {
        /// Their reason.
        reason: ShortText,
    },
    /// The user changed nick; `Presence::nick` is the old one.
    Renamed {
        /// The new nick.
        new_nick: Nick,
    },
    /// The user left the server.
    Quit {
        /// Their reason, or why the server dropped them.
        reason: ShortText,
    },
    /// The user is away (`message` non-empty) or back (empty). Also sent
    /// to a joiner, right after `Joined`, for each member who is away.
    Away {
        /// Why, or empty: back.
        message: ShortText,
    },
}

/// A presence notice, sent to every member of the room it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    /// The room.
    pub room: RoomName,
    /// The user concerned.
    pub nick: Nick,
    /// What happened.
    pub event: PresenceEvent,
}

/// One room in a room list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomInfo {
    /// The room.
    pub name: RoomName,
    /// How many members it has.
    pub members: u32,
    /// Its topic (may be empty).
    pub topic: ShortText,
    /// Whether joining needs a password.
    pub has_password: bool,
}

/// An error answering one request; the connection stays open unless a `Bye`
/// follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReport {
    /// What went wrong, as a stable code.
    pub code: ErrorCode,
    /// What went wrong, for humans.
    pub text: ShortText,
    /// The kind of request it answers.
    pub request: RequestKind,
    /// The client message id of the request, if it had one.
    pub id: Option<ClientMsgId>,
}
