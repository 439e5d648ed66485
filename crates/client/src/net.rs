//! The network side of a client, and nothing else: the handshake
//! (`net/connect.rs`) and a session task that keeps a connection up
//! (reconnecting with exponential backoff and jitter), writes the frames it
//! is given and reports what arrives as [`NetEvent`]s. What to send, when,
//! and what a frame means is the client core's (`core.rs`), which the TUI
//! and plain mode drive with these events.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use huddle_protocol::{
    ClientMessage, CodecError, ErrorCode, IdentityKey, Nick, ServerMessage, ShortText, Welcome,
};
use tokio::{sync::mpsc, task::JoinHandle};
use tokio_util::sync::CancellationToken;

mod connect;

pub use connect::{ConnectError, Connection, Introduction, PeerIdentity, connect, hello};

use crate::trust::{Security, Trust};

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
    /// `host:port`, resolved on every attempt; or several, separated by
    /// commas (the nodes of a cluster), tried in turn: after a lost
    /// connection or a failed attempt, the next one is tried first.
    pub addr: String,
    /// The nick to ask for.
    pub nick: Nick,
    /// This installation's key.
    pub key: std::sync::Arc<IdentityKey>,
    /// TLS and whom to trust.
    pub security: Security,
    /// Whether a taken nick is retried with `_` appended (the TUI) or is
    /// a failure (plain mode: a script asked for that nick).
    pub retry_nick: bool,
}

/// What the session task is told to do.
#[derive(Debug)]
enum Outgoing {
    /// Write a frame (dropped if no connection is up).
    Frame(ClientMessage),
    /// Drop the connection and make a new one (the core found it stale).
    Drop(String),
}

/// The handle the UI keeps to a running session.
#[derive(Debug)]
pub struct NetHandle {
    outgoing: mpsc::UnboundedSender<Outgoing>,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl NetHandle {
    /// Writes a frame to the server (the core decided it may go now).
    pub fn send(&self, message: ClientMessage) {
        let _ = self.outgoing.send(Outgoing::Frame(message));
    }

    /// Drops the connection (it went silent) and connects again.
    pub fn reconnect(&self, reason: &str) {
        let _ = self.outgoing.send(Outgoing::Drop(reason.to_owned()));
    }

    /// Says `Quit` (if connected), waits briefly for it to go out, and ends
    /// the session.
    pub async fn shutdown(self, reason: &str) {
        self.send(ClientMessage::Quit {
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
    mut outgoing: mpsc::UnboundedReceiver<Outgoing>,
    stop: CancellationToken,
) {
    let emit = |event| {
        let _ = events.send(event);
    };
    let mut nick = config.nick.clone();
    let mut attempt = 0u32;
    let addresses: Vec<&str> = config.addr.split(',').map(str::trim).collect();
    let mut turn = 0usize;
    let mut security = config.security.clone();
    loop {
        let addr = addresses[turn % addresses.len()];
        emit(NetEvent::Connecting { attempt });
        let who = Introduction {
            key: config.key.clone(),
            nick: nick.clone(),
        };
        let reason = match connect(addr, &security, &who).await {
            Ok((connection, welcome, identity)) => {
                attempt = 0;
                security = one_cluster(security, &addresses, addr, identity.fingerprint);
                emit(NetEvent::Identity(identity));
                nick = welcome.nick.clone();
                // Frames meant for the connection that was lost are stale.
                while outgoing.try_recv().is_ok() {}
                emit(NetEvent::Connected(Box::new(welcome)));
                match serve(connection, &mut outgoing, &events, &stop).await {
                    Ended::Quit => return,
                    Ended::Lost(reason) => reason,
                }
            }
            Err(ConnectError::Rejected(reject))
                if config.retry_nick
                    && matches!(reject.code, ErrorCode::NickInUse | ErrorCode::NickBound) =>
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
        turn = turn.wrapping_add(1);
        emit(NetEvent::Disconnected { reason, retry_in });
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(retry_in) => {}
            quit = wait_for_quit(&mut outgoing) => if quit { return },
        }
    }
}

/// Several addresses are the nodes of one cluster: once one is reached
/// over TLS, the others must present its fingerprint.
fn one_cluster(
    security: Security,
    addresses: &[&str],
    reached: &str,
    presented: Option<huddle_protocol::Fingerprint>,
) -> Security {
    match (security, presented) {
        (Security::Tls(Trust::KnownServers(_)), Some(fingerprint)) if addresses.len() > 1 => {
            Security::Tls(Trust::SameCluster {
                first: reached.to_owned(),
                fingerprint,
            })
        }
        (security, _) => security,
    }
}

/// Resolves true when a `Quit` (or the end of the channel) arrives; other
/// frames, meant for a connection that is gone, are dropped.
async fn wait_for_quit(outgoing: &mut mpsc::UnboundedReceiver<Outgoing>) -> bool {
    loop {
        match outgoing.recv().await {
            None | Some(Outgoing::Frame(ClientMessage::Quit { .. })) => return true,
            Some(_) => {}
        }
    }
}

async fn serve(
    mut connection: Connection,
    outgoing: &mut mpsc::UnboundedReceiver<Outgoing>,
    events: &mpsc::UnboundedSender<NetEvent>,
    stop: &CancellationToken,
) -> Ended {
    loop {
        tokio::select! {
            () = stop.cancelled() => return Ended::Quit,
            order = outgoing.recv() => match order {
                None => return Ended::Quit,
                Some(Outgoing::Drop(reason)) => return Ended::Lost(reason),
                Some(Outgoing::Frame(message @ ClientMessage::Quit { .. })) => {
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
                Some(Outgoing::Frame(message)) => {
                    if let Err(err) = connection.send(message).await {
                        return Ended::Lost(err.to_string());
                    }
                }
            },
            frame = connection.next() => match frame {
                None => return Ended::Lost("the server closed the connection".into()),
                // rustls words a server that died as "peer closed connection
                // without sending TLS close_notify: https://…".
                Some(Err(CodecError::Io(err)))
                    if err.kind() == std::io::ErrorKind::UnexpectedEof =>
                {
                    return Ended::Lost("the server closed the connection".into());
                }
                Some(Err(CodecError::Io(err))) => return Ended::Lost(err.to_string()),
                Some(Err(err)) => return Ended::Lost(format!("protocol error: {err}")),
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
