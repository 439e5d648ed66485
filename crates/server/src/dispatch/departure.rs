//! Why a greeted client left.

use std::fmt;

use huddle_protocol::ShortText;

/// Why a greeted client left; also the quit reason shown to its rooms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Departure {
    /// The client sent `Quit`.
    Quit(ShortText),
    /// The client closed the connection (or it was reset).
    Closed,
    /// The client stopped reading.
    Slow,
    /// The client went silent past the keepalive timeout.
    PingTimeout,
    /// The client kept sending past its rate limit.
    Flooding,
    /// The client sent a frame that breaks the stream.
    ProtocolError(String),
    /// The server is stopping.
    Shutdown,
}

impl fmt::Display for Departure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Departure::Quit(reason) if reason.is_empty() => f.write_str("quit"),
            Departure::Quit(reason) => write!(f, "quit: {reason}"),
            Departure::Closed => f.write_str("connection closed"),
            Departure::Slow => f.write_str("slow consumer"),
            Departure::PingTimeout => f.write_str("ping timeout"),
            Departure::Flooding => f.write_str("flooding"),
            Departure::ProtocolError(what) => write!(f, "protocol error: {what}"),
            Departure::Shutdown => f.write_str("server shutting down"),
        }
    }
}
