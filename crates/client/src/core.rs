//! The client core: everything that makes delivery correct, with no I/O,
//! in the style of quinn-proto's `Connection`. The TUI and plain mode both
//! drive one [`ClientCore`]: they hand it what happens
//! ([`ClientCore::handle_connected`], [`ClientCore::handle_disconnected`],
//! [`ClientCore::handle_frame`], [`ClientCore::send`],
//! [`ClientCore::handle_timeout`], each with `now`) and poll it for what to
//! do ([`ClientCore::poll_transmit`], [`ClientCore::poll_event`],
//! [`ClientCore::poll_timeout`]). Where each rule lives:
//! - `outbox.rs`: nothing sent is lost; resent with the same ids.
//! - `pacer.rs`: never faster than the server's advertised rate and burst;
//!   a `RateLimited` refusal puts the message back first in line.
//! - `streams.rs`: rooms rejoined; each room's and the mailbox's gap filled
//!   after a reconnect, page by page.
//! - `seen.rs`: each message reaches the view once.
//! - `keepalive.rs`: pings, latency, and a silent connection declared
//!   stale.
//! - `requests.rs`: a slash command turned into a request.
//! - this file: how they fit, and which frames the view sees.

use std::collections::VecDeque;

use huddle_protocol::{
    ChatMessage, ClientMessage, ClientMsgId, ErrorReport, MessageId, RoomName,
    limits::MAX_HISTORY_PAGE,
};
use tokio::time::{Duration, Instant};

#[cfg(test)]
mod gap_tests;
mod keepalive;
mod outbox;
pub mod pacer;
pub mod requests;
mod seen;
mod streams;
#[cfg(test)]
pub(crate) mod tests;

use keepalive::Keepalive;
use outbox::Outbox;
use pacer::Pacer;
use seen::Seen;
use streams::{Asker, DirectAsk, Streams};

/// How a core behaves.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// Direct messages fetched on the first connection to restore recent
    /// conversations (0: none; the mailbox is still followed, so what
    /// arrives while disconnected is fetched after a reconnect).
    pub restore_direct: u16,
    /// Time between latency pings (a silent server is stale after three).
    pub ping_every: Duration,
}

impl Default for CoreConfig {
    fn default() -> Self {
        Self {
            restore_direct: 0,
            ping_every: Duration::from_secs(10),
        }
    }
}

/// The ping token of [`ClientCore::sync`] (keepalive tokens count
/// microseconds since the connection came up and never get near it).
const SYNC_TOKEN: u64 = u64::MAX;

/// A connection that is up.
#[derive(Debug)]
struct Live {
    pacer: Pacer,
    keepalive: Keepalive,
    stale_told: bool,
}

/// Requests held while disconnected (lists, whois…), sent after the
/// resume; more than this are dropped.
const MAX_HELD: usize = 1000;

/// The sans-IO client. See the module documentation.
#[derive(Debug)]
pub struct ClientCore {
    config: CoreConfig,
    live: Option<Live>,
    outbox: Outbox,
    streams: Streams,
    seen: Seen,
    /// Frames that do not wait for the rate (pong, ping, file data, quit).
    urgent: VecDeque<ClientMessage>,
    /// Requests made while disconnected.
    held: VecDeque<ClientMessage>,
    events: VecDeque<CoreEvent>,
    ever_connected: bool,
    /// Our nick, as the server last told it.
    nick: Option<huddle_protocol::Nick>,
    /// The newest `Say` handed to the core and never transmitted yet
    /// (`batching.rs`).
    fresh_say: Option<ClientMsgId>,
    /// The server's `max_text_bytes`, as it last said.
    max_text: usize,
}

mod batching;
mod event;
mod frames;
mod resume;

pub use event::CoreEvent;

