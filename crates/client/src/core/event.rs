//! What the core tells the view: [`CoreEvent`].

use huddle_protocol::{
    ChatMessage, ClientMsgId, DirectEntry, ErrorReport, MessageId, RoomName, ServerMessage, Welcome,
};
use tokio::time::Duration;

/// What the core tells the view.
#[derive(Debug, Clone, PartialEq)]
pub enum CoreEvent {
    /// Connected and greeted: rooms are being rejoined, gaps asked for and
    /// the outbox sent again.
    Connected {
        welcome: Box<Welcome>,
        /// Whether this client was connected before (a reconnect).
        reconnected: bool,
        /// Messages sent again.
        resent: usize,
    },
    /// The connection is gone; messages wait in the outbox.
    Disconnected {
        reason: String,
        /// Messages not acknowledged yet (sent again on reconnecting).
        unacknowledged: usize,
    },
    /// A frame for the view. Chat messages come once; pings, our rate
    /// refusals, acks and the gap's pages are the core's.
    Frame(ServerMessage),
    /// Messages of `room` said while this client was disconnected (or
    /// missed otherwise), oldest first.
    RoomBacklog {
        room: RoomName,
        messages: Vec<ChatMessage>,
    },
    /// Direct messages from the mailbox: restored recent conversations on
    /// the first connection (`missed` false) or what arrived while
    /// disconnected (`missed` true).
    DirectBacklog {
        entries: Vec<DirectEntry>,
        missed: bool,
    },
    /// The server accepted our message `id` (also when a copy of it was
    /// found in history: it was accepted before a connection was lost).
    Acked {
        id: ClientMsgId,
        message_id: MessageId,
        timestamp: u64,
    },
    /// The server refused our message `id` (not for its rate: those are
    /// sent again).
    Refused {
        id: ClientMsgId,
        report: ErrorReport,
    },
    /// A round trip of our ping.
    Latency(Duration),
    /// Nothing arrived for three ping intervals: drop the connection.
    Stale,
    /// Everything asked before [`super::ClientCore::sync`] has been answered.
    Synced,
}
