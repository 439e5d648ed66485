//! Room membership: creating rooms on first join, joining (with the
//! password and the recent history), leaving, quitting, and keeping emptied
//! rooms with history for a while.

use std::sync::{Arc, Mutex, PoisonError};

use huddle_protocol::{
    ConnectionId, ErrorCode, Nick, Presence, PresenceEvent, RoomName, ServerMessage, ShortText,
};

use super::{Caller, Hub, Refusal, frame, lock, refuse, send};
use crate::{
    password::PasswordHash,
    room::{Member, Room, RoomMeta},
};

/// What a join asks its caller before the costly or bounded steps: the
/// dispatcher answers with its throttles (`dispatch/throttles.rs`).
pub(crate) trait JoinGate {
    /// Before a protected room's password is checked (deliberately slow).
    fn password_check(&mut self) -> Result<(), Refusal>;
    /// Before a room that exists nowhere is created.
    fn room_creation(&mut self) -> Result<(), Refusal>;
}

/// A gate that lets everything through (tests).
#[cfg(test)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Unlimited;

#[cfg(test)]
impl JoinGate for Unlimited {
    fn password_check(&mut self) -> Result<(), Refusal> {
        Ok(())
    }

    fn room_creation(&mut self) -> Result<(), Refusal> {
        Ok(())
    }
}

/// Most protected rooms whose password an ephemeral server keeps after
/// evicting them from memory (with a store, the disk keeps them all).
const MAX_KEPT_ROOMS: usize = 10_000;

impl Hub {
    /// What is known of a room not in memory: from the store, or kept in
    /// memory when it was evicted (ephemeral).
    pub(super) fn known_room(&self, name: &RoomName) -> Option<RoomMeta> {
        match &self.store {
            Some(store) => store.room(name),
            None => lock(&self.kept_rooms).get(name.folded()).cloned(),
        }
    }

    /// Keeps what an idle room being evicted must not lose.
    pub(super) fn keep_room(&self, meta: RoomMeta) {
        if self.store.is_none() && meta.password.is_some() {
            lock(&self.kept_rooms).insert(meta.name.folded().to_owned(), meta);
        }
    }

    /// Saves a room's meta where it survives restarts (with a store), and
    /// where every node of a cluster finds it.
    pub(super) fn save_room(&self, meta: &RoomMeta) {
        if let Some(store) = &self.store {
            store.save_room(meta);
        }
        if let Some(cluster) = &self.cluster {
            crate::cluster::share_room_meta(cluster, meta);
        }
    }

    /// The room called `name`, created (protected by `password`, if given
    /// and not empty) if it is known nowhere; and whether this call made
    /// it new.
    fn room_or_create(
        &self,
        name: &RoomName,
        password: Option<&ShortText>,
        gate: &mut dyn JoinGate,
    ) -> Result<(Arc<Mutex<Room>>, bool), Refusal> {
        if let Some(room) = self.room(name) {
            return Ok((room, false));
        }
        let (meta, new) = match self.known_room(name) {
            Some(meta) => (meta, false),
            None => {
                lock(&self.room_skeletons).check(name)?;
                gate.room_creation()?;
                let password = password.filter(|p| !p.is_empty());
                if password.is_some()
                    && self.store.is_none()
                    && lock(&self.kept_rooms).len() >= MAX_KEPT_ROOMS
                {
                    return refuse(
                        ErrorCode::TooManyRooms,
                        format!("this server keeps at most {MAX_KEPT_ROOMS} protected rooms"),
                    );
                }
                // Hashing is deliberately slow: done before any lock.
                let password = password.and_then(|p| PasswordHash::of(p));
                let meta = RoomMeta {
                    name: name.clone(),
                    topic: ShortText::default(),
                    password,
                };
                (meta, true)
            }
        };
        // A room with stored history starts with its newest messages.
        let stored = self
            .store
            .as_ref()
            .map(|store| store.recent(name, self.history_per_room))
            .unwrap_or_default();
        let (room, created) = self.insert_room(name, || {
            let mut room = Room::new(meta.clone(), self.history_per_room);
            for message in stored {
                room.record(message);
            }
            room
        });
        if created && new && meta.worth_keeping() {
            self.save_room(&meta);
        }
        Ok((room, created && new))
    }

    /// The room called `name` in the map, put there (made by `make`, its
    /// skeleton indexed) if it is not; and whether this call put it there.
    pub(super) fn insert_room(
        &self,
        name: &RoomName,
        make: impl FnOnce() -> Room,
    ) -> (Arc<Mutex<Room>>, bool) {
        let mut rooms = self.rooms.write().unwrap_or_else(PoisonError::into_inner);
        let mut created = false;
        let room = rooms
            .entry(name.folded().to_owned())
            .or_insert_with(|| {
                created = true;
                Arc::new(Mutex::new(make()))
            })
            .clone();
        drop(rooms);
        if created {
            lock(&self.room_skeletons).insert(name);
        }
        (room, created)
    }

