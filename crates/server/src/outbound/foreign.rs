//! A queue drained by another protocol's connection instead of a socket
//! writer: the IRC gateway takes the frames the hub queued for one of its
//! users, translates them and writes the lines itself. Pushing, the bounds
//! and the slow-consumer kill are the queue's own, so a slow IRC reader is
//! isolated exactly like a native one.

use std::sync::{Arc, atomic::Ordering};

use bytes::Bytes;

use super::{Flusher, Outbound, Shared, Slot, lock, outbound};

/// Frames taken from a foreign queue at once: chat frames, then file
/// chunks (moved out of the queue, not copied).
pub(crate) type Taken = std::iter::Chain<
    std::collections::vec_deque::IntoIter<Bytes>,
    std::collections::vec_deque::IntoIter<Bytes>,
>;

/// The draining end of a foreign queue.
#[derive(Debug)]
pub(crate) struct ForeignQueue {
    shared: Arc<Shared>,
}

/// A queue bounded like a native client's whose frames [`ForeignQueue::next`]
/// hands out; `flusher` only wakes its owner when frames arrive.
pub(crate) fn foreign(
    max_frames: usize,
    max_bytes: usize,
    flusher: Arc<Flusher>,
) -> (Outbound, ForeignQueue) {
    let (outbound, queue) = outbound(max_frames, max_bytes, flusher);
    *lock(&queue.shared.socket) = Slot::Foreign;
    (
        outbound,
        ForeignQueue {
            shared: queue.shared,
        },
    )
}

impl ForeignQueue {
    /// Waits for queued frames and takes them all (chat frames, then file
    /// chunks); `None` once the connection was marked a slow consumer.
    pub(crate) async fn next(&self) -> Option<Taken> {
        let shared = &self.shared;
        loop {
            // Registered before looking, so a push in between counts.
            let woken = shared.task.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if shared.slow.load(Ordering::Acquire) {
                return None;
            }
            let taken = std::mem::take(&mut *shared.queue());
            // The next push schedules (and so wakes) again.
            shared.scheduled.store(false, Ordering::Release);
            if !taken.frames.is_empty() || !taken.bulk.is_empty() {
                return Some(taken.frames.into_iter().chain(taken.bulk));
            }
            woken.await;
        }
    }
}
