//! Plain line mode for scripts and bots: lines on stdin are sent (slash
//! commands work), events are printed one per line, and at end of input the
//! client waits for every message to be acknowledged, then quits cleanly.
//!
//! It drives the same client core as the TUI (`core.rs`), so it paces to
//! the server's rate, reconnects, sends again what was not acknowledged,
//! fills the gap and prints each message once; this module only reads
//! lines, prints events and decides the exit status.

use std::time::Duration;

use huddle_protocol::{MessageKind, Nick, PresenceEvent, RoomName, ServerMessage, Target};
use tokio::io::{AsyncBufReadExt, AsyncWrite, BufReader};

mod driver;
mod history;
mod lines;
mod progress;

use driver::Plain;

use crate::{sanitize::sanitize, transfer::AcceptPolicy};

/// How long to wait at end of input for outstanding acknowledgements.
const ACK_TIMEOUT: Duration = Duration::from_secs(10);

/// What plain mode failed at.
#[derive(Debug, thiserror::Error)]
pub enum PlainError {
    #[error("{0}")]
    Connect(String),
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

/// Formats one server event as output, if it is worth printing: one line,
/// but for a chat message of several lines (one output line each).
pub fn format_event(message: &ServerMessage) -> Option<String> {
    let line = match message {
        ServerMessage::Chat(chat) => return Some(format_chat(chat)),
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
            nick,
            key,
            rooms,
            idle_secs,
            client,
            ..
        } => {
            let rooms: Vec<String> = rooms.iter().map(ToString::to_string).collect();
            let key = key
                .as_ref()
                .map_or_else(|| "none".into(), |key| key.short());
            format!(
                "-!- {nick}: key {key} · in {} · idle {idle_secs} s · using {client}",
                rooms.join(", ")
            )
        }
        ServerMessage::Error(report) => format!("error: {}", report.text),
        ServerMessage::Notice { text } => format!("-!- {text}"),
        ServerMessage::NickChanged { new, .. } => format!("-!- you are now known as {new}"),
        ServerMessage::Bye { reason, .. } => format!("-!- the server said goodbye: {reason}"),
        ServerMessage::SearchResults {
            query, hits, next, ..
        } => {
            let older = match next {
                Some(_) => "; older ones exist: narrow the search",
                None => "",
            };
            format!(
                "-!- search {:?}: {} match(es), newest first{older}",
                query.as_str(),
                hits.len()
            )
        }
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

/// A chat message as output lines: one per line of its text, each with
/// the place and the sender (so no text can pass for another sender's),
/// each sanitised.
fn format_chat(chat: &huddle_protocol::ChatMessage) -> String {
    let place = match &chat.target {
        Target::Room(room) => room.to_string(),
        Target::Direct(_) => format!("@{}", chat.from),
    };
    let from = sanitize(chat.from.as_str());
    let lines: Vec<String> = chat
        .text
        .as_str()
        .split('\n')
        .map(|text| match chat.kind {
            MessageKind::Normal => format!("[{place}] <{from}> {}", sanitize(text)),
            MessageKind::Action => format!("[{place}] * {from} {}", sanitize(text)),
        })
        .collect();
    lines.join("\n")
}

/// `output` (lines of [`format_chat`]) with `(mark)` after each line's place.
fn marked(output: &str, mark: &str) -> String {
    let lines: Vec<String> = output
        .lines()
        .map(|line| line.replacen("] ", &format!("] ({mark}) "), 1))
        .collect();
    lines.join("\n")
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
    let mut plain = Plain::connect(&options, out).await?;
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
        tokio::select! {
            line = lines.next_line(), if plain.core.waiting() < MAX_QUEUED => match line? {
                Some(line) => if !plain.on_line(&line).await? { break },
                None => break,
            },
            event = plain.next_event() => plain.on_event(event?).await?,
        }
    }
    plain.finish().await
}
