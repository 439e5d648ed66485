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

mod caps;
mod decoded;
mod errors;
mod history;
mod line;
mod registration;
mod replay;
mod replies;
mod sasl;
mod session;
mod stream;

use std::{net::SocketAddr, rc::Rc, sync::Arc};

use huddle_protocol::ServerMessage;
use stream::{IrcWrite, LineReader, Read};
use tokio::{
    io::AsyncWriteExt,
    net::{TcpListener, TcpStream},
};
use tracing::{info, warn};

pub(crate) use registration::cap_reply;
pub(crate) use replay::ReplayMarks;
use session::Session;

use crate::{
    admission::{Admission, Admissions},
    connection::Context,
    dispatch::{Departure, Dispatcher},
    metrics::ConnectionOutcome,
    outbound::{ForeignQueue, Taken},
};

/// Accepts IRC connections until shutdown, within the same admission
/// limits as native ones; over TLS when `tls`. `marks` is shared by the
/// plain and the TLS port (a device is the same on both).
pub(crate) async fn serve(
    (listener, tls): (TcpListener, bool),
    context: Arc<Context>,
    admissions: Arc<Admissions>,
    marks: Arc<ReplayMarks>,
) {
    if let Ok(addr) = listener.local_addr() {
        info!(%addr, tls, "IRC gateway listening");
    }
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
                    .spawn(serve_connection(stream, peer, gateway, admission, tls));
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
    tls: bool,
) {
    // Boxed, like the registration: done once, they would otherwise size
    // every idle connection's task.
    let opened = Box::pin(stream::open(stream, tls, peer, &context)).await;
    let Some((read, mut write, certificate)) = opened else {
        (context.hub.metrics()).connection(ConnectionOutcome::FailedTransport);
        return;
    };
    let mut reader = LineReader::new(read);
    let Some(entered) = Box::pin(registration::register(
        &mut reader,
        &mut write,
        (peer, certificate),
        (&context, &marks),
    ))
    .await
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
        claim,
    } = entered;
    dispatcher.claim = claim;
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
    // Messages held in a run were accepted by the rate limit: relayed.
    dispatcher.relay_said();
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
    Box::pin(crate::cluster::NickClaim::release(dispatcher.claim.take())).await;
    session.save_marks();
    Box::pin(last_words(&mut session, &queue, &mut write, &end, &context)).await;
    info!(%peer, nick = %dispatcher.nick, reason = %end, "IRC user disconnected");
}

/// The last words to a leaving user (a `Bye` as ERROR, or ours), briefly.
async fn last_words(
    session: &mut Session,
    queue: &ForeignQueue,
    write: &mut IrcWrite,
    end: &Departure,
    context: &Context,
) {
    let mut out = String::new();
    if let Ok(Some(frames)) =
        tokio::time::timeout(std::time::Duration::from_millis(10), queue.next()).await
    {
        translate_all(session, frames, &mut out);
    }
    if out.is_empty() {
        out = line::format("", "", "ERROR", &[&format!("Closing link: {end}")]);
    }
    let _ = tokio::time::timeout(
        context.config.flush_timeout,
        write.write_all(out.as_bytes()),
    )
    .await;
}

fn translate_all(session: &mut Session, frames: Taken, out: &mut String) {
    // A queue entry may hold several frames (a run: `outbound/joined.rs`).
    let mut all = Vec::with_capacity(frames.size_hint().0);
    for entry in frames {
        for range in crate::outbound::frames(&entry) {
            all.extend(decoded::decoded_in(&entry, range));
        }
    }
    let caps = session.caps;
    let tagged = usize::from(caps.server_time) | usize::from(caps.message_tags) << 1;
    // The room and newest message of a run of one room's messages: noted
    // as shown once per run, not per message (a batch is mostly one busy
    // room).
    let mut run: Option<(Rc<huddle_protocol::RoomName>, huddle_protocol::MessageId)> = None;
    for (number, decoded) in all.iter().enumerate() {
        match &decoded.message {
            ServerMessage::Chat(chat) if let Some(room) = &decoded.room => {
                let line = decoded.room_lines[tagged].get_or_init(|| session.room_line(chat));
                if out.capacity() - out.len() < line.len() {
                    // Room for the rest of the batch at once, as long.
                    out.reserve(line.len() * (all.len() - number));
                }
                out.push_str(line);
                // Interned: one room, one pointer (on this thread).
                match &mut run {
                    Some((same, newest)) if Rc::ptr_eq(same, room) => *newest = chat.id,
                    _ => {
                        if let Some((room, newest)) = run.take() {
                            session.shown(&room, newest);
                        }
                        run = Some((room.clone(), chat.id));
                    }
                }
            }
            message => session.translate(message, out),
        }
    }
    if let Some((room, newest)) = run {
        session.shown(&room, newest);
    }
}

/// The registered user's life: commands in, the hub's frames out.
async fn chat(
    reader: &mut LineReader,
    write: &mut IrcWrite,
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
                    let count = outcome.requests.len();
                    for (number, request) in outcome.requests.into_iter().enumerate() {
                        let more = number + 1 < count || reader.has_line();
                        if let Some(end) = dispatcher.on_message(request, now, more) {
                            return end;
                        }
                        if dispatcher.rename_waits() {
                            Box::pin(dispatcher.finish_rename()).await;
                        }
                    }
                }
            },
        }
        if !out.is_empty() {
            // Nothing held while waiting on the socket.
            dispatcher.relay_said();
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

#[cfg(test)]
mod tests {
    /// An IRC connection's task is as large as its largest state, idle or
    /// not (like a native one's: `connection.rs`): the transport, the
    /// registration and the last words are boxed. 3,072 bytes before they
    /// were; 2,160 after.
    #[tokio::test]
    async fn an_irc_connections_task_stays_small() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let config = crate::config::ServerConfig::loopback();
        let hub = std::sync::Arc::new(crate::testkit::hub());
        let context = std::sync::Arc::new(crate::testkit::context(config.clone(), hub));
        let admission = std::sync::Arc::new(crate::admission::Admissions::default())
            .admit(addr.ip(), &config)
            .unwrap();
        let marks = std::sync::Arc::default();
        let task = super::serve_connection(stream, addr, (context, marks), admission, false);
        let size = std::mem::size_of_val(&task);
        eprintln!("IRC task: {size} bytes");
        assert!(
            size <= 100_000,
            "an IRC connection's task takes {size} bytes"
        );
    }
}
