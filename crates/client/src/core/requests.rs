//! A slash command (or a line of text) turned into a request for the
//! server, the same way in the TUI and in plain mode. **Invariant:** every
//! name and text is validated here, so what reaches the core is a request
//! the server can accept, and what cannot be sent is said in words.

use huddle_protocol::{
    ChatText, ClientMessage, ClientMsgId, MessageKind, Nick, RoomName, ShortText,
};

use crate::command::Command;

/// Where a command was typed: what "here" means to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Here<'a> {
    /// Nowhere to say things (the status buffer; plain mode before a join).
    Nowhere,
    Room(&'a RoomName),
    Direct(&'a Nick),
}

/// Said when text is typed where it has nowhere to go.
pub const NOWHERE: &str = "not in a room or a conversation: /join a room or /msg someone";

/// The request `command` asks for, typed `here`: `Ok(None)` when it asks
/// for nothing from the server (a command of the view's own, or nothing to
/// say), `Err` with what is wrong with it.
pub fn request_for(command: &Command, here: Here<'_>) -> Result<Option<ClientMessage>, String> {
    let text = |text: &str| ChatText::new(text.to_owned()).map_err(|e| e.to_string());
    let nick = |nick: &str| Nick::new(nick.to_owned()).map_err(|e| e.to_string());
    let room = |room: &str| RoomName::new(room.to_owned()).map_err(|e| e.to_string());
    let room_here = |named: Option<&String>, usage: &str| match (named, here) {
        (Some(named), _) => room(named),
        (None, Here::Room(room)) => Ok(room.clone()),
        (None, _) => Err(usage.to_owned()),
    };
    let request = match command {
        Command::Say(said) | Command::Me(said) if said.is_empty() => return Ok(None),
        Command::Say(said) => say(here, text(said)?, MessageKind::Normal)?,
        Command::Me(said) => say(here, text(said)?, MessageKind::Action)?,
        Command::Msg {
            nick: to,
            text: said,
        } => ClientMessage::Direct {
            to: nick(to)?,
            id: ClientMsgId::random(),
            kind: MessageKind::Normal,
            text: text(said)?,
        },
        Command::Join {
            room: name,
            password,
        } => ClientMessage::Join {
            room: room(name)?,
            password: password
                .as_ref()
                .map(|p| ShortText::new(p.clone()).map_err(|e| e.to_string()))
                .transpose()?,
        },
        Command::Part {
            room: named,
            reason,
        } => ClientMessage::Part {
            room: room_here(named.as_ref(), "/part needs a room here: /part #room")?,
            reason: ShortText::lossy(reason),
        },
        Command::Nick(new) => ClientMessage::ChangeNick { nick: nick(new)? },
        Command::Topic(Some(topic)) => ClientMessage::SetTopic {
            room: room_here(None, "topics belong to rooms: switch to a room first")?,
            topic: ShortText::new(topic.clone()).map_err(|e| e.to_string())?,
        },
        Command::Who(named) => ClientMessage::ListMembers {
            room: room_here(named.as_ref(), "/who needs a room here: /who #room")?,
        },
        Command::List => ClientMessage::ListRooms,
        Command::Whois(who) => ClientMessage::Whois { nick: nick(who)? },
        Command::Away(message) => ClientMessage::SetAway {
            message: ShortText::lossy(message.trim()),
        },
        Command::IrcPassword(password) => ClientMessage::SetIrcPassword {
            password: ShortText::new(password.clone()).map_err(|e| e.to_string())?,
        },
        Command::IrcCertificate(fingerprint) => ClientMessage::SetIrcCertificate {
            fingerprint: fingerprint
                .as_deref()
                .map(str::parse::<huddle_protocol::Fingerprint>)
                .transpose()
                .map_err(|e| e.to_string())?,
        },
        _ => return Ok(None),
    };
    Ok(Some(request))
}

fn say(here: Here<'_>, text: ChatText, kind: MessageKind) -> Result<ClientMessage, String> {
    let id = ClientMsgId::random();
    match here {
        Here::Room(room) => Ok(ClientMessage::Say {
            room: room.clone(),
            id,
            kind,
            text,
        }),
        Here::Direct(to) => Ok(ClientMessage::Direct {
            to: to.clone(),
            id,
            kind,
            text,
        }),
        Here::Nowhere => Err(NOWHERE.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::parse;

    fn request(line: &str, here: Here<'_>) -> Result<Option<ClientMessage>, String> {
        request_for(&parse(line)?, here)
    }

    #[test]
    fn commands_become_requests_where_they_are_typed() {
        let ops = RoomName::new("#ops").unwrap();
        let bob = Nick::new("bob").unwrap();
        let said = request("hello", Here::Room(&ops)).unwrap().unwrap();
        assert!(
            matches!(said, ClientMessage::Say { room, kind: MessageKind::Normal, .. } if room == ops)
        );
        let acted = request("/me waves", Here::Direct(&bob)).unwrap().unwrap();
        assert!(
            matches!(acted, ClientMessage::Direct { to, kind: MessageKind::Action, .. } if to == bob)
        );
        assert_eq!(
            request("/part", Here::Room(&ops)).unwrap(),
            Some(ClientMessage::Part {
                room: ops.clone(),
                reason: ShortText::lossy("")
            })
        );
        assert_eq!(
            request("/who", Here::Direct(&bob)).unwrap_err(),
            "/who needs a room here: /who #room"
        );
        assert_eq!(request("hi", Here::Nowhere).unwrap_err(), NOWHERE);
        assert_eq!(request("/help", Here::Room(&ops)).unwrap(), None);
        assert!(request("/nick 9lives", Here::Nowhere).is_err());
        assert!(request("bell \u{7}", Here::Room(&ops)).is_err());
        assert!(request(&"x".repeat(5000), Here::Room(&ops)).is_err());
    }
}
