//! The server's frames, turned into buffer lines, member lists and
//! notifications (the connection's own events are in `net_events.rs`).

use huddle_protocol::{
    ChatMessage, ClientMsgId, ErrorReport, MessageId, MessageKind, PresenceEvent, RoomName,
    ServerMessage, Target,
};

use super::{
    app::{App, Effect},
    buffer::{BufferKind, Line, LineKind},
};

impl App {
    /// Applies `change` to the pending line with client id `id`.
    fn resolve_pending(&mut self, id: ClientMsgId, change: impl FnOnce(&mut Line)) {
        for buffer in &mut self.buffers {
            if let Some(line) = buffer
                .lines
                .iter_mut()
                .rev()
                .find(|l| l.client_id == Some(id))
            {
                change(line);
                return;
            }
        }
    }

    fn room_buffer(&mut self, room: &huddle_protocol::RoomName) -> usize {
        self.buffer_for(BufferKind::Room(room.clone()))
    }

    fn push_to(&mut self, index: usize, line: Line) {
        let buffer = &mut self.buffers[index];
        buffer.push(line);
        if index != self.current {
            buffer.unread += 1;
        }
    }

    pub(super) fn chat_line(&self, message: &ChatMessage) -> (Line, bool) {
        let mention = message.from.as_str() != self.nick && self.highlights(&message.text);
        let line = Line {
            time: message.timestamp,
            kind: LineKind::Chat {
                from: message.from.to_string(),
                action: message.kind == MessageKind::Action,
                pending: false,
                mention,
                own: message.from.as_str() == self.nick,
            },
            text: message.text.to_string(),
            id: Some(message.id),
            client_id: None,
            origin: Some(message.client_msg_id),
            transfer: None,
        };
        (line, mention)
    }

    pub(super) fn on_message(&mut self, message: ServerMessage) -> Vec<Effect> {
        match message {
            ServerMessage::Joined {
                room,
                topic,
                members,
                history,
            } => {
                let index = self.room_buffer(&room);
                let lines = history
                    .iter()
                    .filter(|m| !self.is_ignored(&m.from))
                    .map(|m| self.chat_line(m).0)
                    .collect();
                let buffer = &mut self.buffers[index];
                buffer.joined = true;
                buffer.members = members;
                buffer.topic = topic.to_string();
                buffer.merge_history(lines);
                buffer.push(Line::new(LineKind::Presence, format!("You joined {room}")));
                if !topic.is_empty() {
                    buffer.push(Line::new(LineKind::Presence, format!("Topic: {topic}")));
                }
                if self.switch_to.as_deref() == Some(room.folded()) {
                    self.switch_to = None;
                    self.switch_to(index);
                }
            }
            ServerMessage::Parted { room } => {
                if let Some(index) = self.buffer_index(&BufferKind::Room(room)) {
                    self.buffers.remove(index);
                    if self.current >= index && self.current > 0 {
                        self.current -= 1;
                    }
                }
            }
            ServerMessage::Chat(message) => {
                let (line, mention) = self.chat_line(&message);
                let kind = match &message.target {
                    Target::Room(room) => BufferKind::Room(room.clone()),
                    Target::Direct(_) => BufferKind::Direct(message.from.clone()),
                };
                let direct = matches!(kind, BufferKind::Direct(_));
                if self.ignored.iter().any(|n| n == message.from.folded()) {
                    return Vec::new();
                }
                // The core gives each message once (`core/seen.rs`).
                let index = self.buffer_for(kind);
                self.push_to(index, line);
                if mention && index != self.current {
                    self.buffers[index].mention = true;
                }
                if mention || direct {
                    let notify = self.notification(index, message.from.as_str(), &message.text);
                    let ring = mention || index != self.current;
                    return ring
                        .then_some(Effect::Bell)
                        .into_iter()
                        .chain(notify)
                        .collect();
                }
            }
            ServerMessage::Presence(presence) => {
                let index = self.room_buffer(&presence.room);
                let nick = presence.nick.clone();
                let members = &mut self.buffers[index].members;
                let text = match &presence.event {
                    PresenceEvent::Joined => {
                        if !members.contains(&nick) {
                            members.push(nick.clone());
                            members.sort();
                        }
                        format!("→ {nick} joined {}", presence.room)
                    }
                    PresenceEvent::Left { reason } => {
                        members.retain(|m| m != &nick);
                        with_reason(format!("← {nick} left {}", presence.room), reason)
                    }
                    PresenceEvent::Quit { reason } => {
                        members.retain(|m| m != &nick);
                        with_reason(format!("← {nick} quit"), reason)
                    }
                    PresenceEvent::Away { message } => {
                        let text = self.on_away(&nick, message);
                        let index = self.room_buffer(&presence.room);
                        self.buffers[index].push(Line::new(LineKind::Presence, text));
                        return Vec::new();
                    }
                    PresenceEvent::Renamed { new_nick } => {
                        members.retain(|m| m != &nick);
                        members.push(new_nick.clone());
                        members.sort();
                        if let Some(direct) = self.buffer_index(&BufferKind::Direct(nick.clone())) {
                            self.buffers[direct].kind = BufferKind::Direct(new_nick.clone());
                        }
                        format!("{nick} is now known as {new_nick}")
                    }
                };
                self.buffers[index].push(Line::new(LineKind::Presence, text));
            }
            ServerMessage::RoomList { rooms } => {
                self.listed_rooms = rooms.iter().map(|r| r.name.clone()).collect();
                let mut lines = vec![format!("{} room(s):", rooms.len())];
                lines.extend(rooms.iter().map(|r| {
                    let lock = if r.has_password { " (password)" } else { "" };
                    let members = match r.members {
                        1 => "1 member".to_owned(),
                        n => format!("{n} members"),
                    };
                    match r.topic.is_empty() {
                        true => format!("  {} — {members}{lock}", r.name),
                        false => format!("  {} — {members}{lock}: {}", r.name, r.topic),
                    }
                }));
                for text in lines {
                    let current = self.current;
                    self.buffers[current].push(Line::new(LineKind::Notice, text));
                }
            }
            reply @ ServerMessage::WhoisReply { .. } => return self.on_whois(reply),
            ServerMessage::SearchResults {
                query, hits, next, ..
            } => self.on_search_results(&query, &hits, next),
            ServerMessage::MemberList { room, members } => {
                let names: Vec<String> = members.iter().map(ToString::to_string).collect();
                let text = format!(
                    "{} member(s) in {room}: {}",
                    members.len(),
                    names.join(", ")
                );
                if let Some(index) = self.buffer_index(&BufferKind::Room(room)) {
                    self.buffers[index].members = members;
                }
                let current = self.current;
                self.buffers[current].push(Line::new(LineKind::Notice, text));
            }
            ServerMessage::HistoryPage {
                room,
                messages,
                more,
            } => {
                let index = self.room_buffer(&room);
                let lines = messages
                    .iter()
                    .filter(|m| !self.is_ignored(&m.from))
                    .map(|m| self.chat_line(m).0)
                    .collect();
                // Older history the user scrolled to (the gap after a
                // reconnect comes as a `RoomBacklog`).
                let buffer = &mut self.buffers[index];
                buffer.merge_history(lines);
                buffer.fetching = false;
                buffer.history_complete = !more;
            }
            // Refusals of our messages come as `CoreEvent::Refused`.
            ServerMessage::Error(report) => self.error_here(format!("error: {}", report.text)),
            ServerMessage::DirectHistoryPage {
                with,
                messages,
                more,
            } => return self.on_direct_history(with, &messages, more),
            // Where the user is: an answer to what they just did (an away
            // reply to their direct message, say).
            ServerMessage::Notice { text } => self.notice_here(text.to_string()),
            ServerMessage::Topic { room, topic, by } => {
                let index = self.room_buffer(&room);
                self.buffers[index].topic = topic.to_string();
                self.push_to(
                    index,
                    Line::new(LineKind::Presence, format!("{by} set the topic: {topic}")),
                );
            }
            ServerMessage::NickChanged { old, new } => {
                self.nick = new.to_string();
                for buffer in &mut self.buffers {
                    // Our own entry in each member list, at once (not at
                    // the next /who).
                    if buffer.members.contains(&old) {
                        buffer.members.retain(|m| m != &old);
                        buffer.members.push(new.clone());
                        buffer.members.sort();
                    }
                    buffer.push(Line::new(
                        LineKind::Notice,
                        format!("You are now known as {new}"),
                    ));
                }
                return vec![Effect::SaveNick(new.to_string())];
            }
            ServerMessage::Bye { reason, .. } => {
                self.notice_status(format!("The server said goodbye: {reason}"))
            }
            ServerMessage::Welcome(_)
            | ServerMessage::Reject(_)
            | ServerMessage::Ping { .. }
            | ServerMessage::Pong { .. }
            | ServerMessage::Ack { .. } => {}
            ServerMessage::FileOffered { .. }
            | ServerMessage::FileAnswered { .. }
            | ServerMessage::FileChunk(_)
            | ServerMessage::FileCredit { .. }
            | ServerMessage::FileCancelled { .. } => return self.on_file_frame(&message),
        }
        Vec::new()
    }
}