impl ClientCore {
    /// A core for a client that has not connected yet.
    pub fn new(config: CoreConfig) -> Self {
        Self {
            config,
            live: None,
            outbox: Outbox::default(),
            streams: Streams::default(),
            seen: Seen::default(),
            urgent: VecDeque::new(),
            held: VecDeque::new(),
            events: VecDeque::new(),
            ever_connected: false,
            nick: None,
            fresh_say: None,
            max_text: huddle_protocol::limits::MAX_TEXT_BYTES,
        }
    }

    /// Whether a connection is up.
    pub fn is_connected(&self) -> bool {
        self.live.is_some()
    }

    /// Whether this client was ever connected.
    pub fn ever_connected(&self) -> bool {
        self.ever_connected
    }

    /// Messages sent (or to be sent) and not acknowledged yet.
    pub fn unacknowledged(&self) -> usize {
        self.outbox.len()
    }

    /// Requests waiting for the rate limit (or a connection).
    pub fn waiting(&self) -> usize {
        self.live.as_ref().map_or(0, |live| live.pacer.len()) + self.held.len()
    }

    /// Whether everything handed to the core was sent and settled.
    pub fn is_settled(&self) -> bool {
        self.outbox.is_empty() && self.waiting() == 0 && self.urgent.is_empty()
    }

    /// Hands the core a request for the server. Messages with a client
    /// message id are kept in the outbox until settled; joins and parts
    /// are remembered for the rejoin; frames that must not wait (pong,
    /// file data and credit, quit) skip the pacer but are counted against
    /// the rate; other requests made while disconnected wait for the
    /// connection.
    pub fn send(&mut self, now: Instant, message: ClientMessage) {
        match &message {
            ClientMessage::Say { id, .. } => {
                self.outbox.keep(*id, message.clone());
                self.fresh_say = Some(*id);
            }
            ClientMessage::Direct { id, .. } => {
                self.outbox.keep(*id, message.clone());
                self.fresh_say = None;
            }
            ClientMessage::Join { room, password } => self.streams.want(room, password.clone()),
            ClientMessage::Part { room, .. } => self.streams.forget(room),
            _ => {}
        }
        let urgent = matches!(
            message,
            ClientMessage::Pong { .. }
                | ClientMessage::Ping { .. }
                | ClientMessage::Quit { .. }
                | ClientMessage::FileChunk(_)
                | ClientMessage::FileCredit { .. }
                | ClientMessage::FileAnswer { .. }
                | ClientMessage::FileCancel { .. }
        );
        match &mut self.live {
            Some(live) if urgent => {
                live.pacer.charge(now);
                self.urgent.push_back(message);
            }
            Some(_) => self.queue(message, Asker::View),
            // Sent again from the outbox and the rooms when connected.
            None if message.client_msg_id().is_some() => {}
            None if matches!(
                message,
                ClientMessage::Join { .. } | ClientMessage::Part { .. }
            ) => {}
            None if urgent => {}
            None if self.held.len() < MAX_HELD => self.held.push_back(message),
            None => {}
        }
    }

    /// Asks for a round trip behind everything queued: the server answers
    /// in order, so [`CoreEvent::Synced`] means every earlier request was
    /// answered (or refused). Nothing happens while disconnected.
    pub fn sync(&mut self) {
        self.queue(ClientMessage::Ping { token: SYNC_TOKEN }, Asker::View);
    }

