//! Room messages in cluster mode (`cluster.rs`): the hub accepts a message
//! (the caller is in the room; its rate and text were checked by the
//! dispatcher) and hands it to the cluster's publisher; it reaches this
//! node's members when the node's consumer reads it back from the stream
//! ([`Hub::deliver_from_cluster`]), in the stream's order, with the id the
//! stream's sequence gives it — the same on every node.

use std::sync::{Arc, Mutex, PoisonError};

use huddle_protocol::{
    ChatMessage, ChatText, ClientMsgId, ConnectionId, MessageKind, RequestKind, RoomName,
    ServerMessage, ShortText, Target,
};

use super::{Caller, Hub, Refusal, durable::Request, frame, lock, relay::new_message};
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
        caller.outbound.note_spoke(message.timestamp);
        let reply = Reply {
            outbound: caller.outbound.clone(),
            request: Request {
                id,
                kind: RequestKind::Say,
            },
            timestamp: message.timestamp,
        };
        if let Err((reply, why)) = cluster.publish(caller.conn, caller.client, &message, reply) {
            reply.refuse(why);
        }
        Ok(())
    }

    /// A room message read back from the stream: queued to this node's
    /// members of its room (but its sender, `origin`, if it is here) and
    /// kept in the room's history in memory.
    pub(crate) fn deliver_from_cluster(&self, message: ChatMessage, origin: Option<ConnectionId>) {
        let Target::Room(name) = &message.target else {
            return;
        };
        let room = self.room_for_delivery(name);
        let chat = ServerMessage::Chat(message);
        let mut room = lock(&room);
        if let Some(frame) = frame(&chat) {
            let queued = room.broadcast(&frame, origin);
            self.metrics.deliveries.add(queued as u64);
            self.metrics.room_messages.add(1);
        }
        let ServerMessage::Chat(message) = chat else {
            unreachable!("built as Chat above")
        };
        room.record(message);
    }

    /// The room a delivery goes to, made (with no members, parked as idle)
    /// if this node has not seen it yet.
    fn room_for_delivery(&self, name: &RoomName) -> Arc<Mutex<Room>> {
        if let Some(room) = self.room(name) {
            return room;
        }
        let mut rooms = self.rooms.write().unwrap_or_else(PoisonError::into_inner);
        let mut created = false;
        let room = rooms
            .entry(name.folded().to_owned())
            .or_insert_with(|| {
                created = true;
                let meta = RoomMeta {
                    name: name.clone(),
                    topic: ShortText::default(),
                    password: None,
                };
                Arc::new(Mutex::new(Room::new(meta, self.history_per_room)))
            })
            .clone();
        drop(rooms);
        if created {
            lock(&self.room_skeletons).insert(name);
            self.park_idle(name, 0);
        }
        room
    }
}
