//! `/away`: a user's away message, announced to its rooms, told to a
//! joiner for each away member, shown by `Whois`, and sent once to each
//! sender of a direct message while it lasts (IRC's `RPL_AWAY`, without
//! the repetition). Kept in the user's registry entry, boxed: most users
//! are never away, and an idle connection pays 8 bytes for it.

use std::collections::HashSet;

use huddle_protocol::{
    ClientId, Nick, Presence, PresenceEvent, RoomName, ServerMessage, ShortText,
};

use super::{Caller, Hub, frame, lock, send};

/// An away user's message and who has been told it.
#[derive(Debug)]
pub(crate) struct Away {
    pub(crate) message: ShortText,
    told: HashSet<ClientId>,
}

impl Hub {
    /// `SetAway`: away with `message`, or back if it is empty; announced
    /// to the caller's `rooms`.
    pub(crate) fn set_away(&self, caller: Caller<'_>, rooms: &[RoomName], message: ShortText) {
        if let Some(user) = lock(&self.users).get_mut(caller.nick.folded())
            && user.conn == caller.conn
        {
            user.away = (!message.is_empty()).then(|| {
                Box::new(Away {
                    message: message.clone(),
                    told: HashSet::new(),
                })
            });
        }
        for name in rooms {
            let Some(room) = self.room(name) else {
                continue;
            };
            let room = lock(&room);
            let presence = ServerMessage::Presence(Presence {
                room: room.name.clone(),
                nick: caller.nick.clone(),
                event: PresenceEvent::Away {
                    message: message.clone(),
                },
            });
            if let Some(frame) = frame(&presence) {
                room.broadcast(&frame, Some(caller.conn));
            }
            if let Some(cluster) = &self.cluster {
                cluster.announce(caller.conn, presence);
            }
        }
    }

    /// After a direct message to `to`: if `to` is away and the caller has
    /// not been told since, tells it.
    pub(crate) fn reply_if_away(&self, caller: Caller<'_>, to: &Nick) {
        if let Some(text) = self.away_reply(to, None, caller.client) {
            send(caller.outbound, &ServerMessage::Notice { text });
        }
    }

    /// The automatic reply `sender` is owed for a direct message to `to`
    /// (the user holding it here, as client `recipient` when given): once
    /// while `to` is away, none otherwise.
    pub(crate) fn away_reply(
        &self,
        to: &Nick,
        recipient: Option<ClientId>,
        sender: ClientId,
    ) -> Option<huddle_protocol::ChatText> {
        let mut users = lock(&self.users);
        let user = users
            .get_mut(to.folded())
            .filter(|user| recipient.is_none_or(|recipient| user.client == recipient))?;
        let nick = user.nick.clone();
        let away = user.away.as_mut()?;
        if !away.told.insert(sender) {
            return None;
        }
        huddle_protocol::ChatText::new(format!("{nick} is away: {}", away.message)).ok()
    }

    /// Tells connection `conn`, if it is here, `text` as a server notice
    /// (an away reply from another node of the cluster).
    pub(crate) fn notice_connection(
        &self,
        conn: huddle_protocol::ConnectionId,
        text: huddle_protocol::ChatText,
    ) {
        let outbound = lock(&self.users)
            .values()
            .find(|user| user.conn == conn)
            .map(|user| user.outbound.clone());
        if let Some(outbound) = outbound {
            send(&outbound, &ServerMessage::Notice { text });
        }
    }

    /// Tells a joiner of `room` which of its `members` are away.
    pub(crate) fn tell_away_members(&self, caller: Caller<'_>, room: &RoomName, members: &[Nick]) {
        let away: Vec<(Nick, ShortText)> = {
            let users = lock(&self.users);
            members
                .iter()
                .filter_map(|nick| {
                    let user = users.get(nick.folded())?;
                    let away = user.away.as_ref()?;
                    Some((user.nick.clone(), away.message.clone()))
                })
                .collect()
        };
        for (nick, message) in away {
            send(
                caller.outbound,
                &ServerMessage::Presence(Presence {
                    room: room.clone(),
                    nick,
                    event: PresenceEvent::Away { message },
                }),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use huddle_protocol::{ClientMsgId, MessageKind};

    use crate::testkit::{connect, hub, nick, room};

    use super::*;

    fn away(message: &str) -> PresenceEvent {
        PresenceEvent::Away {
            message: ShortText::new(message).unwrap(),
        }
    }

    #[test]
    fn away_is_announced_told_to_joiners_and_answers_each_sender_once() {
        let hub = hub();
        let [alice, bob, carol] = ["alice", "bob", "carol"].map(|name| connect(&hub, name));
        alice.join(&hub, "#a");
        bob.join(&hub, "#a");
        alice.take();
        hub.set_away(
            alice.caller(),
            &[room("#a")],
            ShortText::new("lunch").unwrap(),
        );
        let ServerMessage::Presence(presence) = bob.only() else {
            panic!("bob was not told")
        };
        assert_eq!(
            (presence.nick.as_str(), presence.event),
            ("alice", away("lunch"))
        );
        // A joiner learns who is away right after Joined.
        hub.join(
            carol.caller(),
            &room("#a"),
            None,
            &mut crate::hub::Unlimited,
        )
        .unwrap();
        let frames = carol.take();
        assert!(
            matches!(frames[0], ServerMessage::Joined { .. }),
            "{frames:?}"
        );
        assert!(
            matches!(&frames[1], ServerMessage::Presence(p) if p.nick.as_str() == "alice" && p.event == away("lunch")),
            "{frames:?}"
        );
        // Two direct messages from bob: one automatic reply.
        for text in ["hi", "there?"] {
            hub.direct(
                bob.caller(),
                &nick("alice"),
                ClientMsgId::random(),
                MessageKind::Normal,
                huddle_protocol::ChatText::new(text).unwrap(),
            )
            .unwrap();
        }
        let notices: Vec<String> = bob
            .take()
            .into_iter()
            .filter_map(|m| match m {
                ServerMessage::Notice { text } => Some(text.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(notices, ["alice is away: lunch"]);
        // Back: announced, and no more replies.
        hub.set_away(alice.caller(), &[room("#a")], ShortText::default());
        assert!(matches!(bob.only(), ServerMessage::Presence(p) if p.event == away("")));
        hub.direct(
            carol.caller(),
            &nick("alice"),
            ClientMsgId::random(),
            MessageKind::Normal,
            huddle_protocol::ChatText::new("hello").unwrap(),
        )
        .unwrap();
        assert!(
            !carol
                .take()
                .iter()
                .any(|m| matches!(m, ServerMessage::Notice { .. }))
        );
    }
}
