//! One TCP connection from accept to close: the handshake, then the
//! [`Dispatcher`] (the request loop, sole reader of the socket) and the
//! outbound side (flusher, and a writer task for stalls) joined by the
//! outbound queue, then the cleanup that tells the client's rooms it left.

use std::{net::SocketAddr, sync::Arc};

use huddle_protocol::{
    ChatText, ClientMessage, CodecError, ConnectionId, ErrorCode, Hello, PROTOCOL_VERSION, Reject,
    ServerId, ServerMessage, ShortText, Welcome, decode_payload, encode_frame, peek_hello_version,
};
use tokio::net::TcpStream;
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tracing::{debug, info};

use crate::{
    admission::Admission,
    config::ServerConfig,
    dispatch::{Departure, Dispatcher, Greeted, LAST_WORDS_TIMEOUT},
    hub::{Caller, Hub},
    inbound::{FrameReader, InboundLimits, refusal},
    link::WriteLink,
    metrics::ConnectionOutcome,
    outbound::{Flushers, outbound, run_writer},
    password::AddressThrottles,
};

/// What every connection task shares.
#[derive(Debug)]
pub(crate) struct Context {
    pub(crate) config: Arc<ServerConfig>,
    pub(crate) hub: Arc<Hub>,
    pub(crate) server_id: ServerId,
    pub(crate) shutdown: CancellationToken,
    /// Who writes the connections' queues (one per runtime thread).
    pub(crate) flushers: Flushers,
    /// Every task the server spawns, so shutdown waits for all of them.
    pub(crate) tasks: TaskTracker,
    /// Wrong room passwords per client address.
    pub(crate) password_guesses: Arc<AddressThrottles>,
    /// The frame deadline and the budget of unfinished frames.
    pub(crate) inbound: Arc<InboundLimits>,
    /// The certificate, its key, and the fingerprint clients pin.
    pub(crate) identity: Arc<crate::identity::ServerIdentity>,
    /// The TLS handshake, with the server's certificate.
    pub(crate) tls: Arc<rustls::ServerConfig>,
    /// The IRC gateway's TLS handshake: the same certificate, no ALPN, a
    /// client certificate asked for (SASL EXTERNAL).
    pub(crate) irc_tls: Arc<rustls::ServerConfig>,
    /// Where the HTTP status page is served, if it is (told in beacons).
    pub(crate) status_addr: Option<SocketAddr>,
}

/// Writes one frame to a socket that has no writer task, and closes it.
/// Callers inside a connection's task box it: its future is larger than
/// the idle state's, and would set the size of every connection's task.
pub(crate) async fn last_words(mut socket: WriteLink, message: &ServerMessage) {
    if let Ok(frame) = encode_frame(message) {
        let _ = tokio::time::timeout(LAST_WORDS_TIMEOUT, async {
            let _ = socket.write_all(&frame).await;
            let _ = socket.shutdown().await;
        })
        .await;
    }
}

pub(crate) fn reject(code: ErrorCode, text: impl Into<String>) -> ServerMessage {
    ServerMessage::Reject(Reject {
        code,
        server_version: PROTOCOL_VERSION,
        text: text.into(),
    })
}

