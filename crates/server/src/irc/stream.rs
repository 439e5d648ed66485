//! An IRC connection's byte stream, plain TCP or TLS (`--irc-tls-bind`,
//! with the server's own certificate), and the line reader on top: one
//! bounded buffer; a line longer than IRC allows is answered (417) and
//! skipped, never buffered whole.

use std::{net::SocketAddr, time::Duration};

use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite},
    net::TcpStream,
};

use super::line;
use crate::connection::Context;

/// The reading half of an IRC connection.
pub(crate) type IrcRead = Box<dyn AsyncRead + Unpin + Send>;
/// The writing half of an IRC connection.
pub(crate) type IrcWrite = Box<dyn AsyncWrite + Unpin + Send>;

/// Bytes asked of the socket per read while a line is under way.
const READ_CHUNK: usize = 2048;
/// Bytes reserved while waiting between lines (most lines are shorter).
const IDLE_CHUNK: usize = 256;

/// Splits `stream` into halves, after a TLS handshake (within the Hello
/// timeout) when `tls`, with the fingerprint of the client's certificate if
/// it presented one; `None` if that fails.
pub(crate) async fn open(
    stream: TcpStream,
    tls: bool,
    peer: SocketAddr,
    context: &Context,
) -> Option<(IrcRead, IrcWrite, Option<huddle_protocol::Fingerprint>)> {
    let _ = stream.set_nodelay(true);
    if !tls {
        let (read, write) = stream.into_split();
        return Some((Box::new(read), Box::new(write), None));
    }
    let acceptor = tokio_rustls::TlsAcceptor::from(context.irc_tls.clone());
    let timeout: Duration = context.config.hello_timeout;
    match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => {
            let certificate = huddle_protocol::tls::peer_fingerprint(tls.get_ref().1);
            let (read, write) = tokio::io::split(tls);
            Some((Box::new(read), Box::new(write), certificate))
        }
        Ok(Err(err)) => {
            tracing::debug!(%peer, %err, "IRC TLS handshake failed");
            None
        }
        Err(_) => None,
    }
}

/// Reads lines off a socket: one buffer, bounded; a line longer than IRC
/// allows is answered (417) and skipped, never buffered whole.
pub(crate) struct LineReader {
    socket: IrcRead,
    buffer: Vec<u8>,
    /// Skipping the rest of an overlong line.
    skipping: bool,
}

/// What the reader produced.
#[derive(Debug)]
pub(crate) enum Read {
    Line(Vec<u8>),
    TooLong,
    Closed,
}

impl std::fmt::Debug for LineReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineReader")
            .field("buffered", &self.buffer.len())
            .field("skipping", &self.skipping)
            .finish_non_exhaustive()
    }
}

impl LineReader {
    pub(crate) fn new(socket: IrcRead) -> Self {
        Self {
            socket,
            buffer: Vec::new(),
            skipping: false,
        }
    }

    /// Whether a whole line is already buffered (so [`LineReader::next`]
    /// returns at once).
    pub(crate) fn has_line(&self) -> bool {
        !self.skipping && self.buffer.contains(&b'\n')
    }

    pub(crate) async fn next(&mut self) -> Read {
        let limit = line::MAX_TAGS + line::MAX_LINE;
        loop {
            if let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
                let mut line: Vec<u8> = self.buffer.drain(..=end).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if self.buffer.is_empty() {
                    // Nothing held between lines of an idle connection.
                    self.buffer = Vec::new();
                }
                if std::mem::take(&mut self.skipping) {
                    continue;
                }
                // Arrived whole in one read, but no shorter for that.
                if line.len() > limit {
                    return Read::TooLong;
                }
                return Read::Line(line);
            }
            if self.buffer.len() > limit {
                self.buffer.clear();
                if !std::mem::replace(&mut self.skipping, true) {
                    return Read::TooLong;
                }
            }
            // Into the buffer's own spare room: no array in this future,
            // which every connection's task would carry while idle. An
            // idle connection waits with a small room; a line under way
            // gets more.
            let room = if self.buffer.is_empty() {
                IDLE_CHUNK
            } else {
                READ_CHUNK
            };
            self.buffer.reserve(room);
            match self.socket.read_buf(&mut self.buffer).await {
                Ok(0) | Err(_) => return Read::Closed,
                Ok(_) => {}
            }
            if self.buffer.is_empty() {
                self.buffer = Vec::new();
            }
        }
    }
}
