//! A connection's outbound side: a bounded queue of encoded frames and the
//! writer task that drains it.
//!
//! Frames arrive already encoded as shared [`Bytes`] (one encoding, many
//! recipients). The writer coalesces everything queued into one buffer (the
//! runtime thread's, not the connection's: a connection keeps a buffer only
//! while its socket is full) and writes it with one syscall, which is what
//! makes fan-out fast. Pushing never
//! waits: a client whose queue passes its bound (frames or bytes) is marked
//! slow and disconnected, so nobody else ever waits for it.
//!
//! The queue is a `VecDeque` under a mutex held only to push or to take a
//! batch (never across an `.await`), so an idle connection holds neither a
//! queue allocation nor a write buffer.

use std::{
    cell::RefCell,
    collections::VecDeque,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use bytes::{Bytes, BytesMut};
use futures_util::FutureExt;
use huddle_protocol::{
    ErrorCode, ErrorReport, RequestKind, ServerMessage, ShortText, encode_frame,
};
use tokio::{
    io::{AsyncWrite, AsyncWriteExt},
    sync::Notify,
};

/// Stop coalescing once a write buffer holds this much.
const WRITE_BATCH_BYTES: usize = 256 * 1024;

/// A connection is written to at most once per this interval while frames
/// keep coming: frames arriving sooner wait and go out together. A frame
/// after a quiet spell goes out at once. Under fan-out load this turns one
/// syscall per frame per recipient into one per interval, which is what
/// keeps latency low when a room is busy (see README, workload 2).
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

#[derive(Debug)]
struct Shared {
    queue: Mutex<Queue>,
    /// Wakes the writer when a frame is queued or the last handle is gone.
    ready: Notify,
    /// Live [`Outbound`] handles; the writer drains and ends at zero.
    handles: AtomicUsize,
    max_frames: usize,
    max_bytes: usize,
    /// Set when the connection must die now (slow consumer).
    slow: AtomicBool,
    /// Wakes whoever waits in [`Outbound::killed`] once `slow` is set (a
    /// `Notify` in place rather than a cancellation token: no allocation of
    /// its own per connection).
    kill: Notify,
}

impl Shared {
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

impl Shared {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        // The queue stays consistent even if a holder panicked.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
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
            self.shared.ready.notify_one();
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
    /// Queues one encoded frame, never waiting.
    pub(crate) fn push(&self, frame: Bytes) -> Result<(), PushError> {
        let shared = &self.shared;
        if shared.slow.load(Ordering::Relaxed) {
            return Err(PushError::Slow);
        }
        {
            let mut queue = shared.queue();
            if queue.frames.len() >= shared.max_frames
                || queue.bytes + frame.len() > shared.max_bytes
            {
                drop(queue);
                self.mark_slow();
                return Err(PushError::Slow);
            }
            queue.bytes += frame.len();
            queue.frames.push_back(frame);
        }
        shared.ready.notify_one();
        Ok(())
    }

    /// Queues a file chunk behind every chat frame. Credit keeps this queue
    /// short; a client that lets it grow past its bound is too slow.
    pub(crate) fn push_bulk(&self, frame: Bytes) -> Result<(), PushError> {
        let shared = &self.shared;
        if shared.slow.load(Ordering::Relaxed) {
            return Err(PushError::Slow);
        }
        {
            let mut queue = shared.queue();
            if queue.bulk_bytes + frame.len() > MAX_BULK_BYTES {
                drop(queue);
                self.mark_slow();
                return Err(PushError::Slow);
            }
            queue.bulk_bytes += frame.len();
            queue.bulk.push_back(frame);
        }
        shared.ready.notify_one();
        Ok(())
    }

    /// Encodes and queues one message for this client alone.
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

    fn mark_slow(&self) {
        if !self.shared.slow.swap(true, Ordering::AcqRel) {
            self.shared.kill.notify_waiters();
            self.shared.ready.notify_one();
        }
    }
}

/// The receiving end, owned by the writer task.
#[derive(Debug)]
pub(crate) struct OutboundQueue {
    shared: Arc<Shared>,
}

/// A new queue bounded by `max_frames` frames and `max_bytes` bytes.
pub(crate) fn outbound(max_frames: usize, max_bytes: usize) -> (Outbound, OutboundQueue) {
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue::default()),
        ready: Notify::new(),
        handles: AtomicUsize::new(1),
        max_frames: max_frames.max(1),
        max_bytes,
        slow: AtomicBool::new(false),
        kill: Notify::new(),
    });
    (
        Outbound {
            shared: shared.clone(),
        },
        OutboundQueue { shared },
    )
}

/// How the writer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriterEnd {
    /// Every handle was dropped and everything queued was written.
    Drained,
    /// The client was too slow; the queue was discarded.
    Slow,
    /// The socket failed.
    Failed,
}

