//! A connection's outbound side: a bounded queue of encoded frames, drained
//! by a flusher shared by many connections, with a task per connection for
//! the rare socket that cannot take a batch at once.
//!
//! Frames arrive already encoded as shared [`Bytes`] (one encoding, many
//! recipients). Pushing never waits: a client whose queue passes its bound
//! (frames or bytes) is marked slow and disconnected, so nobody else ever
//! waits for it. A push marks the connection dirty with its [`Flusher`]
//! (`flusher.rs`), which writes each dirty connection's whole queue with one
//! non-blocking syscall per pass, coalesced in the thread's buffer: fan-out
//! costs one syscall per recipient per pass, and no task wakes up for it.
//! When a socket is full, the flusher hands it (and what it did not take)
//! to the connection's writer task (`writer.rs`), which waits for it and
//! then hands it back. The writer task also drains the queue at the end.
//!
//! The socket is always in exactly one place: ready in `Shared::socket`
//! (the flusher may write), stalled there (handed over), or held by the
//! writer task; only its holder takes frames from the queue, so bytes go
//! out in queue order. The queue is a `VecDeque` under a mutex held only to
//! push or to take a batch, so an idle connection holds neither a queue
//! allocation nor a write buffer.

#[cfg(test)]
mod capture;
mod flusher;
mod foreign;
mod joined;
mod writer;

use std::{
    collections::VecDeque,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use bytes::{Bytes, BytesMut};
#[cfg(test)]
pub(crate) use capture::Captured;
pub(crate) use flusher::{Flusher, Flushers};
pub(crate) use foreign::{ForeignQueue, Taken, foreign};
use huddle_protocol::{ServerMessage, encode_frame};
pub(crate) use joined::{frames, join};
use tokio::sync::Notify;

use crate::link::WriteLink;
pub(crate) use writer::{WriterEnd, run_writer};

/// Stop coalescing once a write buffer holds this much.
const WRITE_BATCH_BYTES: usize = 256 * 1024;

/// A flusher passes over its dirty connections at most once per this
/// interval while frames keep coming: frames arriving sooner wait and go
/// out together. A frame after a quiet spell goes out at once. Under fan-out
/// load this turns one syscall per frame per recipient into one per pass,
/// which is what keeps latency low when a room is busy (see README,
/// workload 2).
pub(crate) const WRITE_INTERVAL: Duration = Duration::from_millis(2);

#[derive(Debug, Default)]
struct Queue {
    frames: VecDeque<Bytes>,
    bytes: usize,
    /// File chunks: written only when no chat frame is waiting.
    bulk: VecDeque<Bytes>,
    bulk_bytes: usize,
}

/// Most bytes of file chunks queued for one client (a few transfer windows).
const MAX_BULK_BYTES: usize = 8 * 1024 * 1024;

/// Where a connection's socket is.
#[derive(Debug)]
enum Slot {
    /// In place: the flusher writes to it.
    Ready(WriteLink),
    /// Handed to the writer task with the bytes it did not take.
    Stalled(WriteLink, BytesMut),
    /// Held by the writer task (or not installed yet, or gone).
    Away,
    /// No socket here: the queue is drained by another protocol's
    /// connection (`foreign.rs`), which the flusher only wakes.
    Foreign,
}

/// `repr(C)`: the fields every push touches (the queue, `slow`,
/// `scheduled`, the bounds) come first and together, so that queueing a
/// frame to each of a thousand connections touches as few cache lines of
/// each as it can.
#[derive(Debug)]
#[repr(C)]
struct Shared {
    queue: Mutex<Queue>,
    /// Set when the connection must die now (slow consumer).
    slow: AtomicBool,
    /// Set while the connection waits on its flusher's dirty list.
    scheduled: AtomicBool,
    max_frames: usize,
    max_bytes: usize,
    flusher: Arc<Flusher>,
    /// Where the socket is (see the module doc).
    socket: Mutex<Slot>,
    /// Wakes the writer task: a stall, a kill, or the last handle gone.
    task: Notify,
    /// Live [`Outbound`] handles; the writer drains and ends at zero.
    handles: AtomicUsize,
    /// Wakes whoever waits in [`Outbound::killed`] once `slow` is set.
    kill: Notify,
    /// When the client last said something (Unix ms; 0: not yet), for
    /// `Whois`'s idle time. Kept here because this is the state the hub
    /// and the connection's task already share, so it costs no allocation.
    spoke_at: AtomicU64,
}

/// A poisoned lock only means a panic elsewhere; the queue stays valid.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        lock(&self.queue)
    }

    /// Puts the connection on its flusher's dirty list, once.
    fn schedule(self: &Arc<Self>) {
        // Most pushes find it scheduled already: no locked instruction then.
        if !self.scheduled.load(Ordering::Acquire) && !self.scheduled.swap(true, Ordering::AcqRel) {
            self.flusher.mark(self.clone());
        }
    }

    /// Bytes waiting to be written (every frame has at least its header).
    fn queued_bytes(&self) -> usize {
        let queue = self.queue();
        queue.bytes + queue.bulk_bytes
    }

    /// Frames and bytes waiting (chat and file chunks together).
    fn depth(&self) -> (usize, usize) {
        let queue = self.queue();
        (
            queue.frames.len() + queue.bulk.len(),
            queue.bytes + queue.bulk_bytes,
        )
    }

    /// Moves queued frames into `buffer` (up to the batch size), chat
    /// frames first: a file transfer never delays a message.
    fn take_batch(&self, buffer: &mut BytesMut) {
        let mut queue = self.queue();
        while buffer.len() < WRITE_BATCH_BYTES {
            let Some(frame) = queue.frames.pop_front() else {
                break;
            };
            queue.bytes -= frame.len();
            buffer.extend_from_slice(&frame);
        }
        while buffer.len() < WRITE_BATCH_BYTES {
            let Some(frame) = queue.bulk.pop_front() else {
                break;
            };
            queue.bulk_bytes -= frame.len();
            buffer.extend_from_slice(&frame);
        }
        // Give back whatever a burst made the queues grow to.
        if queue.frames.is_empty() {
            queue.frames = VecDeque::new();
        }
        if queue.bulk.is_empty() {
            queue.bulk = VecDeque::new();
        }
    }

    /// Resolves once the connection is marked slow.
    async fn killed(&self) {
        loop {
            let notified = self.kill.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.slow.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }
}

