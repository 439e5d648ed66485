//! One room as plain state: members, topic, password and recent history.
//! The hub locks a room while it changes it and queues frames to members, so
//! every member sees the room's events in one order.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;
use huddle_protocol::{ChatMessage, ConnectionId, Nick, RoomName, ShortText};

use serde::{Deserialize, Serialize};

use crate::{
    outbound::Outbound,
    page::{Page, PageRequest},
    password::PasswordHash,
};

/// A member of a room, as the room sees it.
#[derive(Debug)]
pub(crate) struct Member {
    pub(crate) nick: Nick,
    pub(crate) outbound: Outbound,
}

/// What a room keeps besides its members and messages: its name as its
/// creator spelled it, its topic and its password's hash. Stored with the
/// room (the store's `rooms` table, or the hub's memory with
/// `--ephemeral`), so a restart or an eviction loses none of it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RoomMeta {
    pub(crate) name: RoomName,
    pub(crate) topic: ShortText,
    pub(crate) password: Option<PasswordHash>,
}

impl RoomMeta {
    /// Whether there is anything to keep beyond the name.
    pub(crate) fn worth_keeping(&self) -> bool {
        self.password.is_some() || !self.topic.is_empty()
    }
}

/// About what a message in memory costs: its text and nick, plus the ids,
/// timestamps, room name and allocations around them.
fn bytes_of(message: &ChatMessage) -> usize {
    message.text.len() + message.from.as_str().len() + 128
}

#[derive(Debug)]
pub(crate) struct Room {
    pub(crate) name: RoomName,
    pub(crate) topic: ShortText,
    pub(crate) password: Option<PasswordHash>,
    pub(crate) members: HashMap<ConnectionId, Member>,
    /// In cluster mode, members on other nodes: folded nick → (node, nick).
    pub(crate) remote: HashMap<String, (uuid::Uuid, Nick)>,
    history: VecDeque<ChatMessage>,
    history_cap: usize,
    /// About how many bytes `history` holds.
    history_bytes: usize,
    /// Set when the last member left and the room is being removed; a joiner
    /// holding this room must look it up again.
    pub(crate) closed: bool,
}

impl Room {
    pub(crate) fn new(meta: RoomMeta, history_cap: usize) -> Self {
        Self {
            name: meta.name,
            topic: meta.topic,
            password: meta.password,
            members: HashMap::new(),
            remote: HashMap::new(),
            history: VecDeque::new(),
            history_cap,
            history_bytes: 0,
            closed: false,
        }
    }

    pub(crate) fn meta(&self) -> RoomMeta {
        RoomMeta {
            name: self.name.clone(),
            topic: self.topic.clone(),
            password: self.password.clone(),
        }
    }

    /// Whether `conn` may see the room's topic and members: anyone, unless
    /// the room is protected, then only its members.
    pub(crate) fn visible_to(&self, conn: Option<ConnectionId>) -> bool {
        self.password.is_none() || conn.is_some_and(|conn| self.members.contains_key(&conn))
    }

    /// Queues `frame` to every member but `except`. A member that is too slow
    /// is marked for disconnection by its queue; nobody waits for it.
    /// Returns how many members it was queued to.
    pub(crate) fn broadcast(&self, frame: &Bytes, except: Option<ConnectionId>) -> usize {
        let mut queued = 0;
        for (conn, member) in &self.members {
            if Some(*conn) != except && member.outbound.push(frame.clone()).is_ok() {
                queued += 1;
            }
        }
        queued
    }

    /// Whether most of a sample of the members here have a quarter of
    /// their queue taken: messages come faster than this server writes
    /// them (one slow reader does not make a room congested). Read by a
    /// cluster node's fan-out (`cluster/fanout.rs`).
    pub(crate) fn congested(&self) -> bool {
        // The first nine in the map's (arbitrary, stable) order: read after
        // every message, it must not walk the whole room.
        const SAMPLE: usize = 9;
        let (mut sampled, mut behind) = (0, 0);
        for member in self.members.values().take(SAMPLE) {
            sampled += 1;
            behind += usize::from(member.outbound.filling());
        }
        behind * 2 > sampled
    }

    /// Member nicks (on other nodes too, in cluster mode), sorted
    /// case-insensitively.
    pub(crate) fn member_nicks(&self) -> Vec<Nick> {
        let mut nicks: Vec<Nick> = self.members.values().map(|m| m.nick.clone()).collect();
        nicks.extend(self.remote.values().map(|(_, nick)| nick.clone()));
        nicks.sort();
        nicks.dedup();
        nicks
    }

    /// Whether `folded` is a member connected here.
    pub(crate) fn has_local(&self, folded: &str) -> bool {
        self.members.values().any(|m| m.nick.folded() == folded)
    }

