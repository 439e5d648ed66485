//! What the session task reports about the connection itself: connecting,
//! connected (rejoining rooms, asking for the gap, resending), lost, given
//! up; and frames, handed to `incoming.rs`.

use huddle_protocol::{ClientMessage, ServerMessage};

use super::{
    app::{App, ConnState, Effect},
    buffer::{BufferKind, Line, LineKind},
};
use crate::net::NetEvent;

impl App {
    /// A server never reached: back to the browser with the reason, rather
    /// than retrying a wrong address forever.
    fn give_up(&mut self, reason: &str) -> Vec<Effect> {
        self.conn = ConnState::Failed(reason.to_owned());
        self.screen = super::app::Screen::Browser;
        self.notice_status(format!(
            "Cannot connect to {}: {reason}. Pick a server, or c to type an address",
            self.server_addr
        ));
        vec![Effect::Disconnect]
    }

    pub(super) fn on_net(&mut self, event: NetEvent) -> Vec<Effect> {
        match event {
            NetEvent::Connecting { .. } => {
                if !matches!(self.conn, ConnState::Reconnecting { .. }) {
                    self.conn = ConnState::Connecting;
                }
                Vec::new()
            }
            NetEvent::Identity(identity) => {
                self.on_identity(identity);
                Vec::new()
            }
            NetEvent::Connected(welcome) => {
                self.conn = ConnState::Connected;
                self.nick = welcome.nick.to_string();
                self.server_name = welcome.server_name.to_string();
                let mut effects = vec![Effect::RememberServer(self.server_addr.clone())];
                // A new connection starts "here": still away, say so again.
                if let Some(message) = &self.away {
                    effects.push(Effect::Send(ClientMessage::SetAway {
                        message: huddle_protocol::ShortText::lossy(message),
                    }));
                }
                self.notice_status(format!(
                    "Connected to {} ({}) as {}",
                    self.server_name, self.server_addr, self.nick
                ));
                if let Some(motd) = &welcome.motd {
                    for line in motd.lines() {
                        self.notice_status(format!("MOTD: {line}"));
                    }
                }
                let rooms: Vec<String> = if self.ever_connected {
                    self.buffers
                        .iter()
                        .filter_map(|b| match &b.kind {
                            BufferKind::Room(room) => Some(room.to_string()),
                            _ => None,
                        })
                        .collect()
                } else {
                    let rooms = self.rooms_for(welcome.server_id);
                    self.switch_to = rooms
                        .first()
                        .and_then(|r| huddle_protocol::RoomName::new(r.clone()).ok())
                        .map(|r| r.folded().to_owned());
                    rooms
                };
                if self.ever_connected {
                    let text = format!("Reconnected; rejoining {} room(s)", rooms.len());
                    for buffer in &mut self.buffers {
                        buffer.push(Line::new(LineKind::Notice, text.clone()));
                    }
                }
                let reconnecting = self.ever_connected;
                self.ever_connected = true;
                for room in rooms {
                    match huddle_protocol::RoomName::new(room) {
                        Ok(room) => effects.push(Effect::Send(ClientMessage::Join {
                            room,
                            password: None,
                        })),
                        Err(err) => self.notice_status(err.to_string()),
                    }
                }
                effects.push(self.direct_history_on_connect(reconnecting));
                if reconnecting {
                    // Ask for everything said while we were away, then send
                    // again what the server never acknowledged (same ids).
                    for buffer in &mut self.buffers {
                        if let (BufferKind::Room(room), Some(after)) =
                            (&buffer.kind, buffer.streamed)
                        {
                            buffer.catching_up = true;
                            effects.push(Effect::Send(ClientMessage::FetchHistory {
                                room: room.clone(),
                                before: None,
                                after: Some(after),
                                limit: huddle_protocol::limits::MAX_HISTORY_PAGE,
                            }));
                        }
                    }
                    effects.extend(
                        self.outbox
                            .iter()
                            .map(|(_, message)| Effect::Send(message.clone())),
                    );
                }
                effects
            }
            NetEvent::Message(message) => {
                let rooms_changed = matches!(
                    message,
                    ServerMessage::Joined { .. } | ServerMessage::Parted { .. }
                );
                let mut effects = self.on_message(message);
                if rooms_changed {
                    effects.extend(self.remember_rooms());
                }
                effects
            }
            NetEvent::Latency(latency) => {
                self.latency = Some(latency);
                Vec::new()
            }
            NetEvent::Disconnected { reason, .. } if !self.ever_connected => self.give_up(&reason),
            NetEvent::Failed(reason) if !self.ever_connected => self.give_up(&reason),
            NetEvent::Disconnected { reason, retry_in } => {
                let was_connected = self.conn == ConnState::Connected;
                self.conn = ConnState::Reconnecting { retry_in };
                self.latency = None;
                let text = format!(
                    "Disconnected: {reason}; reconnecting in {:.1} s",
                    retry_in.as_secs_f64()
                );
                if was_connected {
                    for buffer in &mut self.buffers {
                        buffer.joined = false;
                        buffer.push(Line::new(LineKind::Error, text.clone()));
                    }
                    if !self.outbox.is_empty() {
                        let waiting = format!(
                            "{} unacknowledged message(s) will be sent again",
                            self.outbox.len()
                        );
                        self.notice_status(waiting);
                    }
                } else {
                    self.notice_status(text);
                }
                Vec::new()
            }
            NetEvent::NickTaken { wanted, trying } => {
                self.notice_status(format!("The nick {wanted} is taken; trying {trying}"));
                Vec::new()
            }
            NetEvent::Failed(reason) => {
                self.conn = ConnState::Failed(reason.clone());
                for buffer in &mut self.buffers {
                    buffer.push(Line::new(
                        LineKind::Error,
                        format!("Cannot connect: {reason}"),
                    ));
                }
                Vec::new()
            }
        }
    }
}
