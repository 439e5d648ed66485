//! Every message of the protocol. The client sends [`ClientMessage`]s, the
//! server sends [`ServerMessage`]s; each frame carries exactly one.
//!
//! Two things are frozen across all versions so a mismatch can always be
//! reported: `ClientMessage::Hello` is variant 0 and its first field is the
//! protocol version; `ServerMessage::Reject` is variant 1 and its layout never
//! changes. New variants are only ever appended, never inserted.

use serde::{Deserialize, Serialize};

pub use crate::direct::DirectEntry;
pub use crate::transfer::{FileChunk, FileOffer};
use crate::{
    error::ErrorCode,
    ids::{ClientId, ClientMsgId, ConnectionId, MessageId, ServerId, TransferId},
    limits::Limits,
    names::{Nick, RoomName},
    text::{ChatText, ShortText},
};

/// A client's first frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The protocol version the client speaks. Frozen as the first field.
    pub version: u16,
    /// The client's id, the same across reconnects.
    pub client_id: ClientId,
    /// The nick the client asks for.
    pub nick: Nick,
    /// The client program's name, e.g. `huddle`.
    pub client_name: ShortText,
    /// The client program's version, e.g. `0.1.0`.
    pub client_version: ShortText,
}

/// Whether a chat message is plain speech or an action (`/me waves`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MessageKind {
    /// Plain speech.
    Normal,
    /// An action, displayed as `* nick text`.
    Action,
}

/// A frame sent by a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientMessage {
    /// 0: the handshake; must be the first frame and only the first.
    Hello(Hello),
    /// 1: join a room, creating it if it does not exist. A password set by
    /// the room's creator must match.
    Join {
        /// The room.
        room: RoomName,
        /// The room's password, if it has one (a new room takes this one).
        password: Option<ShortText>,
    },
    /// 2: leave a room.
    Part {
        /// The room.
        room: RoomName,
        /// Shown to the other members.
        reason: ShortText,
    },
    /// 3: say something (or act, with [`MessageKind::Action`]) in a room.
    Say {
        /// The room; the sender must be a member.
        room: RoomName,
        /// The client's id for this message, echoed in `Ack`.
        id: ClientMsgId,
        /// Speech or action.
        kind: MessageKind,
        /// The text.
        text: ChatText,
    },
    /// 4: a direct message to one user by nick.
    Direct {
        /// The recipient.
        to: Nick,
        /// The client's id for this message, echoed in `Ack`.
        id: ClientMsgId,
        /// Speech or action.
        kind: MessageKind,
        /// The text.
        text: ChatText,
    },
    /// 5: change nick.
    ChangeNick {
        /// The new nick.
        nick: Nick,
    },
    /// 6: set a room's topic (empty clears it).
    SetTopic {
        /// The room; the sender must be a member.
        room: RoomName,
        /// The new topic.
        topic: ShortText,
    },
    /// 7: ask for the list of rooms.
    ListRooms,
    /// 8: ask for the members of a room.
    ListMembers {
        /// The room.
        room: RoomName,
    },
    /// 9: ask for a page of a room's history: messages strictly before
    /// `before` (newest first cut) or strictly after `after`, oldest first.
    FetchHistory {
        /// The room; the sender must be a member.
        room: RoomName,
        /// Return messages older than this id (the newest ones if `None`).
        before: Option<MessageId>,
        /// Return messages newer than this id (takes precedence over `before`).
        after: Option<MessageId>,
        /// At most this many (capped at [`crate::limits::MAX_HISTORY_PAGE`]).
        limit: u16,
    },
    /// 10: a keepalive or latency probe; answered by `Pong` with the token.
    Ping {
        /// Echoed in the answer.
        token: u64,
    },
    /// 11: the answer to a server's `Ping`.
    Pong {
        /// The token from the `Ping`.
        token: u64,
    },
    /// 12: leave the server; the reason is shown to every room the client
    /// was in.
    Quit {
        /// Shown to the other members.
        reason: ShortText,
    },
    /// 13: offer a file to a room's members or to one user.
    FileOffer(FileOffer),
    /// 14: a recipient accepts or declines an offer.
    FileAnswer {
        /// The transfer.
        transfer: TransferId,
        /// True to receive the file.
        accept: bool,
    },
    /// 15: the sender's next piece of the file, at most
    /// [`crate::limits::MAX_CHUNK_LEN`] bytes, within the credit it was given.
    FileChunk(FileChunk),
    /// 16: a recipient has consumed `bytes` more of the file: the server may
    /// let that much more in from the sender.
    FileCredit {
        /// The transfer.
        transfer: TransferId,
        /// Bytes consumed since the last credit.
        bytes: u32,
    },
    /// 17: stop a transfer (the sender ends it for all; a recipient leaves it).
    FileCancel {
        /// The transfer.
        transfer: TransferId,
        /// Shown to the others.
        reason: ShortText,
    },
    /// 18: ask for a page of the caller's direct messages (its mailbox, by
    /// its `ClientId`), sent and received: strictly before `before` or
    /// strictly after `after`, oldest first; only those exchanged with
    /// `with` if given. Answered by `DirectHistoryPage`.
    FetchDirectHistory {
        /// Only the conversation with this nick (as it was at the time).
        with: Option<Nick>,
        /// Return messages older than this id (the newest ones if `None`).
        before: Option<MessageId>,
        /// Return messages newer than this id (takes precedence over `before`).
        after: Option<MessageId>,
        /// At most this many (capped at [`crate::limits::MAX_HISTORY_PAGE`]).
        limit: u16,
    },
}