    /// How many members it has, here and on other nodes.
    pub(crate) fn member_count(&self) -> usize {
        self.members.len() + self.remote.len()
    }

    pub(crate) fn record(&mut self, message: ChatMessage) {
        if self.history_cap == 0 {
            return;
        }
        if self.history.len() == self.history_cap
            && let Some(oldest) = self.history.pop_front()
        {
            self.history_bytes -= bytes_of(&oldest);
        }
        self.history_bytes += bytes_of(&message);
        self.history.push_back(message);
    }

    /// About how many bytes the history in memory holds.
    pub(crate) fn history_bytes(&self) -> usize {
        self.history_bytes
    }

    pub(crate) fn has_history(&self) -> bool {
        !self.history.is_empty()
    }

    /// The newest `count` messages, oldest first.
    pub(crate) fn recent(&self, count: usize) -> Vec<ChatMessage> {
        let skip = self.history.len().saturating_sub(count);
        self.history.iter().skip(skip).cloned().collect()
    }

    /// A page of history.
    pub(crate) fn page(&self, request: PageRequest) -> Page<ChatMessage> {
        crate::page::page(self.history.iter(), request)
    }

    /// The history in memory, oldest first.
    pub(crate) fn history(&self) -> impl DoubleEndedIterator<Item = &ChatMessage> {
        self.history.iter()
    }
}

#[cfg(test)]
mod tests {
    use huddle_protocol::{ChatText, MessageId, MessageKind, Target};
    use uuid::Uuid;

    use super::*;

    fn message(n: u128) -> ChatMessage {
        ChatMessage {
            id: MessageId::from_uuid(Uuid::from_u128(n)),
            target: Target::Room(RoomName::new("#r").unwrap()),
            from: Nick::new("a").unwrap(),
            kind: MessageKind::Normal,
            text: ChatText::new(format!("m{n}")).unwrap(),
            timestamp: 0,
            client_msg_id: huddle_protocol::ClientMsgId::random(),
        }
    }

    fn meta() -> RoomMeta {
        RoomMeta {
            name: RoomName::new("#r").unwrap(),
            topic: ShortText::default(),
            password: None,
        }
    }

    fn ids(page: &[ChatMessage]) -> Vec<u128> {
        page.iter().map(|m| m.id.as_uuid().as_u128()).collect()
    }

    #[test]
    fn a_room_is_congested_when_most_members_lag_not_when_one_does() {
        let mut room = Room::new(meta(), 10);
        // Twenty members whose queues take 8 frames; nobody writes them.
        let mut queues = Vec::new();
        for n in 0..20 {
            let (outbound, captured) = crate::outbound::Outbound::capture_bounded(8, 1 << 20);
            let nick = Nick::new(format!("m{n}")).unwrap();
            room.members
                .insert(ConnectionId::random(), Member { nick, outbound });
            queues.push(captured);
        }
        let frame = bytes::Bytes::from_static(b"\0\0\0\x01\x0a");
        assert!(!room.congested());
        // One slow reader with three frames waiting: not the room's fault.
        let slow = room.members.values().next().unwrap().outbound.clone();
        for _ in 0..3 {
            slow.push(frame.clone()).unwrap();
        }
        assert!(!room.congested());
        // Everyone three behind (over a quarter of 8): this server lags.
        for _ in 0..3 {
            room.broadcast(&frame, None);
        }
        assert!(room.congested());
        drop(queues);
    }

    #[test]
    fn history_is_capped_and_paged_at_its_boundaries() {
        let mut room = Room::new(meta(), 10);
        for n in 1..=15 {
            room.record(message(n));
        }
        assert_eq!(ids(&room.recent(3)), [13, 14, 15]);
        assert_eq!(ids(&room.recent(100)), (6..=15).collect::<Vec<_>>());
        let id = |n| Some(MessageId::from_uuid(Uuid::from_u128(n)));
        let Page { items: page, more } = room.page(PageRequest::from_wire(id(10), None, 3));
        assert_eq!((ids(&page), more), (vec![7, 8, 9], true));
        let Page { items: page, more } = room.page(PageRequest::from_wire(id(9), None, 3));
        assert_eq!((ids(&page), more), (vec![6, 7, 8], false));
        let Page { items: page, more } = room.page(PageRequest::from_wire(id(6), None, 3));
        assert_eq!((ids(&page), more), (vec![], false));
        let Page { items: page, more } = room.page(PageRequest::from_wire(None, id(12), 2));
        assert_eq!((ids(&page), more), (vec![13, 14], true));
        let Page { items: page, more } = room.page(PageRequest::from_wire(None, id(13), 2));
        assert_eq!((ids(&page), more), (vec![14, 15], false));
        let Page { items: page, more } = room.page(PageRequest::from_wire(None, None, 2));
        assert_eq!((ids(&page), more), (vec![14, 15], true));
    }
}
