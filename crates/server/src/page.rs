//! Paging through history by message id, shared by room history and direct
//! message mailboxes, in memory and merged with the disk.

use huddle_protocol::{ChatMessage, DirectEntry, MessageId, Nick, limits::MAX_HISTORY_PAGE};

/// Something kept in history, ordered by its server id.
pub(crate) trait Identified {
    fn message_id(&self) -> MessageId;
}

impl Identified for ChatMessage {
    fn message_id(&self) -> MessageId {
        self.id
    }
}

impl Identified for DirectEntry {
    fn message_id(&self) -> MessageId {
        self.message.id
    }
}

/// Whether `entry` belongs to the conversation with `with` (any, if `None`).
pub(crate) fn exchanged_with(entry: &DirectEntry, with: Option<&Nick>) -> bool {
    with.is_none_or(|with| entry.peer().folded() == with.folded())
}

/// Where a page of history starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    /// The newest items of all.
    Newest,
    /// The newest items strictly older than this id.
    Before(MessageId),
    /// The oldest items strictly newer than this id.
    After(MessageId),
}

/// A request for one page: where it starts and how many items at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageRequest {
    pub(crate) anchor: Anchor,
    /// At most [`MAX_HISTORY_PAGE`].
    pub(crate) limit: usize,
}

impl PageRequest {
    /// From the wire's `FetchHistory` fields. The one place their rule is
    /// applied: `after` wins when both are given (PROTOCOL.md §5.3), and
    /// the limit is capped at [`MAX_HISTORY_PAGE`].
    pub(crate) fn from_wire(
        before: Option<MessageId>,
        after: Option<MessageId>,
        limit: u16,
    ) -> Self {
        let anchor = match (before, after) {
            (_, Some(after)) => Anchor::After(after),
            (Some(before), None) => Anchor::Before(before),
            (None, None) => Anchor::Newest,
        };
        Self {
            anchor,
            limit: usize::from(limit.min(MAX_HISTORY_PAGE)),
        }
    }

    /// The newest `limit` items.
    pub(crate) fn newest(limit: usize) -> Self {
        Self {
            anchor: Anchor::Newest,
            limit,
        }
    }

    fn includes(&self, id: MessageId) -> bool {
        match self.anchor {
            Anchor::Newest => true,
            Anchor::Before(before) => id < before,
            Anchor::After(after) => id > after,
        }
    }

    /// Whether the page is the oldest items past its anchor (rather than
    /// the newest ones before it).
    pub(crate) fn forward(&self) -> bool {
        matches!(self.anchor, Anchor::After(_))
    }
}

/// One page of items, oldest first, and whether more lie beyond it in the
/// direction asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Page<T> {
    pub(crate) items: Vec<T>,
    pub(crate) more: bool,
}

impl<T> Page<T> {
    pub(crate) fn empty() -> Self {
        Self {
            items: Vec::new(),
            more: false,
        }
    }
}

/// The page of `items` (in id order) that `request` asks for.
pub(crate) fn page<'a, T: Identified + Clone + 'a>(
    items: impl Iterator<Item = &'a T>,
    request: PageRequest,
) -> Page<T> {
    let matching: Vec<&T> = items.filter(|m| request.includes(m.message_id())).collect();
    let more = matching.len() > request.limit;
    let items = if request.forward() {
        matching.into_iter().take(request.limit).cloned().collect()
    } else {
        let skip = matching.len().saturating_sub(request.limit);
        matching.into_iter().skip(skip).cloned().collect()
    };
    Page { items, more }
}

/// Merges a page read from disk (everything committed) with one from memory
/// (which may hold the newest items, not yet committed) into one page of at
/// most the limit, by id, without duplicates.
pub(crate) fn merge<T: Identified>(
    stored: Page<T>,
    recent: Page<T>,
    request: PageRequest,
) -> Page<T> {
    let mut merged = stored.items;
    merged.extend(recent.items);
    merged.sort_by_key(Identified::message_id);
    merged.dedup_by_key(|m| m.message_id());
    // Either side knowing of more beyond its page means there are more:
    // memory can hold a full page past the anchor while the disk, behind
    // on its commits, holds fewer.
    let more = stored.more || recent.more || merged.len() > request.limit;
    if merged.len() > request.limit {
        if request.forward() {
            merged.truncate(request.limit);
        } else {
            merged.drain(..merged.len() - request.limit);
        }
    }
    Page {
        items: merged,
        more,
    }
}

/// What a search found in one place (a room or a mailbox, in memory or
/// on disk): its matches, newest first, and how far back it looked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scanned<T> {
    /// The matches, newest first.
    pub(crate) hits: Vec<T>,
    /// When the scan stopped before the oldest item (at its limit of
    /// matches or of items looked at): the oldest id it looked at, so
    /// every item from there up to where it started was looked at. `None`
    /// when it looked at everything older than where it started.
    pub(crate) frontier: Option<MessageId>,
}

