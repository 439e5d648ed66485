//! The benchmark's message text and how receivers find it cheaply.
//!
//! Text: 40 hex digits — sender (8), sequence number (16), send time in
//! nanoseconds since the run's start (16) — padded with `x` to the
//! requested size. Receivers find it without a full decode: in a huddle
//! `Chat` frame by skipping the fields before the text (layout in
//! docs/PROTOCOL.md), in an IRC line after `PRIVMSG <target> :`.

use std::fmt::Write as _;

pub(crate) const MARKER_LEN: usize = 40;

/// The text of message `seq` from `sender`, sent at `nanos`.
pub(crate) fn text(sender: u32, seq: u64, nanos: u64, size: usize) -> String {
    let mut text = String::with_capacity(size.max(MARKER_LEN));
    let _ = write!(text, "{sender:08x}{seq:016x}{nanos:016x}");
    while text.len() < size {
        text.push('x');
    }
    text
}

/// Each byte's value as a lowercase hex digit, or `NOT_HEX`.
const HEX_VALUE: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut digit = 0;
    while digit < 16 {
        table[b"0123456789abcdef"[digit] as usize] = digit as u8;
        digit += 1;
    }
    table
};
const NOT_HEX: u8 = 0xff;

/// (sender, sequence number, send time) from a text, if it is one of ours.
/// Hand-rolled hex with a table: this runs once per delivery and dominates
/// the generator's profile otherwise.
pub(crate) fn parse(text: &[u8]) -> Option<(u32, u64, u64)> {
    let marker = text.get(..MARKER_LEN)?;
    let hex = |digits: &[u8]| -> Option<u64> {
        let mut value = 0u64;
        let mut invalid = 0u8;
        for digit in digits {
            let nibble = HEX_VALUE[usize::from(*digit)];
            invalid |= nibble & 0xf0;
            value = value << 4 | u64::from(nibble & 0x0f);
        }
        (invalid == 0).then_some(value)
    };
    Some((
        u32::try_from(hex(&marker[..8])?).ok()?,
        hex(&marker[8..24])?,
        hex(&marker[24..40])?,
    ))
}

/// Reads a bincode varint at `at`; returns (value, bytes used).
fn varint(bytes: &[u8], at: usize) -> Option<(usize, usize)> {
    match *bytes.get(at)? {
        small @ 0..=250 => Some((usize::from(small), 1)),
        251 => Some((
            usize::from(u16::from_le_bytes(
                bytes.get(at + 1..at + 3)?.try_into().ok()?,
            )),
            3,
        )),
        252 => Some((
            u32::from_le_bytes(bytes.get(at + 1..at + 5)?.try_into().ok()?) as usize,
            5,
        )),
        _ => None,
    }
}

/// The text of a huddle `Chat` payload (variant 4), or `None` for any other
/// frame.
pub(crate) fn huddle_chat_text(payload: &[u8]) -> Option<&[u8]> {
    if *payload.first()? != 4 {
        return None;
    }
    // Variant, message id, target variant.
    let mut at = 1 + 16 + 1;
    // Target name, then sender nick: length-prefixed strings.
    for _ in 0..2 {
        let (len, used) = varint(payload, at)?;
        at += used + len;
    }
    at += 1; // kind
    let (len, used) = varint(payload, at)?;
    payload.get(at + used..at + used + len)
}

/// The text of an IRC `PRIVMSG` line: optional `@tags`, optional
/// `:prefix`, the command, the target, then the text — trailing (`:`) or,
/// without spaces in it, a plain last parameter (both are valid IRC).
pub(crate) fn irc_privmsg_text(line: &[u8]) -> Option<&[u8]> {
    let after_word = |rest: &[u8]| -> Option<usize> { memchr::memchr(b' ', rest).map(|at| at + 1) };
    let mut rest = line;
    if rest.first() == Some(&b'@') {
        rest = &rest[after_word(rest)?..];
    }
    if rest.first() == Some(&b':') {
        rest = &rest[after_word(rest)?..];
    }
    let rest = rest.strip_prefix(b"PRIVMSG ")?;
    let text = &rest[after_word(rest)?..];
    Some(text.strip_prefix(b":").unwrap_or(text))
}

#[cfg(test)]
mod tests {
    use huddle_protocol::{
        ChatMessage, ChatText, MessageId, MessageKind, Nick, RoomName, ServerMessage, Target,
        encode_payload,
    };

    use super::*;

    #[test]
    fn texts_round_trip_through_a_real_chat_frame() {
        let body = text(7, 123_456, 987_654_321, 64);
        assert_eq!(body.len(), 64);
        let payload = encode_payload(&ServerMessage::Chat(ChatMessage {
            id: MessageId::from_uuid(uuid::Uuid::now_v7()),
            target: Target::Room(RoomName::new("#bench-room").unwrap()),
            from: Nick::new("sender7").unwrap(),
            kind: MessageKind::Normal,
            text: ChatText::new(body.clone()).unwrap(),
            timestamp: 1_700_000_000_000,
            client_msg_id: huddle_protocol::ClientMsgId::random(),
        }))
        .unwrap();
        let found = huddle_chat_text(&payload).unwrap();
        assert_eq!(found, body.as_bytes());
        assert_eq!(parse(found), Some((7, 123_456, 987_654_321)));
        assert_eq!(huddle_chat_text(&[5, 0, 0]), None);
    }

    #[test]
    fn irc_lines() {
        let line = b":s1!s1@127.0.0.1 PRIVMSG #bench :0000000100000000000000020000000000000003xx";
        assert_eq!(parse(irc_privmsg_text(line).unwrap()), Some((1, 2, 3)));
        assert_eq!(irc_privmsg_text(b":server 001 s1 :Welcome"), None);
        let tagged = b"@time=2026-12-01T00:00:00.000Z :s1!s1@h PRIVMSG #b 0000000100000000000000020000000000000003";
        assert_eq!(parse(irc_privmsg_text(tagged).unwrap()), Some((1, 2, 3)));
        assert_eq!(irc_privmsg_text(b"PRIVMSG #b :x"), Some(&b"x"[..]));
        assert_eq!(irc_privmsg_text(b":s1 NOTICE #b :PRIVMSG x"), None);
    }

    #[test]
    fn markers_reject_what_is_not_lowercase_hex() {
        let good = text(0xabcdef01, u64::MAX, 0x0123_4567_89ab_cdef, 40);
        assert_eq!(
            parse(good.as_bytes()),
            Some((0xabcdef01, u64::MAX, 0x0123_4567_89ab_cdef))
        );
        for bad in [b'g', b'A', b' ', 0xff, b'/', b':'] {
            let mut bytes = good.clone().into_bytes();
            bytes[17] = bad;
            assert_eq!(parse(&bytes), None, "byte {bad}");
        }
        assert_eq!(parse(&good.as_bytes()[..39]), None);
    }
}
