//! Which transport an accepted connection speaks, told apart by its first
//! byte: a TLS record starts with 22 (handshake), a huddle frame with the
//! high byte of its length, which is 0 (frames are at most 1 MiB). TLS is
//! always accepted; plain TCP only with `insecure_plaintext`, and
//! otherwise answered with a plain `Reject` that says why.

use std::net::SocketAddr;

use huddle_protocol::{ErrorCode, ServerMessage};
use tokio::net::TcpStream;
use tracing::debug;

use crate::{
    connection::{Context, last_words, reject},
    link::{self, ReadLink, WriteLink},
};

/// The first byte of a TLS handshake record.
const TLS_HANDSHAKE_RECORD: u8 = 22;

/// The connection's first byte, without consuming it; `None` at the end
/// of the stream.
async fn peek_first_byte(stream: &TcpStream) -> std::io::Result<Option<u8>> {
    let mut first = [0u8; 1];
    let read = stream.peek(&mut first).await?;
    Ok((read == 1).then_some(first[0]))
}

/// How long a refused connection is given to send its first byte: a
/// client sends it as soon as it connects, and a refused stranger that
/// sends nothing must not hold a file (the point of refusing).
const REFUSAL_FIRST_BYTE: std::time::Duration = std::time::Duration::from_millis(50);
/// How long a refused client is given to finish its TLS handshake, so it
/// can read why it was refused.
const REFUSAL_PATIENCE: std::time::Duration = std::time::Duration::from_millis(500);

/// Establishes the transport (the TLS handshake, if the client starts one)
/// within the Hello timeout; `None` if the connection ended or was refused.
pub(crate) async fn open(
    stream: TcpStream,
    peer: SocketAddr,
    context: &Context,
) -> Option<(ReadLink, WriteLink)> {
    open_within(stream, peer, context, context.config.hello_timeout).await
}

async fn open_within(
    stream: TcpStream,
    peer: SocketAddr,
    context: &Context,
    patience: std::time::Duration,
) -> Option<(ReadLink, WriteLink)> {
    let deadline = tokio::time::Instant::now() + patience;
    let first = tokio::select! {
        () = context.shutdown.cancelled() => return None,
        first = tokio::time::timeout_at(deadline, peek_first_byte(&stream)) => first,
    };
    match first {
        Ok(Ok(Some(TLS_HANDSHAKE_RECORD))) => {
            match tokio::time::timeout_at(
                deadline,
                tokio_rustls::TlsAcceptor::from(context.tls.clone()).accept(stream),
            )
            .await
            {
                Ok(Ok(established)) => Some(link::tls(established)),
                Ok(Err(err)) => {
                    debug!(%peer, %err, "TLS handshake failed");
                    None
                }
                Err(_) => {
                    debug!(%peer, "TLS handshake timed out");
                    None
                }
            }
        }
        Ok(Ok(Some(_))) if context.config.insecure_plaintext => Some(link::plain(stream)),
        Ok(Ok(Some(_))) => {
            debug!(%peer, "plain TCP refused");
            let (_, write) = link::plain(stream);
            last_words(write, &plaintext_refused()).await;
            None
        }
        Ok(Ok(None) | Err(_)) | Err(_) => None,
    }
}

fn plaintext_refused() -> ServerMessage {
    reject(
        ErrorCode::TlsRequired,
        "this server accepts only TLS connections; update your client, or start both ends \
         with --insecure-plaintext if you really want chat in the clear",
    )
}

/// Tells a connection it was not admitted, over whichever transport it
/// speaks (so a TLS client reads the reason too).
pub(crate) async fn refuse(
    stream: TcpStream,
    peer: SocketAddr,
    context: &Context,
    refusal: ServerMessage,
) {
    let started = tokio::time::timeout(REFUSAL_FIRST_BYTE, peek_first_byte(&stream)).await;
    if !matches!(started, Ok(Ok(Some(_)))) {
        return;
    }
    let patience = REFUSAL_PATIENCE.min(context.config.hello_timeout);
    if let Some((_read, write)) = open_within(stream, peer, context, patience).await {
        last_words(write, &refusal).await;
    }
}
