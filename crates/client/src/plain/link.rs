//! Plain mode's connection to its server, kept up: a write that fails or a
//! read that ends marks it broken, and the next read reconnects (with
//! backoff, for up to [`RECONNECT_FOR`]) and says so, so that plain mode
//! can rejoin its rooms and send again, with the same ids, everything not
//! acknowledged (the server recognises a resend and does not deliver it
//! twice).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use huddle_protocol::{ClientMessage, ServerMessage, Welcome};
use tokio::time::Instant;

use super::PlainError;
use crate::{
    net::{Connection, Introduction, connect},
    trust::{Security, Verdict},
};

/// How long reconnecting is tried before plain mode gives up (longer than
/// a server's ping timeout, after which it frees our nick).
pub(crate) const RECONNECT_FOR: Duration = Duration::from_secs(120);

/// What a read brings.
#[derive(Debug)]
pub(crate) enum Incoming {
    Message(ServerMessage),
    /// The connection was lost and is back; the server knows nothing of
    /// this client's rooms now.
    Reconnected {
        lost: String,
        welcome: Box<Welcome>,
    },
}

#[derive(Debug)]
pub(crate) struct Link {
    addr: String,
    security: Security,
    who: Introduction,
    connection: Connection,
    /// Why the connection is broken, once it is.
    broken: Option<String>,
}

impl Link {
    pub(crate) async fn open(
        addr: &str,
        security: &Security,
        who: Introduction,
    ) -> Result<(Self, Welcome), PlainError> {
        let (connection, welcome, identity) = connect(addr, security, &who).await?;
        if identity.verdict == Some(Verdict::FirstUse)
            && let Some(fingerprint) = identity.fingerprint
        {
            eprintln!("huddle: new server {addr}, fingerprint {fingerprint} (recorded)");
        }
        let link = Self {
            addr: addr.to_owned(),
            security: security.clone(),
            who,
            connection,
            broken: None,
        };
        Ok((link, welcome))
    }

    /// Sends `message`; on a broken connection it is dropped (whatever
    /// matters is sent again after the reconnect).
    pub(crate) async fn send(&mut self, message: ClientMessage) {
        if self.broken.is_some() {
            return;
        }
        if let Err(err) = self.connection.send(message).await {
            self.broken = Some(err.to_string());
        }
    }

    /// The next frame, reconnecting first if the connection broke.
    pub(crate) async fn next(&mut self) -> Result<Incoming, PlainError> {
        loop {
            if let Some(lost) = self.broken.clone() {
                let welcome = self.reconnect(&lost).await?;
                // Nothing awaits between the swap and the return: a caller
                // dropping this future never misses a reconnect.
                self.broken = None;
                return Ok(Incoming::Reconnected {
                    lost,
                    welcome: Box::new(welcome),
                });
            }
            match self.connection.next().await {
                Some(Ok(message)) => return Ok(Incoming::Message(message)),
                Some(Err(err)) => self.broken = Some(err.to_string()),
                None => self.broken = Some("the server closed the connection".into()),
            }
        }
    }

    async fn reconnect(&mut self, lost: &str) -> Result<Welcome, PlainError> {
        let started = Instant::now();
        let mut backoff = Duration::from_millis(100);
        loop {
            match connect(&self.addr, &self.security, &self.who).await {
                Ok((connection, welcome, _)) => {
                    self.connection = connection;
                    return Ok(welcome);
                }
                Err(err) if !err.is_retryable() || started.elapsed() > RECONNECT_FOR => {
                    return Err(PlainError::Connection(format!(
                        "{lost}; reconnecting failed: {err}"
                    )));
                }
                Err(_) => {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
            }
        }
    }
}
