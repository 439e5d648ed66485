//! A room message reaches many IRC users as one shared frame: each runtime
//! thread decodes (and validates) it once, and writes its IRC line once
//! per capability set, for every member to copy.

use std::{
    cell::{OnceCell, RefCell},
    collections::{HashMap, VecDeque},
    hash::BuildHasherDefault,
    rc::Rc,
};

use bytes::Bytes;
use huddle_protocol::ServerMessage;
use tracing::debug;

/// Frames decoded lately on this thread, each kept with the frame (so its
/// address is not reused while here): a room message reaches many IRC
/// users as one shared frame, and is decoded (and validated) once. Enough
/// for every frame of a busy pass to stay while each user takes its batch.
const DECODED_KEPT: usize = 4096;

/// A frame's identity: its address and length.
type FrameKey = (usize, usize);

/// Hashes a frame's address: already unique, so no SipHash is needed.
#[derive(Default)]
struct AddressHasher(u64);

impl std::hash::Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x100_0000_01b3);
        }
    }

    fn write_usize(&mut self, value: usize) {
        self.0 = (self.0 ^ value as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

#[derive(Default)]
struct DecodedFrames {
    /// Each kept frame's position in the order it was first decoded.
    by_frame: HashMap<FrameKey, u64, BuildHasherDefault<AddressHasher>>,
    /// The kept frames, oldest first; `entries[0]` is number `first`.
    entries: VecDeque<(FrameKey, Bytes, Rc<Decoded>)>,
    first: u64,
    /// The number after the last frame looked up: users take the same
    /// frames in the same order, so the next lookup is most often this one
    /// (no hashing at all).
    cursor: u64,
    /// Room names, one allocation per room on this thread, so that
    /// telling whether two messages share a room is a pointer comparison.
    rooms: HashMap<String, Rc<huddle_protocol::RoomName>>,
}

/// Most rooms interned per thread before the table starts again.
const ROOMS_KEPT: usize = 1024;

/// A decoded frame and, for a room message, its room (interned on this
/// thread) and its IRC line as written to users, by caps: `server-time`
/// (bit 0), `message-tags` (bit 1) — the same for every member.
pub(crate) struct Decoded {
    pub(crate) message: ServerMessage,
    pub(crate) room: Option<Rc<huddle_protocol::RoomName>>,
    pub(crate) room_lines: [OnceCell<String>; 4],
}

thread_local! {
    static DECODED: RefCell<DecodedFrames> = std::cell::RefCell::default();
}

impl DecodedFrames {
    fn get(&mut self, key: FrameKey) -> Option<Rc<Decoded>> {
        let at = |number: u64| usize::try_from(number.checked_sub(self.first)?).ok();
        let next = at(self.cursor).and_then(|at| self.entries.get(at));
        let number = match next {
            Some((next_key, _, _)) if *next_key == key => self.cursor,
            _ => *self.by_frame.get(&key)?,
        };
        let (_, _, decoded) = self.entries.get(at(number)?)?;
        self.cursor = number + 1;
        Some(decoded.clone())
    }

    fn keep(&mut self, key: FrameKey, frame: &Bytes, decoded: &Rc<Decoded>) {
        if self.entries.len() == DECODED_KEPT
            && let Some((oldest, _, _)) = self.entries.pop_front()
        {
            self.by_frame.remove(&oldest);
            self.first += 1;
        }
        let number = self.first + self.entries.len() as u64;
        self.entries
            .push_back((key, frame.clone(), decoded.clone()));
        self.by_frame.insert(key, number);
        self.cursor = number + 1;
    }

    fn intern(&mut self, room: &huddle_protocol::RoomName) -> Rc<huddle_protocol::RoomName> {
        if let Some(known) = self.rooms.get(room.folded()) {
            return known.clone();
        }
        if self.rooms.len() >= ROOMS_KEPT {
            self.rooms.clear();
        }
        let interned = Rc::new(room.clone());
        self.rooms
            .insert(room.folded().to_owned(), interned.clone());
        interned
    }
}

/// `frame` decoded, from the thread's cache when another user had it.
#[cfg(test)]
fn decoded(frame: &Bytes) -> Option<Rc<Decoded>> {
    decoded_in(frame, 0..frame.len())
}

/// The frame at `range` of a queue entry decoded, from the thread's cache
/// when another user had it (the entry is only sliced on a miss).
pub(crate) fn decoded_in(entry: &Bytes, range: std::ops::Range<usize>) -> Option<Rc<Decoded>> {
    let key = (entry.as_ptr() as usize + range.start, range.len());
    DECODED.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(decoded) = cache.get(key) {
            return Some(decoded);
        }
        let frame = entry.slice(range);
        let payload = frame.get(huddle_protocol::codec::HEADER_LEN..)?;
        let message = match huddle_protocol::decode_payload::<ServerMessage>(payload) {
            Ok(message) => message,
            Err(err) => {
                debug!(%err, "a queued frame did not decode");
                return None;
            }
        };
        let room = match &message {
            ServerMessage::Chat(huddle_protocol::ChatMessage {
                target: huddle_protocol::Target::Room(room),
                ..
            }) => Some(cache.intern(room)),
            _ => None,
        };
        let decoded = Rc::new(Decoded {
            message,
            room,
            room_lines: Default::default(),
        });
        cache.keep(key, &frame, &decoded);
        Some(decoded)
    })
}

#[cfg(test)]
mod tests {
    use huddle_protocol::{
        ChatMessage, ChatText, ClientMsgId, MessageId, MessageKind, Nick, RoomName, Target,
        encode_frame,
    };

    use super::*;

    fn frame(n: u128, room: &str) -> Bytes {
        let message = ChatMessage {
            id: MessageId::from_uuid(uuid::Uuid::from_u128(n)),
            target: Target::Room(RoomName::new(room).unwrap()),
            from: Nick::new("al").unwrap(),
            kind: MessageKind::Normal,
            text: ChatText::new("hi").unwrap(),
            timestamp: 0,
            client_msg_id: ClientMsgId::random(),
        };
        encode_frame(&ServerMessage::Chat(message)).unwrap()
    }

    #[test]
    fn users_taking_the_same_frames_share_one_decoding_and_one_room() {
        let frames: Vec<Bytes> = (0..5).map(|n| frame(n, "#lan")).collect();
        let other = frame(9, "#LAN-2");
        let first: Vec<Rc<Decoded>> = frames.iter().map(|f| decoded(f).unwrap()).collect();
        // Another user, the same frames in the same order (the cursor), and
        // one out of order (the map).
        for (f, seen) in frames.iter().zip(&first) {
            assert!(Rc::ptr_eq(&decoded(f).unwrap(), seen));
        }
        assert!(Rc::ptr_eq(&decoded(&frames[2]).unwrap(), &first[2]));
        let rooms: Vec<_> = first.iter().map(|d| d.room.clone().unwrap()).collect();
        assert!(rooms.windows(2).all(|w| Rc::ptr_eq(&w[0], &w[1])));
        let elsewhere = decoded(&other).unwrap().room.clone().unwrap();
        assert!(!Rc::ptr_eq(&elsewhere, &rooms[0]));
        assert!(decoded(&Bytes::from_static(b"\0\0\0\x05junk!")).is_none());
    }
}
