//! The network side of a client: the handshake, and a session task that
//! keeps a connection up (reconnecting with exponential backoff and jitter),
//! answers keepalive pings, measures latency, paces what it sends to the
//! server's advertised rate (`core/pacer.rs`), and reports everything as
//! [`NetEvent`]s.

use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use huddle_protocol::{
    ClientCodec, ClientMessage, ClientMsgId, CodecError, ErrorCode, Hello, IdentityKey, Nick,
    PROTOCOL_VERSION, Reject, ServerMessage, ShortText, Welcome,
};
use tokio::{net::TcpStream, sync::mpsc, task::JoinHandle};
use tokio_util::{codec::Framed, sync::CancellationToken};

use crate::{
    core::{pacer::Pacer, sleep_until_some},
    transport::{self, Stream},
    trust::{Security, TrustError, Verdict},
};

/// A framed connection to a server.
pub type Connection = Framed<Stream, ClientCodec>;

/// How long connecting and the handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a connection attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The address did not resolve or the TCP connection failed.
    #[error("cannot connect to {addr}: {source}")]
    Io {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The server refused the handshake.
    #[error("the server refused: {} ({:?})", .0.text, .0.code)]
    Rejected(Reject),
    /// The server broke the protocol or closed the connection.
    #[error("handshake failed: {0}")]
    Protocol(String),
    /// The TLS handshake failed (or the server does not speak TLS).
    #[error(
        "TLS with {addr} failed: {source} (a server started with --insecure-plaintext accepts TLS too; is this a huddle server?)"
    )]
    Tls {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The server's fingerprint is not trusted (see [`crate::trust`]).
    #[error(transparent)]
    Untrusted(#[from] TrustError),
    /// Nothing happened in time.
    #[error("no answer from {0} within {HANDSHAKE_TIMEOUT:?}")]
    Timeout(String),
}

impl ConnectError {
    /// Whether trying again later could succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            ConnectError::Rejected(reject) => !matches!(
                reject.code,
                ErrorCode::VersionMismatch
                    | ErrorCode::InvalidNick
                    | ErrorCode::HandshakeRequired
                    | ErrorCode::TlsRequired
                    | ErrorCode::NickBound
                    | ErrorCode::BadIdentityProof
            ),
            // Retrying would ask the same server the same question.
            ConnectError::Untrusted(_) => false,
            _ => true,
        }
    }
}

/// Who the client says it is: its installation's key and the nick it
/// asks for.
#[derive(Debug, Clone)]
pub struct Introduction {
    /// The installation's key.
    pub key: std::sync::Arc<IdentityKey>,
    /// The nick to ask for.
    pub nick: Nick,
}

impl Introduction {
    /// `nick` with a new random key: a one-off identity (tests, tools).
    pub fn fresh(nick: Nick) -> Self {
        let key = IdentityKey::generate()
            .unwrap_or_else(|err| unreachable!("the system's random source failed: {err}"));
        Self {
            key: std::sync::Arc::new(key),
            nick,
        }
    }
}

/// The `Hello` this program sends on a connection with `binding`.
pub fn hello(who: &Introduction, binding: &[u8; 32]) -> Hello {
    Hello {
        version: PROTOCOL_VERSION,
        public_key: who.key.public_key(),
        proof: who.key.prove(binding),
        nick: who.nick.clone(),
        client_name: ShortText::lossy("huddle"),
        client_version: ShortText::lossy(env!("CARGO_PKG_VERSION")),
    }
}

/// Who the server turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerIdentity {
    /// Its certificate's fingerprint (`None` without TLS).
    pub fingerprint: Option<huddle_protocol::Fingerprint>,
    /// Whether it was known, or trusted for the first time just now.
    pub verdict: Option<Verdict>,
}

