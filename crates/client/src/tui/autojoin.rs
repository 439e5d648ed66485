//! Rooms remembered per server and rejoined, as weechat's autojoin: the
//! rooms you are in are saved under the server's id (stable: it derives
//! from the server's certificate) whenever you join or leave one, and the
//! next time you connect to that server without naming rooms (`--room`),
//! those are the rooms joined.

use std::collections::BTreeMap;

use huddle_protocol::ServerId;

use super::{
    app::{App, Effect},
    buffer::BufferKind,
};

impl App {
    /// The rooms to join on a first connection to `server`: those named
    /// on the command line, else those remembered for it, else the default.
    pub(super) fn rooms_for(&mut self, server: ServerId) -> Vec<String> {
        self.server_id = Some(server);
        match self.remembered_rooms.get(&server.to_string()) {
            Some(rooms) if !self.rooms_named && !rooms.is_empty() => rooms.clone(),
            _ => self.autojoin.clone(),
        }
    }

    /// After a join or a part: the rooms now open, remembered for this
    /// server.
    pub(super) fn remember_rooms(&mut self) -> Option<Effect> {
        let server = self.server_id?;
        let rooms: Vec<String> = self
            .buffers
            .iter()
            .filter_map(|buffer| match &buffer.kind {
                BufferKind::Room(room) if buffer.joined => Some(room.to_string()),
                _ => None,
            })
            .collect();
        let key = server.to_string();
        if self.remembered_rooms.get(&key) == Some(&rooms) {
            return None;
        }
        self.remembered_rooms.insert(key, rooms);
        Some(Effect::SaveRooms(self.remembered_rooms.clone()))
    }
}

/// The rooms remembered per server (server id → room names).
pub(super) type RememberedRooms = BTreeMap<String, Vec<String>>;

#[cfg(test)]
mod tests {
    use huddle_protocol::{
        ChatText, ConnectionId, Limits, PROTOCOL_VERSION, ServerMessage, ShortText, Welcome,
    };

    use super::*;
    use crate::{
        net::NetEvent,
        tui::{app::Event, testkit::room},
    };

    fn connect(app: &mut App, server: ServerId) -> Vec<Effect> {
        app.update(Event::Net(NetEvent::Connected(Box::new(Welcome {
            version: PROTOCOL_VERSION,
            server_id: server,
            connection_id: ConnectionId::random(),
            server_name: ShortText::new("office").unwrap(),
            motd: None::<ChatText>,
            nick: huddle_protocol::Nick::new("alice").unwrap(),
            limits: Limits::default(),
        }))))
    }

    fn joins(effects: &[Effect]) -> Vec<String> {
        effects
            .iter()
            .filter_map(|effect| match effect {
                Effect::Write(huddle_protocol::ClientMessage::Join { room, .. }) => {
                    Some(room.to_string())
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn rooms_are_remembered_per_server_and_rejoined_unless_named() {
        let server = ServerId::random();
        let mut app = App::new(Some("alice".into()), "alice");
        app.start_chat("h:1", Vec::new());
        assert_eq!(joins(&connect(&mut app, server)), ["#general"]);
        let joined = |name: &str| {
            Event::Net(NetEvent::Message(ServerMessage::Joined {
                room: room(name),
                topic: ShortText::default(),
                members: Vec::new(),
                history: Vec::new(),
            }))
        };
        app.update(joined("#general"));
        let effects = app.update(joined("#ops"));
        let Some(Effect::SaveRooms(saved)) = effects.last() else {
            panic!("not remembered: {effects:?}")
        };
        assert_eq!(saved[&server.to_string()], ["#general", "#ops"]);
        let saved = saved.clone();

        // Next run, same server: the remembered rooms.
        let mut next = App::new(Some("alice".into()), "alice");
        next.remembered_rooms = saved.clone();
        next.start_chat("h:1", Vec::new());
        assert_eq!(joins(&connect(&mut next, server)), ["#general", "#ops"]);
        // Another server: the default. Rooms named on the command line win.
        let mut other = App::new(Some("alice".into()), "alice");
        other.remembered_rooms = saved.clone();
        other.start_chat("h:2", Vec::new());
        assert_eq!(
            joins(&connect(&mut other, ServerId::random())),
            ["#general"]
        );
        let mut named = App::new(Some("alice".into()), "alice");
        named.remembered_rooms = saved;
        named.start_chat("h:1", vec!["#dev".into()]);
        assert_eq!(joins(&connect(&mut named, server)), ["#dev"]);
    }
}
