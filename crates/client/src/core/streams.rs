//! Where each stream stands: the rooms this client is in (to rejoin after a
//! reconnect, with the password they were joined with), how far each
//! room's stream and the direct-message mailbox have arrived (to ask for
//! exactly the gap after a reconnect), and who asked for each history page
//! in flight (the server answers a connection's requests in order, so a
//! queue tells the core's gap pages from the view's pages of older
//! history). **Invariants:** a watermark only moves over a contiguous run
//! of the stream — live messages, the join backlog when nothing was seen,
//! pages of the gap — never over a page the view asked for; and a room's
//! messages reach the view in the room's order (a rejoin's backlog is left
//! to the gap fill, which pages forward from the oldest missed, and a live
//! message arriving while that gap is filled is parked until it closes;
//! likewise the mailbox's direct messages).

use std::collections::VecDeque;

use huddle_protocol::{ChatMessage, MessageId, RoomName, ShortText};

/// Live messages parked per room while its gap is filled: more (a flood)
/// are dropped and fetched again by one more page of the gap.
pub(crate) const MAX_PARKED: usize = 4096;

/// A room this client is in, or asked to be in.
#[derive(Debug)]
pub(crate) struct RoomStream {
    pub(crate) name: RoomName,
    /// Kept in memory only, to rejoin a protected room.
    pub(crate) password: Option<ShortText>,
    /// The newest id of the contiguous stream seen.
    pub(crate) streamed: Option<MessageId>,
    /// Live messages that arrived while the gap was filled, in order.
    parked: Vec<ChatMessage>,
    /// Some were dropped for [`MAX_PARKED`]: the gap is asked again.
    overflowed: bool,
}

/// Who asked for a page of history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Asker {
    /// The core, filling the gap after a reconnect (pages forward).
    Gap,
    /// The view (older history, `--history`): handed over untouched.
    View,
}

#[derive(Debug, Default)]
pub(crate) struct Streams {
    rooms: Vec<RoomStream>,
    /// Rooms whose `Join` went out and is not answered yet, in order.
    joins_asked: VecDeque<RoomName>,
    /// Room history pages asked for and not answered yet, in order.
    pages_asked: VecDeque<(RoomName, Asker)>,
    /// The newest direct message of the mailbox's contiguous stream.
    pub(crate) direct_streamed: Option<MessageId>,
    /// Whole-mailbox pages asked for and not answered yet, in order.
    pub(crate) direct_pages_asked: VecDeque<DirectAsk>,
    /// Live direct messages that arrived while the mailbox's gap was
    /// filled, in order (at most [`MAX_PARKED`]; more are fetched again).
    parked_direct: Vec<ChatMessage>,
    direct_overflowed: bool,
}

/// Why the core asked for a page of the whole mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DirectAsk {
    /// Recent conversations, shown on the first connection.
    Restore,
    /// Only to learn where the mailbox stands (nothing shown).
    Anchor,
    /// What arrived while disconnected (pages forward).
    Gap,
}

impl Streams {
    fn find(&mut self, room: &RoomName) -> Option<&mut RoomStream> {
        self.rooms.iter_mut().find(|r| r.name == *room)
    }

    /// The user asked to join `room`.
    pub(crate) fn want(&mut self, room: &RoomName, password: Option<ShortText>) {
        match self.find(room) {
            Some(known) => known.password = password.or(known.password.take()),
            None => self.rooms.push(RoomStream {
                name: room.clone(),
                password,
                streamed: None,
                parked: Vec::new(),
                overflowed: false,
            }),
        }
    }

    /// The user left `room` (or was never let in): not rejoined.
    pub(crate) fn forget(&mut self, room: &RoomName) {
        self.rooms.retain(|r| r.name != *room);
    }

    /// Every room to rejoin, in the order joined.
    pub(crate) fn rooms(&self) -> &[RoomStream] {
        &self.rooms
    }

    /// A `Join` for `room` went out.
    pub(crate) fn join_sent(&mut self, room: &RoomName) {
        self.joins_asked.push_back(room.clone());
    }

    /// The oldest `Join` in flight was answered (joined or refused).
    pub(crate) fn join_answered(&mut self) -> Option<RoomName> {
        self.joins_asked.pop_front()
    }