/// Opens the stream: TCP, then TLS with the fingerprint checked.
async fn open(addr: &str, security: &Security) -> Result<(Stream, PeerIdentity), ConnectError> {
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|source| ConnectError::Io {
            addr: addr.to_owned(),
            source,
        })?;
    let _ = tcp.set_nodelay(true);
    let trust = match security {
        Security::InsecurePlaintext => {
            let identity = PeerIdentity {
                fingerprint: None,
                verdict: None,
            };
            return Ok((Stream::Plain(tcp), identity));
        }
        Security::Tls(trust) => trust,
    };
    let (stream, fingerprint) =
        transport::handshake(tcp)
            .await
            .map_err(|source| ConnectError::Tls {
                addr: addr.to_owned(),
                source,
            })?;
    let verdict = trust.check(addr, fingerprint, "")?;
    let identity = PeerIdentity {
        fingerprint: Some(fingerprint),
        verdict: Some(verdict),
    };
    Ok((stream, identity))
}

/// Connects to `addr` (`host:port`) as `security` says and performs the
/// handshake.
pub async fn connect(
    addr: &str,
    security: &Security,
    who: &Introduction,
) -> Result<(Connection, Welcome, PeerIdentity), ConnectError> {
    let attempt = async {
        let (stream, identity) = open(addr, security).await?;
        let hello = hello(who, &stream.channel_binding());
        let mut connection = Framed::new(stream, ClientCodec::new());
        connection
            .send(ClientMessage::Hello(hello))
            .await
            .map_err(|err| ConnectError::Protocol(err.to_string()))?;
        match connection.next().await {
            Some(Ok(ServerMessage::Welcome(welcome))) => Ok((connection, welcome, identity)),
            Some(Ok(ServerMessage::Reject(reject))) => Err(ConnectError::Rejected(reject)),
            Some(Ok(other)) => Err(ConnectError::Protocol(format!(
                "expected Welcome, got {other:?}"
            ))),
            Some(Err(err)) => Err(ConnectError::Protocol(err.to_string())),
            None => Err(ConnectError::Protocol(
                "the server closed the connection".into(),
            )),
        }
    };
    tokio::time::timeout(HANDSHAKE_TIMEOUT, attempt)
        .await
        .unwrap_or_else(|_| Err(ConnectError::Timeout(addr.to_owned())))
}

/// What the session task reports.
#[derive(Debug, Clone, PartialEq)]
pub enum NetEvent {
    /// A connection attempt starts (0 for the first).
    Connecting {
        /// Attempts since the last success.
        attempt: u32,
    },
    /// The server's identity, checked (comes just before `Connected`).
    Identity(PeerIdentity),
    /// Connected and greeted.
    Connected(Box<Welcome>),
    /// A frame from the server.
    Message(ServerMessage),
    /// A round trip of our own ping.
    Latency(Duration),
    /// The connection was lost; a retry follows after `retry_in`.
    Disconnected {
        /// Why.
        reason: String,
        /// When the next attempt starts.
        retry_in: Duration,
    },
    /// The nick was taken, so the session asked for another.
    NickTaken {
        /// The nick asked for.
        wanted: String,
        /// The nick tried next.
        trying: String,
    },
    /// The session gave up (a refusal that retrying cannot fix).
    Failed(String),
}

/// How the session connects.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// `host:port`, resolved on every attempt.
    pub addr: String,
    /// The nick to ask for.
    pub nick: Nick,
    /// This installation's key.
    pub key: std::sync::Arc<IdentityKey>,
    /// TLS and whom to trust.
    pub security: Security,
    /// Time between latency pings.
    pub ping_every: Duration,
}

/// The handle the UI keeps to a running session.
#[derive(Debug)]
pub struct NetHandle {
    outgoing: mpsc::UnboundedSender<ClientMessage>,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl NetHandle {
    /// Queues a message for the server.
    pub fn send(&self, message: ClientMessage) {
        let _ = self.outgoing.send(message);
    }

    /// Says `Quit` (if connected), waits briefly for it to go out, and ends
    /// the session.
    pub async fn shutdown(self, reason: &str) {
        let _ = self.outgoing.send(ClientMessage::Quit {
            reason: ShortText::lossy(reason),
        });
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_secs(2), &mut task)
            .await
            .is_err()
        {
            self.stop.cancel();
            let _ = tokio::time::timeout(Duration::from_millis(200), task).await;
        }
    }
}

