//! The IRC gateway (`--irc-bind`, off by default): weechat and irssi users
//! join the same rooms as huddle users. An IRC connection registers a nick
//! in the same registry and is then served by the same [`Dispatcher`] as a
//! native client (rate limit, join throttles, room limits, keepalive):
//! `session.rs` turns each IRC command into the requests a native client
//! would send, and `replies.rs` writes each frame the hub queues for the
//! user as IRC lines. Its queue is a native client's queue drained by this
//! task (`outbound/foreign.rs`), so a slow IRC reader is dropped exactly
//! like a slow native one and nobody else waits for it.
//!
//! `line.rs` is the line codec; `registration.rs` the welcome (CAP, NICK,
//! USER, the 001–005 numerics and the MOTD). The mapping rules are written
//! down in docs/IRC.md.

mod line;
mod registration;
mod replay;
mod replies;
mod session;

use std::{net::SocketAddr, sync::Arc};

use huddle_protocol::ServerMessage;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream, tcp::OwnedReadHalf},
};
use tracing::{debug, info, warn};

pub(crate) use registration::cap_reply;
use session::Session;

use crate::{
    admission::{Admission, Admissions},
    connection::Context,
    dispatch::{Departure, Dispatcher},
    metrics::ConnectionOutcome,
    outbound::ForeignQueue,
};

/// Reads lines off a socket: one buffer, bounded; a line longer than IRC
/// allows is answered (417) and skipped, never buffered whole.
#[derive(Debug)]
struct LineReader {
    socket: OwnedReadHalf,
    buffer: Vec<u8>,
    /// Skipping the rest of an overlong line.
    skipping: bool,
}

/// What the reader produced.
#[derive(Debug)]
enum Read {
    Line(Vec<u8>),
    TooLong,
    Closed,
}

impl LineReader {
    fn new(socket: OwnedReadHalf) -> Self {
        Self {
            socket,
            buffer: Vec::new(),
            skipping: false,
        }
    }

    async fn next(&mut self) -> Read {
        let limit = line::MAX_TAGS + line::MAX_LINE;
        loop {
            if let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
                let mut line: Vec<u8> = self.buffer.drain(..=end).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if std::mem::take(&mut self.skipping) {
                    continue;
                }
                return Read::Line(line);
            }
            if self.buffer.len() > limit {
                self.buffer.clear();
                if !std::mem::replace(&mut self.skipping, true) {
                    return Read::TooLong;
                }
            }
            let mut chunk = [0u8; 2048];
            match self.socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return Read::Closed,
                Ok(read) => self.buffer.extend_from_slice(&chunk[..read]),
            }
        }
    }
}

