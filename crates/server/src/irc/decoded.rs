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
    by_frame: HashMap<FrameKey, (Bytes, Rc<Decoded>), BuildHasherDefault<AddressHasher>>,
    order: VecDeque<FrameKey>,
}

/// A decoded frame and, for a room message, its IRC line as written to
/// users, by caps: `server-time` (bit 0), `message-tags` (bit 1) — the same for every member.
pub(crate) struct Decoded {
    pub(crate) message: ServerMessage,
    pub(crate) room_lines: [OnceCell<String>; 4],
}

thread_local! {
    static DECODED: RefCell<DecodedFrames> = std::cell::RefCell::default();
}

/// `frame` decoded, from the thread's cache when another user had it.
pub(crate) fn decoded(frame: &Bytes) -> Option<Rc<Decoded>> {
    let key = (frame.as_ptr() as usize, frame.len());
    DECODED.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some((_, message)) = cache.by_frame.get(&key) {
            return Some(message.clone());
        }
        let payload = frame.get(huddle_protocol::codec::HEADER_LEN..)?;
        let message = match huddle_protocol::decode_payload::<ServerMessage>(payload) {
            Ok(message) => Rc::new(Decoded {
                message,
                room_lines: Default::default(),
            }),
            Err(err) => {
                debug!(%err, "a queued frame did not decode");
                return None;
            }
        };
        if cache.order.len() == DECODED_KEPT
            && let Some(oldest) = cache.order.pop_front()
        {
            cache.by_frame.remove(&oldest);
        }
        cache.order.push_back(key);
        cache.by_frame.insert(key, (frame.clone(), message.clone()));
        Some(message)
    })
}
