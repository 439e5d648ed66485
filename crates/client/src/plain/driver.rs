//! Plain mode's loop around the client core: the session task's events go
//! into the core, the frames it releases go out, and what it reports is
//! printed. Each input line's message is remembered by id only to name
//! the line if the server refuses it.

use std::collections::HashMap;

use huddle_protocol::{
    ClientMessage, ClientMsgId, RequestKind, RoomName, ServerMessage, TransferId,
};
use tokio::{
    io::{AsyncWrite, AsyncWriteExt},
    sync::mpsc,
    time::{Duration, Instant},
};

use super::{PlainError, PlainOptions, format_event, progress::Progress};

mod finish;
use crate::{
    core::{ClientCore, CoreConfig, CoreEvent, sleep_until_some},
    net::{NetEvent, NetHandle, SessionConfig, spawn_session},
    sanitize::sanitize,
    transfer::{TransferEvent, Transfers, describe},
    trust::Verdict,
};

/// How long reconnecting is tried before plain mode gives up (longer than
/// a server's ping timeout, after which it frees our nick).
pub(crate) const RECONNECT_FOR: Duration = Duration::from_secs(120);

pub(super) struct Plain<W> {
    net: NetHandle,
    events: mpsc::UnboundedReceiver<NetEvent>,
    pub(super) core: ClientCore,
    out: W,
    addr: String,
    /// Where lines without a command go.
    pub(super) room: Option<RoomName>,
    /// Rooms joined, in order.
    joined: Vec<RoomName>,
    /// Each message's input lines (several when lines were batched, see
    /// `core/batching.rs`), until it is settled.
    lines_of: HashMap<ClientMsgId, Vec<usize>>,
    /// The last input line that made each other kind of request (`/join`,
    /// `/nick`…), to name it if the server refuses it: those carry no id.
    last_line_of: HashMap<RequestKind, usize>,
    /// The input line being handled (1-based).
    pub(super) line_number: usize,
    /// Input lines refused, by this client or the server.
    pub(super) refused: Vec<usize>,
    pub(super) transfers: Transfers,
    /// The last tenth of each transfer printed, so progress is not a flood.
    shown_progress: HashMap<TransferId, u64>,
    transfer_failures: usize,
    /// Lines acknowledged by the server so far.
    delivered: u64,
    progress: Progress,
    /// Since when the connection is lost, and why.
    lost: Option<(Instant, String)>,
}

impl<W: AsyncWrite + Unpin> Plain<W> {
    /// Starts the session and waits for the first connection: a server
    /// that cannot be reached (or refuses us) is an error at once.
    pub(super) async fn connect(options: &PlainOptions, out: W) -> Result<Self, PlainError> {
        let (events_tx, events) = mpsc::unbounded_channel();
        let session = SessionConfig {
            addr: options.addr.clone(),
            nick: options.nick.clone(),
            key: options.key.clone(),
            security: options.security.clone(),
            retry_nick: false,
        };
        let mut plain = Self {
            net: spawn_session(session, events_tx),
            events,
            core: ClientCore::new(CoreConfig::default()),
            out,
            addr: options.addr.clone(),
            room: None,
            joined: Vec::new(),
            lines_of: HashMap::new(),
            last_line_of: HashMap::new(),
            line_number: 0,
            refused: Vec::new(),
            transfers: Transfers::new(options.downloads.clone(), options.accept.clone()),
            shown_progress: HashMap::new(),
            transfer_failures: 0,
            delivered: 0,
            progress: Progress::new(std::io::IsTerminal::is_terminal(&std::io::stderr())),
            lost: None,
        };
        loop {
            let event = plain.next_event().await?;
            let connected = matches!(event, CoreEvent::Connected { .. });
            plain.on_event(event).await?;
            if connected {
                return Ok(plain);
            }
        }
    }

    pub(super) async fn print(&mut self, line: &str) -> Result<(), PlainError> {
        self.out.write_all(line.as_bytes()).await?;
        self.out.write_all(b"\n").await?;
        self.out.flush().await?;
        Ok(())
    }

