//! The one protocol-level test client, shared by the server's tests, the
//! end-to-end tests and (for its `Hello`) the benchmark: a real socket,
//! TLS, a `Hello` proving a key, then frames in and out with a deadline on
//! every wait. Test code: a failure panics, naming what was expected.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)] // A test kit: panicking is how it reports.

use std::{net::SocketAddr, time::Duration};

use futures_util::{SinkExt, StreamExt};
use huddle_protocol::{
    ChatText, ClientCodec, ClientId, ClientMessage, ClientMsgId, Hello, IdentityKey, MessageId,
    MessageKind, Nick, RoomName, ServerMessage, ShortText, Welcome,
};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

/// How long a test waits for any one frame before failing.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A client's stream: TLS, as every default server wants.
pub type Stream = tokio_rustls::client::TlsStream<TcpStream>;

/// Connects over TLS (accepting the test server's certificate).
pub async fn open(addr: SocketAddr) -> Stream {
    let tcp = TcpStream::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    tls_over(tcp).await
}

/// Runs the TLS handshake on an open TCP connection.
pub async fn tls_over(tcp: TcpStream) -> Stream {
    let config = huddle_protocol::tls::client_config().unwrap();
    tokio_rustls::TlsConnector::from(config)
        .connect(huddle_protocol::tls::server_name(), tcp)
        .await
        .unwrap()
}

/// A greeted (or greeting) connection to a server.
#[derive(Debug)]
pub struct Client {
    /// The nick it asked for, named in every failure.
    pub nick: String,
    /// The framed TLS stream.
    pub framed: Framed<Stream, ClientCodec>,
}

/// The key a test's "installation" `id` stands for (derived from it, so
/// the same id is the same person across connections).
pub fn key_of(id: ClientId) -> IdentityKey {
    let bytes = id.as_uuid().as_bytes();
    let mut seed = [0u8; 32];
    seed[..16].copy_from_slice(bytes);
    seed[16..].copy_from_slice(bytes);
    IdentityKey::from_seed(&seed).unwrap()
}

/// A TLS connection's channel binding, which `Hello`'s proof signs.
pub fn binding_of(stream: &Stream) -> [u8; 32] {
    stream
        .get_ref()
        .1
        .export_keying_material(
            [0u8; 32],
            huddle_protocol::proof::CHANNEL_BINDING_LABEL,
            None,
        )
        .unwrap()
}

/// A `Hello` for plain TCP (no channel binding: the proof signs zeros).
pub fn hello(nick: &str) -> ClientMessage {
    hello_as(nick, ClientId::random(), &[0; 32])
}

/// A `Hello` for a TLS stream, as a new installation.
pub fn hello_on(stream: &Stream, nick: &str) -> ClientMessage {
    hello_as(nick, ClientId::random(), &binding_of(stream))
}

/// A `Hello` as installation `id`, proving its key for `binding`.
pub fn hello_as(nick: &str, id: ClientId, binding: &[u8; 32]) -> ClientMessage {
    ClientMessage::Hello(Hello::proving(
        &key_of(id),
        Nick::new(nick).unwrap(),
        binding,
        ShortText::new("test").unwrap(),
        ShortText::new("0").unwrap(),
    ))
}

/// A room name the test wrote (valid, or the test is wrong).
pub fn room(name: &str) -> RoomName {
    RoomName::new(name).unwrap()
}

/// A `Say` of `text` in `room_name`, with a fresh id.
pub fn say(room_name: &str, text: &str) -> ClientMessage {
    ClientMessage::Say {
        room: room(room_name),
        id: ClientMsgId::random(),
        kind: MessageKind::Normal,
        text: ChatText::new(text).unwrap(),
    }
}

impl Client {
    /// Sends `Hello` as a new installation, proving a key for this
    /// connection.
    pub async fn greet(&mut self) {
        self.greet_as(ClientId::random()).await;
    }

    /// Sends `Hello` as installation `id`.
    pub async fn greet_as(&mut self, id: ClientId) {
        let binding = binding_of(self.framed.get_ref());
        let nick = self.nick.clone();
        self.send(hello_as(&nick, id, &binding)).await;
    }

    /// Connects as a given client installation and expects `Welcome`.
    pub async fn connect_as(addr: SocketAddr, nick: &str, client_id: ClientId) -> Self {
        let stream = open(addr).await;
        let hello = hello_as(nick, client_id, &binding_of(&stream));
        let mut client = Self {
            nick: nick.into(),
            framed: Framed::new(stream, ClientCodec::new()),
        };
        client.send(hello).await;
        assert!(matches!(client.recv().await, ServerMessage::Welcome(_)));
        client
    }