/// Reads the first frame and checks it is an acceptable `Hello`.
async fn greet(frames: &mut FrameReader, context: &Context) -> Result<Hello, ServerMessage> {
    let first = tokio::select! {
        () = context.shutdown.cancelled() => {
            return Err(reject(ErrorCode::ShuttingDown, "the server is shutting down"));
        }
        first = tokio::time::timeout(context.config.hello_timeout, frames.next()) => first,
    };
    let payload = match first {
        Err(_) => {
            return Err(reject(
                ErrorCode::HandshakeTimeout,
                format!("no Hello within {:?}", context.config.hello_timeout),
            ));
        }
        Ok(Some(Err(err))) if let Some(text) = refusal(&err) => {
            return Err(reject(ErrorCode::MalformedMessage, text));
        }
        Ok(None) | Ok(Some(Err(CodecError::Io(_)))) => {
            return Err(reject(ErrorCode::HandshakeRequired, "closed before Hello"));
        }
        Ok(Some(Err(err))) => return Err(reject(err.error_code(), err.to_string())),
        Ok(Some(Ok(payload))) => payload,
    };
    let version = peek_hello_version(&payload).map_err(|err| {
        reject(
            ErrorCode::HandshakeRequired,
            format!("the first frame must be a Hello: {err}"),
        )
    })?;
    if version != PROTOCOL_VERSION {
        return Err(reject(
            ErrorCode::VersionMismatch,
            format!(
                "this server speaks protocol version {PROTOCOL_VERSION}, the client speaks {version}"
            ),
        ));
    }
    match decode_payload::<ClientMessage>(&payload) {
        // The key must have signed this very connection's binding: a Hello
        // captured elsewhere proves nothing here.
        Ok(ClientMessage::Hello(hello))
            if !hello
                .public_key
                .verify(&frames.channel_binding(), &hello.proof) =>
        {
            Err(reject(
                ErrorCode::BadIdentityProof,
                "the identity proof does not match this connection \
                 (a replayed Hello, or a client that signs the wrong thing)",
            ))
        }
        Ok(ClientMessage::Hello(hello)) => Ok(hello),
        Ok(_) => Err(reject(
            ErrorCode::HandshakeRequired,
            "the first frame must be a Hello",
        )),
        Err(err) => Err(reject(err.error_code(), err.to_string())),
    }
}

/// Admits a greeted client: queues its `Welcome`, registers its nick and
/// key, starts its writer. A plain function, so nothing of the `Hello` (the
/// names, the proof) outlives it in the connection's task. On refusal,
/// gives the socket back with the `Reject` to write on it.
#[allow(clippy::result_large_err)] // The refusal is written once, at once.
fn enter(
    hello: Hello,
    write: WriteLink,
    peer: SocketAddr,
    context: &Context,
) -> Result<
    (
        Greeted,
        crate::outbound::Outbound,
        tokio::task::JoinHandle<crate::outbound::WriterEnd>,
    ),
    (WriteLink, ServerMessage),
> {
    debug!(%peer, nick = %hello.nick, client = %hello.client_name, version = %hello.client_version, "greeted");
    let Hello {
        nick,
        public_key,
        client_name,
        client_version,
        ..
    } = hello;
    let program = format!("{client_name} {client_version}");
    let client = public_key.client_id();
    let config = &context.config;
    let conn = ConnectionId::random();
    let (outbound, queue) = outbound(
        config.outbound_max_frames,
        config.outbound_max_bytes,
        context.flushers.pick(),
    );
    // Welcome is queued before the nick is registered: once registered,
    // others can send to this client at once (a direct message), and
    // nothing may reach it before its Welcome. If the registration is
    // refused, the queue is dropped unwritten and a Reject goes instead.
    let _ = outbound.send(&ServerMessage::Welcome(Welcome {
        version: PROTOCOL_VERSION,
        server_id: context.server_id,
        connection_id: conn,
        server_name: ShortText::lossy(&config.name),
        motd: config
            .motd
            .as_ref()
            .and_then(|m| ChatText::new(m.clone()).ok()),
        nick: nick.clone(),
        limits: config.advertised_limits(),
    }));
    let caller = Caller {
        conn,
        client,
        nick: &nick,
        outbound: &outbound,
    };
    if let Err(refusal) = context.hub.register(caller) {
        info!(%peer, %nick, "handshake refused: {}", refusal.text);
        return Err((write, reject(refusal.code, refusal.text)));
    }
    context
        .hub
        .set_identity(conn, &nick, Some(public_key), program.trim());
    let writer = context.tasks.spawn(run_writer(write, queue));
    info!(%peer, %nick, "connected");
    let greeted = Greeted {
        conn,
        client,
        nick,
        peer: peer.ip(),
    };
    Ok((greeted, outbound, writer))
}

