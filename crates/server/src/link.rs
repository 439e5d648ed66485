//! The byte pipe a connection runs on: plain TCP, or TLS over TCP.
//!
//! The reader ([`crate::inbound`]) waits for readability and then reads
//! without blocking; the flusher ([`crate::outbound`]) writes without
//! blocking and hands a full socket to the connection's writer task. TLS
//! keeps that shape: after the handshake (tokio-rustls), the rustls
//! connection and the TCP socket are shared by the read and write halves,
//! the connection behind a mutex held only for a non-blocking step, never
//! across an `.await`. Encrypted bytes the socket did not take stay in
//! rustls ([`WriteLink::has_backlog`]), and the writer task waits for the
//! socket to take them.

use std::{
    io::{self, Read, Write},
    sync::{Arc, Mutex, MutexGuard},
};

use bytes::BytesMut;
use huddle_protocol::proof::{CHANNEL_BINDING_LABEL, CHANNEL_BINDING_LEN};
use rustls::ServerConnection;
use tokio::net::{
    TcpStream,
    tcp::{OwnedReadHalf, OwnedWriteHalf},
};

/// A TLS connection's shared state: the socket and the rustls session.
#[derive(Debug)]
pub(crate) struct TlsLink {
    tcp: TcpStream,
    session: Mutex<ServerConnection>,
}

impl TlsLink {
    fn session(&self) -> MutexGuard<'_, ServerConnection> {
        self.session
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// `std::io` over a non-blocking tokio socket, for rustls's
/// `read_tls`/`write_tls` (a full or empty socket is `WouldBlock`, which
/// also clears tokio's readiness, so the next wait is real).
struct Nonblocking<'a>(&'a TcpStream);

impl Read for Nonblocking<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buf)
    }
}

impl Write for Nonblocking<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }

    /// rustls hands over every queued record at once: one `writev`.
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.0.try_write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes what rustls holds for the socket until it is all written or the
/// socket is full; true if some is left.
fn push_tls(session: &mut ServerConnection, tcp: &TcpStream) -> io::Result<bool> {
    while session.wants_write() {
        match session.write_tls(&mut Nonblocking(tcp)) {
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(true),
            Err(err) => return Err(err),
        }
    }
    Ok(false)
}

/// Splits an established connection into its two halves.
pub(crate) fn plain(stream: TcpStream) -> (ReadLink, WriteLink) {
    let (read, write) = stream.into_split();
    (ReadLink::Plain(read), WriteLink::Plain(write))
}

/// Splits a finished TLS handshake into its two halves.
pub(crate) fn tls(stream: tokio_rustls::server::TlsStream<TcpStream>) -> (ReadLink, WriteLink) {
    let (tcp, session) = stream.into_inner();
    let link = Arc::new(TlsLink {
        tcp,
        session: Mutex::new(session),
    });
    (ReadLink::Tls(link.clone()), WriteLink::Tls(link))
}

/// The read half.
#[derive(Debug)]
pub(crate) enum ReadLink {
    Plain(OwnedReadHalf),
    Tls(Arc<TlsLink>),
}

impl ReadLink {
    /// This connection's channel binding (see `huddle_protocol::proof`):
    /// the TLS exporter, or zeros over plain TCP, which has none.
    pub(crate) fn channel_binding(&self) -> [u8; CHANNEL_BINDING_LEN] {
        let zeros = [0u8; CHANNEL_BINDING_LEN];
        match self {
            ReadLink::Plain(_) => zeros,
            ReadLink::Tls(link) => link
                .session()
                .export_keying_material(zeros, CHANNEL_BINDING_LABEL, None)
                .unwrap_or(zeros),
        }
    }

    /// Waits until [`Self::try_read_buf`] may have something.
    pub(crate) async fn readable(&self) -> io::Result<()> {
        match self {
            ReadLink::Plain(socket) => socket.readable().await,
            ReadLink::Tls(link) => {
                // Plaintext rustls already decrypted needs no socket.
                let buffered = link.session().process_new_packets().map_or(true, |state| {
                    state.plaintext_bytes_to_read() > 0 || state.peer_has_closed()
                });
                if buffered {
                    return Ok(());
                }
                link.tcp.readable().await
            }
        }
    }

