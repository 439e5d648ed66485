//! One greeted connection's reader side: reads frames, enforces the rate
//! limit and keepalive, and turns each request into hub calls. Everything it
//! sends goes through the connection's [`Outbound`] queue.

use std::{fmt, sync::Arc, time::Duration};

use huddle_protocol::{
    ClientMessage, CodecError, ConnectionId, ErrorCode, ErrorReport, Nick, RequestKind, RoomName,
    ServerMessage, ShortText, decode_payload,
};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::{
    config::ServerConfig,
    hub::{Caller, Hub, Refusal},
    inbound::FrameReader,
    outbound::Outbound,
    rate::TokenBucket,
};

/// Most rooms listed in one `RoomList` (keeps the frame far below its limit).
const MAX_LISTED_ROOMS: usize = 1000;

/// Why a session ended; also the quit reason shown to the client's rooms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SessionEnd {
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

impl fmt::Display for SessionEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionEnd::Quit(reason) if reason.is_empty() => f.write_str("quit"),
            SessionEnd::Quit(reason) => write!(f, "quit: {reason}"),
            SessionEnd::Closed => f.write_str("connection closed"),
            SessionEnd::Slow => f.write_str("slow consumer"),
            SessionEnd::PingTimeout => f.write_str("ping timeout"),
            SessionEnd::Flooding => f.write_str("flooding"),
            SessionEnd::ProtocolError(what) => write!(f, "protocol error: {what}"),
            SessionEnd::Shutdown => f.write_str("server shutting down"),
        }
    }
}

#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) conn: ConnectionId,
    pub(crate) client: huddle_protocol::ClientId,
    pub(crate) nick: Nick,
    pub(crate) rooms: Vec<RoomName>,
    pub(crate) outbound: Outbound,
    pub(crate) config: Arc<ServerConfig>,
    pub(crate) hub: Arc<Hub>,
    bucket: TokenBucket,
    /// Frames refused in a row by the rate limit.
    strikes: u32,
    ping_token: u64,
}

impl Session {
    pub(crate) fn new(
        conn: ConnectionId,
        client: huddle_protocol::ClientId,
        nick: Nick,
        outbound: Outbound,
        config: Arc<ServerConfig>,
        hub: Arc<Hub>,
    ) -> Self {
        let bucket = TokenBucket::new(
            config.limits.rate_per_second,
            config.limits.rate_burst,
            std::time::Instant::now(),
        );
        Self {
            conn,
            client,
            nick,
            rooms: Vec::new(),
            outbound,
            config,
            hub,
            bucket,
            strikes: 0,
            ping_token: 0,
        }
    }