/// Which kind of request an `Error` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RequestKind {
    /// A frame that could not be decoded at all.
    Unparsed,
    /// `Hello`.
    Hello,
    /// `Join`.
    Join,
    /// `Part`.
    Part,
    /// `Say`.
    Say,
    /// `Direct`.
    Direct,
    /// `ChangeNick`.
    ChangeNick,
    /// `SetTopic`.
    SetTopic,
    /// `ListRooms`.
    ListRooms,
    /// `ListMembers`.
    ListMembers,
    /// `FetchHistory`.
    FetchHistory,
    /// `Ping`.
    Ping,
    /// `Pong`.
    Pong,
    /// `Quit`.
    Quit,
    /// `FileOffer`.
    FileOffer,
    /// `FileAnswer`.
    FileAnswer,
    /// `FileChunk`.
    FileChunk,
    /// `FileCredit`.
    FileCredit,
    /// `FileCancel`.
    FileCancel,
    /// `FetchDirectHistory`.
    FetchDirectHistory,
}

impl ClientMessage {
    /// The kind of this request, for error reports.
    pub fn kind(&self) -> RequestKind {
        match self {
            ClientMessage::Hello(_) => RequestKind::Hello,
            ClientMessage::Join { .. } => RequestKind::Join,
            ClientMessage::Part { .. } => RequestKind::Part,
            ClientMessage::Say { .. } => RequestKind::Say,
            ClientMessage::Direct { .. } => RequestKind::Direct,
            ClientMessage::ChangeNick { .. } => RequestKind::ChangeNick,
            ClientMessage::SetTopic { .. } => RequestKind::SetTopic,
            ClientMessage::ListRooms => RequestKind::ListRooms,
            ClientMessage::ListMembers { .. } => RequestKind::ListMembers,
            ClientMessage::FetchHistory { .. } => RequestKind::FetchHistory,
            ClientMessage::Ping { .. } => RequestKind::Ping,
            ClientMessage::Pong { .. } => RequestKind::Pong,
            ClientMessage::Quit { .. } => RequestKind::Quit,
            ClientMessage::FileOffer(_) => RequestKind::FileOffer,
            ClientMessage::FileAnswer { .. } => RequestKind::FileAnswer,
            ClientMessage::FileChunk(_) => RequestKind::FileChunk,
            ClientMessage::FileCredit { .. } => RequestKind::FileCredit,
            ClientMessage::FileCancel { .. } => RequestKind::FileCancel,
            ClientMessage::FetchDirectHistory { .. } => RequestKind::FetchDirectHistory,
        }
    }