impl OutboundQueue {
    /// Moves queued frames into `buffer` (up to the batch size). Returns
    /// false when nothing is queued.
    fn take_batch(&self, buffer: &mut BytesMut) -> bool {
        let mut queue = self.shared.queue();
        if queue.frames.is_empty() && queue.bulk.is_empty() {
            return false;
        }
        // Chat first: a file transfer never delays a message.
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
        true
    }

    /// Whether a whole batch is waiting (no point pausing for more).
    fn has_full_batch(&self) -> bool {
        let queue = self.shared.queue();
        queue.bytes + queue.bulk_bytes >= WRITE_BATCH_BYTES
    }

    fn is_empty(&self) -> bool {
        let queue = self.shared.queue();
        queue.frames.is_empty() && queue.bulk.is_empty()
    }
}

thread_local! {
    /// One coalescing buffer per runtime thread: a connection needs a write
    /// buffer of its own only while the socket cannot take a batch at once.
    static SCRATCH: RefCell<BytesMut> = RefCell::new(BytesMut::new());
}

/// Bigger than this, a thread's scratch buffer is given back after use.
const MAX_SCRATCH_BYTES: usize = 2 * WRITE_BATCH_BYTES;

/// Takes a batch from `queue` and writes what the socket accepts at once;
/// returns what it did not take (`None` if everything went out).
fn write_now<W: AsyncWrite + Unpin>(
    socket: &mut W,
    queue: &OutboundQueue,
) -> std::io::Result<Option<BytesMut>> {
    SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        scratch.clear();
        queue.take_batch(&mut scratch);
        let rest = match socket.write(&scratch).now_or_never() {
            Some(Ok(0)) if !scratch.is_empty() => {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            Some(Ok(written)) if written == scratch.len() => None,
            Some(Ok(written)) => Some(BytesMut::from(&scratch[written..])),
            Some(Err(err)) => return Err(err),
            None => Some(BytesMut::from(&scratch[..])),
        };
        if scratch.capacity() > MAX_SCRATCH_BYTES {
            *scratch = BytesMut::new();
        }
        Ok(rest)
    })
}

/// Drains `queue` into `socket` until every [`Outbound`] handle is dropped
/// (then everything queued has been written) or the connection is killed.
/// The caller bounds the final flush by aborting the task after a timeout.
pub(crate) async fn run_writer<W: AsyncWrite + Unpin>(
    mut socket: W,
    queue: OutboundQueue,
    write_interval: Duration,
) -> WriterEnd {
    let shared = queue.shared.clone();
    let mut last_write: Option<tokio::time::Instant> = None;
    let end = loop {
        // Registered before looking at the queue, so a push in between wakes
        // us. A kill also notifies, so waiting here needs no second future.
        let ready = shared.ready.notified();
        tokio::pin!(ready);
        ready.as_mut().enable();
        if shared.slow.load(Ordering::Relaxed) {
            break WriterEnd::Slow;
        }
        if queue.is_empty() {
            if shared.handles.load(Ordering::Acquire) == 0 {
                break WriterEnd::Drained;
            }
            ready.await;
            continue;
        }
        if let Some(wait) = last_write.and_then(|at| {
            (at + write_interval).checked_duration_since(tokio::time::Instant::now())
        }) && !wait.is_zero()
            && !queue.has_full_batch()
        {
            // A kill waits at most this pause (one write interval).
            tokio::time::sleep(wait).await;
            if shared.slow.load(Ordering::Relaxed) {
                break WriterEnd::Slow;
            }
        }
        let rest = match write_now(&mut socket, &queue) {
            Ok(rest) => rest,
            Err(_) => break WriterEnd::Failed,
        };
        if let Some(rest) = rest {
            // The socket is full: wait for it, unless the client is killed.
            let written = tokio::select! {
                biased;
                () = shared.killed() => break WriterEnd::Slow,
                written = socket.write_all(&rest) => written,
            };
            if written.is_err() {
                break WriterEnd::Failed;
            }
        }
        last_write = Some(tokio::time::Instant::now());
    };
    if end == WriterEnd::Slow {
        // Best effort: tell the client why, if its socket still takes bytes.
        let report = ServerMessage::Error(ErrorReport {
            code: ErrorCode::SlowConsumer,
            text: ShortText::lossy("you are not reading fast enough; disconnecting"),
            request: RequestKind::Unparsed,
            id: None,
        });
        if let Ok(frame) = encode_frame(&report) {
            let _ =
                tokio::time::timeout(Duration::from_millis(100), socket.write_all(&frame)).await;
        }
    }
    let _ = tokio::time::timeout(Duration::from_millis(100), socket.shutdown()).await;
    end
}

#[cfg(test)]
mod tests;