impl App {
    /// Our message `id` was accepted: the line is no longer pending, gets
    /// its server id and time, and moves to its place in the room's order
    /// (a resend may have been overtaken).
    pub(super) fn on_acked(&mut self, id: ClientMsgId, message_id: MessageId, timestamp: u64) {
        for buffer in &mut self.buffers {
            let Some(at) = buffer.lines.iter().rposition(|l| l.client_id == Some(id)) else {
                continue;
            };
            let line = &mut buffer.lines[at];
            if let LineKind::Chat { pending, .. } = &mut line.kind {
                *pending = false;
            }
            line.id = Some(message_id);
            line.time = timestamp;
            buffer.reorder_acked(at);
            return;
        }
    }

    /// Our message `id` was refused: its line says so.
    pub(super) fn on_refused(&mut self, id: ClientMsgId, report: &ErrorReport) {
        let why = report.text.to_string();
        self.resolve_pending(id, |line| {
            line.kind = LineKind::Error;
            line.text = format!("{} (not delivered: {why})", line.text);
        });
    }

    /// What was said in `room` while we were away, in its place.
    pub(super) fn on_room_backlog(&mut self, room: &RoomName, messages: &[ChatMessage]) {
        let lines: Vec<Line> = messages
            .iter()
            .filter(|m| !self.is_ignored(&m.from))
            .map(|m| self.chat_line(m).0)
            .collect();
        let index = self.room_buffer(room);
        let buffer = &mut self.buffers[index];
        let count = lines.len();
        buffer.merge_history(lines);
        if index != self.current {
            buffer.unread += count;
        }
    }
}

fn with_reason(text: String, reason: &str) -> String {
    if reason.is_empty() {
        text
    } else {
        format!("{text} ({reason})")
    }
}

/// Whether `text` mentions `nick` as a whole word, case-insensitively.
pub(crate) fn mentions(text: &str, nick: &str) -> bool {
    let text = text.to_lowercase();
    let nick = nick.to_lowercase();
    let is_word = |c: char| c.is_alphanumeric() || "-_[]{}\\|^`".contains(c);
    text.match_indices(&nick).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + nick.len()..].chars().next();
        !before.is_some_and(is_word) && !after.is_some_and(is_word)
    })
}