    /// The room's stream reached `id`.
    pub(crate) fn streamed(&mut self, room: &RoomName, id: MessageId) {
        if let Some(known) = self.find(room) {
            known.streamed = known.streamed.max(Some(id));
        }
    }

    /// Where the room's stream stands.
    pub(crate) fn watermark(&self, room: &RoomName) -> Option<MessageId> {
        self.rooms
            .iter()
            .find(|r| r.name == *room)
            .and_then(|r| r.streamed)
    }

    /// A history page for `room` was asked for by `asker`.
    pub(crate) fn page_sent(&mut self, room: &RoomName, asker: Asker) {
        self.pages_asked.push_back((room.clone(), asker));
    }

    /// Who asked for the page of `room` that just arrived (or for the
    /// oldest page, refused: `room` is `None`).
    pub(crate) fn page_answered(&mut self, room: Option<&RoomName>) -> Asker {
        let at = match room {
            Some(room) => self.pages_asked.iter().position(|(r, _)| r == room),
            None => (!self.pages_asked.is_empty()).then_some(0),
        };
        at.and_then(|at| self.pages_asked.remove(at))
            .map_or(Asker::View, |(_, asker)| asker)
    }

    /// Whether a page of `room`'s gap is on its way.
    pub(crate) fn gap_pending(&self, room: &RoomName) -> bool {
        self.pages_asked
            .iter()
            .any(|(r, asker)| r == room && *asker == Asker::Gap)
    }

    /// A live message for `room` while its gap is filled: kept back so
    /// that the older messages missed come first. Given back if no gap is
    /// being filled (the message goes to the view now).
    pub(crate) fn park(&mut self, room: &RoomName, message: ChatMessage) -> Option<ChatMessage> {
        if !self.gap_pending(room) {
            return Some(message);
        }
        if let Some(known) = self.find(room) {
            if known.parked.len() < MAX_PARKED {
                known.parked.push(message);
            } else {
                known.overflowed = true;
            }
        }
        None
    }

    /// A live direct message while the mailbox's gap is filled: kept
    /// back like a room's ([`Self::park`]).
    pub(crate) fn park_direct(&mut self, message: ChatMessage) -> Option<ChatMessage> {
        if !self.direct_pages_asked.contains(&DirectAsk::Gap) {
            return Some(message);
        }
        if self.parked_direct.len() < MAX_PARKED {
            self.parked_direct.push(message);
        } else {
            self.direct_overflowed = true;
        }
        None
    }

    /// The direct messages parked once the mailbox's gap is closed, and
    /// whether some were dropped (then the gap is asked again).
    pub(crate) fn unpark_direct(&mut self) -> (Vec<ChatMessage>, bool) {
        if self.direct_pages_asked.contains(&DirectAsk::Gap) {
            return (Vec::new(), false);
        }
        (
            std::mem::take(&mut self.parked_direct),
            std::mem::take(&mut self.direct_overflowed),
        )
    }

    /// The messages parked for every room whose gap is closed, and
    /// whether some were dropped (then the gap is to be asked again from
    /// where it stands instead).
    pub(crate) fn unpark(&mut self) -> Vec<(RoomName, Vec<ChatMessage>, bool)> {
        let closed: Vec<RoomName> = self
            .rooms
            .iter()
            .filter(|r| !r.parked.is_empty() || r.overflowed)
            .map(|r| r.name.clone())
            .filter(|name| !self.gap_pending(name))
            .collect();
        closed
            .into_iter()
            .filter_map(|name| {
                let known = self.find(&name)?;
                let overflowed = std::mem::take(&mut known.overflowed);
                Some((name, std::mem::take(&mut known.parked), overflowed))
            })
            .collect()
    }

    /// The connection is gone: nothing in flight will be answered, and
    /// what was parked comes again in the next gap.
    pub(crate) fn connection_lost(&mut self) {
        self.joins_asked.clear();
        self.pages_asked.clear();
        self.direct_pages_asked.clear();
        for room in &mut self.rooms {
            room.parked.clear();
            room.overflowed = false;
        }
        self.parked_direct.clear();
        self.direct_overflowed = false;
    }
}
