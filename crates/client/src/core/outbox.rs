//! The outbox: every message with a client message id (`Say`, `Direct`)
//! from the moment it is handed to the core until the server acknowledges
//! or refuses it. **Invariant:** nothing leaves the outbox but an `Ack`, a
//! refusal other than `RateLimited`, or a copy of it arriving from the
//! server (accepted before a crash, seen in history); after a reconnect
//! every entry is sent again, with its id, in the order it was first
//! queued, so the server's de-duplication keeps it from arriving twice.

use std::collections::BTreeMap;

use huddle_protocol::{ClientMessage, ClientMsgId};

#[derive(Debug, Default)]
pub(crate) struct Outbox {
    /// By the order they were queued.
    entries: BTreeMap<u64, ClientMessage>,
    /// Each id's place in `entries`.
    by_id: std::collections::HashMap<ClientMsgId, u64>,
    next: u64,
}

impl Outbox {
    /// Keeps `message` (which has a client message id) until it is settled.
    pub(crate) fn keep(&mut self, id: ClientMsgId, message: ClientMessage) {
        if self.by_id.contains_key(&id) {
            return;
        }
        self.next += 1;
        self.entries.insert(self.next, message);
        self.by_id.insert(id, self.next);
    }

    /// Replaces the message `id` (extended before it was ever sent), if it
    /// waits.
    pub(crate) fn replace(&mut self, id: ClientMsgId, message: ClientMessage) {
        if let Some(entry) = self.by_id.get(&id).and_then(|at| self.entries.get_mut(at)) {
            *entry = message;
        }
    }

    /// The message kept last, to extend (`batching.rs`).
    pub(crate) fn newest_mut(&mut self) -> Option<&mut ClientMessage> {
        self.entries.values_mut().next_back()
    }

    /// Takes out the message `id` (acknowledged, refused, or seen), if it
    /// was waiting.
    pub(crate) fn settle(&mut self, id: ClientMsgId) -> Option<ClientMessage> {
        let at = self.by_id.remove(&id)?;
        self.entries.remove(&at)
    }

    /// The message `id`, if it waits.
    pub(crate) fn get(&self, id: ClientMsgId) -> Option<&ClientMessage> {
        self.by_id.get(&id).and_then(|at| self.entries.get(at))
    }

    /// Everything waiting, oldest first (to send again after a reconnect).
    pub(crate) fn in_order(&self) -> impl Iterator<Item = &ClientMessage> {
        self.entries.values()
    }

    /// Messages waiting.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
