//! Room and direct messages in cluster mode (`cluster.rs`): the hub
//! accepts a message (the caller is in the room; its rate and text were
//! checked by the dispatcher) and hands it to the cluster's publisher; it
//! reaches this node's recipients when the node's consumer reads it back
//! from its stream ([`Hub::deliver_from_cluster`],
//! [`Hub::deliver_direct_from_cluster`]), in the stream's order, with the
//! id the stream's sequence gives it — the same on every node.

use std::sync::{Arc, Mutex};

use huddle_protocol::{
    ChatMessage, ChatText, ClientId, ClientMsgId, ConnectionId, DirectEntry, MessageKind, Nick,
    RequestKind, RoomName, ServerMessage, ShortText, Target,
};

use super::{Caller, Hub, Refusal, durable::Request, lock, relay::new_message};
use crate::{
    cluster::{ClusterLink, Reply},
    room::{Room, RoomMeta},
};

impl Hub {
    /// This hub, publishing its room messages through `link`.
    pub(crate) fn with_cluster(mut self, link: Arc<ClusterLink>) -> Self {
        self.cluster = Some(link);
        self
    }

    /// The cluster this hub is a node of, if any.
    pub(crate) fn cluster(&self) -> Option<&Arc<ClusterLink>> {
        self.cluster.as_ref()
    }

    /// Accepts a room message and publishes it; its sender is answered
    /// when JetStream has stored it.
    pub(super) fn say_in_cluster(
        &self,
        cluster: &ClusterLink,
        caller: Caller<'_>,
        name: &RoomName,
        id: ClientMsgId,
        kind: MessageKind,
        text: ChatText,
    ) -> Result<(), Refusal> {
        let room = self.in_room(caller, name, |room| room.name.clone())?;
        let message = new_message(caller, id, Target::Room(room), kind, text);
        self.publish_in_cluster(cluster, caller, message, RequestKind::Say);
        Ok(())
    }

    /// Accepts a direct message and publishes it; the publisher finds its
    /// recipient anywhere in the cluster (or answers `NoSuchNick`).
    pub(super) fn direct_in_cluster(
        &self,
        cluster: &ClusterLink,
        caller: Caller<'_>,
        to: &Nick,
        id: ClientMsgId,
        kind: MessageKind,
        text: ChatText,
    ) {
        let message = new_message(caller, id, Target::Direct(to.clone()), kind, text);
        self.publish_in_cluster(cluster, caller, message, RequestKind::Direct);
        self.reply_if_away(caller, to);
    }

    fn publish_in_cluster(
        &self,
        cluster: &ClusterLink,
        caller: Caller<'_>,
        message: ChatMessage,
        kind: RequestKind,
    ) {
        caller.outbound.note_spoke(message.timestamp);
        let reply = Reply {
            outbound: caller.outbound.clone(),
            request: Request {
                id: message.client_msg_id,
                kind,
            },
            timestamp: message.timestamp,
        };
        if let Err((Some(reply), why)) =
            cluster.publish((caller.conn, caller.client), message, reply)
        {
            reply.refuse(why);
        }
    }

    /// A direct message read back from the stream: filed in the sender's
    /// and the recipient's mailboxes and queued to the recipient if it is
    /// connected here (by nick, as the key that nick's holder proved).
    pub(crate) fn deliver_direct_from_cluster(
        &self,
        message: ChatMessage,
        (sender, origin): (ClientId, (uuid::Uuid, ConnectionId)),
        recipient: ClientId,
    ) {
        let Target::Direct(to) = &message.target else {
            return;
        };
        // The recipient is here and away: the sender, on another node (one
        // here was answered when it sent), is told once.
        if let Some(cluster) = &self.cluster
            && let Some(text) = self.away_reply(to, Some(recipient), sender)
        {
            cluster.notify(origin, text);
        }
        let outbound = lock(&self.users)
            .get(to.folded())
            .filter(|user| user.client == recipient)
            .map(|user| user.outbound.clone());
        let mut mailboxes = lock(&self.mailboxes);
        let entry = |outgoing| DirectEntry {
            outgoing,
            message: message.clone(),
        };
        mailboxes.record(sender, entry(true));
        if recipient != sender {
            mailboxes.record(recipient, entry(false));
        }
        if let Some(outbound) = outbound {
            let _ = outbound.send(&ServerMessage::Chat(message));
            self.metrics.deliveries.add(1);
        }
        self.metrics.direct_messages.add(1);
    }

    /// A room message read back from the stream: queued to this node's
    /// members of its room (but its sender, `origin`, if it is here) and
    /// kept in the room's history in memory. The room, when its members
    /// here are falling behind (`Room::congested`).
    pub(crate) fn deliver_from_cluster(
        &self,
        message: ChatMessage,
        origin: Option<ConnectionId>,
    ) -> Option<RoomName> {
        let Target::Room(name) = &message.target else {
            return None;
        };
        let room = self.room_for_delivery(name);
        let mut room = lock(&room);
        self.fan_out(&mut room, message, origin);
        room.congested().then(|| room.name.clone())
    }

    /// Whether room `name`'s members here are falling behind.
    pub(crate) fn room_congested(&self, name: &RoomName) -> bool {
        self.room(name).is_some_and(|room| lock(&room).congested())
    }

    /// The room a delivery goes to, made (with no members, parked as idle)
    /// if this node has not seen it yet.
    pub(super) fn room_for_delivery(&self, name: &RoomName) -> Arc<Mutex<Room>> {
        if let Some(room) = self.room(name) {
            return room;
        }
        // Its password and topic, if another node shared them already.
        let meta = self.known_room(name).unwrap_or_else(|| RoomMeta {
            name: name.clone(),
            topic: ShortText::default(),
            password: None,
        });
        let (room, created) = self.insert_room(name, || Room::new(meta, self.history_per_room));
        if created {
            self.park_idle(name, 0);
        }
        room
    }
}
