//! The file transfer payloads: an offer and a piece of a file. The flow
//! (answers, credit, cancel) is in `message.rs`; the rules in
//! `docs/PROTOCOL.md` §5.4.

use serde::{Deserialize, Serialize};

use crate::{ids::TransferId, message::Target, text::ShortText};

/// A file offered by its sender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileOffer {
    /// The transfer's id.
    pub transfer: TransferId,
    /// The room (its members but the sender) or the user it is offered to.
    pub target: Target,
    /// The file's name as the sender has it; recipients sanitise it.
    pub name: ShortText,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256.
    pub sha256: [u8; 32],
}

/// A piece of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileChunk {
    /// The transfer.
    pub transfer: TransferId,
    /// Where the piece starts in the file; pieces come in order.
    pub offset: u64,
    /// The bytes.
    pub data: bytes::Bytes,
}