/// Serves one accepted connection to its end; `admission` holds its slots
/// until then.
pub(crate) async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    context: Arc<Context>,
    mut admission: Admission,
) {
    let _ = stream.set_nodelay(true);
    // Boxed: the handshake's future (a TLS session in the making) is large,
    // and a connection's task is as large as its largest state, idle or not.
    let Some((read, write)) = Box::pin(crate::transport::open(stream, peer, &context)).await else {
        context
            .hub
            .metrics()
            .connection(ConnectionOutcome::FailedTransport);
        return;
    };
    let mut frames = FrameReader::new(read, context.inbound.clone());
    // Boxed like the transport: a Hello is read once, but its future
    // would otherwise size every idle connection's task.
    let hello = match Box::pin(greet(&mut frames, &context)).await {
        Ok(hello) => {
            admission.greeted();
            hello
        }
        Err(refusal) => {
            context
                .hub
                .metrics()
                .connection(ConnectionOutcome::RefusedHello);
            debug!(%peer, ?refusal, "handshake refused");
            Box::pin(last_words(write, &refusal)).await;
            return;
        }
    };
    // A node of a cluster claims the nick cluster-wide first (boxed, like
    // the handshake, and the Hello with it: an idle connection's task holds
    // only the claim).
    let hello = Box::new(hello);
    let claim = match context.hub.cluster() {
        Some(link) => {
            let claim = crate::cluster::NickClaim::make(
                link,
                &hello.nick,
                hello.public_key.client_id(),
                true,
            );
            match Box::pin(claim).await {
                Ok(claim) => Some(claim),
                Err((code, text)) => {
                    let refusal = reject(code, text);
                    (context.hub.metrics()).connection(ConnectionOutcome::RefusedHello);
                    drop(hello);
                    Box::pin(last_words(write, &refusal)).await;
                    return;
                }
            }
        }
        None => None,
    };
    let (greeted, outbound, writer) = match enter(*hello, write, peer, &context) {
        Ok(entered) => entered,
        Err((write, refusal)) => {
            context
                .hub
                .metrics()
                .connection(ConnectionOutcome::RefusedHello);
            Box::pin(async move {
                crate::cluster::NickClaim::release(claim).await;
                last_words(write, &refusal).await;
            })
            .await;
            return;
        }
    };
    (context.hub.metrics()).connection(ConnectionOutcome::Greeted);
    (context.hub.metrics()).clients_now(context.hub.user_count());
    let conn = greeted.conn;
    let mut dispatcher = Dispatcher::new(greeted, outbound, &context, tokio::time::Instant::now());
    dispatcher.claim = claim;
    let end = dispatcher.run(&mut frames, &context.shutdown).await;
    // Announce the departure to the rooms unless everyone is leaving anyway.
    let reason = match &end {
        Departure::Quit(reason) => reason.clone(),
        other => ShortText::lossy(&other.to_string()),
    };
    let announce = (end != Departure::Shutdown).then_some(&reason);
    context
        .hub
        .quit(conn, &dispatcher.nick, &dispatcher.rooms, announce);
    info!(%peer, nick = %dispatcher.nick, reason = %end, "disconnected");
    crate::cluster::NickClaim::release(dispatcher.claim.take()).await;
    // Dropping the dispatcher drops the last queue handle: the writer
    // flushes what is queued (bounded by the flush timeout) and closes.
    drop(dispatcher);
    drop(frames);
    let mut writer = writer;
    if tokio::time::timeout(context.config.flush_timeout, &mut writer)
        .await
        .is_err()
    {
        writer.abort();
        debug!(%peer, "flush timed out");
    }
}

#[cfg(test)]
mod tests {
    /// Every connection's task is as large as the largest state of
    /// `serve`, idle or not: the handshake, the refusals and the last words
    /// are boxed so that the idle state (the dispatcher waiting) sets it.
    /// 1,552 bytes before TLS; the bound catches a handshake future that
    /// slips back in unboxed (it added ~330 bytes per connection).
    #[tokio::test]
    async fn a_connections_task_is_sized_by_its_idle_state() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let config = crate::config::ServerConfig::loopback();
        let hub = std::sync::Arc::new(crate::hub::Hub::new(
            &config,
            None,
            std::sync::Arc::default(),
        ));
        let context = std::sync::Arc::new(crate::testkit::context(config.clone(), hub));
        let admission = std::sync::Arc::new(crate::admission::Admissions::default())
            .admit(addr.ip(), &config)
            .unwrap();
        let task = super::serve(stream, addr, context, admission);
        let size = std::mem::size_of_val(&task);
        assert!(size <= 1_700, "a connection's task takes {size} bytes");
    }
}