/// Accepts IRC connections until shutdown, within the same admission
/// limits as native ones.
pub(crate) async fn serve(
    listener: TcpListener,
    context: Arc<Context>,
    admissions: Arc<Admissions>,
) {
    if let Ok(addr) = listener.local_addr() {
        info!(%addr, "IRC gateway listening");
    }
    let marks = Arc::new(replay::ReplayMarks::default());
    loop {
        let (stream, peer) = tokio::select! {
            () = context.shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    warn!(%err, "IRC accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        match admissions.admit(peer.ip(), &context.config) {
            Ok(admission) => {
                let gateway = (context.clone(), marks.clone());
                context
                    .tasks
                    .spawn(serve_connection(stream, peer, gateway, admission));
            }
            Err((_, text)) => {
                context
                    .hub
                    .metrics()
                    .connection(ConnectionOutcome::RefusedByLimits);
                let mut stream = stream;
                let line = line::format("", "", "ERROR", &[&text]);
                let _ = tokio::time::timeout(
                    std::time::Duration::from_millis(200),
                    stream.write_all(line.as_bytes()),
                )
                .await;
            }
        }
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    (context, marks): (Arc<Context>, Arc<replay::ReplayMarks>),
    mut admission: Admission,
) {
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let mut reader = LineReader::new(read);
    let Some(entered) =
        registration::register(&mut reader, &mut write, peer, (&context, &marks)).await
    else {
        context
            .hub
            .metrics()
            .connection(ConnectionOutcome::RefusedHello);
        return;
    };
    admission.greeted();
    context.hub.metrics().connection(ConnectionOutcome::Greeted);
    let registration::Entered {
        mut session,
        mut dispatcher,
        queue,
        outbound,
    } = entered;
    info!(%peer, nick = %dispatcher.nick, "IRC user connected");
    let end = chat(
        &mut reader,
        &mut write,
        &mut session,
        &mut dispatcher,
        &queue,
        &outbound,
        &context,
    )
    .await;
    let reason = match &end {
        Departure::Quit(reason) => reason.clone(),
        other => huddle_protocol::ShortText::lossy(&other.to_string()),
    };
    let announce = (end != Departure::Shutdown).then_some(&reason);
    context.hub.quit(
        dispatcher.conn,
        &dispatcher.nick,
        &dispatcher.rooms,
        announce,
    );
    session.save_marks();
    // Last words (a Bye, an ERROR), briefly.
    let mut out = String::new();
    if let Ok(frames) =
        tokio::time::timeout(std::time::Duration::from_millis(10), queue.next()).await
    {
        translate_all(&mut session, frames.unwrap_or_default(), &mut out);
    }
    if out.is_empty() {
        out = line::format("", "", "ERROR", &[&format!("Closing link: {end}")]);
    }
    let _ = tokio::time::timeout(
        context.config.flush_timeout,
        write.write_all(out.as_bytes()),
    )
    .await;
    info!(%peer, nick = %dispatcher.nick, reason = %end, "IRC user disconnected");
}

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
    by_frame: std::collections::HashMap<
        FrameKey,
        (bytes::Bytes, std::rc::Rc<Decoded>),
        std::hash::BuildHasherDefault<AddressHasher>,
    >,
    order: std::collections::VecDeque<FrameKey>,
}

/// A decoded frame and, for a room message, its IRC line as written to
/// users without and with `server-time` (the same for every member).
struct Decoded {
    message: ServerMessage,
    room_lines: [std::cell::OnceCell<String>; 2],
}

thread_local! {
    static DECODED: std::cell::RefCell<DecodedFrames> = std::cell::RefCell::default();
}

/// `frame` decoded, from the thread's cache when another user had it.
fn decoded(frame: &bytes::Bytes) -> Option<std::rc::Rc<Decoded>> {
    let key = (frame.as_ptr() as usize, frame.len());
    DECODED.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some((_, message)) = cache.by_frame.get(&key) {
            return Some(message.clone());
        }
        let payload = frame.get(huddle_protocol::codec::HEADER_LEN..)?;
        let message = match huddle_protocol::decode_payload::<ServerMessage>(payload) {
            Ok(message) => std::rc::Rc::new(Decoded {
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

fn translate_all(session: &mut Session, frames: Vec<bytes::Bytes>, out: &mut String) {
    out.reserve(frames.len() * 128);
    for frame in frames {
        let Some(decoded) = decoded(&frame) else {
            continue;
        };
        match &decoded.message {
            ServerMessage::Chat(chat) if let huddle_protocol::Target::Room(room) = &chat.target => {
                session.shown(room, chat.id);
                let tagged = usize::from(session.caps.server_time);
                out.push_str(decoded.room_lines[tagged].get_or_init(|| session.room_line(chat)));
            }
            message => session.translate(message, out),
        }
    }
}

/// The registered user's life: commands in, the hub's frames out.
async fn chat(
    reader: &mut LineReader,
    write: &mut tokio::net::tcp::OwnedWriteHalf,
    session: &mut Session,
    dispatcher: &mut Dispatcher,
    queue: &ForeignQueue,
    outbound: &crate::outbound::Outbound,
    context: &Context,
) -> Departure {
    loop {
        let mut out = String::new();
        tokio::select! {
            biased;
            () = outbound.killed() => return Departure::Slow,
            () = context.shutdown.cancelled() => return Departure::Shutdown,
            () = tokio::time::sleep_until(dispatcher.keepalive_deadline()) => {
                if let Some(end) = dispatcher.keepalive_due(tokio::time::Instant::now()) {
                    return end;
                }
            }
            frames = queue.next() => match frames {
                Some(frames) => translate_all(session, frames, &mut out),
                None => return Departure::Slow,
            },
            read = reader.next() => match read {
                Read::Closed => return Departure::Closed,
                Read::TooLong => session.numeric("417", &["Input line was too long"], &mut out),
                Read::Line(raw) => {
                    let Some(line) = line::parse(&raw) else { continue };
                    let outcome = session.command(&line);
                    out.push_str(&outcome.lines);
                    if let Some(reason) = outcome.quit {
                        return Departure::Quit(huddle_protocol::ShortText::lossy(&reason));
                    }
                    let now = tokio::time::Instant::now();
                    for request in outcome.requests {
                        if let Some(end) = dispatcher.on_message(request, now) {
                            return end;
                        }
                    }
                }
            },
        }
        if !out.is_empty() {
            // A reader too slow for this is dropped by its queue's bound.
            tokio::select! {
                () = outbound.killed() => return Departure::Slow,
                written = write.write_all(out.as_bytes()) => {
                    if written.is_err() {
                        return Departure::Closed;
                    }
                }
            }
        }
    }
}
