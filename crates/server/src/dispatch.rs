//! The dispatcher: a greeted connection's request loop. It is the only
//! reader of the client's socket; it enforces the rate limit and keepalive
//! (both plain state fed the time: `rate.rs`, `keepalive.rs`), and turns each
//! request into hub calls. Everything it sends goes through the connection's
//! [`Outbound`] queue.

use std::{net::IpAddr, sync::Arc, time::Duration};

use huddle_protocol::{
    ClientMessage, CodecError, ConnectionId, ErrorCode, ErrorReport, Nick, RequestKind, RoomName,
    ServerMessage, ShortText, decode_payload,
};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::{
    config::ServerConfig,
    connection::Context,
    hub::{Caller, Hub, Refusal},
    inbound::{FrameReader, refusal},
    keepalive::{Keepalive, KeepaliveStep},
    outbound::Outbound,
    rate::TokenBucket,
};

/// Most rooms listed in one `RoomList` (keeps the frame far below its limit).
const MAX_LISTED_ROOMS: usize = 1000;

/// A greeted client's request loop and the state it keeps for the client.
#[derive(Debug)]
pub(crate) struct Dispatcher {
    pub(crate) conn: ConnectionId,
    pub(crate) client: huddle_protocol::ClientId,
    pub(crate) nick: Nick,
    pub(crate) rooms: Vec<RoomName>,
    pub(crate) outbound: Outbound,
    pub(crate) config: Arc<ServerConfig>,
    pub(crate) hub: Arc<Hub>,
    throttles: Throttled,
    bucket: TokenBucket,
    /// Frames refused in a row by the rate limit.
    strikes: u32,
    keepalive: Keepalive,
    /// In cluster mode, the nick's claim across the cluster (released
    /// when the connection ends) and a nick change waiting to be claimed
    /// (`dispatch/cluster_rename.rs`).
    pub(crate) claim: Option<Box<crate::cluster::NickClaim>>,
    rename_pending: Option<Box<Nick>>,
    /// `Say`s held while more frames are buffered (`dispatch/said_run.rs`).
    said_run: Option<Box<said_run::SaidRun>>,
}

/// Who a greeted client is.
#[derive(Debug, Clone)]
pub(crate) struct Greeted {
    pub(crate) conn: ConnectionId,
    pub(crate) client: huddle_protocol::ClientId,
    pub(crate) nick: Nick,
    pub(crate) peer: IpAddr,
}

impl Dispatcher {
    pub(crate) fn new(
        greeted: Greeted,
        outbound: Outbound,
        context: &Context,
        now: Instant,
    ) -> Self {
        let config = context.config.clone();
        let bucket = TokenBucket::new(config.limits.rate_per_second, config.limits.rate_burst, now);
        let keepalive = Keepalive::new(now);
        Self {
            conn: greeted.conn,
            client: greeted.client,
            nick: greeted.nick,
            rooms: Vec::new(),
            outbound,
            config,
            hub: context.hub.clone(),
            throttles: Throttled::new(greeted.peer, context.password_guesses.clone()),
            bucket,
            strikes: 0,
            keepalive,
            claim: None,
            rename_pending: None,
            said_run: None,
        }
    }

