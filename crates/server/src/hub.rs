//! The shared chat state: who is connected under which nick, and the rooms.
//!
//! Locks: `users` (nick registry) and `rooms` (the map) are held only for a
//! lookup or an insert; each room has its own mutex, held while its state
//! changes and its frames are queued (queueing never waits), so unrelated
//! rooms never serialise. No lock is held across an `.await` (there are no
//! `.await`s in this file), and no room lock is held while the map or the
//! registry is locked, so there is no lock-order cycle.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock},
    time::{SystemTime, UNIX_EPOCH},
};

use huddle_protocol::{
    ChatMessage, ChatText, ClientMsgId, ConnectionId, ErrorCode, MessageId, MessageKind, Nick,
    Presence, PresenceEvent, RoomInfo, RoomName, ServerMessage, ShortText, Target,
    discovery::RoomSummary, encode_frame,
};
use uuid::Uuid;

use crate::{
    outbound::Outbound,
    room::{Member, Room},
};

/// A request the hub refused, with the code and text for the `Error` frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) code: ErrorCode,
    pub(crate) text: String,
}

fn refuse<T>(code: ErrorCode, text: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal {
        code,
        text: text.into(),
    })
}

#[derive(Debug)]
struct User {
    conn: ConnectionId,
    nick: Nick,
    outbound: Outbound,
}

/// The client a request comes from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caller<'a> {
    pub(crate) conn: ConnectionId,
    pub(crate) nick: &'a Nick,
    pub(crate) outbound: &'a Outbound,
}

#[derive(Debug)]
pub(crate) struct Hub {
    users: Mutex<HashMap<String, User>>,
    rooms: RwLock<HashMap<String, Arc<Mutex<Room>>>>,
    history_per_room: usize,
    history_on_join: usize,
    /// Empty rooms kept for their history, longest idle first.
    idle_rooms: Mutex<std::collections::VecDeque<String>>,
    max_idle_rooms: usize,
}

/// A poisoned lock only means another task panicked mid-update; the maps
/// stay structurally valid, so carry on rather than take the server down.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn send(outbound: &Outbound, message: &ServerMessage) {
    let _ = outbound.send(message);
}

fn frame(message: &ServerMessage) -> Option<bytes::Bytes> {
    encode_frame(message)
        .map_err(|err| tracing::error!(%err, "cannot encode a server message"))
        .ok()
}

impl Hub {
    pub(crate) fn new(history_per_room: usize, history_on_join: usize) -> Self {
        Self {
            users: Mutex::new(HashMap::new()),
            rooms: RwLock::new(HashMap::new()),
            history_per_room,
            history_on_join,
            idle_rooms: Mutex::new(std::collections::VecDeque::new()),
            max_idle_rooms: 1000,
        }
    }

    /// Claims `nick` for a new connection.
    pub(crate) fn register(&self, caller: Caller<'_>) -> Result<(), Refusal> {
        let mut users = lock(&self.users);
        if users.contains_key(caller.nick.folded()) {
            return refuse(
                ErrorCode::NickInUse,
                format!("the nick {} is already in use", caller.nick),
            );
        }
        users.insert(
            caller.nick.folded().to_owned(),
            User {
                conn: caller.conn,
                nick: caller.nick.clone(),
                outbound: caller.outbound.clone(),
            },
        );
        Ok(())
    }

    pub(crate) fn user_count(&self) -> usize {
        lock(&self.users).len()
    }