    /// The next frame to write, if the rate allows one now.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<ClientMessage> {
        let live = self.live.as_mut()?;
        let message = match self.urgent.pop_front() {
            Some(message) => message,
            None => live.pacer.poll_transmit(now)?,
        };
        if message.client_msg_id().is_some() && message.client_msg_id() == self.fresh_say {
            self.fresh_say = None;
        }
        Some(message)
    }

    /// The next thing for the view.
    pub fn poll_event(&mut self) -> Option<CoreEvent> {
        self.events.pop_front()
    }

    /// When [`ClientCore::handle_timeout`] (or `poll_transmit`) has
    /// something to do next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let live = self.live.as_ref()?;
        if !self.urgent.is_empty() {
            return Some(Instant::now());
        }
        let keepalive = (!live.stale_told).then(|| live.keepalive.deadline());
        match (live.pacer.poll_timeout(), keepalive) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Time passed: pings when due, a silent server declared stale.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(live) = &mut self.live else { return };
        if live.keepalive.stale(now) {
            if !live.stale_told {
                live.stale_told = true;
                self.events.push_back(CoreEvent::Stale);
            }
            return;
        }
        if let Some(token) = live.keepalive.ping_due(now) {
            live.pacer.charge(now);
            self.urgent.push_back(ClientMessage::Ping { token });
        }
    }

    /// The connection is gone. Requests queued for the rate but not sent
    /// wait for the next connection (messages in the outbox and rooms are
    /// sent again from there).
    pub fn handle_disconnected(&mut self, _now: Instant, reason: &str) {
        let Some(live) = self.live.take() else { return };
        for message in live.pacer.into_queue() {
            let resent_anyway = message.client_msg_id().is_some()
                || matches!(
                    message,
                    ClientMessage::Join { .. }
                        | ClientMessage::FetchHistory { after: Some(_), .. }
                        | ClientMessage::Ping { .. }
                        | ClientMessage::Pong { .. }
                        | ClientMessage::FetchDirectHistory { with: None, .. }
                );
            if !resent_anyway && self.held.len() < MAX_HELD {
                self.held.push_back(message);
            }
        }
        self.urgent.clear();
        self.streams.connection_lost();
        self.events.push_back(CoreEvent::Disconnected {
            reason: reason.to_owned(),
            unacknowledged: self.outbox.len(),
        });
    }

    /// Records a refusal of our message `id` (not for its rate).
    fn refused(&mut self, id: ClientMsgId, report: ErrorReport) {
        self.outbox.settle(id);
        self.events.push_back(CoreEvent::Refused { id, report });
    }

    /// A copy of our own message `message` arrived (in history): it was
    /// accepted, whatever became of its ack.
    fn settled_by_copy(&mut self, message: &ChatMessage) -> bool {
        if self.nick.as_ref() != Some(&message.from)
            || self.outbox.settle(message.client_msg_id).is_none()
        {
            return false;
        }
        self.seen.first_time(&message.from, message.client_msg_id);
        self.events.push_back(CoreEvent::Acked {
            id: message.client_msg_id,
            message_id: message.id,
            timestamp: message.timestamp,
        });
        true
    }

    /// Keeps the messages of a stream the view has not seen (settling our
    /// own that were accepted before a connection was lost).
    fn unseen(&mut self, messages: Vec<ChatMessage>) -> Vec<ChatMessage> {
        messages
            .into_iter()
            .filter(|m| !self.settled_by_copy(m) && self.seen.first_time(&m.from, m.client_msg_id))
            .collect()
    }

    /// Puts `message` in line for the rate. The server answers in the
    /// order it sends, so joins and history pages are noted here, with who
    /// asked, to tell their answers apart.
    fn queue(&mut self, message: ClientMessage, asker: Asker) {
        let Some(live) = &mut self.live else { return };
        match &message {
            ClientMessage::Join { room, .. } => self.streams.join_sent(room),
            ClientMessage::FetchHistory { room, .. } => self.streams.page_sent(room, asker),
            _ => {}
        }
        live.pacer.push(message);
    }

    fn ask_gap(&mut self, room: RoomName, after: Option<MessageId>) {
        let ask = ClientMessage::FetchHistory {
            room,
            before: None,
            after,
            limit: MAX_HISTORY_PAGE,
        };
        self.queue(ask, Asker::Gap);
    }

    fn ask_direct(&mut self, ask: DirectAsk, after: Option<MessageId>, limit: u16) {
        self.streams.direct_pages_asked.push_back(ask);
        let request = ClientMessage::FetchDirectHistory {
            with: None,
            before: None,
            after,
            limit,
        };
        self.queue(request, Asker::View);
    }
}

/// Sleeps until `at`, or forever if there is nothing to wait for (a
/// `poll_timeout` of `None`), for `select!` loops that drive the core.
pub(crate) async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