    /// Hands a request to the core; a message is remembered with its
    /// input line.
    pub(super) fn request(&mut self, message: ClientMessage) {
        // A line for a room while the one before still waits for the rate
        // joins it (a pipe faster than the server's rate).
        if let ClientMessage::Say {
            room,
            kind: huddle_protocol::MessageKind::Normal,
            text,
            ..
        } = &message
            && let Some(id) = self.core.join_waiting(room, text)
        {
            self.lines_of.entry(id).or_default().push(self.line_number);
            return;
        }
        match message.client_msg_id() {
            Some(id) => {
                self.lines_of.insert(id, vec![self.line_number]);
            }
            None => {
                self.last_line_of.insert(message.kind(), self.line_number);
            }
        }
        self.core.send(Instant::now(), message);
        self.flush();
    }

    /// Writes what the core releases now.
    fn flush(&mut self) {
        while let Some(message) = self.core.poll_transmit(Instant::now()) {
            self.net.send(message);
        }
    }

    /// Says why the current input line is refused (and remembers it).
    pub(super) async fn refuse(&mut self, why: &str) -> Result<bool, PlainError> {
        let line = self.line_number;
        self.refused.push(line);
        self.print(&format!("error: line {line}: {why}")).await?;
        Ok(true)
    }

    /// The core's next report, feeding it the session's events and its
    /// timers on the way. Cancel-safe (it is raced with reading input).
    pub(super) async fn next_event(&mut self) -> Result<CoreEvent, PlainError> {
        loop {
            if let Some(event) = self.core.poll_event() {
                return Ok(event);
            }
            self.flush();
            tokio::select! {
                event = self.events.recv() => self.on_net(event)?,
                () = sleep_until_some(self.core.poll_timeout()) => {
                    self.core.handle_timeout(Instant::now());
                }
            }
        }
    }

    fn on_net(&mut self, event: Option<NetEvent>) -> Result<(), PlainError> {
        let now = Instant::now();
        let Some(event) = event else {
            return Err(PlainError::Connection("the session ended".into()));
        };
        match event {
            NetEvent::Connecting { .. } => {}
            NetEvent::Identity(identity) => {
                if identity.verdict == Some(Verdict::FirstUse)
                    && let Some(fingerprint) = identity.fingerprint
                {
                    let addr = sanitize(&self.addr);
                    eprintln!("huddle: new server {addr}, fingerprint {fingerprint} (recorded)");
                }
            }
            NetEvent::Connected(welcome) => {
                self.core.handle_connected(now, &welcome);
            }
            NetEvent::Message(message) => self.core.handle_frame(now, message),
            NetEvent::Disconnected { reason, .. } | NetEvent::Failed(reason)
                if !self.core.ever_connected() =>
            {
                return Err(PlainError::Connect(sanitize(&reason)));
            }
            NetEvent::Failed(reason) => return Err(PlainError::Connection(sanitize(&reason))),
            NetEvent::Disconnected { reason, .. } => {
                if self.core.is_connected() {
                    self.core.handle_disconnected(now, &reason);
                }
                let since = self.lost.get_or_insert((now, reason.clone())).0;
                if now.duration_since(since) > RECONNECT_FOR {
                    return Err(PlainError::Connection(format!(
                        "{}; reconnecting failed: {}",
                        sanitize(&self.lost.take().map(|(_, why)| why).unwrap_or_default()),
                        sanitize(&reason)
                    )));
                }
            }
            NetEvent::NickTaken { .. } => {}
        }
        Ok(())
    }

