//! Requests that relay something to other clients: room messages, direct
//! messages, nick changes and topics.

use huddle_protocol::{
    ChatMessage, ChatText, ClientMsgId, DirectEntry, ErrorCode, MessageId, MessageKind, Nick,
    Presence, PresenceEvent, RequestKind, RoomName, ServerMessage, ShortText, Target,
};
use uuid::Uuid;

use super::{Caller, Hub, Refusal, User, durable::Request, frame, lock, now_millis, refuse, send};
use crate::store::{Accepted, Record};

/// One room message as a client sent it, waiting in a run of them
/// ([`Hub::say_all`]).
#[derive(Debug)]
pub(crate) struct Said {
    pub(crate) id: ClientMsgId,
    pub(crate) kind: MessageKind,
    pub(crate) text: ChatText,
}

/// A message accepted now from `caller`: its server id sorts by this moment.
pub(super) fn new_message(
    caller: Caller<'_>,
    client_msg_id: ClientMsgId,
    target: Target,
    kind: MessageKind,
    text: ChatText,
) -> ChatMessage {
    ChatMessage {
        id: MessageId::from_uuid(Uuid::now_v7()),
        target,
        from: caller.nick.clone(),
        kind,
        text,
        timestamp: now_millis(),
        client_msg_id,
    }
}

impl Hub {
    /// Queues `message` to every member of `room` but `except` (encoded
    /// once, the frame shared), counts it, and keeps it in the room's
    /// history: the fan-out of a single server's accept and of a cluster
    /// node's delivery alike.
    pub(super) fn fan_out(
        &self,
        room: &mut crate::room::Room,
        message: ChatMessage,
        except: Option<huddle_protocol::ConnectionId>,
    ) {
        self.fan_out_all(room, vec![message], except);
    }

    /// [`Hub::fan_out`] for several messages in order: their frames are
    /// joined into one queue entry (`outbound/joined.rs`), so each member
    /// costs one push however many messages there are.
    fn fan_out_all(
        &self,
        room: &mut crate::room::Room,
        messages: Vec<ChatMessage>,
        except: Option<huddle_protocol::ConnectionId>,
    ) {
        let chats: Vec<ServerMessage> = messages.into_iter().map(ServerMessage::Chat).collect();
        let frames: Vec<bytes::Bytes> = chats.iter().filter_map(frame).collect();
        if !frames.is_empty() {
            let started = std::time::Instant::now();
            let queued = room.broadcast(&crate::outbound::join(&frames), except);
            let metrics = &self.metrics;
            // One observation per message (the time its run took to queue).
            let took = started.elapsed();
            for _ in &frames {
                metrics.fanout_latency.observe(took);
            }
            metrics.deliveries.add((queued * frames.len()) as u64);
            metrics.room_messages.add(frames.len() as u64);
        }
        for chat in chats {
            if let ServerMessage::Chat(message) = chat {
                room.record(message);
            }
        }
    }

    /// Relays a room message: recorded, queued to every other member, and
    /// acknowledged to the sender, all under the room's lock so every member
    /// sees one order.
    pub(crate) fn say(
        &self,
        caller: Caller<'_>,
        name: &RoomName,
        id: ClientMsgId,
        kind: MessageKind,
        text: ChatText,
    ) -> Result<(), Refusal> {
        self.say_all(caller, name, vec![Said { id, kind, text }])
    }

    /// Relays a run of room messages from one sender in order, as
    /// [`Hub::say`] does one: accepted (ids, order and fan-out) under the
    /// room's lock, then persisted and acknowledged one by one. The run's
    /// frames reach each member as one queue entry (one push per member).
    /// In cluster mode each message goes through the broker in turn.
    pub(crate) fn say_all(
        &self,
        caller: Caller<'_>,
        name: &RoomName,
        run: Vec<Said>,
    ) -> Result<(), Refusal> {
        if let Some(cluster) = &self.cluster {
            for Said { id, kind, text } in run {
                self.say_in_cluster(cluster, caller, name, id, kind, text)?;
            }
            return Ok(());
        }
        let (room_name, relayed) = self.in_room(caller, name, |room| {
            let mut relayed = Vec::with_capacity(run.len());
            for said in run {
                // A resend of a message already accepted: acknowledged again
                // with its original id (once it is on disk), delivered to
                // nobody.
                if let Some(accepted) = self.dedup().get(caller.client, said.id) {
                    relayed.push((said.id, accepted, None));
                    continue;
                }
                let target = Target::Room(room.name.clone());
                let message = new_message(caller, said.id, target, said.kind, said.text);
                caller.outbound.note_spoke(message.timestamp);
                let accepted = Accepted::of(&message);
                self.dedup().insert(caller.client, said.id, accepted);
                relayed.push((said.id, accepted, Some(message)));
            }
            let fresh = relayed.iter().filter_map(|(_, _, m)| m.clone()).collect();
            self.fan_out_all(room, fresh, Some(caller.conn));
            (room.name.clone(), relayed)
        })?;
        // Persist, then acknowledge: the fan-out did not wait for the disk;
        // the sender's ack does.
        for (id, accepted, message) in &relayed {
            let request = Request {
                id: *id,
                kind: RequestKind::Say,
            };
            let record = message.as_ref().map(|m| Record::Room(&room_name, m));
            self.persist_then_acknowledge(caller, request, *accepted, record);
        }
        Ok(())
    }