/// The delay before reconnect attempt `attempt` (0-based): exponential from
/// 500 ms, capped at 30 s, with ±50 % jitter so a restarted server is not hit
/// by every client at once.
pub fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_millis(500).saturating_mul(1 << attempt.min(6));
    let capped = base.min(Duration::from_secs(30));
    capped.mul_f64(0.5 + fastrand::f64())
}

/// Starts a session task that connects to `config.addr` and keeps
/// reconnecting until [`NetHandle::shutdown`].
pub fn spawn_session(config: SessionConfig, events: mpsc::UnboundedSender<NetEvent>) -> NetHandle {
    let (outgoing, incoming) = mpsc::unbounded_channel();
    let stop = CancellationToken::new();
    let task = tokio::spawn(run_session(config, events, incoming, stop.clone()));
    NetHandle {
        outgoing,
        stop,
        task,
    }
}

enum Ended {
    /// The user quit: do not reconnect.
    Quit,
    Lost(String),
}

async fn run_session(
    config: SessionConfig,
    events: mpsc::UnboundedSender<NetEvent>,
    mut outgoing: mpsc::UnboundedReceiver<ClientMessage>,
    stop: CancellationToken,
) {
    let emit = |event| {
        let _ = events.send(event);
    };
    let mut nick = config.nick.clone();
    let mut attempt = 0u32;
    loop {
        emit(NetEvent::Connecting { attempt });
        let who = Introduction {
            key: config.key.clone(),
            nick: nick.clone(),
        };
        let reason = match connect(&config.addr, &config.security, &who).await {
            Ok((connection, welcome, identity)) => {
                attempt = 0;
                emit(NetEvent::Identity(identity));
                nick = welcome.nick.clone();
                let limits = welcome.limits;
                emit(NetEvent::Connected(Box::new(welcome)));
                let paced = Paced::new(&limits);
                match serve(
                    connection,
                    paced,
                    &mut outgoing,
                    &events,
                    &stop,
                    config.ping_every,
                )
                .await
                {
                    Ended::Quit => return,
                    Ended::Lost(reason) => reason,
                }
            }
            Err(ConnectError::Rejected(reject))
                if matches!(reject.code, ErrorCode::NickInUse | ErrorCode::NickBound) =>
            {
                // The nick is taken (perhaps by our own ghost): try another.
                let wanted = nick.to_string();
                match Nick::new(format!("{nick}_")) {
                    Ok(next) if wanted.len() < config.nick.as_str().len() + 3 => {
                        emit(NetEvent::NickTaken {
                            wanted,
                            trying: next.to_string(),
                        });
                        nick = next;
                        continue;
                    }
                    _ => reject.text,
                }
            }
            Err(err) if !err.is_retryable() => {
                emit(NetEvent::Failed(err.to_string()));
                return;
            }
            Err(err) => err.to_string(),
        };
        let retry_in = backoff(attempt);
        attempt = attempt.saturating_add(1);
        emit(NetEvent::Disconnected { reason, retry_in });
        // Messages queued while disconnected are dropped: the UI only sends
        // while connected and re-joins its rooms on reconnect.
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(retry_in) => {}
            quit = wait_for_quit(&mut outgoing) => if quit { return },
        }
        while outgoing.try_recv().is_ok() {}
    }
}

/// Resolves true when a `Quit` (or the end of the channel) arrives.
async fn wait_for_quit(outgoing: &mut mpsc::UnboundedReceiver<ClientMessage>) -> bool {
    loop {
        match outgoing.recv().await {
            None | Some(ClientMessage::Quit { .. }) => return true,
            Some(_) => {}
        }
    }
}

/// The session's pacing: what the UI sends waits in a [`Pacer`] until the
/// server's rate allows it (a paste of many lines is never refused for its
/// rate), and a message still refused with `RateLimited` is sent again
/// instead of being reported as failed.
struct Paced {
    pacer: Pacer,
    /// Messages sent lately, by id, for a `RateLimited` answer.
    recent: VecDeque<(ClientMsgId, ClientMessage)>,
}

/// Messages remembered for a `RateLimited` answer (far more than one
/// burst).
const RECENT_SENT: usize = 512;

impl Paced {
    fn new(limits: &huddle_protocol::Limits) -> Self {
        Self {
            pacer: Pacer::new(limits, tokio::time::Instant::now()),
            recent: VecDeque::new(),
        }
    }

