//! The database layout: table definitions, the schema version, and how keys
//! are formed. The reader (`disk.rs`), the committer and the migration all
//! build on this file and on nothing of each other's.

use huddle_protocol::ClientId;
use redb::TableDefinition;

/// The schema this server writes and reads. Version 3 added `rooms`,
/// `dedup_age` and `messages_bytes`;
/// version 2 mailboxes and the messages' `client_msg_id` (`migrate.rs`).
pub(crate) const SCHEMA_VERSION: u64 = 3;

/// (room or mailbox key, message id) → the wire encoding of a `ChatMessage`
/// (rooms) or a `DirectEntry` (mailboxes).
pub(super) const MESSAGES: TableDefinition<(&str, u128), &[u8]> = TableDefinition::new("messages");

/// (client id, client message id) → (message id, timestamp): what a resend
/// is acknowledged as.
pub(super) const DEDUP: TableDefinition<(u128, u128), (u128, u64)> = TableDefinition::new("dedup");

/// Room (folded name) → its `RoomMeta` (name as created, topic, password
/// hash), encoded with the wire format: what a room keeps across restarts
/// and eviction besides its messages.
pub(super) const ROOMS: TableDefinition<&str, &[u8]> = TableDefinition::new("rooms");

/// Nick (folded) → (client id, Unix ms): the key that holds the nick, and
/// until when (see `hub/nick_bindings.rs`). Added within version 3: a
/// table a server creates when it opens a database without it.
pub(super) const NICKS: TableDefinition<&str, (u128, u64)> = TableDefinition::new("nicks");

/// Client id → the wire encoding of its IRC login (`hub/irc_logins.rs`):
/// the key and the Argon2id hash of the password an IRC client logs in
/// with. Added within version 3, like `nicks`.
pub(super) const IRC_LOGINS: TableDefinition<u128, &[u8]> = TableDefinition::new("irc_logins");

/// (timestamp, client id, client message id) → (): the `dedup` rows by age,
/// so the committer deletes those past their window as it goes.
pub(super) const DEDUP_AGE: TableDefinition<(u64, u128, u128), ()> =
    TableDefinition::new("dedup_age");

/// `schema_version` → [`SCHEMA_VERSION`]; `messages_bytes` → the size of
/// `messages` (see `usage.rs`).
pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// Resends are recognised for this long (across restarts too); a wall
/// clock rule, since it outlives the process.
pub(crate) const DEDUP_RETENTION_MILLIS: u64 = 24 * 60 * 60 * 1000;

/// The key under which a client's mailbox is stored in `messages`: room
/// keys always start with `#`, so the two never meet.
pub(super) fn mailbox_key(owner: ClientId) -> String {
    format!("@{}", owner.as_uuid())
}
