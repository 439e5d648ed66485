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

/// A page of `items` (oldest first), and whether more lie beyond it in the
/// direction asked: with `after`, the oldest items newer than it; otherwise
/// the newest items older than `before` (or the newest of all).
pub(crate) fn page<'a, T: Identified + Clone + 'a>(
    items: impl Iterator<Item = &'a T>,
    before: Option<MessageId>,
    after: Option<MessageId>,
    limit: u16,
) -> (Vec<T>, bool) {
    let limit = usize::from(limit.min(MAX_HISTORY_PAGE));
    if let Some(after) = after {
        let newer: Vec<&T> = items.filter(|m| m.message_id() > after).collect();
        let more = newer.len() > limit;
        return (newer.into_iter().take(limit).cloned().collect(), more);
    }
    let older: Vec<&T> = items
        .filter(|m| before.is_none_or(|before| m.message_id() < before))
        .collect();
    let skip = older.len().saturating_sub(limit);
    (older.into_iter().skip(skip).cloned().collect(), skip > 0)
}

/// Merges a page read from disk (everything committed) with one from memory
/// (which may hold the newest items, not yet committed) into one page of at
/// most `limit`, by id, without duplicates.
pub(crate) fn merge<T: Identified>(
    (stored, stored_more): (Vec<T>, bool),
    recent: Vec<T>,
    after: Option<MessageId>,
    limit: u16,
) -> (Vec<T>, bool) {
    let mut merged = stored;
    merged.extend(recent);
    merged.sort_by_key(Identified::message_id);
    merged.dedup_by_key(|m| m.message_id());
    let limit = usize::from(limit.min(MAX_HISTORY_PAGE));
    let more = stored_more || merged.len() > limit;
    if merged.len() > limit {
        if after.is_some() {
            merged.truncate(limit);
        } else {
            merged.drain(..merged.len() - limit);
        }
    }
    (merged, more)
}