    fn caller(&self) -> Caller<'_> {
        Caller {
            conn: self.conn,
            client: self.client,
            nick: &self.nick,
            outbound: &self.outbound,
        }
    }

    fn send(&self, message: &ServerMessage) {
        let _ = self.outbound.send(message);
    }

    fn bye(&self, code: ErrorCode, reason: &str) {
        self.send(&ServerMessage::Bye {
            code,
            reason: ShortText::lossy(reason),
        });
    }

    fn report(
        &self,
        code: ErrorCode,
        text: &str,
        request: RequestKind,
        id: Option<huddle_protocol::ClientMsgId>,
    ) {
        self.send(&ServerMessage::Error(ErrorReport {
            code,
            text: ShortText::lossy(text),
            request,
            id,
        }));
    }

    /// Reads and serves frames until the session ends, and says why.
    pub(crate) async fn run(
        &mut self,
        frames: &mut FrameReader,
        shutdown: &CancellationToken,
    ) -> SessionEnd {
        let mut last_heard = Instant::now();
        let mut pinged_at: Option<Instant> = None;
        loop {
            let wake = match pinged_at {
                Some(at) => at + self.config.ping_timeout,
                None => last_heard + self.config.ping_after,
            };
            tokio::select! {
                biased;
                () = self.outbound.killed() => return SessionEnd::Slow,
                () = shutdown.cancelled() => {
                    self.bye(ErrorCode::ShuttingDown, "the server is shutting down");
                    return SessionEnd::Shutdown;
                }
                () = tokio::time::sleep_until(wake) => {
                    if pinged_at.is_some() {
                        self.bye(ErrorCode::PingTimeout, "no answer to ping");
                        return SessionEnd::PingTimeout;
                    }
                    self.ping_token = self.ping_token.wrapping_add(1);
                    self.send(&ServerMessage::Ping { token: self.ping_token });
                    pinged_at = Some(Instant::now());
                }
                frame = frames.next() => match frame {
                    None => return SessionEnd::Closed,
                    Some(Err(CodecError::Io(_))) => return SessionEnd::Closed,
                    Some(Err(err)) => {
                        self.report(err.error_code(), &err.to_string(), RequestKind::Unparsed, None);
                        self.bye(err.error_code(), "the stream cannot continue after this frame");
                        return SessionEnd::ProtocolError(err.to_string());
                    }
                    Some(Ok(payload)) => {
                        last_heard = Instant::now();
                        pinged_at = None;
                        if let Some(end) = self.on_frame(&payload) {
                            return end;
                        }
                    }
                },
            }
        }
    }

    fn on_frame(&mut self, payload: &[u8]) -> Option<SessionEnd> {
        let decoded = decode_payload::<ClientMessage>(payload);
        // File data is paced by its credit window, not by the chat rate limit.
        let paced = matches!(
            decoded,
            Ok(ClientMessage::FileChunk(_) | ClientMessage::FileCredit { .. })
        );
        if self.config.rate_limit && !paced && !self.bucket.try_take(std::time::Instant::now()) {
            self.strikes += 1;
            if self.strikes > self.config.limits.rate_burst {
                self.bye(ErrorCode::Flooding, "too many messages; disconnecting");
                return Some(SessionEnd::Flooding);
            }
            let (request, id) = decoded.as_ref().map_or((RequestKind::Unparsed, None), |m| {
                (m.kind(), m.client_msg_id())
            });
            self.report(
                ErrorCode::RateLimited,
                "you are sending too fast; this message was dropped",
                request,
                id,
            );
            return None;
        }
        self.strikes = 0;
        match decoded {
            Ok(message) => self.handle(message),
            Err(err) => {
                self.report(
                    err.error_code(),
                    &err.to_string(),
                    RequestKind::Unparsed,
                    None,
                );
                None
            }
        }
    }

    fn handle(&mut self, message: ClientMessage) -> Option<SessionEnd> {
        let request = message.kind();
        let id = message.client_msg_id();
        let result = match message {
            ClientMessage::Quit { reason } => {
                self.bye(ErrorCode::Normal, "goodbye");
                return Some(SessionEnd::Quit(reason));
            }
            other => self.serve(other),
        };
        if let Err(refusal) = result {
            self.report(refusal.code, &refusal.text, request, id);
        }
        None
    }

    fn serve(&mut self, message: ClientMessage) -> Result<(), Refusal> {
        let hub = self.hub.clone();
        match message {
            ClientMessage::Hello(_) => Err(Refusal {
                code: ErrorCode::HandshakeRequired,
                text: "already greeted: Hello is only valid as the first frame".into(),
            }),
            ClientMessage::Join { room, password } => {
                let already = self.rooms.contains(&room);
                if !already
                    && self.rooms.len() >= usize::from(self.config.limits.max_rooms_per_client)
                {
                    return Err(Refusal {
                        code: ErrorCode::TooManyRooms,
                        text: format!(
                            "you are in {} rooms, the most allowed; /part one first",
                            self.rooms.len()
                        ),
                    });
                }
                let name = hub.join(self.caller(), &room, password.as_ref())?;
                if !already {
                    self.rooms.push(name);
                }
                Ok(())
            }
            ClientMessage::Part { room, reason } => {
                hub.part(self.caller(), &room, &reason)?;
                self.rooms.retain(|r| r != &room);
                Ok(())
            }
            ClientMessage::Say {
                room,
                id,
                kind,
                text,
            } => hub.say(self.caller(), &room, id, kind, text),
            ClientMessage::Direct { to, id, kind, text } => {
                hub.direct(self.caller(), &to, id, kind, text)
            }
            ClientMessage::ChangeNick { nick } => {
                hub.rename(self.caller(), &nick, &self.rooms)?;
                self.nick = nick;
                Ok(())
            }
            ClientMessage::SetTopic { room, topic } => hub.set_topic(self.caller(), &room, topic),
            ClientMessage::ListRooms => {
                self.send(&ServerMessage::RoomList {
                    rooms: hub.list_rooms(MAX_LISTED_ROOMS),
                });
                Ok(())
            }
            ClientMessage::ListMembers { room } => {
                let members = hub.members(&room)?;
                self.send(&ServerMessage::MemberList { room, members });
                Ok(())
            }
            ClientMessage::FetchHistory {
                room,
                before,
                after,
                limit,
            } => {
                let page = hub.history(self.caller(), &room, before, after, limit)?;
                self.send(&page);
                Ok(())
            }
            ClientMessage::FetchDirectHistory {
                with,
                before,
                after,
                limit,
            } => {
                let page = hub.direct_history(self.caller(), with, before, after, limit);
                self.send(&page);
                Ok(())
            }
            ClientMessage::Ping { token } => {
                self.send(&ServerMessage::Pong { token });
                Ok(())
            }
            ClientMessage::FileOffer(offer) => hub.file_offer(self.caller(), offer),
            ClientMessage::FileAnswer { transfer, accept } => {
                if hub.file_answer(self.caller(), transfer, accept)? {
                    // Others have not answered yet: give them a moment.
                    let hub = hub.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(crate::hub::FILE_START_GRACE).await;
                        hub.file_start(transfer);
                    });
                }
                Ok(())
            }
            ClientMessage::FileChunk(chunk) => hub.file_chunk(self.caller(), chunk),
            ClientMessage::FileCredit { transfer, bytes } => {
                hub.file_credit(self.caller(), transfer, bytes)
            }
            ClientMessage::FileCancel { transfer, reason } => {
                hub.file_cancel(self.caller(), transfer, &reason)
            }
            ClientMessage::Pong { .. } | ClientMessage::Quit { .. } => Ok(()),
        }
    }
}

/// How long a rejected or timed-out connection may take to receive its last
/// frame.
pub(crate) const LAST_WORDS_TIMEOUT: Duration = Duration::from_secs(1);
