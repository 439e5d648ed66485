//! Who is in a room across a cluster (`cluster.rs`): a node announces its
//! own members' joins and departures (and topic changes) on the room's
//! subject, so they come in the room's order; the other nodes keep those
//! members in `Room::remote` (member lists, `NAMES`, room sizes) and tell
//! their own members. A node that dies says nothing: its members are
//! dropped when it is no longer among the live nodes
//! ([`Hub::forget_nodes`], from `cluster/nodes.rs`).

use std::collections::HashSet;

use huddle_protocol::{
    ConnectionId, Nick, Presence, PresenceEvent, RoomName, ServerMessage, ShortText,
};
use uuid::Uuid;

use super::{Hub, frame, lock};
use crate::cluster::ClusterLink;

impl Hub {
    /// Tells the cluster that `nick` (on connection `conn`) left `room`:
    /// with `event`, or as a quit when its server shuts down.
    pub(super) fn announce_departure(
        &self,
        cluster: &ClusterLink,
        conn: ConnectionId,
        room: &RoomName,
        nick: Nick,
        event: Option<&PresenceEvent>,
    ) {
        let event = event.cloned().unwrap_or_else(|| PresenceEvent::Quit {
            reason: ShortText::lossy("its server shut down"),
        });
        let presence = Presence {
            room: room.clone(),
            nick,
            event,
        };
        cluster.announce(conn, ServerMessage::Presence(presence));
    }

    /// A change in a room's members on node `node`: kept, and told to this
    /// node's members of the room if it changes what they see.
    pub(crate) fn presence_from_cluster(&self, presence: Presence, node: Uuid) {
        let room = self.room_for_delivery(&presence.room);
        let mut room = lock(&room);
        let folded = presence.nick.folded().to_owned();
        let changed = match &presence.event {
            PresenceEvent::Joined => room
                .remote
                .insert(folded.clone(), (node, presence.nick.clone()))
                .is_none(),
            PresenceEvent::Left { .. } | PresenceEvent::Quit { .. } => {
                // Only the node it was on can say it left (it may have
                // moved to another since).
                let there = room.remote.get(&folded).is_some_and(|(n, _)| *n == node);
                if there {
                    room.remote.remove(&folded);
                }
                there
            }
            PresenceEvent::Away { .. } => room.remote.contains_key(&folded),
            PresenceEvent::Renamed { new_nick } => {
                let there = room.remote.get(&folded).is_some_and(|(n, _)| *n == node);
                if there {
                    room.remote.remove(&folded);
                    let renamed = (node, new_nick.clone());
                    room.remote.insert(new_nick.folded().to_owned(), renamed);
                }
                there
            }
        };
        if changed
            && !room.has_local(&folded)
            && let Some(frame) = frame(&ServerMessage::Presence(presence))
        {
            room.broadcast(&frame, None);
        }
    }

    /// A topic set on any node (this one too), in the room's order.
    pub(crate) fn topic_from_cluster(&self, name: &RoomName, topic: ShortText, by: Nick) {
        let room = self.room_for_delivery(name);
        let mut room = lock(&room);
        room.topic = topic.clone();
        let message = ServerMessage::Topic {
            room: room.name.clone(),
            topic,
            by,
        };
        if let Some(frame) = frame(&message) {
            room.broadcast(&frame, None);
        }
    }

    /// A room's password and topic as another node (or this one) made
    /// them: kept for when the room is joined here, and applied to it if
    /// it is in memory.
    pub(crate) fn room_meta_from_cluster(&self, meta: crate::room::RoomMeta) {
        if let Some(room) = self.room(&meta.name) {
            let mut room = lock(&room);
            if meta.password.is_some() {
                room.password = meta.password.clone();
            }
        }
        self.keep_room(meta);
    }

    /// Drops the members of nodes not in `alive`, telling this node's
    /// members that they quit.
    pub(crate) fn forget_nodes(&self, alive: &HashSet<Uuid>) {
        for room in self.all_rooms() {
            let mut room = lock(&room);
            let gone: Vec<String> = room
                .remote
                .iter()
                .filter(|(_, (node, _))| !alive.contains(node))
                .map(|(folded, _)| folded.clone())
                .collect();
            for folded in gone {
                let Some((_, nick)) = room.remote.remove(&folded) else {
                    continue;
                };
                if room.has_local(&folded) {
                    continue;
                }
                let presence = ServerMessage::Presence(Presence {
                    room: room.name.clone(),
                    nick,
                    event: PresenceEvent::Quit {
                        reason: ShortText::lossy("its server went away"),
                    },
                });
                if let Some(frame) = frame(&presence) {
                    room.broadcast(&frame, None);
                }
            }
        }
    }
}
