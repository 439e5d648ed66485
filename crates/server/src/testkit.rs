//! The server's in-crate test kit: a hub with peers whose frames are
//! captured instead of written, for tests of the hub and the dispatcher
//! that need no socket and no sleep. Compiled only for tests
//! (`#[cfg(test)] mod testkit` in `lib.rs`): its `unwrap`s panic a test,
//! never a server, and no network input reaches them.

use huddle_protocol::{
    ChatText, ClientId, ClientMsgId, ConnectionId, MessageId, MessageKind, Nick, RoomName,
    ServerMessage,
};

use crate::{
    hub::{Caller, Hub, Refusal, Unlimited},
    outbound::{Captured, Outbound},
};

/// One connected client as the hub sees it, with its captured frames.
pub(crate) struct Peer {
    pub(crate) conn: ConnectionId,
    pub(crate) client: ClientId,
    pub(crate) nick: Nick,
    pub(crate) outbound: Outbound,
    pub(crate) captured: Captured,
}

impl Peer {
    pub(crate) fn caller(&self) -> Caller<'_> {
        Caller {
            conn: self.conn,
            client: self.client,
            nick: &self.nick,
            outbound: &self.outbound,
        }
    }

    /// Everything queued for this peer since the last call.
    pub(crate) fn take(&self) -> Vec<ServerMessage> {
        self.captured.take()
    }

    /// The one frame queued since the last call.
    pub(crate) fn only(&self) -> ServerMessage {
        let mut frames = self.take();
        assert_eq!(
            frames.len(),
            1,
            "{}: expected one frame, got {frames:?}",
            self.nick
        );
        frames.remove(0)
    }

    pub(crate) fn join(&self, hub: &Hub, name: &str) -> ServerMessage {
        hub.join(self.caller(), &room(name), None, &mut Unlimited)
            .unwrap();
        self.only()
    }

    pub(crate) fn say(&self, hub: &Hub, name: &str, text: &str) -> Result<(), Refusal> {
        hub.say(
            self.caller(),
            &room(name),
            ClientMsgId::random(),
            MessageKind::Normal,
            ChatText::new(text).unwrap(),
        )
    }

    /// Says `text` and returns the id the ack gave it.
    pub(crate) fn say_acked(&self, hub: &Hub, name: &str, text: &str) -> MessageId {
        self.say(hub, name, text).unwrap();
        match self.only() {
            ServerMessage::Ack { message_id, .. } => message_id,
            other => panic!("expected Ack, got {other:?}"),
        }
    }
}

pub(crate) fn room(name: &str) -> RoomName {
    RoomName::new(name).unwrap()
}

pub(crate) fn nick(name: &str) -> Nick {
    Nick::new(name).unwrap()
}

/// An ephemeral hub with the default limits.
pub(crate) fn hub() -> Hub {
    Hub::new(
        &crate::config::ServerConfig::loopback(),
        None,
        std::sync::Arc::default(),
    )
}

/// Registers a new client under `name` with a key, as a native client
/// is (an IRC user has none: `Hub::register_keyless`).
pub(crate) fn connect(hub: &Hub, name: &str) -> Peer {
    connect_as(hub, unregistered(name))
}

/// `peer`'s client on a new connection under the same nick and key.
pub(crate) fn reconnect(hub: &Hub, peer: &Peer) -> Peer {
    let again = Peer {
        client: peer.client,
        ..unregistered(peer.nick.as_str())
    };
    connect_as(hub, again)
}

fn connect_as(hub: &Hub, peer: Peer) -> Peer {
    hub.register(peer.caller()).unwrap();
    let mut key = [0u8; 32];
    key[..16].copy_from_slice(peer.client.as_uuid().as_bytes());
    let key = Some(huddle_protocol::PublicKey(key));
    hub.set_identity(peer.conn, &peer.nick, key, "huddle test");
    peer
}

pub(crate) fn unregistered(name: &str) -> Peer {
    let (outbound, captured) = Outbound::capture();
    Peer {
        conn: ConnectionId::random(),
        client: ClientId::random(),
        nick: nick(name),
        outbound,
        captured,
    }
}

/// A server context around `hub`, as a connection would see it.
pub(crate) fn context(
    config: crate::config::ServerConfig,
    hub: std::sync::Arc<Hub>,
) -> crate::connection::Context {
    let identity = std::sync::Arc::new(crate::identity::ServerIdentity::generate().unwrap());
    crate::connection::Context {
        config: std::sync::Arc::new(config),
        hub,
        server_id: huddle_protocol::ServerId::random(),
        identity: identity.clone(),
        tls: identity.tls_config().unwrap(),
        irc_tls: identity.irc_tls_config().unwrap(),
        status_addr: None,
        shutdown: tokio_util::sync::CancellationToken::new(),
        flushers: crate::outbound::Flushers::new(
            1,
            crate::outbound::WRITE_INTERVAL,
            &std::sync::Arc::default(),
        ),
        tasks: tokio_util::task::TaskTracker::new(),
        password_guesses: std::sync::Arc::default(),
        inbound: std::sync::Arc::new(crate::inbound::InboundLimits {
            frame_deadline: std::time::Duration::from_secs(10),
            partial: crate::inbound::PartialFrames::new(1 << 20),
            metrics: std::sync::Arc::default(),
        }),
    }
}