    /// Prints (and acts on) one report of the core.
    pub(super) async fn on_event(&mut self, event: CoreEvent) -> Result<(), PlainError> {
        match event {
            CoreEvent::Connected {
                welcome,
                reconnected,
                ..
            } => {
                let line = match (reconnected, self.lost.take()) {
                    (true, Some((_, lost))) => format!("-!- connection lost ({lost}); reconnected"),
                    _ => format!(
                        "-!- connected to {} as {}",
                        welcome.server_name, welcome.nick
                    ),
                };
                self.print(&sanitize(&line)).await?;
            }
            CoreEvent::Disconnected { .. } | CoreEvent::Latency(_) | CoreEvent::Synced => {}
            CoreEvent::Stale => self.net.reconnect("the server stopped answering"),
            CoreEvent::Frame(ServerMessage::Error(report))
                if report.id.is_none()
                    && self
                        .last_line_of
                        .get(&report.request)
                        .is_some_and(|line| *line > 0) =>
            {
                // A line's request refused (a taken nick, a wrong password):
                // named by its line, and counted.
                let line = self.last_line_of[&report.request];
                self.refused.push(line);
                let text = format!("error: line {line}: {}", sanitize(&report.text));
                self.print(&text).await?;
            }
            CoreEvent::Frame(message) => self.on_frame(message).await?,
            CoreEvent::RoomBacklog { messages, .. } => {
                for message in messages {
                    self.on_frame(ServerMessage::Chat(message)).await?;
                }
            }
            CoreEvent::DirectBacklog { entries, .. } => {
                for entry in entries.into_iter().filter(|e| !e.outgoing) {
                    self.on_frame(ServerMessage::Chat(entry.message)).await?;
                }
            }
            CoreEvent::Acked { id, .. } => {
                if let Some(lines) = self.lines_of.remove(&id) {
                    self.delivered += lines.len() as u64;
                }
                let waiting = self.core.waiting();
                let (read, delivered) = (self.line_number, self.delivered);
                self.progress
                    .report(read, delivered, waiting, Instant::now());
            }
            CoreEvent::Refused { id, report } => {
                let lines = self
                    .lines_of
                    .remove(&id)
                    .unwrap_or_else(|| vec![self.line_number]);
                let named: Vec<String> = lines.iter().map(ToString::to_string).collect();
                let text = format!(
                    "error: line {}: {}",
                    named.join(", "),
                    sanitize(&report.text)
                );
                self.refused.extend(lines);
                self.print(&text).await?;
            }
        }
        Ok(())
    }

    async fn on_frame(&mut self, message: ServerMessage) -> Result<(), PlainError> {
        let (replies, events) = self.transfers.on_message(&message);
        for reply in replies {
            self.request(reply);
        }
        for event in events {
            self.on_transfer(&event).await?;
        }
        // Lines go to the room joined last; a rejoin after a reconnect (of
        // a room already joined) changes nothing. (A join's backlog is not
        // printed: `--history N` asks for it; what was missed while
        // disconnected comes from the core's gap fill, in order.)
        match &message {
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
        if let ServerMessage::SearchResults { hits, .. } = &message {
            for hit in hits {
                let chat = ServerMessage::Chat(hit.message().clone());
                if let Some(line) = format_event(&chat) {
                    let time = super::history::utc(hit.message().timestamp);
                    self.print(&super::marked(&line, &format!("found {time}")))
                        .await?;
                }
            }
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

    /// Joins `room`, waiting for the answer.
    pub(super) async fn join(&mut self, room: RoomName) -> Result<(), PlainError> {
        self.request(ClientMessage::Join {
            room: room.clone(),
            password: None,
        });
        loop {
            let event = self.next_event().await?;
            let done = match &event {
                CoreEvent::Frame(ServerMessage::Joined { room: joined, .. }) if *joined == room => {
                    Some(Ok(()))
                }
                CoreEvent::Frame(ServerMessage::Error(report))
                    if report.request == huddle_protocol::RequestKind::Join =>
                {
                    Some(Err(PlainError::Join {
                        room: room.to_string(),
                        reason: sanitize(&report.text),
                    }))
                }
                _ => None,
            };
            self.on_event(event).await?;
            if let Some(done) = done {
                return done;
            }
        }
    }
}
