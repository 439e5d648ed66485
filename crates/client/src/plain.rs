//! Plain line mode for scripts and bots: lines on stdin are sent (slash
//! commands work), events are printed one per line, and at end of input the
//! client waits for every message to be acknowledged, then quits cleanly.

use std::{collections::HashMap, time::Duration};

use huddle_protocol::{
    ClientMessage, ClientMsgId, ErrorCode, MessageKind, Nick, PresenceEvent, RoomName,
    ServerMessage, ShortText, Target, TransferId,
};
use tokio::{
    io::{AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader},
    time::Instant,
};

mod history;
mod lines;
mod link;
mod progress;

use link::{Incoming, Link};

use crate::{
    core::{pacer::Pacer, sleep_until_some},
    sanitize::sanitize,
    transfer::{AcceptPolicy, TransferEvent, Transfers, describe},
};

/// How long to wait at end of input for outstanding acknowledgements.
const ACK_TIMEOUT: Duration = Duration::from_secs(10);

/// What plain mode failed at.
#[derive(Debug, thiserror::Error)]
pub enum PlainError {
    #[error(transparent)]
    Connect(#[from] crate::net::ConnectError),
    #[error("the connection failed: {0}")]
    Connection(String),
    #[error("cannot join {room}: {reason}")]
    Join { room: String, reason: String },
    #[error("{0} message(s) were not acknowledged by the server")]
    Unacknowledged(usize),
    #[error("{} line(s) were refused: line {}", .0.len(), join_numbers(.0))]
    Refused(Vec<usize>),
    #[error("{0} file transfer(s) failed")]
    Transfers(usize),
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

fn join_numbers(lines: &[usize]) -> String {
    let shown: Vec<String> = lines.iter().take(20).map(usize::to_string).collect();
    let more = if lines.len() > 20 { ", …" } else { "" };
    format!("{}{more}", shown.join(", "))
}

impl PlainError {
    /// The exit status for this failure: 2 when the connection (or the
    /// output) failed, 1 when lines or files were refused or lost.
    pub fn exit_code(&self) -> u8 {
        match self {
            PlainError::Connect(_) | PlainError::Connection(_) | PlainError::Output(_) => 2,
            _ => 1,
        }
    }
}

/// Formats one server event as a line of output, if it is worth printing.
pub fn format_event(message: &ServerMessage) -> Option<String> {
    let line = match message {
        ServerMessage::Chat(chat) => {
            let place = match &chat.target {
                Target::Room(room) => room.to_string(),
                Target::Direct(_) => format!("@{}", chat.from),
            };
            match chat.kind {
                MessageKind::Normal => format!("[{place}] <{}> {}", chat.from, chat.text),
                MessageKind::Action => format!("[{place}] * {} {}", chat.from, chat.text),
            }
        }
        ServerMessage::Presence(presence) => {
            let what = match &presence.event {
                PresenceEvent::Joined => "joined".to_owned(),
                PresenceEvent::Left { reason } => format!("left ({reason})"),
                PresenceEvent::Quit { reason } => format!("quit ({reason})"),
                PresenceEvent::Renamed { new_nick } => format!("is now known as {new_nick}"),
                PresenceEvent::Away { message } if message.is_empty() => "is back".to_owned(),
                PresenceEvent::Away { message } => format!("is away: {message}"),
            };
            format!("[{}] -!- {} {what}", presence.room, presence.nick)
        }
        ServerMessage::Joined { room, members, .. } => {
            format!("[{room}] -!- joined; {} member(s)", members.len())
        }
        ServerMessage::Parted { room } => format!("[{room}] -!- left"),
        ServerMessage::Topic { room, topic, by } => {
            format!("[{room}] -!- {by} set the topic: {topic}")
        }
        ServerMessage::RoomList { rooms } => {
            let names: Vec<String> = rooms
                .iter()
                .map(|r| format!("{} ({})", r.name, r.members))
                .collect();
            format!("-!- rooms: {}", names.join(", "))
        }
        ServerMessage::MemberList { room, members } => {
            let names: Vec<String> = members.iter().map(ToString::to_string).collect();
            format!("[{room}] -!- members: {}", names.join(", "))
        }
        ServerMessage::WhoisReply {
            nick, key, rooms, ..
        } => {
            let rooms: Vec<String> = rooms.iter().map(ToString::to_string).collect();
            format!("-!- {nick}: key {} · in {}", key.short(), rooms.join(", "))
        }
        ServerMessage::Error(report) => format!("error: {}", report.text),
        ServerMessage::Notice { text } => format!("-!- {text}"),
        ServerMessage::NickChanged { new, .. } => format!("-!- you are now known as {new}"),
        ServerMessage::Bye { reason, .. } => format!("-!- the server said goodbye: {reason}"),
        _ => return None,
    };
    // Each event is exactly one line, whatever the text held.
    Some(
        line.split('\n')
            .map(sanitize)
            .collect::<Vec<_>>()
            .join(" ⏎ "),
    )
}

struct Plain<W> {
    link: Link,
    /// Rooms joined, rejoined after a reconnect.
    joined: Vec<RoomName>,
    /// Orders `pending` (resent in the order first queued).
    sequence: u64,
    out: W,
    room: Option<RoomName>,
    /// Messages sent or queued and not acknowledged yet, with their input
    /// line (to requeue one refused for its rate, and to name the line).
    pending: HashMap<ClientMsgId, Pending>,
    /// Sends at the server's advertised rate (`core/pacer.rs`).
    pacer: Pacer,
    /// The input line being handled (1-based).
    line_number: usize,
    /// Input lines refused, by this client or the server.
    refused: Vec<usize>,
    transfers: Transfers,
    /// The last tenth of each transfer printed, so progress is not a flood.
    shown_progress: HashMap<TransferId, u64>,
    transfer_failures: usize,
    /// Lines acknowledged by the server so far.
    delivered: u64,
    /// The progress line on stderr (a terminal only).
    progress: progress::Progress,
}

/// A request not acknowledged yet.
#[derive(Debug)]
struct Pending {
    message: ClientMessage,
    /// Its input line.
    line: usize,
    /// When it was first queued, for the order of a resend.
    sequence: u64,
}

impl<W: AsyncWrite + Unpin> Plain<W> {
    async fn print(&mut self, line: &str) -> Result<(), PlainError> {
        self.out.write_all(line.as_bytes()).await?;
        self.out.write_all(b"\n").await?;
        self.out.flush().await?;
        Ok(())
    }

    /// Queues a request behind those waiting for the rate limit.
    fn queue(&mut self, message: ClientMessage) {
        if let Some(id) = message.client_msg_id() {
            self.sequence += 1;
            let pending = Pending {
                message: message.clone(),
                line: self.line_number,
                sequence: self.sequence,
            };
            self.pending.insert(id, pending);
        }
        self.pacer.push(message);
    }

    /// Sends a frame that must not wait (a `Pong`, a transfer's reply),
    /// counting it against the rate.
    async fn send_now(&mut self, message: ClientMessage) -> Result<(), PlainError> {
        self.pacer.charge(Instant::now());
        self.write(message).await
    }

    async fn write(&mut self, message: ClientMessage) -> Result<(), PlainError> {
        self.link.send(message).await;
        Ok(())
    }

    /// After a reconnect: the rooms are joined again, then everything not
    /// acknowledged is sent again in its first order, with its ids, then
    /// whatever else waited; all at the new connection's rate.
    fn resume(&mut self, welcome: &huddle_protocol::Welcome) {
        let mut waiting =
            std::mem::replace(&mut self.pacer, Pacer::new(&welcome.limits, Instant::now()))
                .into_queue();
        for room in &self.joined {
            self.pacer.push(ClientMessage::Join {
                room: room.clone(),
                password: None,
            });
        }
        let mut unacknowledged: Vec<&Pending> = self.pending.values().collect();
        unacknowledged.sort_by_key(|pending| pending.sequence);
        for pending in unacknowledged {
            self.pacer.push(pending.message.clone());
        }
        waiting.retain(|m| m.client_msg_id().is_none() && !matches!(m, ClientMessage::Join { .. }));
        for message in waiting {
            self.pacer.push(message);
        }
    }

    /// Sends what the rate allows now.
    async fn flush(&mut self) -> Result<(), PlainError> {
        while let Some(message) = self.pacer.poll_transmit(Instant::now()) {
            self.write(message).await?;
        }
        Ok(())
    }

    /// Says why the current input line is refused (and remembers it).
    async fn refuse(&mut self, why: &str) -> Result<bool, PlainError> {
        let line = self.line_number;
        self.refused.push(line);
        self.print(&format!("error: line {line}: {why}")).await?;
        Ok(true)
    }

    async fn on_message(&mut self, message: ServerMessage) -> Result<(), PlainError> {
        let (replies, events) = self.transfers.on_message(&message);
        for reply in replies {
            self.send_now(reply).await?;
        }
        for event in events {
            self.on_transfer(&event).await?;
        }
        match &message {
            ServerMessage::Ack { id, .. } => {
                if self.pending.remove(id).is_some() {
                    self.delivered += 1;
                }
                let waiting = self.pacer.len();
                let (read, delivered) = (self.line_number, self.delivered);
                self.progress
                    .report(read, delivered, waiting, Instant::now());
            }
            ServerMessage::Ping { token } => {
                let token = *token;
                self.send_now(ClientMessage::Pong { token }).await?;
            }
            ServerMessage::Error(report) if report.code == ErrorCode::RateLimited => {
                // Paced, this is rare (frames bunched on the way): the
                // message goes back first in line, not lost.
                if let Some(pending) = report.id.and_then(|id| self.pending.get(&id)) {
                    self.pacer.requeue(pending.message.clone());
                }
                return Ok(());
            }
            ServerMessage::Error(report) => {
                if let Some(Pending { line, .. }) =
                    report.id.and_then(|id| self.pending.remove(&id))
                {
                    self.refused.push(line);
                    let text = format!("error: line {line}: {}", sanitize(&report.text));
                    return self.print(&text).await;
                }
            }
            // Lines go to the room joined last; a rejoin after a reconnect
            // (of a room already joined) changes nothing.
            ServerMessage::Joined { room, .. } if !self.joined.contains(room) => {
                self.joined.push(room.clone());
                self.room = Some(room.clone());
            }
            ServerMessage::Parted { room } => self.joined.retain(|r| r != room),
            _ => {}
        }
        if let Some(line) = format_event(&message) {
            self.print(&line).await?;
        }
        Ok(())
    }

    async fn on_transfer(&mut self, event: &TransferEvent) -> Result<(), PlainError> {
        if let TransferEvent::Progress { id, done, size, .. } = event {
            let tenth = if *size == 0 { 10 } else { done * 10 / size };
            if self.shown_progress.insert(*id, tenth) == Some(tenth) {
                return Ok(());
            }
        }
        if matches!(event, TransferEvent::Failed { .. }) {
            self.transfer_failures += 1;
        }
        self.print(&format!("-!- {}", describe(event))).await
    }

    /// Sends everything queued, at the rate allowed, and waits for every
    /// acknowledgement; gives up after [`ACK_TIMEOUT`] without progress.
    async fn drain(&mut self) -> Result<(), PlainError> {
        let mut progress = Instant::now();
        while !(self.pacer.is_empty() && self.pending.is_empty()) {
            let wake = self.pacer.poll_timeout();
            tokio::select! {
                message = self.next() => {
                    let message = message?;
                    if matches!(message, ServerMessage::Ack { .. }) {
                        progress = Instant::now();
                    }
                    self.on_message(message).await?;
                }
                () = sleep_until_some(wake) => {
                    self.flush().await?;
                    progress = Instant::now();
                }
                () = tokio::time::sleep_until(progress + ACK_TIMEOUT) => return Ok(()),
            }
        }
        Ok(())
    }

    /// The next frame from the server; a lost connection is re-made on
    /// the way (see [`Plain::resume`]).
    async fn next(&mut self) -> Result<ServerMessage, PlainError> {
        loop {
            match self.link.next().await? {
                Incoming::Message(message) => return Ok(message),
                Incoming::Reconnected { lost, welcome } => {
                    self.resume(&welcome);
                    let note = format!("-!- connection lost ({lost}); reconnected");
                    self.print(&sanitize(&note)).await?;
                }
            }
        }
    }

    async fn join(&mut self, room: RoomName) -> Result<(), PlainError> {
        self.queue(ClientMessage::Join {
            room: room.clone(),
            password: None,
        });
        self.flush().await?;
        loop {
            let message = self.next().await?;
            let done = match &message {
                ServerMessage::Joined { .. } => Some(Ok(())),
                ServerMessage::Error(report) => Some(Err(PlainError::Join {
                    room: room.to_string(),
                    reason: sanitize(&report.text),
                })),
                _ => None,
            };
            self.on_message(message).await?;
            if let Some(done) = done {
                return done;
            }
        }
    }
}

/// How plain mode connects.
#[derive(Debug, Clone)]
pub struct PlainOptions {
    pub addr: String,
    /// TLS and whom to trust.
    pub security: crate::trust::Security,
    pub nick: Nick,
    /// This installation's key.
    pub key: std::sync::Arc<huddle_protocol::IdentityKey>,
    /// Rooms joined in order; lines go to the first.
    pub rooms: Vec<RoomName>,
    /// Messages of each room's history printed after joining it.
    pub history: usize,
    /// Where received files go.
    pub downloads: std::path::PathBuf,
    /// Which offers are accepted without asking.
    pub accept: AcceptPolicy,
}

/// At most this many requests wait for the rate limit; past it, input is
/// read no further until some are sent (a pipe of any length is delivered,
/// in order, in bounded memory).
const MAX_QUEUED: usize = 1000;

/// Runs plain mode on `input` and `out` until end of input (or `/quit`).
pub async fn run<R, W>(options: PlainOptions, input: R, out: W) -> Result<(), PlainError>
where
    R: tokio::io::AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let (link, welcome) = Link::open(
        &options.addr,
        &options.security,
        crate::net::Introduction {
            key: options.key.clone(),
            nick: options.nick,
        },
    )
    .await?;
    let mut plain = Plain {
        link,
        joined: Vec::new(),
        sequence: 0,
        out,
        room: None,
        pending: HashMap::new(),
        pacer: Pacer::new(&welcome.limits, Instant::now()),
        line_number: 0,
        refused: Vec::new(),
        transfers: Transfers::new(options.downloads, options.accept),
        shown_progress: HashMap::new(),
        transfer_failures: 0,
        delivered: 0,
        progress: progress::Progress::new(std::io::IsTerminal::is_terminal(&std::io::stderr())),
    };
    plain
        .print(&format!(
            "-!- connected to {} as {}",
            sanitize(&welcome.server_name),
            welcome.nick
        ))
        .await?;
    for room in &options.rooms {
        plain.join(room.clone()).await?;
        if options.history > 0 {
            plain.print_history(room, options.history).await?;
        }
    }
    // Lines go to the first room named, as a script would expect.
    if let Some(first) = options.rooms.first() {
        plain.room = Some(first.clone());
    }
    let mut lines = BufReader::new(input).lines();
    loop {
        let wake = plain.pacer.poll_timeout();
        tokio::select! {
            line = lines.next_line(), if plain.pacer.len() < MAX_QUEUED => match line? {
                Some(line) => if !plain.on_line(&line).await? { break },
                None => break,
            },
            message = plain.next() => plain.on_message(message?).await?,
            () = sleep_until_some(wake) => plain.flush().await?,
        }
    }
    // End of input: send what waits, at the rate allowed, and wait for every
    // acknowledgement.
    let waited = plain.drain().await;
    // And for transfers under way, as long as they make progress.
    while !plain.transfers.is_idle() {
        match tokio::time::timeout(ACK_TIMEOUT, plain.next()).await {
            Ok(message) => plain.on_message(message?).await?,
            Err(_) => {
                plain
                    .print("error: a file transfer stalled; giving up")
                    .await?;
                plain.transfer_failures += 1;
                break;
            }
        }
    }
    let (read, delivered, waiting) = (plain.line_number, plain.delivered, plain.pacer.len());
    plain.progress.finish(read, delivered, waiting);
    let unacknowledged = plain.pending.len();
    plain
        .write(ClientMessage::Quit {
            reason: ShortText::lossy("end of input"),
        })
        .await?;
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Ok(message) = plain.next().await {
            if matches!(message, ServerMessage::Bye { .. }) {
                break;
            }
        }
    })
    .await;
    let mut refused = std::mem::take(&mut plain.refused);
    refused.sort_unstable();
    match waited {
        Err(err) => Err(err),
        _ if !refused.is_empty() => Err(PlainError::Refused(refused)),
        _ if unacknowledged > 0 => Err(PlainError::Unacknowledged(unacknowledged)),
        _ if plain.transfer_failures > 0 => Err(PlainError::Transfers(plain.transfer_failures)),
        _ => Ok(()),
    }
}