impl<T> Scanned<T> {
    /// Looks through `items`, newest first: at most `limit` of them that
    /// `keep` accepts, looking at most at `budget` (both at least 1).
    pub(crate) fn newest(
        items: impl Iterator<Item = T>,
        id: impl Fn(&T) -> MessageId,
        keep: impl Fn(&T) -> bool,
        limit: usize,
        budget: usize,
    ) -> Self {
        let (limit, budget) = (limit.max(1), budget.max(1));
        let mut hits = Vec::new();
        let mut oldest_looked = None;
        for (looked, item) in items.enumerate() {
            if looked == budget || hits.len() == limit {
                return Self {
                    hits,
                    frontier: oldest_looked,
                };
            }
            oldest_looked = Some(id(&item));
            if keep(&item) {
                hits.push(item);
            }
        }
        Self {
            hits,
            frontier: None,
        }
    }
}

/// The newest items of `items` (in id order) older than `before` that
/// `keep` accepts: at most `limit`, looking at most at `budget` items.
pub(crate) fn newest_matching<'a, T: Identified + Clone + 'a>(
    items: impl DoubleEndedIterator<Item = &'a T>,
    before: Option<MessageId>,
    keep: impl Fn(&T) -> bool,
    limit: usize,
    budget: usize,
) -> Scanned<T> {
    let older = items
        .rev()
        .filter(|item| before.is_none_or(|before| item.message_id() < before));
    let scanned = Scanned::newest(
        older,
        |item| item.message_id(),
        |item| keep(item),
        limit,
        budget,
    );
    Scanned {
        hits: scanned.hits.into_iter().cloned().collect(),
        frontier: scanned.frontier,
    }
}

#[cfg(test)]
mod tests {
    use huddle_protocol::MessageId;
    use uuid::Uuid;

    use super::Scanned;

    fn scan(limit: usize, budget: usize) -> Scanned<u128> {
        let id = |n: &u128| MessageId::from_uuid(Uuid::from_u128(*n));
        Scanned::newest((1..=10u128).rev(), id, |n| n % 2 == 0, limit, budget)
    }

    #[test]
    fn a_full_page_from_memory_says_more_when_memory_has_more() {
        use super::{Anchor, Page, PageRequest, merge};
        use huddle_protocol::{ChatMessage, ChatText, ClientMsgId, MessageKind, Nick, Target};
        let message = |n: u128| ChatMessage {
            id: MessageId::from_uuid(Uuid::from_u128(n)),
            target: Target::Direct(Nick::new("bob").unwrap()),
            from: Nick::new("al").unwrap(),
            kind: MessageKind::Normal,
            text: ChatText::new("hi").unwrap(),
            timestamp: 0,
            client_msg_id: ClientMsgId::random(),
        };
        let request = PageRequest {
            anchor: Anchor::After(MessageId::from_uuid(Uuid::from_u128(0))),
            limit: 3,
        };
        // The disk has committed two; memory has five past the anchor.
        let stored = Page {
            items: (1..=2).map(message).collect(),
            more: false,
        };
        let memory: Vec<ChatMessage> = (1..=5).map(message).collect();
        let recent = super::page(memory.iter(), request);
        let merged = merge(stored, recent, request);
        assert_eq!(merged.items.len(), 3);
        assert!(merged.more, "messages 4 and 5 are beyond this page");
    }

    #[test]
    fn a_scan_says_how_far_back_it_looked() {
        let frontier = |n: u128| Some(MessageId::from_uuid(Uuid::from_u128(n)));
        // Everything looked at: no frontier.
        assert_eq!(
            scan(10, 100),
            Scanned {
                hits: vec![10, 8, 6, 4, 2],
                frontier: None
            }
        );
        // Stopped at two matches: looked at 10 and 9 and 8.
        assert_eq!(
            scan(2, 100),
            Scanned {
                hits: vec![10, 8],
                frontier: frontier(8)
            }
        );
        // Stopped at three items looked at: 10, 9, 8.
        assert_eq!(
            scan(10, 3),
            Scanned {
                hits: vec![10, 8],
                frontier: frontier(8)
            }
        );
        assert_eq!(
            scan(10, 4),
            Scanned {
                hits: vec![10, 8],
                frontier: frontier(7)
            }
        );
        // The last match at the limit, with nothing after it: complete.
        let all = Scanned::newest(
            [2u128].into_iter(),
            |n| MessageId::from_uuid(Uuid::from_u128(*n)),
            |_| true,
            1,
            5,
        );
        assert_eq!(all.frontier, None);
    }
}
