//! What the server sends: [`ServerMessage`].

use serde::{Deserialize, Serialize};

use super::{
    ChatMessage, DirectEntry, ErrorReport, FileChunk, FileOffer, Presence, Reject, RoomInfo,
    SearchHit, Welcome,
};
use crate::{
    error::ErrorCode,
    ids::{ClientMsgId, MessageId, TransferId},
    names::{Nick, RoomName},
    text::{ChatText, ShortText},
};

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
    /// 23: the answer to `Whois`.
    WhoisReply {
        /// The nick, as its holder spells it.
        nick: Nick,
        /// The key that holds it (proved at `Hello`); `None` for a user
        /// without one (who came in through the IRC gateway).
        key: Option<crate::proof::PublicKey>,
        /// The rooms it is in that the asker may see: those without a
        /// password, and those the asker is in too.
        rooms: Vec<RoomName>,
        /// Its away message, or empty: not away.
        away: ShortText,
        /// When it connected (milliseconds since the Unix epoch).
        since: u64,
        /// Seconds since it last said something (in a room or directly),
        /// or since it connected if it has said nothing.
        idle_secs: u64,
        /// The program it came in with, as its `Hello` named it
        /// (`huddle 0.1.0`), or `IRC` for the IRC gateway.
        client: ShortText,
    },
    /// 24: the answer to `Search`: matches newest first.
    SearchResults {
        /// The query, as asked.
        query: ShortText,
        /// The room, as asked.
        room: Option<RoomName>,
        /// The matches, newest first.
        hits: Vec<SearchHit>,
        /// Where to continue (as `before`) for older matches; `None` when
        /// the search reached the oldest stored message.
        next: Option<MessageId>,
    },
}
