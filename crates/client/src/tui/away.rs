//! `/away [message]`: away with a message, or back. Others see it in their
//! rooms (the member list dims away nicks) and the server answers their
//! direct messages with it once; sending a message brings you back, as the
//! status line says.

use std::collections::HashSet;

use huddle_protocol::{ClientMessage, Nick, ShortText};

use super::app::{App, Effect};

/// Who is away, as this client has been told (folded nicks).
#[derive(Debug, Default)]
pub struct AwayNicks(HashSet<String>);

impl AwayNicks {
    /// Whether `nick` is away.
    pub fn contains(&self, nick: &Nick) -> bool {
        self.0.contains(nick.folded())
    }
}

impl App {
    /// `/away [message]`.
    pub(super) fn away(&mut self, message: &str) -> Vec<Effect> {
        let message = ShortText::lossy(message.trim());
        self.away = (!message.is_empty()).then(|| message.to_string());
        let text = match &self.away {
            Some(message) => format!("You are away: {message} (sending a message brings you back)"),
            None => "You are back".to_owned(),
        };
        self.notice_here(text);
        vec![Effect::Send(ClientMessage::SetAway { message })]
    }

    /// Sending while away brings you back first.
    pub(super) fn back_on_sending(&mut self) -> Option<Effect> {
        self.away.take()?;
        self.notice_status("You are back".into());
        Some(Effect::Send(ClientMessage::SetAway {
            message: ShortText::default(),
        }))
    }

    /// `Presence{Away}` from the server: the line a room shows.
    pub(super) fn on_away(&mut self, nick: &Nick, message: &ShortText) -> String {
        if message.is_empty() {
            self.away_nicks.0.remove(nick.folded());
            format!("{nick} is back")
        } else {
            self.away_nicks.0.insert(nick.folded().to_owned());
            format!("{nick} is away: {message}")
        }
    }
}

#[cfg(test)]
mod tests {
    use huddle_protocol::{Presence, PresenceEvent, ServerMessage, Target};

    use crate::tui::testkit::{chat, connected_app, nick, room, server, type_line};

    use super::*;

    #[test]
    fn away_is_sent_then_cleared_by_sending_and_others_away_are_tracked() {
        let mut app = connected_app();
        let effects = type_line(&mut app, "/away lunch");
        assert_eq!(
            effects,
            [Effect::Write(ClientMessage::SetAway {
                message: ShortText::new("lunch").unwrap()
            })]
        );
        let effects = type_line(&mut app, "back now");
        assert_eq!(
            effects.first(),
            Some(&Effect::Write(ClientMessage::SetAway {
                message: ShortText::default()
            }))
        );
        assert!(app.away.is_none());
        // Someone else goes away and comes back.
        let away = |message: &str| {
            ServerMessage::Presence(Presence {
                room: room("#lan"),
                nick: nick("bob"),
                event: PresenceEvent::Away {
                    message: ShortText::new(message).unwrap(),
                },
            })
        };
        server(&mut app, away("meeting"));
        assert!(app.away_nicks.contains(&nick("bob")));
        assert_eq!(
            app.current_buffer().lines.last().unwrap().text,
            "bob is away: meeting"
        );
        server(&mut app, away(""));
        assert!(!app.away_nicks.contains(&nick("bob")));
        server(&mut app, chat("bob", Target::Room(room("#lan")), "hi"));
    }
}