    /// Reads what is there into `buffer`'s spare capacity without waiting:
    /// `Ok(0)` at the end of the stream, `WouldBlock` if nothing is there.
    pub(crate) fn try_read_buf(&mut self, buffer: &mut BytesMut) -> io::Result<usize> {
        match self {
            ReadLink::Plain(socket) => socket.try_read_buf(buffer),
            ReadLink::Tls(link) => read_tls(link, buffer),
        }
    }
}

/// Decrypts into `buffer`'s spare capacity, reading the socket as needed.
fn read_tls(link: &TlsLink, buffer: &mut BytesMut) -> io::Result<usize> {
    let mut session = link.session();
    let start = buffer.len();
    let room = buffer.capacity() - start;
    buffer.resize(start + room, 0);
    let result = loop {
        match session.reader().read(&mut buffer[start..]) {
            Ok(read) => break Ok(read),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
            // The peer closed the TCP connection without a close_notify.
            Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => break Ok(0),
            Err(err) => break Err(err),
        }
        match session.read_tls(&mut Nonblocking(&link.tcp)) {
            Ok(0) => break Ok(0),
            Ok(_) => {}
            Err(err) => break Err(err),
        }
        if let Err(err) = session.process_new_packets() {
            // Tell the peer why (an alert), if the socket takes it.
            let _ = push_tls(&mut session, &link.tcp);
            break Err(io::Error::new(io::ErrorKind::InvalidData, err));
        }
        // A key update or an alert to answer goes out with the next
        // write; try now in case there is none soon.
        let _ = push_tls(&mut session, &link.tcp);
    };
    buffer.truncate(start + *result.as_ref().unwrap_or(&0));
    result
}

/// The write half.
#[derive(Debug)]
pub(crate) enum WriteLink {
    Plain(OwnedWriteHalf),
    Tls(Arc<TlsLink>),
}

impl WriteLink {
    /// Writes what the socket takes now, without waiting. With TLS the
    /// bytes are accepted whole once earlier ones are out, and what the
    /// socket did not take waits in rustls ([`Self::has_backlog`]).
    pub(crate) fn try_write(&self, bytes: &[u8]) -> io::Result<usize> {
        match self {
            WriteLink::Plain(socket) => socket.try_write(bytes),
            WriteLink::Tls(link) => {
                let mut session = link.session();
                if push_tls(&mut session, &link.tcp)? {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                let accepted = session.writer().write(bytes)?;
                push_tls(&mut session, &link.tcp)?;
                Ok(accepted)
            }
        }
    }

    /// Whether written bytes still wait for the socket (TLS only).
    pub(crate) fn has_backlog(&self) -> bool {
        match self {
            WriteLink::Plain(_) => false,
            WriteLink::Tls(link) => link.session().wants_write(),
        }
    }

    /// Writes all of `bytes`, and any backlog, waiting for the socket.
    pub(crate) async fn write_all(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        loop {
            match self.try_write(bytes) {
                Ok(written) => bytes = &bytes[written..],
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                Err(err) => return Err(err),
            }
            if bytes.is_empty() && !self.has_backlog() {
                return Ok(());
            }
            self.writable().await?;
        }
    }

    async fn writable(&self) -> io::Result<()> {
        match self {
            WriteLink::Plain(socket) => socket.writable().await,
            WriteLink::Tls(link) => link.tcp.writable().await,
        }
    }

    /// Ends the stream: a TLS close_notify, then the TCP write side.
    pub(crate) async fn shutdown(&mut self) -> io::Result<()> {
        match self {
            WriteLink::Plain(socket) => tokio::io::AsyncWriteExt::shutdown(socket).await,
            WriteLink::Tls(link) => {
                link.session().send_close_notify();
                self.write_all(&[]).await?;
                if let WriteLink::Tls(link) = self {
                    socket2::SockRef::from(&link.tcp).shutdown(std::net::Shutdown::Write)?;
                }
                Ok(())
            }
        }
    }
}