    /// Removes `room` from the map if it is still the closed instance there.
    fn forget_if_closed(&self, name: &RoomName, room: &Arc<Mutex<Room>>) {
        let mut rooms = self.rooms.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(current) = rooms.get(name.folded())
            && Arc::ptr_eq(current, room)
            && lock(room).closed
        {
            rooms.remove(name.folded());
            drop(rooms);
            lock(&self.room_skeletons).remove(name);
        }
    }

    /// Keeps an emptied room with history around (people come back to a
    /// room and expect its history), but at most `max_idle_rooms` of them
    /// holding at most `idle_history_bytes` of history in memory: the
    /// longest idle are closed and forgotten first (their history stays on
    /// disk, with a store; their password and topic are kept either way).
    pub(super) fn park_idle(&self, name: &RoomName, history_bytes: usize) {
        let evicted: Vec<String> = {
            let mut idle = lock(&self.idle_rooms);
            idle.remove(name.folded());
            idle.order
                .push_back((name.folded().to_owned(), history_bytes));
            idle.bytes += history_bytes;
            let mut evicted = Vec::new();
            while idle.order.len() > self.max_idle_rooms || idle.bytes > self.idle_history_bytes {
                let Some((folded, bytes)) = idle.order.pop_front() else {
                    break;
                };
                idle.bytes -= bytes;
                evicted.push(folded);
            }
            evicted
        };
        for folded in evicted {
            let room = self
                .rooms
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&folded)
                .cloned();
            if let Some(room) = room {
                let meta = {
                    let mut guard = lock(&room);
                    if !guard.members.is_empty() {
                        continue;
                    }
                    guard.closed = true;
                    guard.meta()
                };
                self.forget_if_closed(&meta.name, &room);
                self.keep_room(meta);
            }
        }
    }

    /// Joins `name` (creating it), queues `Joined` to the caller and
    /// `Presence{Joined}` to the others. Returns the room's canonical name.
    /// A protected room needs `password`; `gate` is asked before the
    /// (deliberately slow) check and before a room is created, and may
    /// refuse either (throttles).
    pub(crate) fn join(
        &self,
        caller: Caller<'_>,
        name: &RoomName,
        password: Option<&ShortText>,
        gate: &mut dyn JoinGate,
    ) -> Result<RoomName, Refusal> {
        loop {
            let (room, created) = self.room_or_create(name, password, gate)?;
            let hash = {
                let room = lock(&room);
                if room.closed {
                    continue;
                }
                let member = room.members.contains_key(&caller.conn);
                room.password.clone().filter(|_| !created && !member)
            };
            if let Some(hash) = hash {
                gate.password_check()?;
                if !password.is_some_and(|attempt| hash.verify(attempt)) {
                    return refuse(
                        ErrorCode::BadPassword,
                        format!("{name} needs the right password"),
                    );
                }
            }
            let mut room = lock(&room);
            if room.closed {
                continue;
            }
            // A parked room is back in use.
            let unparked = room.members.is_empty();
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
                if let Some(cluster) = &self.cluster {
                    cluster.announce(caller.conn, presence);
                }
            }
            let members = room.member_nicks();
            send(
                caller.outbound,
                &ServerMessage::Joined {
                    room: room.name.clone(),
                    topic: room.topic.clone(),
                    members: members.clone(),
                    history: room.recent(self.history_on_join),
                },
            );
            let name = room.name.clone();
            drop(room);
            self.tell_away_members(caller, &name, &members);
            if unparked {
                lock(&self.idle_rooms).remove(name.folded());
            }
            return Ok(name);
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
                    nick: member.nick.clone(),
                    event: event.clone(),
                });
                if let Some(frame) = frame(&presence) {
                    guard.broadcast(&frame, None);
                }
            }
            if let Some(cluster) = &self.cluster {
                self.announce_departure(cluster, conn, &guard.name, member.nick, event);
            }
            // An empty room without history is forgotten at once; one with
            // history (or, in a cluster, members elsewhere) is parked.
            guard.closed =
                guard.members.is_empty() && guard.remote.is_empty() && !guard.has_history();
            let meta = guard.closed.then(|| guard.meta());
            (guard.members.is_empty(), meta, guard.history_bytes())
        };
        match emptied {
            (true, Some(meta), _) => {
                self.forget_if_closed(name, &room);
                self.keep_room(meta);
            }
            (true, None, bytes) => self.park_idle(name, bytes),
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

    /// Removes a departing client from its rooms (telling them why, if a
    /// reason is given) and releases its nick.
    pub(crate) fn quit(
        &self,
        conn: ConnectionId,
        nick: &Nick,
        rooms: &[RoomName],
        reason: Option<&ShortText>,
    ) {
        self.leave_transfers(conn, nick);
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
            && let Some(user) = users.remove(nick.folded())
        {
            drop(users);
            // The hold time counts from letting go (keyed users only).
            if user.key.is_some() {
                self.release_nick(nick, user.client);
            }
        }
    }
}