    /// The client message id, for the requests that carry one.
    pub fn client_msg_id(&self) -> Option<ClientMsgId> {
        match self {
            ClientMessage::Say { id, .. } | ClientMessage::Direct { id, .. } => Some(*id),
            _ => None,
        }
    }
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

/// A frame sent by the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServerMessage {
    /// 0: the handshake succeeded.
    Welcome(Welcome),
    /// 1: the handshake failed; the server closes the connection. Frozen.
    Reject(Reject),
    /// 2: the client is now a member of the room.
    Joined {
        /// The room.
        room: RoomName,
        /// Its topic (may be empty).
        topic: ShortText,
        /// Its members, including the client.
        members: Vec<Nick>,
        /// Its most recent messages, oldest first.
        history: Vec<ChatMessage>,
    },
    /// 3: the client is no longer a member of the room.
    Parted {
        /// The room.
        room: RoomName,
    },
    /// 4: a message from someone else.
    Chat(ChatMessage),
    /// 5: the client's message was accepted (stored and relayed).
    Ack {
        /// The client's id for it.
        id: ClientMsgId,
        /// The server's id for it.
        message_id: MessageId,
        /// When the server accepted it (ms since the Unix epoch).
        timestamp: u64,
    },
    /// 6: a room's membership changed.
    Presence(Presence),
    /// 7: the answer to `ListRooms`.
    RoomList {
        /// The rooms, by name.
        rooms: Vec<RoomInfo>,
    },
    /// 8: the answer to `ListMembers`.
    MemberList {
        /// The room.
        room: RoomName,
        /// Its members.
        members: Vec<Nick>,
    },
    /// 9: the answer to `FetchHistory`: messages oldest first.
    HistoryPage {
        /// The room.
        room: RoomName,
        /// The messages, oldest first.
        messages: Vec<ChatMessage>,
        /// Whether more messages exist beyond this page in the direction asked.
        more: bool,
    },
    /// 10: the answer to a client's `Ping`.
    Pong {
        /// The token from the `Ping`.
        token: u64,
    },
    /// 11: a keepalive; the client answers with `Pong`.
    Ping {
        /// Echo it in the `Pong`.
        token: u64,
    },
    /// 12: a request failed.
    Error(ErrorReport),
    /// 13: a notice from the server to this client.
    Notice {
        /// The text.
        text: ChatText,
    },
    /// 14: a room's topic changed (also sent to the one who changed it).
    Topic {
        /// The room.
        room: RoomName,
        /// The new topic.
        topic: ShortText,
        /// Who changed it.
        by: Nick,
    },
    /// 15: the client's own nick changed (sent even if it is in no room).
    NickChanged {
        /// The old nick.
        old: Nick,
        /// The new nick.
        new: Nick,
    },
    /// 16: the server closes the connection after this frame.
    Bye {
        /// Why, as a stable code.
        code: ErrorCode,
        /// Why, for humans.
        reason: ShortText,
    },
    /// 17: someone offers a file to this client.
    FileOffered {
        /// Who offers it.
        from: Nick,
        /// The offer, as the sender made it.
        offer: FileOffer,
    },
    /// 18: a recipient answered this client's offer.
    FileAnswered {
        /// The transfer.
        transfer: TransferId,
        /// Who answered.
        by: Nick,
        /// Whether they accepted.
        accept: bool,
    },
    /// 19: a piece of a file this client accepted.
    FileChunk(FileChunk),
    /// 20: the sender may send `bytes` more of the file.
    FileCredit {
        /// The transfer.
        transfer: TransferId,
        /// Additional bytes allowed.
        bytes: u32,
    },
    /// 21: a transfer was cancelled by someone, or ended for this client.
    FileCancelled {
        /// The transfer.
        transfer: TransferId,
        /// Who cancelled (the server's own name when it did).
        by: Nick,
        /// Why.
        reason: ShortText,
        /// True if the whole transfer is over (false: one recipient left it).
        ended: bool,
    },
    /// 22: the answer to `FetchDirectHistory`: the caller's direct messages,
    /// oldest first.
    DirectHistoryPage {
        /// The conversation asked for, or `None` for all of them.
        with: Option<Nick>,
        /// The messages, oldest first.
        messages: Vec<DirectEntry>,
        /// Whether more messages exist beyond this page in the direction asked.
        more: bool,
    },
}
