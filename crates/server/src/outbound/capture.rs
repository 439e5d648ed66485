//! A capturing form of [`Outbound`] for tests: frames are queued as usual
//! but nobody writes them; the test takes them back as decoded messages.
//! This is what lets the hub be tested without sockets or sleeps.

use std::sync::{Arc, atomic::Ordering};

use huddle_protocol::{ServerMessage, codec::HEADER_LEN, decode_payload};

use super::{Flusher, Outbound, Shared, outbound};

/// The test's end of a captured [`Outbound`].
#[derive(Debug)]
pub(crate) struct Captured {
    shared: Arc<Shared>,
}

impl Outbound {
    /// A queue with the server's default bounds whose frames nobody writes:
    /// [`Captured::take`] returns them.
    pub(crate) fn capture() -> (Outbound, Captured) {
        Self::capture_bounded(4096, 4 * 1024 * 1024)
    }

    /// [`Outbound::capture`] with chosen bounds (to test slow consumers).
    pub(crate) fn capture_bounded(max_frames: usize, max_bytes: usize) -> (Outbound, Captured) {
        let (outbound, queue) = outbound(
            max_frames,
            max_bytes,
            Flusher::new(super::WRITE_INTERVAL, std::sync::Arc::default()),
        );
        (
            outbound,
            Captured {
                shared: queue.shared,
            },
        )
    }
}

impl Captured {
    /// Every frame queued since the last call (chat frames, then file
    /// chunks), decoded.
    pub(crate) fn take(&self) -> Vec<ServerMessage> {
        let taken = std::mem::take(&mut *self.shared.queue());
        let entries = taken.frames.into_iter().chain(taken.bulk);
        let frames: Vec<_> = entries
            .flat_map(|entry| {
                super::frames(&entry)
                    .map(|r| entry.slice(r))
                    .collect::<Vec<_>>()
            })
            .collect();
        // Let the next push count as new work, as a flusher's pass would.
        self.shared.scheduled.store(false, Ordering::Release);
        frames
            .iter()
            .map(|frame| match decode_payload(&frame[HEADER_LEN..]) {
                Ok(message) => message,
                Err(err) => panic!("the hub queued a frame that does not decode: {err}"),
            })
            .collect()
    }

    /// Whether the connection was marked a slow consumer.
    pub(crate) fn is_slow(&self) -> bool {
        self.shared.slow.load(Ordering::Acquire)
    }
}
