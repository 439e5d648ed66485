//! Durable history: every room and direct message is written to an embedded database
//! (redb) before its sender gets the `Ack`. A writer thread group-commits:
//! it takes every message queued within a couple of milliseconds (up to a
//! thousand) into one transaction, commits, and only then releases their
//! acks. Fan-out to the other members never waits for it.
//!
//! Why redb: crash-safe (copy-on-write B-trees with checksummed commits,
//! recovered on the next open), pure Rust (no C toolchain in the build), one
//! file, and a lock that stops a second server from opening the same data.
//!
//! Schema (version in the `meta` table, checked at open):
//! - `messages`: (room, message id as u128) → the `ChatMessage`, encoded
//!   with the wire format (`huddle_protocol::encode_payload`); and
//!   (`@` + client id, message id) → a `DirectEntry`: each direct message
//!   is filed in its sender's and its recipient's mailbox. Retention counts
//!   each key separately. (Version 2 added mailboxes and the messages'
//!   `client_msg_id`; a version 1 database is upgraded in place at open,
//!   see `migrate.rs`.)
//! - `dedup`: (client id, client message id) → (message id, timestamp), so a
//!   resend after a crash is acknowledged again instead of stored twice.

mod disk;
mod migrate;
mod writer;

use std::{
    collections::{HashMap, VecDeque},
    path::PathBuf,
};

pub(crate) use disk::{DedupRows, DiskStore};
use huddle_protocol::{ClientId, ClientMsgId, MessageId};
pub(crate) use writer::{Ack, Record};

/// The schema this server writes and reads.
pub(crate) const SCHEMA_VERSION: u64 = 2;

/// A data directory that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The directory or database file cannot be created, read or written.
    #[error("cannot use the data directory {path}: {message}")]
    Unusable {
        /// The path concerned.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// Another server has the database open.
    #[error("{path} is locked: another huddle-server is using this data directory")]
    Locked {
        /// The database file.
        path: PathBuf,
    },
    /// The database is damaged or was written by an unknown schema.
    #[error("{path} is corrupt or unreadable: {message}")]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Remembers which client messages were already accepted, so a resend is
/// acknowledged with the original id. Bounded: the oldest entries go first.
#[derive(Debug, Default)]
pub(crate) struct Dedup {
    seen: HashMap<(ClientId, ClientMsgId), (MessageId, u64)>,
    order: VecDeque<(ClientId, ClientMsgId)>,
    capacity: usize,
}

impl Dedup {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            ..Self::default()
        }
    }

    pub(crate) fn get(&self, client: ClientId, id: ClientMsgId) -> Option<(MessageId, u64)> {
        self.seen.get(&(client, id)).copied()
    }

    pub(crate) fn insert(&mut self, client: ClientId, id: ClientMsgId, accepted: (MessageId, u64)) {
        if self.seen.insert((client, id), accepted).is_none() {
            self.order.push_back((client, id));
        }
        while self.order.len() > self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.seen.remove(&oldest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    #[test]
    fn dedup_is_bounded_oldest_first() {
        let mut dedup = Dedup::new(2);
        let client = ClientId::random();
        let ids: Vec<ClientMsgId> = (0..3).map(|_| ClientMsgId::random()).collect();
        for (n, id) in ids.iter().enumerate() {
            dedup.insert(
                client,
                *id,
                (MessageId::from_uuid(Uuid::from_u128(n as u128)), 0),
            );
        }
        assert!(dedup.get(client, ids[0]).is_none());
        assert_eq!(dedup.get(client, ids[2]).unwrap().0.as_uuid().as_u128(), 2);
        assert!(dedup.get(ClientId::random(), ids[2]).is_none());
    }
}