    /// Connects again as installation `id` once its nick is free (its
    /// previous connection may still be closing), within 10 s.
    pub async fn reconnect_as(addr: SocketAddr, nick: &str, id: ClientId) -> Self {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let stream = open(addr).await;
            let mut client = Self {
                nick: nick.into(),
                framed: Framed::new(stream, ClientCodec::new()),
            };
            client.greet_as(id).await;
            let answer = client.recv().await;
            if matches!(answer, ServerMessage::Welcome(_)) {
                return client;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{nick} could not come back: {answer:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Connects and sends `Hello`, returning the server's first answer.
    pub async fn handshake(addr: SocketAddr, nick: &str) -> (Self, ServerMessage) {
        let stream = open(addr).await;
        let hello = hello_on(&stream, nick);
        let mut client = Self {
            nick: nick.into(),
            framed: Framed::new(stream, ClientCodec::new()),
        };
        client.send(hello).await;
        let answer = client.recv().await;
        (client, answer)
    }

    /// Connects and expects `Welcome`.
    pub async fn connect(addr: SocketAddr, nick: &str) -> (Self, Welcome) {
        match Self::handshake(addr, nick).await {
            (client, ServerMessage::Welcome(welcome)) => (client, welcome),
            (_, other) => panic!("{nick}: expected Welcome, got {other:?}"),
        }
    }

    /// Connects as installation `id` and joins `rooms`.
    pub async fn joined_as(addr: SocketAddr, nick: &str, id: ClientId, rooms: &[&str]) -> Self {
        let mut client = Self::connect_as(addr, nick, id).await;
        for name in rooms {
            client.join(name).await;
        }
        client
    }

    /// Connects and joins `rooms`, consuming the `Joined` answers.
    pub async fn joined(addr: SocketAddr, nick: &str, rooms: &[&str]) -> Self {
        let (mut client, _) = Self::connect(addr, nick).await;
        for name in rooms {
            client.join(name).await;
        }
        client
    }

    /// Joins `name`; returns `Joined` (or the `Error` refusing it).
    pub async fn join(&mut self, name: &str) -> ServerMessage {
        self.send(ClientMessage::Join {
            room: room(name),
            password: None,
        })
        .await;
        self.recv_until(|m| matches!(m, ServerMessage::Joined { .. } | ServerMessage::Error(_)))
            .await
    }

    /// Sends a frame.
    pub async fn send(&mut self, message: ClientMessage) {
        self.framed.send(message).await.unwrap();
    }

    /// Says `text` in `room_name`.
    pub async fn say(&mut self, room_name: &str, text: &str) {
        self.send(say(room_name, text)).await;
    }

    /// The next frame; panics after [`PATIENCE`] or at end of stream.
    pub async fn recv(&mut self) -> ServerMessage {
        match tokio::time::timeout(PATIENCE, self.framed.next()).await {
            Ok(Some(Ok(message))) => message,
            Ok(other) => panic!("{}: stream ended: {other:?}", self.nick),
            Err(_) => panic!("{}: nothing received in {PATIENCE:?}", self.nick),
        }
    }

    /// Skips frames until one matches.
    pub async fn recv_until(&mut self, matches: impl Fn(&ServerMessage) -> bool) -> ServerMessage {
        loop {
            let message = self.recv().await;
            if matches(&message) {
                return message;
            }
        }
    }

    /// The next chat message's text, skipping everything else.
    pub async fn next_chat(&mut self) -> String {
        match self
            .recv_until(|m| matches!(m, ServerMessage::Chat(_)))
            .await
        {
            ServerMessage::Chat(chat) => chat.text.to_string(),
            _ => unreachable!(),
        }
    }

    /// Reads until the server closes the stream; returns what came before.
    pub async fn until_closed(&mut self) -> Vec<ServerMessage> {
        let mut seen = Vec::new();
        loop {
            match tokio::time::timeout(PATIENCE, self.framed.next()).await {
                Ok(Some(Ok(message))) => seen.push(message),
                Ok(_) => return seen,
                Err(_) => panic!(
                    "{}: not closed within {PATIENCE:?}; saw {seen:?}",
                    self.nick
                ),
            }
        }
    }

    /// Round-trips a ping, so everything the server sent before is in.
    pub async fn sync(&mut self) -> Vec<ServerMessage> {
        let token = fastrand_token();
        self.send(ClientMessage::Ping { token }).await;
        let mut before = Vec::new();
        loop {
            match self.recv().await {
                ServerMessage::Pong { token: got } if got == token => return before,
                other => before.push(other),
            }
        }
    }
}

impl Client {
    /// Every message of `name` the server keeps, oldest first, read
    /// through history pages (joining it first).
    pub async fn whole_history(&mut self, name: &str) -> Vec<huddle_protocol::ChatMessage> {
        self.join(name).await;
        let mut after = Some(MessageId::from_uuid(uuid::Uuid::nil()));
        let mut messages = Vec::new();
        loop {
            self.send(ClientMessage::FetchHistory {
                room: room(name),
                before: None,
                after,
                limit: huddle_protocol::limits::MAX_HISTORY_PAGE,
            })
            .await;
            let ServerMessage::HistoryPage {
                messages: page,
                more,
                ..
            } = self
                .recv_until(|m| matches!(m, ServerMessage::HistoryPage { .. }))
                .await
            else {
                unreachable!()
            };
            after = page.last().map(|m| m.id).or(after);
            messages.extend(page);
            if !more {
                return messages;
            }
        }
    }
}

fn fastrand_token() -> u64 {
    uuid::Uuid::new_v4().as_u64_pair().0
}
