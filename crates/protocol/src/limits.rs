//! Protocol limits. Every one of them is enforced before the memory it
//! guards is allocated; the frame length is checked on the 4-byte prefix.

use serde::{Deserialize, Serialize};

/// Largest payload a frame may carry, in bytes (1 MiB). A length prefix above
/// this is rejected before any buffer is reserved for it.
pub const MAX_FRAME_LEN: usize = 1024 * 1024;

/// Largest chat text, in bytes of UTF-8 (4 KiB).
pub const MAX_TEXT_BYTES: usize = 4096;

/// Largest short single-line text (topics, reasons, names of servers and
/// clients), in bytes of UTF-8.
pub const MAX_SHORT_TEXT_BYTES: usize = 390;

/// Largest nick, in bytes of UTF-8.
pub const MAX_NICK_BYTES: usize = 32;

/// Largest room name including its leading `#`, in bytes of UTF-8.
pub const MAX_ROOM_BYTES: usize = 64;

/// Largest room password, in bytes of UTF-8.
pub const MAX_PASSWORD_BYTES: usize = 128;

/// Largest discovery datagram, in bytes. Stays under every common MTU.
pub const MAX_DATAGRAM_LEN: usize = 1200;

/// Largest file chunk, in bytes (64 KiB).
pub const MAX_CHUNK_LEN: usize = 64 * 1024;

/// Most messages one history page may carry.
pub const MAX_HISTORY_PAGE: u16 = 200;

/// Most matches one `SearchResults` may carry.
pub const MAX_SEARCH_RESULTS: u16 = 100;

/// The limits a server enforces on a connection, sent in `Welcome` so a client
/// can respect them instead of discovering them by error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Largest frame payload the server accepts, in bytes.
    pub max_frame_len: u32,
    /// Largest chat text, in bytes.
    pub max_text_bytes: u32,
    /// Largest nick, in bytes.
    pub max_nick_bytes: u16,
    /// Largest room name, in bytes.
    pub max_room_bytes: u16,
    /// Most rooms one connection may be in at once.
    pub max_rooms_per_client: u16,
    /// Sustained frames per second the server accepts from one client.
    pub rate_per_second: u32,
    /// Frames a client may send in a burst above the sustained rate.
    pub rate_burst: u32,
    /// Messages of recent history sent with `Joined`.
    pub history_on_join: u16,
    /// Largest file the server relays, in bytes.
    pub max_file_size: u64,
    /// File transfers one client may have under way at once (sending and
    /// receiving counted separately).
    pub max_transfers: u16,
    /// Bytes of one transfer the server lets in beyond what its slowest
    /// accepting recipient has consumed (the credit window).
    pub transfer_window: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame_len: MAX_FRAME_LEN as u32,
            max_text_bytes: MAX_TEXT_BYTES as u32,
            max_nick_bytes: MAX_NICK_BYTES as u16,
            max_room_bytes: MAX_ROOM_BYTES as u16,
            max_rooms_per_client: 50,
            rate_per_second: 20,
            rate_burst: 100,
            history_on_join: 50,
            max_file_size: 4 * 1024 * 1024 * 1024,
            max_transfers: 4,
            transfer_window: 512 * 1024,
        }
    }
}
