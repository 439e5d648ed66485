//! What a client sends: [`ClientMessage`], and [`RequestKind`] to name a
//! request in an error report.

use serde::{Deserialize, Serialize};

use super::{FileChunk, FileOffer, Hello, MessageKind};
use crate::{
    ids::{ClientMsgId, MessageId, TransferId},
    names::{Nick, RoomName},
    text::{ChatText, ShortText},
};

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
    /// 19: who is this nick: its key and its rooms. Answered by `WhoisReply`
    /// (or `Error{NoSuchNick}`).
    Whois {
        /// The nick asked about.
        nick: Nick,
    },
    /// 20: away with a message, or back (empty). Announced to the caller's
    /// rooms as `Presence{Away}`; a direct message to an away user draws
    /// one `Notice` with the message, once per sender while away.
    SetAway {
        /// Why, or empty: back.
        message: ShortText,
    },
    /// 21: the stored messages that contain `query` (case-insensitively):
    /// in `room` if given (the caller must be a member), else in every
    /// room the caller is in and in its own direct messages. Newest first,
    /// strictly older than `before` if given. Answered by `SearchResults`.
    Search {
        /// What to look for: at least one character.
        query: ShortText,
        /// Only this room.
        room: Option<RoomName>,
        /// Only messages older than this id (the `next` of the page before).
        before: Option<MessageId>,
        /// At most this many (capped at [`crate::limits::MAX_SEARCH_RESULTS`]).
        limit: u16,
    },
    /// 22: sets (or, empty, removes) the password with which an IRC client
    /// may log in (SASL PLAIN) as this installation's key: it then holds
    /// the nicks bound to the key and reads its direct messages. Answered
    /// by a `Notice`.
    SetIrcPassword {
        /// The password, or empty: no IRC login.
        password: ShortText,
    },
    /// 23: sets (or, `None`, removes) the TLS client certificate, by its
    /// SHA-256 fingerprint, with which an IRC client may log in (SASL
    /// EXTERNAL) as this installation's key. Answered by a `Notice`.
    SetIrcCertificate {
        /// The certificate's fingerprint, or `None`: no certificate login.
        fingerprint: Option<crate::tls::Fingerprint>,
    },
}

/// Which kind of request an `Error` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    /// `Whois`.
    Whois,
    /// `SetAway`.
    SetAway,
    /// `Search`.
    Search,
    /// `SetIrcPassword`.
    SetIrcPassword,
    /// `SetIrcCertificate`.
    SetIrcCertificate,
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
            ClientMessage::Whois { .. } => RequestKind::Whois,
            ClientMessage::SetAway { .. } => RequestKind::SetAway,
            ClientMessage::Search { .. } => RequestKind::Search,
            ClientMessage::SetIrcPassword { .. } => RequestKind::SetIrcPassword,
            ClientMessage::SetIrcCertificate { .. } => RequestKind::SetIrcCertificate,
        }
    }

    /// What a payload that did not decode asked for, as far as its envelope
    /// tells: the request kind from the variant number and, for `Say` and
    /// `Direct` (whose first field is a string and whose second is the
    /// client message id), that id, read without validating the string. So
    /// a server can name the refused message even when a field in it is
    /// invalid (PROTOCOL.md §5.3).
    pub fn peek_request(payload: &[u8]) -> (RequestKind, Option<ClientMsgId>) {
        const KINDS: [RequestKind; 24] = [
            RequestKind::Hello,
            RequestKind::Join,
            RequestKind::Part,
            RequestKind::Say,
            RequestKind::Direct,
            RequestKind::ChangeNick,
            RequestKind::SetTopic,
            RequestKind::ListRooms,
            RequestKind::ListMembers,
            RequestKind::FetchHistory,
            RequestKind::Ping,
            RequestKind::Pong,
            RequestKind::Quit,
            RequestKind::FileOffer,
            RequestKind::FileAnswer,
            RequestKind::FileChunk,
            RequestKind::FileCredit,
            RequestKind::FileCancel,
            RequestKind::FetchDirectHistory,
            RequestKind::Whois,
            RequestKind::SetAway,
            RequestKind::Search,
            RequestKind::SetIrcPassword,
            RequestKind::SetIrcCertificate,
        ];
        let Some(variant) = crate::wire::decode_prefix::<u32>(payload) else {
            return (RequestKind::Unparsed, None);
        };
        let Some(&kind) = usize::try_from(variant).ok().and_then(|v| KINDS.get(v)) else {
            return (RequestKind::Unparsed, None);
        };
        let id = match kind {
            RequestKind::Say | RequestKind::Direct => {
                crate::wire::decode_prefix::<(u32, Vec<u8>, ClientMsgId)>(payload)
                    .map(|(_, _, id)| id)
            }
            _ => None,
        };
        (kind, id)
    }

    /// The client message id, for the requests that carry one.
    pub fn client_msg_id(&self) -> Option<ClientMsgId> {
        match self {
            ClientMessage::Say { id, .. } | ClientMessage::Direct { id, .. } => Some(*id),
            _ => None,
        }
    }
}
