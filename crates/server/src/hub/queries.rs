//! Requests that only read the shared state: room and member lists,
//! history pages (rooms and direct messages), and the summary for discovery beacons.

use std::sync::{Arc, Mutex, PoisonError};

use huddle_protocol::{
    ConnectionId, ErrorCode, Nick, RoomInfo, RoomName, ServerMessage, ShortText,
    discovery::RoomSummary,
};

use super::{Caller, Hub, Refusal, lock, refuse};
use crate::{
    page::{PageRequest, merge},
    room::Room,
    wall_clock::now_millis,
};

/// The rooms as a beacon shows them.
#[derive(Debug)]
pub(crate) struct BeaconRooms {
    /// The busiest first.
    pub(crate) rooms: Vec<RoomSummary>,
    /// Whether any room in use needs a password.
    pub(crate) needs_password: bool,
}

impl Hub {
    /// Every room in the map, taken out so no room is locked while the
    /// map is (the lock order `hub.rs` keeps).
    pub(super) fn all_rooms(&self) -> Vec<Arc<Mutex<Room>>> {
        self.rooms
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    /// Every room with members, by name, at most `max` of them. A protected
    /// room shows its topic only to its members (`asker`).
    pub(crate) fn list_rooms(&self, asker: Option<ConnectionId>, max: usize) -> Vec<RoomInfo> {
        let rooms = self.all_rooms();
        let mut infos: Vec<RoomInfo> = rooms
            .iter()
            .map(|room| {
                let room = lock(room);
                let topic = match room.visible_to(asker) {
                    true => room.topic.clone(),
                    false => ShortText::default(),
                };
                RoomInfo {
                    name: room.name.clone(),
                    members: room.member_count() as u32,
                    topic,
                    has_password: room.password.is_some(),
                }
            })
            .filter(|info| info.members > 0)
            .collect();
        infos.sort_by(|a, b| a.name.cmp(&b.name));
        infos.truncate(max);
        infos
    }

    /// What a discovery beacon says of the rooms.
    pub(crate) fn summary(&self) -> BeaconRooms {
        let mut rooms = self.list_rooms(None, usize::MAX);
        let needs_password = rooms.iter().any(|r| r.has_password);
        rooms.sort_by(|a, b| b.members.cmp(&a.members).then_with(|| a.name.cmp(&b.name)));
        let summary = rooms
            .into_iter()
            .map(|r| RoomSummary {
                name: r.name,
                members: r.members,
            })
            .collect();
        BeaconRooms {
            rooms: summary,
            needs_password,
        }
    }

    /// A room's members, unless it is protected and `asker` is not one.
    pub(crate) fn members(
        &self,
        asker: ConnectionId,
        name: &RoomName,
    ) -> Result<Vec<Nick>, Refusal> {
        let Some(room) = self.room(name) else {
            return refuse(ErrorCode::NoSuchRoom, format!("there is no room {name}"));
        };
        let room = lock(&room);
        if !room.visible_to(Some(asker)) {
            return refuse(
                ErrorCode::BadPassword,
                format!("{name} is protected: join it to see who is there"),
            );
        }
        Ok(room.member_nicks())
    }

    /// A page of a room's history, for a member: from memory merged with
    /// the disk.
    pub(crate) fn history(
        &self,
        caller: Caller<'_>,
        name: &RoomName,
        request: PageRequest,
    ) -> Result<ServerMessage, Refusal> {
        let (room_name, recent) =
            self.in_room(caller, name, |room| (room.name.clone(), room.page(request)))?;
        // The disk has everything committed; memory may hold the newest
        // messages not yet committed. Merge both by id.
        let page = match &self.store {
            None => recent,
            Some(store) => merge(store.page(&room_name, request), recent, request),
        };
        Ok(ServerMessage::HistoryPage {
            room: room_name,
            messages: page.items,
            more: page.more,
        })
    }

    /// A page of the caller's own direct messages, from its mailbox.
    pub(crate) fn direct_history(
        &self,
        caller: Caller<'_>,
        with: Option<Nick>,
        request: PageRequest,
    ) -> ServerMessage {
        let recent = lock(&self.mailboxes).page(caller.client, with.as_ref(), request);
        let page = match &self.store {
            None => recent,
            Some(store) => merge(
                store.direct_page(caller.client, with.as_ref(), request),
                recent,
                request,
            ),
        };
        ServerMessage::DirectHistoryPage {
            with,
            messages: page.items,
            more: page.more,
        }
    }

    /// `Whois`: the key that holds `nick`, the rooms it is in that the
    /// asker may see (unprotected ones, and protected ones it is in too),
    /// its away message, since when it is connected, how long it has been
    /// idle and what program it uses.
    pub(crate) fn whois(&self, asker: ConnectionId, nick: &Nick) -> Result<ServerMessage, Refusal> {
        let found = lock(&self.users).get(nick.folded()).map(|user| {
            let away = user.away.as_ref().map(|away| away.message.clone());
            let spoke_at = user.outbound.spoke_at().unwrap_or(user.since);
            let idle_secs = now_millis().saturating_sub(spoke_at) / 1000;
            let program = user.program.as_deref().map(ShortText::lossy);
            let shown = (user.nick.clone(), user.key, program.unwrap_or_default());
            (user.conn, shown, away, user.since, idle_secs)
        });
        let Some((conn, (shown, key, client), away, since, idle_secs)) = found else {
            return refuse(ErrorCode::NoSuchNick, format!("nobody is called {nick}"));
        };
        let rooms = self.all_rooms();
        let mut names: Vec<RoomName> = rooms
            .iter()
            .filter_map(|room| {
                let room = lock(room);
                let seen = room.members.contains_key(&conn) && room.visible_to(Some(asker));
                seen.then(|| room.name.clone())
            })
            .collect();
        names.sort();
        Ok(ServerMessage::WhoisReply {
            nick: shown,
            key,
            rooms: names,
            away: away.unwrap_or_default(),
            since,
            idle_secs,
            client,
        })
    }
}