    /// Joins a room, within the join throttles (`dispatch/throttles.rs`).
    fn join(
        &mut self,
        room: &RoomName,
        password: Option<&ShortText>,
        now: Instant,
    ) -> Result<RoomName, Refusal> {
        let caller = Caller {
            conn: self.conn,
            client: self.client,
            nick: &self.nick,
            outbound: &self.outbound,
        };
        let per_minute = self.config.rooms_created_per_minute;
        let mut gate = self.throttles.gate(now, per_minute);
        let joined = self.hub.join(caller, room, password, &mut gate);
        gate.finish(joined.is_ok());
        joined
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

    /// A notice to this client.
    fn tell(&self, text: String) {
        if let Ok(text) = huddle_protocol::ChatText::new(text) {
            self.send(&ServerMessage::Notice { text });
        }
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
        self.hub.metrics().refused(code);
        self.send(&ServerMessage::Error(ErrorReport {
            code,
            text: ShortText::lossy(text),
            request,
            id,
        }));
    }

    /// Reads and serves frames until the client leaves, and says why.
    pub(crate) async fn run(
        &mut self,
        frames: &mut FrameReader,
        shutdown: &CancellationToken,
    ) -> Departure {
        let end = self.serve_frames(frames, shutdown).await;
        // Messages held in a run were accepted by the rate limit: relayed.
        self.relay_said();
        end
    }

    async fn serve_frames(
        &mut self,
        frames: &mut FrameReader,
        shutdown: &CancellationToken,
    ) -> Departure {
        loop {
            tokio::select! {
                biased;
                () = self.outbound.killed() => return Departure::Slow,
                () = shutdown.cancelled() => {
                    self.bye(ErrorCode::ShuttingDown, "the server is shutting down");
                    return Departure::Shutdown;
                }
                () = tokio::time::sleep_until(self.keepalive_deadline()) => {
                    if let Some(end) = self.keepalive_due(Instant::now()) {
                        return end;
                    }
                }
                frame = frames.next() => match frame {
                    None => return Departure::Closed,
                    Some(Err(err)) if let Some(text) = refusal(&err) => {
                        self.bye(ErrorCode::MalformedMessage, &text);
                        return Departure::ProtocolError(text);
                    }
                    Some(Err(CodecError::Io(_))) => return Departure::Closed,
                    Some(Err(err)) => {
                        self.report(err.error_code(), &err.to_string(), RequestKind::Unparsed, None);
                        self.bye(err.error_code(), "the stream cannot continue after this frame");
                        return Departure::ProtocolError(err.to_string());
                    }
                    Some(Ok(payload)) => {
                        let now = Instant::now();
                        self.keepalive.heard(now);
                        let more = frames.has_buffered_frame();
                        if let Some(end) = self.on_frames(&payload, now, more) {
                            return end;
                        }
                        if self.rename_waits() {
                            Box::pin(self.finish_rename()).await;
                        }
                    }
                },
            }
        }
    }

    /// Serves one frame received at `now`.
    #[cfg(test)]
    pub(crate) fn on_frame(&mut self, payload: &[u8], now: Instant) -> Option<Departure> {
        self.on_frames(payload, now, false)
    }

    /// Serves one frame received at `now`; when `more_follow` (another
    /// complete frame is already buffered) a `Say` may be held in a run
    /// (`dispatch/said_run.rs`), relayed once no more follow.
    pub(crate) fn on_frames(
        &mut self,
        payload: &[u8],
        now: Instant,
        more_follow: bool,
    ) -> Option<Departure> {
        let end = self.serve_frame(payload, now, more_follow);
        self.end_run_unless_more(end, more_follow)
    }

    fn serve_frame(
        &mut self,
        payload: &[u8],
        now: Instant,
        more_follow: bool,
    ) -> Option<Departure> {
        let decoded = decode_payload::<ClientMessage>(payload);
        // What the frame asked for, even if a field in it is invalid: every
        // refusal names the request and, for messages, its id.
        let (request, id) = match &decoded {
            Ok(message) => (message.kind(), message.client_msg_id()),
            Err(_) => ClientMessage::peek_request(payload),
        };
        // File data is paced by its credit window, not by the chat rate
        // limit: but only for a transfer under way.
        let paced = match &decoded {
            Ok(ClientMessage::FileChunk(chunk)) => self.hub.transfer_exists(chunk.transfer),
            Ok(ClientMessage::FileCredit { transfer, .. }) => self.hub.transfer_exists(*transfer),
            _ => false,
        };
        match self.charge(paced, request, id, now) {
            Charge::Taken => {}
            Charge::Dropped => return None,
            Charge::Flooding => return Some(Departure::Flooding),
        }
        match decoded {
            Ok(message) => self.hold_or_handle(message, now, more_follow),
            Err(err) => {
                self.relay_said();
                self.report(err.error_code(), &err.to_string(), request, id);
                None
            }
        }
    }

    /// When the keepalive wants attention next.
    pub(crate) fn keepalive_deadline(&self) -> Instant {
        (self.keepalive).deadline(self.config.ping_after, self.config.ping_timeout)
    }

    /// At the keepalive's deadline: a `Ping` queued, or the client given
    /// up on.
    pub(crate) fn keepalive_due(&mut self, now: Instant) -> Option<Departure> {
        match self.keepalive.on_deadline(now) {
            KeepaliveStep::Ping(token) => {
                self.send(&ServerMessage::Ping { token });
                None
            }
            KeepaliveStep::GiveUp => {
                self.bye(ErrorCode::PingTimeout, "no answer to ping");
                Some(Departure::PingTimeout)
            }
        }
    }

    /// Serves one request that came in some other form than a frame (the
    /// IRC gateway's translation), under the same rate limit; when
    /// `more_follow`, a `Say` may be held in a run, as in
    /// [`Dispatcher::on_frames`].
    pub(crate) fn on_message(
        &mut self,
        message: ClientMessage,
        now: Instant,
        more_follow: bool,
    ) -> Option<Departure> {
        self.keepalive.heard(now);
        let end = match self.charge(false, message.kind(), message.client_msg_id(), now) {
            Charge::Taken => self.hold_or_handle(message, now, more_follow),
            Charge::Dropped => None,
            Charge::Flooding => Some(Departure::Flooding),
        };
        self.end_run_unless_more(end, more_follow)
    }

    /// Holds a `Say` in the run while more requests follow; otherwise
    /// relays the run, then serves the request.
    fn hold_or_handle(
        &mut self,
        message: ClientMessage,
        now: Instant,
        more_follow: bool,
    ) -> Option<Departure> {
        match message {
            ClientMessage::Say {
                room,
                id,
                kind,
                text,
            } if more_follow => {
                self.hold_say(room, crate::hub::Said { id, kind, text });
                None
            }
            message => {
                self.relay_said();
                self.handle(message, now)
            }
        }
    }

    fn handle(&mut self, message: ClientMessage, now: Instant) -> Option<Departure> {
        let request = message.kind();
        let id = message.client_msg_id();
        let result = match message {
            ClientMessage::Quit { reason } => {
                self.bye(ErrorCode::Normal, "goodbye");
                return Some(Departure::Quit(reason));
            }
            other => self.serve(other, now),
        };
        if let Err(refusal) = result {
            self.report(refusal.code, &refusal.text, request, id);
        }
        None
    }

    fn serve(&mut self, message: ClientMessage, now: Instant) -> Result<(), Refusal> {
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
                let name = self.join(&room, password.as_ref(), now)?;
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
            ClientMessage::ChangeNick { nick } if hub.cluster().is_some() => {
                self.rename_later(nick);
                Ok(())
            }
            ClientMessage::ChangeNick { nick } => {
                hub.rename(self.caller(), &nick, &self.rooms)?;
                self.nick = nick;
                Ok(())
            }
            ClientMessage::SetTopic { room, topic } => hub.set_topic(self.caller(), &room, topic),
            query @ (ClientMessage::ListRooms
            | ClientMessage::ListMembers { .. }
            | ClientMessage::FetchHistory { .. }
            | ClientMessage::FetchDirectHistory { .. }
            | ClientMessage::Whois { .. }
            | ClientMessage::Search { .. }) => self.answer(query, now),
            ClientMessage::Ping { token } => {
                self.send(&ServerMessage::Pong { token });
                Ok(())
            }
            ClientMessage::FileOffer(offer) => hub.file_offer(self.caller(), offer, now),
            ClientMessage::FileAnswer { transfer, accept } => {
                hub.file_answer(self.caller(), transfer, accept, now)
            }
            ClientMessage::FileChunk(chunk) => hub.file_chunk(self.caller(), chunk, now),
            ClientMessage::FileCredit { transfer, bytes } => {
                hub.file_credit(self.caller(), transfer, bytes, now)
            }
            ClientMessage::FileCancel { transfer, reason } => {
                hub.file_cancel(self.caller(), transfer, &reason)
            }
            ClientMessage::SetAway { message } => {
                hub.set_away(self.caller(), &self.rooms, message);
                Ok(())
            }
            ClientMessage::SetIrcPassword { password } => {
                let text = hub.set_irc_password(self.caller(), &password)?;
                self.tell(text);
                Ok(())
            }
            ClientMessage::SetIrcCertificate { fingerprint } => {
                let text = hub.set_irc_certificate(self.caller(), fingerprint)?;
                self.tell(text);
                Ok(())
            }
            ClientMessage::Pong { .. } | ClientMessage::Quit { .. } => Ok(()),
        }
    }
}

mod charge;
mod cluster_rename;
mod departure;
mod queries;
mod said_run;
#[cfg(test)]
mod tests;
mod throttles;

use charge::Charge;
pub(crate) use departure::Departure;
use throttles::Throttled;

/// How long a rejected or timed-out connection may take to receive its last
/// frame.
pub(crate) const LAST_WORDS_TIMEOUT: Duration = Duration::from_secs(1);
