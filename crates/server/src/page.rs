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
    let more = stored.more || merged.len() > request.limit;
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