    /// Relays a direct message: filed in the sender's and the recipient's
    /// mailboxes, queued to the recipient, acknowledged to the sender (after
    /// the commit, with a store).
    pub(crate) fn direct(
        &self,
        caller: Caller<'_>,
        to: &Nick,
        id: ClientMsgId,
        kind: MessageKind,
        text: ChatText,
    ) -> Result<(), Refusal> {
        // A resend of a message already accepted is acknowledged again even
        // if its recipient has gone since: it was stored (and maybe read).
        if let Some(cluster) = &self.cluster {
            self.direct_in_cluster(cluster, caller, to, id, kind, text);
            return Ok(());
        }
        let request = Request {
            id,
            kind: RequestKind::Direct,
        };
        if let Some(accepted) = self.dedup().get(caller.client, id) {
            self.persist_then_acknowledge(caller, request, accepted, None);
            return Ok(());
        }
        let online = lock(&self.users)
            .get(to.folded())
            .map(|user| (user.nick.clone(), Some(user.outbound.clone()), user.client));
        // Offline but bound: kept in the holder's mailbox.
        let Some((recipient_nick, recipient_outbound, recipient)) = online.or_else(|| {
            self.offline_holder(to)
                .map(|client| (to.clone(), None, client))
        }) else {
            return refuse(ErrorCode::NoSuchNick, format!("no user is called {to}"));
        };
        // The id, both mailboxes and the recipient's queue under one lock:
        // a client receives its direct messages in id order, so asking for
        // what came after the newest it saw never skips one.
        let message = {
            let mut mailboxes = lock(&self.mailboxes);
            let message = new_message(caller, id, Target::Direct(recipient_nick), kind, text);
            caller.outbound.note_spoke(message.timestamp);
            self.dedup()
                .insert(caller.client, id, Accepted::of(&message));
            let entry = |outgoing| DirectEntry {
                outgoing,
                message: message.clone(),
            };
            mailboxes.record(caller.client, entry(true));
            if recipient != caller.client {
                mailboxes.record(recipient, entry(false));
            }
            if let Some(outbound) = &recipient_outbound {
                send(outbound, &ServerMessage::Chat(message.clone()));
                self.metrics.deliveries.add(1);
            }
            self.metrics.direct_messages.add(1);
            message
        };
        let record = Record::Direct {
            sender: caller.client,
            recipient,
            message: &message,
        };
        self.persist_then_acknowledge(caller, request, Accepted::of(&message), Some(record));
        match recipient_outbound {
            Some(_) => self.reply_if_away(caller, to),
            None => self.reply_offline(caller, to),
        }
        Ok(())
    }

    /// Renames the caller everywhere: registry, each room's member entry,
    /// a `Presence{Renamed}` to each room's others, `NickChanged` to the
    /// caller.
    pub(crate) fn rename(
        &self,
        caller: Caller<'_>,
        new: &Nick,
        rooms: &[RoomName],
    ) -> Result<(), Refusal> {
        super::lookalike::check_nick(&lock(&self.users), new, caller.conn)?;
        self.check_binding(new, caller.client)?;
        let keyed = {
            let mut users = lock(&self.users);
            super::lookalike::check_nick(&users, new, caller.conn)?;
            let old = users.remove(caller.nick.folded());
            let mut user = User::of(caller, new);
            if let Some(old) = old {
                user.key = old.key;
                user.since = old.since;
                user.away = old.away;
                user.program = old.program;
            }
            let keyed = user.key.is_some();
            users.insert(new.folded().to_owned(), user);
            keyed
        };
        // The old nick stays this key's for the hold time, as on quitting.
        if keyed {
            self.release_nick(caller.nick, caller.client);
            self.claim_nick(new, caller.client);
        }
        for name in rooms {
            let Some(room) = self.room(name) else {
                continue;
            };
            let mut room = lock(&room);
            let Some(member) = room.members.get_mut(&caller.conn) else {
                continue;
            };
            member.nick = new.clone();
            let presence = ServerMessage::Presence(Presence {
                room: room.name.clone(),
                nick: caller.nick.clone(),
                event: PresenceEvent::Renamed {
                    new_nick: new.clone(),
                },
            });
            if let Some(frame) = frame(&presence) {
                room.broadcast(&frame, Some(caller.conn));
            }
            if let Some(cluster) = &self.cluster {
                cluster.announce(caller.conn, presence);
            }
        }
        send(
            caller.outbound,
            &ServerMessage::NickChanged {
                old: caller.nick.clone(),
                new: new.clone(),
            },
        );
        Ok(())
    }

    pub(crate) fn set_topic(
        &self,
        caller: Caller<'_>,
        name: &RoomName,
        topic: ShortText,
    ) -> Result<(), Refusal> {
        if let Some(cluster) = &self.cluster {
            // Set when it comes back from the stream, on every node alike.
            let room = self.in_room(caller, name, |room| room.name.clone())?;
            let by = caller.nick.clone();
            cluster.announce(caller.conn, ServerMessage::Topic { room, topic, by });
            return Ok(());
        }
        let meta = self.in_room(caller, name, |room| {
            room.topic = topic.clone();
            let message = ServerMessage::Topic {
                room: room.name.clone(),
                topic,
                by: caller.nick.clone(),
            };
            if let Some(frame) = frame(&message) {
                room.broadcast(&frame, None);
            }
            room.meta()
        })?;
        // The topic is kept with the room, across restarts.
        self.save_room(&meta);
        Ok(())
    }
}
