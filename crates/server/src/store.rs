//! Durable history: every room and direct message is written to an embedded
//! database (redb) before its sender gets the `Ack`. The committer thread
//! (`committer.rs`) group-commits: it takes every message queued meanwhile
//! (up to a thousand) into one transaction, commits, and only then reports
//! the commit with its waiters to the hub, which acknowledges them. The
//! store never sees a connection. Fan-out to the other members never waits
//! for it. Files: `schema.rs` (tables, version, keys), `record.rs` (what a
//! message becomes), `disk.rs` (open and read; `disk/` searches, resend records and IRC logins), `committer.rs` (write),
//! `migrate.rs` (older schemas); none of them imports another in a circle.
//!
//! Why redb: crash-safe (copy-on-write B-trees with checksummed commits,
//! recovered on the next open), pure Rust (no C toolchain in the build), one
//! file, and a lock that stops a second server from opening the same data.
//!
//! Schema (`schema.rs`; the version is in the `meta` table, checked at open):
//! - `messages`: (room, message id as u128) → the `ChatMessage`, encoded
//!   with the wire format (`huddle_protocol::encode_payload`); and
//!   (`@` + client id, message id) → a `DirectEntry`: each direct message
//!   is filed in its sender's and its recipient's mailbox. Retention counts
//!   each key separately. (Version 2 added mailboxes and the messages'
//!   `client_msg_id`; a version 1 database is upgraded in place at open,
//!   see `migrate.rs`.)
//! - `dedup`: (client id, client message id) → (message id, timestamp), so a
//!   resend after a crash is acknowledged again instead of stored twice.

mod committer;
mod disk;
mod migrate;
mod record;
mod schema;
mod usage;

use std::path::PathBuf;

pub(crate) use committer::{Commit, Limits as StoreLimits};
pub(crate) use disk::DiskStore;
pub(crate) use record::{Accepted, Record};
pub(crate) use schema::DEDUP_RETENTION_MILLIS;

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
