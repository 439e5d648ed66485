//! The byte stream under a client's frames: TLS over TCP (the default),
//! or plain TCP with `--insecure-plaintext`. The TLS handshake accepts the
//! server's self-signed certificate only after [`crate::trust`] has
//! checked its fingerprint; nothing is sent before that.

use std::{
    io,
    pin::Pin,
    sync::OnceLock,
    task::{Context, Poll},
};

use huddle_protocol::{Fingerprint, tls};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
};
use tokio_rustls::client::TlsStream;

/// A connection's stream, encrypted or not.
#[derive(Debug)]
pub enum Stream {
    /// Plain TCP (`--insecure-plaintext`).
    Plain(TcpStream),
    /// TLS over TCP.
    Tls(Box<TlsStream<TcpStream>>),
}

impl Stream {
    /// This connection's channel binding, which `Hello`'s proof signs
    /// (the TLS exporter; zeros over plain TCP, which has none).
    pub fn channel_binding(&self) -> [u8; 32] {
        let zeros = [0u8; 32];
        match self {
            Stream::Plain(_) => zeros,
            Stream::Tls(stream) => stream
                .get_ref()
                .1
                .export_keying_material(zeros, huddle_protocol::proof::CHANNEL_BINDING_LABEL, None)
                .unwrap_or(zeros),
        }
    }

    /// Whether what crosses the network is encrypted.
    pub fn is_encrypted(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }
}

/// The rustls client configuration, built once per process.
fn client_config() -> io::Result<std::sync::Arc<rustls::ClientConfig>> {
    static CONFIG: OnceLock<Result<std::sync::Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| tls::client_config().map_err(|err| err.to_string()))
        .clone()
        .map_err(io::Error::other)
}

/// Runs the TLS handshake on `tcp` and returns the stream with the
/// fingerprint the server presented (not yet trusted: the caller checks).
pub async fn handshake(tcp: TcpStream) -> io::Result<(Stream, Fingerprint)> {
    let connector = tokio_rustls::TlsConnector::from(client_config()?);
    let stream = connector.connect(tls::server_name(), tcp).await?;
    let fingerprint = tls::peer_fingerprint(stream.get_ref().1)
        .ok_or_else(|| io::Error::other("the server presented no certificate"))?;
    Ok((Stream::Tls(Box::new(stream)), fingerprint))
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(stream) => Pin::new(stream).poll_flush(cx),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
        }
    }
}

/// `huddle trust ADDRESS`: connects, shows the fingerprint the server
/// presents now and records it for the address, saying what it replaced.
pub async fn trust_server(addr: &str, known_servers: &std::path::Path) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let tcp = TcpStream::connect(addr)
        .await
        .with_context(|| format!("cannot connect to {addr}"))?;
    let (_, presented) = handshake(tcp)
        .await
        .with_context(|| format!("TLS with {addr} failed"))?;
    let mut known = crate::trust::KnownServers::load(known_servers)?;
    let before = known.get(addr);
    known.record(known_servers, addr, presented, "")?;
    match before {
        Some(before) if before == presented => {
            println!(
                "{addr} already trusted: {presented} ({})",
                presented.short()
            );
        }
        Some(before) => println!(
            "{addr} now trusted with {presented} ({}), replacing {before}",
            presented.short()
        ),
        None => println!("{addr} now trusted: {presented} ({})", presented.short()),
    }
    Ok(())
}
