//! Connecting: TCP, TLS with the server's fingerprint checked against
//! what the user trusts (`trust.rs`), then `Hello` — with this
//! installation's key and its proof for this very connection — answered by
//! `Welcome` or `Reject`.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use huddle_protocol::{
    ClientCodec, ClientMessage, ErrorCode, Hello, IdentityKey, Nick, Reject, ServerMessage,
    ShortText, Welcome,
};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

use crate::{
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
    Hello::proving(
        &who.key,
        who.nick.clone(),
        binding,
        ShortText::lossy("huddle"),
        ShortText::lossy(env!("CARGO_PKG_VERSION")),
    )
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
