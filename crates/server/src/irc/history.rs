//! IRCv3 `draft/chathistory` for clients that have it (weechat 3.8 and
//! irssi 1.4 do not: they get history replayed after JOIN): `LATEST`,
//! `BEFORE` and `AFTER` on a room, by `msgid=` or `timestamp=`, become a
//! native `FetchHistory`; the page comes back in a `chathistory` batch.

use huddle_protocol::{ChatMessage, ClientMessage, MessageId, RoomName, limits::MAX_HISTORY_PAGE};

use super::{
    line::{Line, format},
    registration::SERVER_NAME,
    session::Session,
};

/// `FAIL CHATHISTORY CODE context :text`.
fn fail(code: &str, context: &str, text: &str) -> String {
    format(
        "",
        SERVER_NAME,
        "FAIL",
        &["CHATHISTORY", code, context, text],
    )
}

/// The lower bound of the v7 ids of messages accepted at `millis`: ids
/// sort by acceptance time, so a time is a place in the order.
fn id_at(millis: u64) -> MessageId {
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    bytes[6] = 0x70;
    bytes[8] = 0x80;
    MessageId::from_uuid(uuid::Uuid::from_bytes(bytes))
}

/// A message reference: `msgid=ID`, `timestamp=ISO8601`, or `*` (none).
fn reference(text: &str) -> Result<Option<MessageId>, String> {
    if text == "*" {
        return Ok(None);
    }
    if let Some(id) = text.strip_prefix("msgid=") {
        return uuid::Uuid::parse_str(id)
            .map(|id| Some(MessageId::from_uuid(id)))
            .map_err(|_| fail("INVALID_MSGREFTYPE", text, "not a message id"));
    }
    if let Some(time) = text.strip_prefix("timestamp=") {
        return chrono::DateTime::parse_from_rfc3339(time)
            .ok()
            .and_then(|time| u64::try_from(time.timestamp_millis()).ok())
            .map(|millis| Some(id_at(millis)))
            .ok_or_else(|| fail("INVALID_MSGREFTYPE", text, "not an RFC 3339 time"));
    }
    Err(fail("INVALID_MSGREFTYPE", text, "use msgid= or timestamp="))
}

/// `CHATHISTORY sub target ref limit` as a request for the hub, with the
/// room as the client named it; or the FAIL line to write.
pub(crate) fn request(line: &Line) -> Result<(String, ClientMessage), String> {
    let (sub, target) = (line.param(0).to_ascii_uppercase(), line.param(1));
    let limit = line
        .param(3)
        .parse::<u16>()
        .map_err(|_| {
            fail(
                "INVALID_PARAMS",
                line.param(3),
                "the limit must be a number",
            )
        })?
        .min(MAX_HISTORY_PAGE);
    let room = RoomName::new(target)
        .ok()
        .filter(|_| target.starts_with('#'))
        .ok_or_else(|| fail("INVALID_TARGET", target, "only rooms have history here"))?;
    let anchor = reference(line.param(2))?;
    let (before, after) = match sub.as_str() {
        "LATEST" => (None, anchor),
        "BEFORE" => (anchor, None),
        "AFTER" => (None, anchor),
        _ => {
            return Err(fail(
                "UNKNOWN_COMMAND",
                &sub,
                "LATEST, BEFORE and AFTER are served",
            ));
        }
    };
    if sub != "LATEST" && anchor.is_none() {
        return Err(fail(
            "INVALID_PARAMS",
            &sub,
            "a message reference is needed",
        ));
    }
    let request = ClientMessage::FetchHistory {
        room,
        before,
        after,
        limit,
    };
    Ok((target.to_owned(), request))
}

impl Session {
    /// A history page, in a `chathistory` batch for clients with `batch`.
    pub(crate) fn history_page(&mut self, room: &str, messages: &[ChatMessage], out: &mut String) {
        let batch = format!("h{}", self.next_batch());
        if self.caps.batch {
            out.push_str(&format(
                "",
                SERVER_NAME,
                "BATCH",
                &[&format!("+{batch}"), "chathistory", room],
            ));
        }
        for message in messages {
            self.chat_in_batch(message, Some(&batch), out);
        }
        if self.caps.batch {
            out.push_str(&format("", SERVER_NAME, "BATCH", &[&format!("-{batch}")]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_is_the_lowest_id_of_its_millisecond() {
        let id = id_at(0x0123_4567_89ab);
        assert_eq!(id.unix_millis(), Some(0x0123_4567_89ab));
        let later = MessageId::from_uuid(uuid::Uuid::now_v7());
        assert!(id < later);
    }

    #[test]
    fn requests_are_read_and_bad_ones_get_a_fail() {
        let line = |text: &str| super::super::line::parse(text.as_bytes()).unwrap();
        let (room, asked) = request(&line("CHATHISTORY LATEST #lan * 50")).unwrap();
        assert_eq!(room, "#lan");
        assert!(matches!(
            asked,
            ClientMessage::FetchHistory {
                before: None,
                after: None,
                limit: 50,
                ..
            }
        ));
        let (_, asked) = request(&line(
            "CHATHISTORY BEFORE #lan timestamp=2026-11-30T10:00:00.000Z 999",
        ))
        .unwrap();
        assert!(matches!(
            asked,
            ClientMessage::FetchHistory {
                before: Some(_),
                limit: 200,
                ..
            }
        ));
        for bad in [
            "CHATHISTORY AROUND #lan * 5",
            "CHATHISTORY LATEST bob * 5",
            "CHATHISTORY BEFORE #lan * 5",
            "CHATHISTORY AFTER #lan msgid=nope 5",
            "CHATHISTORY LATEST #lan * many",
        ] {
            assert!(
                request(&line(bad))
                    .unwrap_err()
                    .starts_with(":huddle FAIL CHATHISTORY"),
                "{bad}"
            );
        }
    }
}
