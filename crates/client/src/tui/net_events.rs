//! The connection as the view sees it: the session task's events go to the
//! client core (`core.rs`), and what the core reports — connected (rooms
//! rejoined, gaps asked for, outbox resent by the core), lost, frames,
//! backlogs, acks, refusals — becomes lines, states and notices here.

use huddle_protocol::{ClientMessage, ServerMessage};
use tokio::time::Instant;

use super::{
    app::{App, ConnState, Effect},
    buffer::{BufferKind, Line, LineKind},
};
use crate::{core::CoreEvent, net::NetEvent};

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

    pub(super) fn on_net(&mut self, now: Instant, event: NetEvent) -> Vec<Effect> {
        match event {
            NetEvent::Connecting { .. } => {
                if !matches!(self.conn, ConnState::Reconnecting { .. }) {
                    self.conn = ConnState::Connecting;
                }
            }
            NetEvent::Identity(identity) => self.on_identity(identity),
            NetEvent::Connected(welcome) => self.core.handle_connected(now, &welcome),
            NetEvent::Message(message) => self.core.handle_frame(now, message),
            NetEvent::Disconnected { reason, .. } | NetEvent::Failed(reason)
                if !self.core.ever_connected() =>
            {
                return self.give_up(&reason);
            }
            NetEvent::Disconnected { reason, retry_in } => {
                if self.conn == ConnState::Connected {
                    self.core.handle_disconnected(now, &reason);
                } else {
                    self.notice_status(format!(
                        "Disconnected: {reason}; reconnecting in {:.1} s",
                        retry_in.as_secs_f64()
                    ));
                }
                self.conn = ConnState::Reconnecting { retry_in };
            }
            NetEvent::NickTaken { wanted, trying } => {
                self.notice_status(format!("The nick {wanted} is taken; trying {trying}"));
            }
            NetEvent::Failed(reason) => {
                self.conn = ConnState::Failed(reason.clone());
                for buffer in &mut self.buffers {
                    buffer.push(Line::new(
                        LineKind::Error,
                        format!("Cannot connect: {reason}"),
                    ));
                }
            }
        }
        Vec::new()
    }

    /// Shows what the core reports.
    pub(super) fn on_core(&mut self, event: CoreEvent) -> Vec<Effect> {
        match event {
            CoreEvent::Connected {
                welcome,
                reconnected,
                resent,
            } => return self.on_connected(&welcome, reconnected, resent),
            CoreEvent::Disconnected {
                reason,
                unacknowledged,
            } => self.on_disconnected(&reason, unacknowledged),
            CoreEvent::Frame(message) => {
                let rooms_changed = matches!(
                    message,
                    ServerMessage::Joined { .. } | ServerMessage::Parted { .. }
                );
                let mut effects = self.on_message(message);
                if rooms_changed {
                    effects.extend(self.remember_rooms());
                }
                return effects;
            }
            CoreEvent::RoomBacklog { room, messages } => self.on_room_backlog(&room, &messages),
            CoreEvent::DirectBacklog { entries, missed } => {
                self.on_direct_backlog(&entries, missed)
            }
            CoreEvent::Acked {
                id,
                message_id,
                timestamp,
            } => self.on_acked(id, message_id, timestamp),
            CoreEvent::Refused { id, report } => self.on_refused(id, &report),
            CoreEvent::Latency(latency) => self.latency = Some(latency),
            CoreEvent::Synced => {}
            CoreEvent::Stale => return vec![Effect::DropConnection],
        }
        Vec::new()
    }

    fn on_connected(
        &mut self,
        welcome: &huddle_protocol::Welcome,
        reconnected: bool,
        resent: usize,
    ) -> Vec<Effect> {
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
        if reconnected {
            let rooms = self
                .buffers
                .iter()
                .filter(|b| matches!(b.kind, BufferKind::Room(_)))
                .count();
            let text = format!("Reconnected; rejoining {rooms} room(s)");
            for buffer in &mut self.buffers {
                buffer.push(Line::new(LineKind::Notice, text.clone()));
            }
            if resent > 0 {
                self.notice_status(format!("Sending {resent} message(s) again"));
            }
            return effects;
        }
        let rooms = self.rooms_for(welcome.server_id);
        self.switch_to = rooms
            .first()
            .and_then(|r| huddle_protocol::RoomName::new(r.clone()).ok())
            .map(|r| r.folded().to_owned());
        for room in rooms {
            match huddle_protocol::RoomName::new(room) {
                Ok(room) => effects.push(Effect::Send(ClientMessage::Join {
                    room,
                    password: None,
                })),
                Err(err) => self.notice_status(err.to_string()),
            }
        }
        effects
    }

    fn on_disconnected(&mut self, reason: &str, unacknowledged: usize) {
        self.latency = None;
        self.abandon_transfers();
        let text = match &self.conn {
            ConnState::Reconnecting { retry_in } => format!(
                "Disconnected: {reason}; reconnecting in {:.1} s",
                retry_in.as_secs_f64()
            ),
            _ => format!("Disconnected: {reason}; reconnecting"),
        };
        for buffer in &mut self.buffers {
            buffer.joined = false;
            buffer.push(Line::new(LineKind::Error, text.clone()));
        }
        if unacknowledged > 0 {
            self.notice_status(format!(
                "{unacknowledged} unacknowledged message(s) will be sent again"
            ));
        }
    }
}