    fn room(&self, name: &RoomName) -> Option<Arc<Mutex<Room>>> {
        self.rooms
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name.folded())
            .cloned()
    }

    fn room_or_create(&self, name: &RoomName, password: Option<&ShortText>) -> Arc<Mutex<Room>> {
        if let Some(room) = self.room(name) {
            return room;
        }
        let mut rooms = self.rooms.write().unwrap_or_else(PoisonError::into_inner);
        rooms
            .entry(name.folded().to_owned())
            .or_insert_with(|| {
                let password = password.filter(|p| !p.is_empty()).cloned();
                Arc::new(Mutex::new(Room::new(
                    name.clone(),
                    password,
                    self.history_per_room,
                )))
            })
            .clone()
    }

    /// Removes `room` from the map if it is still the closed instance there.
    fn forget_if_closed(&self, name: &RoomName, room: &Arc<Mutex<Room>>) {
        let mut rooms = self.rooms.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(current) = rooms.get(name.folded())
            && Arc::ptr_eq(current, room)
            && lock(room).closed
        {
            rooms.remove(name.folded());
        }
    }

    /// Keeps an emptied room with history around (people come back to a
    /// room and expect its history), but at most `max_idle_rooms` of them:
    /// the longest idle are closed and forgotten first.
    fn park_idle(&self, name: &RoomName) {
        let evicted: Vec<String> = {
            let mut idle = lock(&self.idle_rooms);
            idle.retain(|folded| folded != name.folded());
            idle.push_back(name.folded().to_owned());
            let excess = idle.len().saturating_sub(self.max_idle_rooms);
            idle.drain(..excess).collect()
        };
        for folded in evicted {
            let room = self
                .rooms
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&folded)
                .cloned();
            if let Some(room) = room {
                let name = {
                    let mut guard = lock(&room);
                    if !guard.members.is_empty() {
                        continue;
                    }
                    guard.closed = true;
                    guard.name.clone()
                };
                self.forget_if_closed(&name, &room);
            }
        }
    }

    /// Joins `name` (creating it), queues `Joined` to the caller and
    /// `Presence{Joined}` to the others. Returns the room's canonical name.
    pub(crate) fn join(
        &self,
        caller: Caller<'_>,
        name: &RoomName,
        password: Option<&ShortText>,
    ) -> Result<RoomName, Refusal> {
        loop {
            let room = self.room_or_create(name, password);
            let mut room = lock(&room);
            if room.closed {
                continue;
            }
            if let Some(expected) = &room.password
                && password != Some(expected)
            {
                return refuse(
                    ErrorCode::BadPassword,
                    format!("{name} needs the right password"),
                );
            }
            // Joining twice is harmless: the second answer repeats the state.
            if let std::collections::hash_map::Entry::Vacant(entry) =
                room.members.entry(caller.conn)
            {
                entry.insert(Member {
                    nick: caller.nick.clone(),
                    outbound: caller.outbound.clone(),
                });
                let presence = ServerMessage::Presence(Presence {
                    room: room.name.clone(),
                    nick: caller.nick.clone(),
                    event: PresenceEvent::Joined,
                });
                if let Some(frame) = frame(&presence) {
                    room.broadcast(&frame, Some(caller.conn));
                }
            }
            send(
                caller.outbound,
                &ServerMessage::Joined {
                    room: room.name.clone(),
                    topic: room.topic.clone(),
                    members: room.member_nicks(),
                    history: room.recent(self.history_on_join),
                },
            );
            return Ok(room.name.clone());
        }
    }

    /// Removes the caller from a room, telling the others with `event` (if
    /// any).
    fn leave(&self, conn: ConnectionId, name: &RoomName, event: Option<&PresenceEvent>) -> bool {
        let Some(room) = self.room(name) else {
            return false;
        };
        let emptied = {
            let mut guard = lock(&room);
            let Some(member) = guard.members.remove(&conn) else {
                return false;
            };
            if let Some(event) = event {
                let presence = ServerMessage::Presence(Presence {
                    room: guard.name.clone(),
                    nick: member.nick,
                    event: event.clone(),
                });
                if let Some(frame) = frame(&presence) {
                    guard.broadcast(&frame, None);
                }
            }
            // An empty room without history is forgotten at once; one with
            // history is parked.
            guard.closed = guard.members.is_empty() && !guard.has_history();
            (guard.members.is_empty(), guard.closed)
        };
        match emptied {
            (true, true) => self.forget_if_closed(name, &room),
            (true, false) => self.park_idle(name),
            _ => {}
        }
        true
    }

    pub(crate) fn part(
        &self,
        caller: Caller<'_>,
        name: &RoomName,
        reason: &ShortText,
    ) -> Result<(), Refusal> {
        let event = PresenceEvent::Left {
            reason: reason.clone(),
        };
        if !self.leave(caller.conn, name, Some(&event)) {
            return refuse(ErrorCode::NotInRoom, format!("you are not in {name}"));
        }
        send(
            caller.outbound,
            &ServerMessage::Parted { room: name.clone() },
        );
        Ok(())
    }

    /// Relays a room message: recorded, queued to every other member, and
    /// acknowledged to the sender, all under the room's lock so every member
    /// sees one order.
    pub(crate) fn say(
        &self,
        caller: Caller<'_>,
        name: &RoomName,
        id: ClientMsgId,
        kind: MessageKind,
        text: ChatText,
    ) -> Result<(), Refusal> {
        let not_in_room = || refuse(ErrorCode::NotInRoom, format!("you are not in {name}"));
        let Some(room) = self.room(name) else {
            return not_in_room();
        };
        let mut room = lock(&room);
        if !room.members.contains_key(&caller.conn) {
            return not_in_room();
        }
        let message = ChatMessage {
            id: MessageId::from_uuid(Uuid::now_v7()),
            target: Target::Room(room.name.clone()),
            from: caller.nick.clone(),
            kind,
            text,
            timestamp: now_millis(),
        };
        let ack = ServerMessage::Ack {
            id,
            message_id: message.id,
            timestamp: message.timestamp,
        };
        let chat = ServerMessage::Chat(message);
        if let Some(frame) = frame(&chat) {
            room.broadcast(&frame, Some(caller.conn));
        }
        send(caller.outbound, &ack);
        if let ServerMessage::Chat(message) = chat {
            room.record(message);
        }
        Ok(())
    }

    pub(crate) fn direct(
        &self,
        caller: Caller<'_>,
        to: &Nick,
        id: ClientMsgId,
        kind: MessageKind,
        text: ChatText,
    ) -> Result<(), Refusal> {
        let Some(recipient) = lock(&self.users)
            .get(to.folded())
            .map(|user| (user.nick.clone(), user.outbound.clone()))
        else {
            return refuse(ErrorCode::NoSuchNick, format!("no user is called {to}"));
        };
        let message = ChatMessage {
            id: MessageId::from_uuid(Uuid::now_v7()),
            target: Target::Direct(recipient.0),
            from: caller.nick.clone(),
            kind,
            text,
            timestamp: now_millis(),
        };
        let ack = ServerMessage::Ack {
            id,
            message_id: message.id,
            timestamp: message.timestamp,
        };
        send(&recipient.1, &ServerMessage::Chat(message));
        send(caller.outbound, &ack);
        Ok(())
    }

    /// Renames the caller everywhere: registry, each room's member entry,
    /// a `Presence{Renamed}` to each room's others, `NickChanged` to the
    /// caller.
    pub(crate) fn rename(
        &self,
        caller: Caller<'_>,
        new: &Nick,
        rooms: &[RoomName],
    ) -> Result<(), Refusal> {
        {
            let mut users = lock(&self.users);
            if let Some(holder) = users.get(new.folded())
                && holder.conn != caller.conn
            {
                return refuse(
                    ErrorCode::NickInUse,
                    format!("the nick {new} is already in use"),
                );
            }
            users.remove(caller.nick.folded());
            users.insert(
                new.folded().to_owned(),
                User {
                    conn: caller.conn,
                    nick: new.clone(),
                    outbound: caller.outbound.clone(),
                },
            );
        }
        for name in rooms {
            let Some(room) = self.room(name) else {
                continue;
            };
            let mut room = lock(&room);
            let Some(member) = room.members.get_mut(&caller.conn) else {
                continue;
            };
            member.nick = new.clone();
            let presence = ServerMessage::Presence(Presence {
                room: room.name.clone(),
                nick: caller.nick.clone(),
                event: PresenceEvent::Renamed {
                    new_nick: new.clone(),
                },
            });
            if let Some(frame) = frame(&presence) {
                room.broadcast(&frame, Some(caller.conn));
            }
        }
        send(
            caller.outbound,
            &ServerMessage::NickChanged {
                old: caller.nick.clone(),
                new: new.clone(),
            },
        );
        Ok(())
    }

    pub(crate) fn set_topic(
        &self,
        caller: Caller<'_>,
        name: &RoomName,
        topic: ShortText,
    ) -> Result<(), Refusal> {
        let not_in_room = || refuse(ErrorCode::NotInRoom, format!("you are not in {name}"));
        let Some(room) = self.room(name) else {
            return not_in_room();
        };
        let mut room = lock(&room);
        if !room.members.contains_key(&caller.conn) {
            return not_in_room();
        }
        room.topic = topic.clone();
        let message = ServerMessage::Topic {
            room: room.name.clone(),
            topic,
            by: caller.nick.clone(),
        };
        if let Some(frame) = frame(&message) {
            room.broadcast(&frame, None);
        }
        Ok(())
    }

    /// Every room, by name, at most `max` of them.
    pub(crate) fn list_rooms(&self, max: usize) -> Vec<RoomInfo> {
        let rooms: Vec<Arc<Mutex<Room>>> = self
            .rooms
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        let mut infos: Vec<RoomInfo> = rooms
            .iter()
            .map(|room| {
                let room = lock(room);
                RoomInfo {
                    name: room.name.clone(),
                    members: room.members.len() as u32,
                    topic: room.topic.clone(),
                    has_password: room.password.is_some(),
                }
            })
            .filter(|info| info.members > 0)
            .collect();
        infos.sort_by(|a, b| a.name.cmp(&b.name));
        infos.truncate(max);
        infos
    }

    /// The busiest rooms first, for discovery beacons, and whether any room
    /// needs a password.
    pub(crate) fn summary(&self) -> (Vec<RoomSummary>, bool) {
        let mut rooms = self.list_rooms(usize::MAX);
        let needs_password = rooms.iter().any(|r| r.has_password);
        rooms.sort_by(|a, b| b.members.cmp(&a.members).then_with(|| a.name.cmp(&b.name)));
        let summary = rooms
            .into_iter()
            .map(|r| RoomSummary {
                name: r.name,
                members: r.members,
            })
            .collect();
        (summary, needs_password)
    }

    pub(crate) fn members(&self, name: &RoomName) -> Result<Vec<Nick>, Refusal> {
        match self.room(name) {
            Some(room) => Ok(lock(&room).member_nicks()),
            None => refuse(ErrorCode::NoSuchRoom, format!("there is no room {name}")),
        }
    }

    pub(crate) fn history(
        &self,
        caller: Caller<'_>,
        name: &RoomName,
        before: Option<MessageId>,
        after: Option<MessageId>,
        limit: u16,
    ) -> Result<ServerMessage, Refusal> {
        let not_in_room = || refuse(ErrorCode::NotInRoom, format!("you are not in {name}"));
        let Some(room) = self.room(name) else {
            return not_in_room();
        };
        let room = lock(&room);
        if !room.members.contains_key(&caller.conn) {
            return not_in_room();
        }
        let (messages, more) = room.page(before, after, limit);
        Ok(ServerMessage::HistoryPage {
            room: room.name.clone(),
            messages,
            more,
        })
    }

    /// Removes a departing client from its rooms (telling them why, if a
    /// reason is given) and releases its nick.
    pub(crate) fn quit(
        &self,
        conn: ConnectionId,
        nick: &Nick,
        rooms: &[RoomName],
        reason: Option<&ShortText>,
    ) {
        let event = reason.map(|reason| PresenceEvent::Quit {
            reason: reason.clone(),
        });
        for name in rooms {
            self.leave(conn, name, event.as_ref());
        }
        let mut users = lock(&self.users);
        if users
            .get(nick.folded())
            .is_some_and(|user| user.conn == conn)
        {
            users.remove(nick.folded());
        }
    }
}
