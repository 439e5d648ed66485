//! `Search`: the stored messages that contain a text, only where the caller
//! may read them — one room it is in, or every room it is in and its own
//! mailbox — newest first, in pages.
//!
//! The paging invariant (PROTOCOL.md §5.3, *Search*): a page holds every
//! match whose id lies in `[next, before)`. Each place is scanned from
//! `before` back, within a budget of messages looked at; the place that
//! stopped soonest sets how far back the whole page may claim to be
//! complete, and matches older than that are left to the next page.

use huddle_protocol::{
    ChatMessage, ErrorCode, MessageId, RoomName, SearchHit, ServerMessage, ShortText,
    limits::MAX_SEARCH_RESULTS,
};

use super::{Caller, Hub, Refusal, lock, refuse};
use crate::page::{Scanned, newest_matching};

/// Most stored messages one `Search` looks at, over all the places it
/// searches: what bounds the time a request can take.
pub(crate) const SEARCH_BUDGET: usize = 20_000;

/// Each place searched looks at no fewer than this many messages.
const MIN_PLACE_BUDGET: usize = 500;

/// What is searched for: the query folded to lower case.
struct Needle(String);

impl Needle {
    fn new(query: &ShortText) -> Result<Self, Refusal> {
        let folded = query.as_str().trim().to_lowercase();
        match folded.is_empty() {
            true => refuse(ErrorCode::InvalidText, "search for at least one character"),
            false => Ok(Self(folded)),
        }
    }

    fn finds(&self, message: &ChatMessage) -> bool {
        message.text.as_str().to_lowercase().contains(&self.0)
    }
}

/// The page being gathered from each place in turn.
struct Gathered {
    hits: Vec<SearchHit>,
    /// The newest of the places' frontiers (see the module doc).
    frontier: Option<MessageId>,
    limit: usize,
}

impl Gathered {
    fn add<T>(&mut self, scanned: Scanned<T>, hit: impl Fn(T) -> SearchHit) {
        self.frontier = self.frontier.max(scanned.frontier);
        self.hits.extend(scanned.hits.into_iter().map(hit));
    }

    /// The page: newest first, without copies (memory and disk overlap),
    /// nothing older than the frontier, at most `limit`; and where the
    /// next page starts.
    fn finish(mut self) -> (Vec<SearchHit>, Option<MessageId>) {
        self.hits
            .sort_by_key(|hit| std::cmp::Reverse(hit.message().id));
        self.hits.dedup_by_key(|hit| hit.message().id);
        if let Some(frontier) = self.frontier {
            self.hits.retain(|hit| hit.message().id >= frontier);
        }
        if self.hits.len() > self.limit {
            self.hits.truncate(self.limit);
            let next = self.hits.last().map(|hit| hit.message().id);
            return (self.hits, next);
        }
        (self.hits, self.frontier)
    }
}

/// One `Search` request.
pub(crate) struct SearchRequest {
    /// What to look for.
    pub(crate) query: ShortText,
    /// Only this room (the caller must be in it); else everywhere it may read.
    pub(crate) room: Option<RoomName>,
    /// Only messages older than this.
    pub(crate) before: Option<MessageId>,
    /// At most this many matches (capped at [`MAX_SEARCH_RESULTS`]).
    pub(crate) limit: u16,
}

impl Hub {
    /// A page of `request`'s matches; `rooms` are the rooms the caller is in.
    pub(crate) fn search(
        &self,
        caller: Caller<'_>,
        rooms: &[RoomName],
        request: SearchRequest,
    ) -> Result<ServerMessage, Refusal> {
        let needle = Needle::new(&request.query)?;
        let limit = usize::from(request.limit.clamp(1, MAX_SEARCH_RESULTS));
        let places: Vec<&RoomName> = match &request.room {
            Some(room) => vec![room],
            None => rooms.iter().collect(),
        };
        let count = places.len() + usize::from(request.room.is_none());
        let budget = (SEARCH_BUDGET / count.max(1)).max(MIN_PLACE_BUDGET);
        let before = request.before;
        let mut gathered = Gathered {
            hits: Vec::new(),
            frontier: None,
            limit,
        };
        let finds = |message: &ChatMessage| needle.finds(message);
        for name in places {
            let scanned = self.in_room(caller, name, |room| {
                let memory = newest_matching(room.history(), before, finds, limit, budget);
                (room.name.clone(), memory)
            });
            let (name, memory) = match (scanned, &request.room) {
                (Ok(found), _) => found,
                // The caller left the room meanwhile: nothing to search there.
                (Err(_), None) => continue,
                (Err(refusal), Some(_)) => return Err(refusal),
            };
            gathered.add(memory, SearchHit::Room);
            if let Some(store) = &self.store {
                let stored = store.search_room(&name, before, finds, limit, budget);
                gathered.add(stored, SearchHit::Room);
            }
        }
        if request.room.is_none() {
            let finds = |entry: &huddle_protocol::DirectEntry| needle.finds(&entry.message);
            let memory = {
                let mailboxes = lock(&self.mailboxes);
                newest_matching(
                    mailboxes.entries(caller.client),
                    before,
                    finds,
                    limit,
                    budget,
                )
            };
            gathered.add(memory, SearchHit::Direct);
            if let Some(store) = &self.store {
                let stored = store.search_mailbox(caller.client, before, finds, limit, budget);
                gathered.add(stored, SearchHit::Direct);
            }
        }
        let (hits, next) = gathered.finish();
        Ok(ServerMessage::SearchResults {
            query: request.query,
            room: request.room,
            hits,
            next,
        })
    }
}