/// The handle other tasks use to queue frames for one client. Cheap to clone.
#[derive(Debug)]
pub(crate) struct Outbound {
    shared: Arc<Shared>,
}

impl Clone for Outbound {
    fn clone(&self) -> Self {
        self.shared.handles.fetch_add(1, Ordering::Relaxed);
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for Outbound {
    fn drop(&mut self) {
        if self.shared.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.task.notify_one();
        }
    }
}

/// Why a frame was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PushError {
    /// The client is (now) a slow consumer and is being disconnected.
    Slow,
    /// The message could not be encoded.
    Encode,
}

impl Outbound {
    /// The client said something at `at` (Unix ms).
    pub(crate) fn note_spoke(&self, at: u64) {
        self.shared.spoke_at.store(at, Ordering::Relaxed);
    }

    /// When the client last said something (Unix ms), if it has.
    pub(crate) fn spoke_at(&self) -> Option<u64> {
        match self.shared.spoke_at.load(Ordering::Relaxed) {
            0 => None,
            at => Some(at),
        }
    }

    /// Queues one encoded frame, never waiting.
    pub(crate) fn push(&self, frame: Bytes) -> Result<(), PushError> {
        self.enqueue(frame, false)
    }

    /// Queues a file chunk behind every chat frame. Credit keeps this queue
    /// short; a client that lets it grow past its bound is too slow.
    pub(crate) fn push_bulk(&self, frame: Bytes) -> Result<(), PushError> {
        self.enqueue(frame, true)
    }

    fn enqueue(&self, frame: Bytes, bulk: bool) -> Result<(), PushError> {
        let shared = &self.shared;
        if shared.slow.load(Ordering::Relaxed) {
            return Err(PushError::Slow);
        }
        {
            let mut queue = shared.queue();
            let full = if bulk {
                queue.bulk_bytes + frame.len() > MAX_BULK_BYTES
            } else {
                queue.frames.len() >= shared.max_frames
                    || queue.bytes + frame.len() > shared.max_bytes
            };
            if full {
                drop(queue);
                self.mark_slow();
                return Err(PushError::Slow);
            }
            if bulk {
                queue.bulk_bytes += frame.len();
                queue.bulk.push_back(frame);
            } else {
                queue.bytes += frame.len();
                queue.frames.push_back(frame);
            }
        }
        shared.schedule();
        Ok(())
    }

    /// Encodes and queues one message.
    pub(crate) fn send(&self, message: &ServerMessage) -> Result<(), PushError> {
        match encode_frame(message) {
            Ok(frame) => self.push(frame),
            Err(err) => {
                tracing::error!(%err, "cannot encode a server message");
                Err(PushError::Encode)
            }
        }
    }

    /// Resolves when the connection must die at once.
    pub(crate) async fn killed(&self) {
        self.shared.killed().await;
    }

    /// Whether a quarter of the queue's bound (frames or bytes) is taken.
    pub(crate) fn filling(&self) -> bool {
        let (frames, bytes) = self.shared.depth();
        frames * 4 > self.shared.max_frames || bytes * 4 > self.shared.max_bytes
    }

    /// Frames and bytes waiting to be written, and whether the socket is
    /// with the writer task (full).
    pub(crate) fn depth(&self) -> (usize, usize, bool) {
        let (frames, bytes) = self.shared.depth();
        let stalled = matches!(&*lock(&self.shared.socket), Slot::Stalled(..));
        (frames, bytes, stalled)
    }

    fn mark_slow(&self) {
        if !self.shared.slow.swap(true, Ordering::AcqRel) {
            (self.shared.flusher.metrics.slow_consumers).fetch_add(1, Ordering::Relaxed);
            self.shared.kill.notify_waiters();
            self.shared.task.notify_one();
        }
    }
}

/// The receiving end, owned by the writer task.
#[derive(Debug)]
pub(crate) struct OutboundQueue {
    shared: Arc<Shared>,
}

/// A new queue bounded by `max_frames` frames and `max_bytes` bytes,
/// written by `flusher` once [`run_writer`] gives it the socket.
pub(crate) fn outbound(
    max_frames: usize,
    max_bytes: usize,
    flusher: Arc<Flusher>,
) -> (Outbound, OutboundQueue) {
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue::default()),
        socket: Mutex::new(Slot::Away),
        scheduled: AtomicBool::new(false),
        flusher,
        task: Notify::new(),
        handles: AtomicUsize::new(1),
        max_frames: max_frames.max(1),
        max_bytes,
        slow: AtomicBool::new(false),
        kill: Notify::new(),
        spoke_at: AtomicU64::new(0),
    });
    (
        Outbound {
            shared: shared.clone(),
        },
        OutboundQueue { shared },
    )
}

#[cfg(test)]
mod tests;
