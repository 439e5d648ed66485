//! The network side of a client: the handshake (`net/connect.rs`), and a
//! session task that
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
    ClientMessage, ClientMsgId, CodecError, ErrorCode, IdentityKey, Nick, ServerMessage, ShortText,
    Welcome,
};
use tokio::{sync::mpsc, task::JoinHandle};
use tokio_util::sync::CancellationToken;

mod connect;

pub use connect::{ConnectError, Connection, Introduction, PeerIdentity, connect, hello};

use crate::{
    core::{pacer::Pacer, sleep_until_some},
    trust::Security,
};

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
