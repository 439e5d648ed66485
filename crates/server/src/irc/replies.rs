//! What an IRC user is sent: each frame the hub queued for it, as a native
//! client would get it, written as IRC lines (`Session::translate`).

use huddle_protocol::{ChatMessage, MessageKind, Presence, PresenceEvent, ServerMessage, Target};

use super::{
    line::{format, split_text},
    session::{Query, Session},
};

/// What a message's tags say: when, its id, the batch it is in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stamp<'a> {
    pub(crate) time: u64,
    pub(crate) id: Option<huddle_protocol::MessageId>,
    pub(crate) batch: Option<&'a str>,
}

impl Stamp<'_> {
    fn of(chat: &ChatMessage) -> Self {
        Self {
            time: chat.timestamp,
            id: Some(chat.id),
            batch: None,
        }
    }
}

/// `nick!nick@huddle`: the prefix of a user's lines.
pub(crate) fn user_prefix(nick: &str) -> String {
    format!("{nick}!{nick}@huddle")
}

/// `2026-11-30T19:51:00.000Z` for a `time` tag.
fn iso_time(millis: u64) -> String {
    let Ok(millis) = i64::try_from(millis) else {
        return String::new();
    };
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|time| time.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

impl Session {
    /// The lines for one frame the hub queued (none for some).
    pub(crate) fn translate(&mut self, message: &ServerMessage, out: &mut String) {
        match message {
            ServerMessage::Chat(chat) => self.chat(chat, out),
            ServerMessage::Joined {
                room,
                topic,
                members,
                history,
            } => {
                let room = room.to_string();
                out.push_str(&format("", &user_prefix(&self.nick), "JOIN", &[&room]));
                if !topic.is_empty() {
                    self.numeric("332", &[&room, topic.as_str()], out);
                }
                let names: Vec<String> = members.iter().map(ToString::to_string).collect();
                self.names(&room, &names, out);
                // The room's recent history, as weechat and irssi (which
                // speak no CHATHISTORY) can show it: with its own times;
                // once per device (a reconnect replays only what is new).
                let before = self.marks.seen(&self.device, &room.to_lowercase());
                for message in history.iter().filter(|m| before.is_none_or(|b| m.id > b)) {
                    self.chat(message, out);
                }
            }
            ServerMessage::Parted { room } => {
                out.push_str(&format(
                    "",
                    &user_prefix(&self.nick),
                    "PART",
                    &[room.as_str()],
                ));
            }
            ServerMessage::Presence(presence) => self.presence(presence.clone(), out),
            ServerMessage::Topic { room, topic, by } => {
                let line = format(
                    "",
                    &user_prefix(by.as_str()),
                    "TOPIC",
                    &[room.as_str(), topic.as_str()],
                );
                out.push_str(&line);
            }
            ServerMessage::NickChanged { old, new } => {
                out.push_str(&format(
                    "",
                    &user_prefix(old.as_str()),
                    "NICK",
                    &[new.as_str()],
                ));
                self.nick = new.to_string();
            }
            ServerMessage::Ack {
                id,
                message_id,
                timestamp,
            } => {
                let stamp = Stamp {
                    time: *timestamp,
                    id: Some(*message_id),
                    batch: None,
                };
                self.echo(*id, stamp, out);
            }
            ServerMessage::MemberList { room, members } => {
                let names: Vec<String> = members.iter().map(ToString::to_string).collect();
                match self.pending.pop_front() {
                    Some(Query::Who) => self.who(room.as_str(), &names, out),
                    _ => self.names(room.as_str(), &names, out),
                }
            }
            ServerMessage::HistoryPage { messages, .. } => {
                if let Some(Query::History(room)) = self.pending.pop_front() {
                    self.history_page(&room, messages, out);
                }
            }
            ServerMessage::RoomList { rooms } => match self.pending.pop_front() {
                Some(Query::Topic(name)) => {
                    match rooms
                        .iter()
                        .find(|r| r.name.folded() == name.to_lowercase())
                    {
                        Some(room) if !room.topic.is_empty() => {
                            self.numeric("332", &[&name, room.topic.as_str()], out);
                        }
                        _ => self.numeric("331", &[&name, "No topic is set"], out),
                    }
                }
                _ => {
                    self.numeric("321", &["Channel", "Users  Name"], out);
                    for room in rooms {
                        let members = room.members.to_string();
                        self.numeric(
                            "322",
                            &[room.name.as_str(), &members, room.topic.as_str()],
                            out,
                        );
                    }
                    self.numeric("323", &["End of /LIST"], out);
                }
            },
            ServerMessage::WhoisReply {
                nick,
                rooms,
                away,
                since,
                idle_secs,
                client,
                ..
            } => {
                self.pending.pop_front();
                let nick = nick.to_string();
                let realname = match client.is_empty() {
                    true => nick.as_str(),
                    false => client.as_str(),
                };
                self.numeric("311", &[&nick, &nick, "huddle", "*", realname], out);
                let rooms: Vec<String> = rooms.iter().map(ToString::to_string).collect();
                if !rooms.is_empty() {
                    self.numeric("319", &[&nick, &rooms.join(" ")], out);
                }
                if !away.is_empty() {
                    self.numeric("301", &[&nick, away.as_str()], out);
                }
                let (idle, signon) = (idle_secs.to_string(), (since / 1000).to_string());
                self.numeric(
                    "317",
                    &[&nick, &idle, &signon, "seconds idle, signon time"],
                    out,
                );
                self.numeric("318", &[&nick, "End of /WHOIS list"], out);
            }
            ServerMessage::Error(report) => self.error(report.clone(), out),
            ServerMessage::Notice { text } => {
                for piece in split_text(text.as_str(), 100) {
                    out.push_str(&format("", &self.server, "NOTICE", &[&self.nick, piece]));
                }
            }
            ServerMessage::Ping { token } => {
                out.push_str(&format("", "", "PING", &[&token.to_string()]))
            }
            ServerMessage::Bye { reason, .. } => {
                out.push_str(&format(
                    "",
                    "",
                    "ERROR",
                    &[&format!("Closing link: {reason}")],
                ));
            }
            ServerMessage::FileOffered { from, offer } => {
                let text = format!(
                    "{from} offers the file {} ({} bytes): huddle users can accept it; IRC cannot receive files",
                    offer.name, offer.size
                );
                out.push_str(&format("", &self.server, "NOTICE", &[&self.nick, &text]));
            }
            // Nothing an IRC client asked for or can use.
            _ => {}
        }
    }

    /// `:server NNN nick params…`.
    pub(crate) fn numeric(&self, code: &str, params: &[&str], out: &mut String) {
        let mut all = Vec::with_capacity(params.len() + 1);
        all.push(self.nick.as_str());
        all.extend_from_slice(params);
        out.push_str(&format("", &self.server, code, &all));
    }

    fn names(&self, room: &str, names: &[String], out: &mut String) {
        for chunk in names.chunks(40) {
            self.numeric("353", &["=", room, &chunk.join(" ")], out);
        }
        self.numeric("366", &[room, "End of /NAMES list"], out);
    }

    fn who(&self, room: &str, names: &[String], out: &mut String) {
        for nick in names {
            let real = format!("0 {nick}");
            self.numeric(
                "352",
                &[room, nick, "huddle", &self.server, nick, "H", &real],
                out,
            );
        }
        self.numeric("315", &[room, "End of /WHO list"], out);
    }

    /// A room message's lines, as every member with these caps gets them.
    pub(crate) fn room_line(&self, chat: &ChatMessage) -> String {
        let mut out = String::new();
        let target = match &chat.target {
            Target::Room(room) => room.as_str(),
            Target::Direct(_) => self.nick.as_str(),
        };
        let stamp = Stamp::of(chat);
        self.privmsg(
            chat.from.as_str(),
            target,
            chat.kind,
            chat.text.as_str(),
            stamp,
            &mut out,
        );
        out
    }

    /// A chat message (someone else's, or history) as PRIVMSG lines.
    fn chat(&mut self, chat: &ChatMessage, out: &mut String) {
        self.chat_in_batch(chat, None, out);
    }

    /// A chat message as PRIVMSG lines, in `batch` if any.
    pub(crate) fn chat_in_batch(
        &mut self,
        chat: &ChatMessage,
        batch: Option<&str>,
        out: &mut String,
    ) {
        let target = match &chat.target {
            Target::Room(room) => {
                self.shown(room, chat.id);
                room.to_string()
            }
            Target::Direct(_) => self.nick.clone(),
        };
        let stamp = Stamp {
            batch,
            ..Stamp::of(chat)
        };
        self.privmsg(
            chat.from.as_str(),
            &target,
            chat.kind,
            chat.text.as_str(),
            stamp,
            out,
        );
    }

    pub(crate) fn privmsg(
        &self,
        from: &str,
        target: &str,
        kind: MessageKind,
        text: &str,
        stamp: Stamp<'_>,
        out: &mut String,
    ) {
        let mut tags = Vec::new();
        if let Some(batch) = stamp.batch.filter(|_| self.caps.batch) {
            tags.push(format!("batch={batch}"));
        }
        if self.caps.server_time {
            tags.push(format!("time={}", iso_time(stamp.time)));
        }
        if let Some(id) = stamp.id.filter(|_| self.caps.message_tags) {
            tags.push(format!("msgid={id}"));
        }
        let tags = tags.join(";");
        let prefix = user_prefix(from);
        let overhead = prefix.len() + target.len() + 20;
        for piece in split_text(text, overhead) {
            let body = match kind {
                MessageKind::Action => format!("\u{1}ACTION {piece}\u{1}"),
                MessageKind::Normal => piece.to_owned(),
            };
            out.push_str(&format(&tags, &prefix, "PRIVMSG", &[target, &body]));
        }
    }

    fn presence(&mut self, presence: Presence, out: &mut String) {
        let Presence { room, nick, event } = presence;
        let prefix = user_prefix(nick.as_str());
        let folded = nick.folded().to_owned();
        match event {
            PresenceEvent::Joined => {
                self.gone.remove(&folded);
                out.push_str(&format("", &prefix, "JOIN", &[room.as_str()]));
            }
            PresenceEvent::Left { reason } => {
                out.push_str(&format(
                    "",
                    &prefix,
                    "PART",
                    &[room.as_str(), reason.as_str()],
                ));
            }
            // Once per user, though every shared room reports it.
            PresenceEvent::Quit { reason } if self.forget(&folded) => {
                out.push_str(&format("", &prefix, "QUIT", &[reason.as_str()]));
            }
            PresenceEvent::Renamed { new_nick } if self.forget(&folded) => {
                out.push_str(&format("", &prefix, "NICK", &[new_nick.as_str()]));
            }
            PresenceEvent::Away { message } if self.caps.away_notify => {
                let params: Vec<&str> = match message.is_empty() {
                    true => Vec::new(),
                    false => vec![message.as_str()],
                };
                out.push_str(&format("", &prefix, "AWAY", &params));
            }
            _ => {}
        }
    }

    /// With echo-message: the user's own accepted message, at the time
    /// the server accepted it.
    fn echo(&mut self, id: huddle_protocol::ClientMsgId, stamp: Stamp<'_>, out: &mut String) {
        self.notices.remove(&id);
        if let Some(echo) = self.echoes.remove(&id)
            && self.caps.echo_message
        {
            let nick = self.nick.clone();
            self.privmsg(&nick, &echo.target, echo.kind, &echo.text, stamp, out);
        }
    }
}
