//! Batching for pipes: a line that arrives while the message before it
//! still waits for the rate joins that message, as its next line, instead
//! of queueing behind it as a message of its own. `seq 1 10000 | huddle
//! --plain` then takes seconds against a default server (20 messages a
//! second), not the nine minutes 10,000 messages would; lines typed one at
//! a time still go one message each. **Invariants:** only a message never
//! yet transmitted is extended (the server may have accepted one that was,
//! and would acknowledge its id with the old text); a message never grows
//! past the server's `max_text_bytes`; lines keep their order.

use huddle_protocol::{ChatText, ClientMessage, ClientMsgId, MessageKind, RoomName};

use super::ClientCore;

impl ClientCore {
    /// Adds `text` as the next line of the newest message, if that is a
    /// plain `Say` to `room` never transmitted, nothing is queued after it,
    /// and the result fits; the id of the message it joined. Works while
    /// disconnected too (lines then wait in the outbox).
    pub fn join_waiting(&mut self, room: &RoomName, text: &ChatText) -> Option<ClientMsgId> {
        let fresh = self.fresh_say?;
        let newest = match &mut self.live {
            Some(live) => live.pacer.newest_mut()?,
            None if self.held.is_empty() => self.outbox.newest_mut()?,
            None => return None,
        };
        let extended = extend(newest, fresh, room, text, self.max_text)?;
        *newest = extended.clone();
        if self.live.is_some() {
            self.outbox.replace(fresh, extended);
        }
        Some(fresh)
    }
}

/// `message` with `text` as its next line, if it is the plain `Say` `id`
/// to `room` and the result fits `max_text` bytes.
fn extend(
    message: &ClientMessage,
    id: ClientMsgId,
    room: &RoomName,
    text: &ChatText,
    max_text: usize,
) -> Option<ClientMessage> {
    let ClientMessage::Say {
        room: to,
        id: said,
        kind: MessageKind::Normal,
        text: waiting,
    } = message
    else {
        return None;
    };
    if *said != id || to != room {
        return None;
    }
    let joined = format!("{waiting}\n{text}");
    if joined.len() > max_text {
        return None;
    }
    Some(ClientMessage::Say {
        room: to.clone(),
        id,
        kind: MessageKind::Normal,
        text: ChatText::new(joined).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use huddle_protocol::{ClientMessage, ClientMsgId, MessageKind, RoomName};
    use tokio::time::Instant;

    use crate::core::{
        ClientCore, CoreConfig,
        tests::{reconnect, transmit, welcome},
    };

    fn say(room: &str, text: &str) -> ClientMessage {
        ClientMessage::Say {
            room: RoomName::new(room).unwrap(),
            id: ClientMsgId::random(),
            kind: MessageKind::Normal,
            text: huddle_protocol::ChatText::new(text).unwrap(),
        }
    }

    fn text(message: &ClientMessage) -> &str {
        match message {
            ClientMessage::Say { text, .. } => text.as_str(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn lines_waiting_for_the_rate_join_the_newest_unsent_message() {
        let now = Instant::now();
        let mut core = ClientCore::new(CoreConfig::default());
        core.handle_connected(now, &welcome(20, 100));
        transmit(&mut core, now);
        let ops = RoomName::new("#ops").unwrap();
        let line = |n: &str| huddle_protocol::ChatText::new(n).unwrap();
        // Nothing waits: a line is a message of its own.
        assert_eq!(core.join_waiting(&ops, &line("1")), None);
        core.send(now, say("#ops", "1"));
        let first = core.poll_transmit(now).unwrap();
        assert_eq!(text(&first), "1");
        // Transmitted: never extended, even though it waits for its ack.
        assert_eq!(core.join_waiting(&ops, &line("2")), None);
        // With the burst spent, lines wait, and join the waiting one.
        for n in 0..200 {
            core.send(now, say("#ops", &format!("filler {n}")));
        }
        transmit(&mut core, now);
        core.send(now, say("#ops", "2"));
        let joined = core.join_waiting(&ops, &line("3")).unwrap();
        assert_eq!(core.join_waiting(&ops, &line("4")), Some(joined));
        assert_eq!(
            core.join_waiting(&RoomName::new("#dev").unwrap(), &line("x")),
            None,
            "another room's line is a message of its own"
        );
        // Lines that come while disconnected join it too (it was never
        // transmitted); once it is, it is never extended again.
        core.handle_disconnected(now, "reset");
        assert_eq!(core.join_waiting(&ops, &line("5")), Some(joined));
        let mut sent = reconnect(&mut core, now);
        for minutes in 1..=3 {
            let later = now + std::time::Duration::from_secs(60 * minutes);
            sent.extend(transmit(&mut core, later));
        }
        let resent = sent.iter().find(|m| m.client_msg_id() == Some(joined));
        assert_eq!(resent.map(text), Some("2\n3\n4\n5"));
        assert_eq!(core.join_waiting(&ops, &line("6")), None);
    }

    #[test]
    fn a_message_never_grows_past_the_servers_text_limit() {
        let now = Instant::now();
        let mut core = ClientCore::new(CoreConfig::default());
        let mut greeting = welcome(20, 3);
        greeting.limits.max_text_bytes = 10;
        core.handle_connected(now, &greeting);
        core.send(now, say("#ops", "first"));
        transmit(&mut core, now);
        core.send(now, say("#ops", "12345"));
        let ops = RoomName::new("#ops").unwrap();
        let line = huddle_protocol::ChatText::new("6789").unwrap();
        assert!(
            core.join_waiting(&ops, &line).is_some(),
            "5 + 1 + 4 = 10 fits"
        );
        assert_eq!(core.join_waiting(&ops, &line), None, "15 would not");
    }
}