    fn sent(&mut self, message: &ClientMessage) {
        if let Some(id) = message.client_msg_id() {
            if self.recent.len() == RECENT_SENT {
                self.recent.pop_front();
            }
            self.recent.push_back((id, message.clone()));
        }
    }

    /// Takes back a message the server refused for its rate, if it is ours.
    fn refused_for_rate(&mut self, message: &ServerMessage) -> bool {
        let ServerMessage::Error(report) = message else {
            return false;
        };
        if report.code != ErrorCode::RateLimited {
            return false;
        }
        let Some(at) = report
            .id
            .and_then(|id| self.recent.iter().position(|(sent, _)| *sent == id))
        else {
            return false;
        };
        if let Some((_, message)) = self.recent.remove(at) {
            self.pacer.requeue(message);
        }
        true
    }
}

async fn serve(
    mut connection: Connection,
    mut paced: Paced,
    outgoing: &mut mpsc::UnboundedReceiver<ClientMessage>,
    events: &mpsc::UnboundedSender<NetEvent>,
    stop: &CancellationToken,
    ping_every: Duration,
) -> Ended {
    let started = Instant::now();
    let mut pinger = tokio::time::interval(ping_every);
    loop {
        let wake = paced.pacer.poll_timeout();
        tokio::select! {
            () = stop.cancelled() => return Ended::Quit,
            _ = pinger.tick() => {
                let token = started.elapsed().as_micros() as u64;
                paced.pacer.charge(tokio::time::Instant::now());
                if connection.send(ClientMessage::Ping { token }).await.is_err() {
                    return Ended::Lost("the connection failed".into());
                }
            }
            () = sleep_until_some(wake) => {
                while let Some(message) = paced.pacer.poll_transmit(tokio::time::Instant::now()) {
                    paced.sent(&message);
                    if let Err(err) = connection.send(message).await {
                        return Ended::Lost(err.to_string());
                    }
                }
            }
            message = outgoing.recv() => {
                let Some(message) = message else { return Ended::Quit };
                let quitting = matches!(message, ClientMessage::Quit { .. });
                if !quitting {
                    // Waits its turn (the branch above sends it).
                    paced.pacer.push(message);
                    continue;
                }
                if let Err(err) = connection.send(message).await {
                    return Ended::Lost(err.to_string());
                }
                // Wait briefly for the server's Bye so the Quit is not lost.
                let _ = tokio::time::timeout(Duration::from_secs(1), async {
                    while let Some(Ok(message)) = connection.next().await {
                        if matches!(message, ServerMessage::Bye { .. }) {
                            break;
                        }
                    }
                })
                .await;
                return Ended::Quit;
            }
            frame = connection.next() => match frame {
                None => return Ended::Lost("the server closed the connection".into()),
                Some(Err(CodecError::Io(err))) => return Ended::Lost(err.to_string()),
                Some(Err(err)) => return Ended::Lost(format!("protocol error: {err}")),
                Some(Ok(ServerMessage::Ping { token })) => {
                    paced.pacer.charge(tokio::time::Instant::now());
                    let _ = connection.send(ClientMessage::Pong { token }).await;
                }
                Some(Ok(ServerMessage::Pong { token })) => {
                    let sent = Duration::from_micros(token);
                    let _ = events.send(NetEvent::Latency(started.elapsed().saturating_sub(sent)));
                }
                Some(Ok(message)) if paced.refused_for_rate(&message) => {}
                Some(Ok(message)) => {
                    let bye = match &message {
                        ServerMessage::Bye { reason, .. } => Some(reason.to_string()),
                        _ => None,
                    };
                    let _ = events.send(NetEvent::Message(message));
                    if let Some(reason) = bye {
                        return Ended::Lost(format!("the server said goodbye: {reason}"));
                    }
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_with_jitter_and_a_cap() {
        for attempt in 0..20 {
            let base = (500u64 << attempt.min(6)).min(30_000) as f64;
            let delay = backoff(attempt).as_millis() as f64;
            assert!(
                delay >= base * 0.5 && delay <= base * 1.5,
                "attempt {attempt}: {delay} ms"
            );
        }
    }
}
