//! `/whois NICK`: who holds a nick — the short fingerprint of the key it
//! proved, and its rooms you may see. The key seen for each nick is
//! remembered (in the config file); a nick that shows up with a different
//! key later is marked loudly: another person, or a reinstall.

use huddle_protocol::{ClientMessage, Nick, PublicKey, RoomName};

use super::{
    app::{App, Effect},
    buffer::{Line, LineKind},
};

impl App {
    /// `/whois NICK`: asks the server.
    pub(super) fn whois(&mut self, nick: &str) -> Vec<Effect> {
        match Nick::new(nick) {
            Ok(nick) => vec![Effect::Send(ClientMessage::Whois { nick })],
            Err(err) => {
                self.error_here(err.to_string());
                Vec::new()
            }
        }
    }

    /// The server's answer: shown where the user is, compared with the key
    /// this nick had before.
    pub(super) fn on_whois(
        &mut self,
        nick: &Nick,
        key: &PublicKey,
        rooms: &[RoomName],
        away: &huddle_protocol::ShortText,
        since: u64,
    ) -> Vec<Effect> {
        let short = key.short();
        let rooms: Vec<String> = rooms.iter().map(ToString::to_string).collect();
        let text = match rooms.is_empty() {
            true => format!("{nick}: key {short}"),
            false => format!("{nick}: key {short} · in {}", rooms.join(", ")),
        };
        let since = chrono::DateTime::from_timestamp_millis(i64::try_from(since).unwrap_or(0))
            .unwrap_or_default()
            .with_timezone(&chrono::Local)
            .format("%Y-%m-%d %H:%M");
        let text = format!("{text} · connected since {since}");
        let text = match away.is_empty() {
            true => text,
            false => format!("{text} · away: {away}"),
        };
        let current = self.current;
        self.buffers[current].push(Line::new(LineKind::Notice, text));
        let before = self
            .nick_keys
            .insert(nick.folded().to_owned(), short.clone());
        match before {
            Some(before) if before != short => {
                self.error_here(format!(
                    "{nick} now has key {short}, not {before} as when you last looked: \
                     another person, or the same one on a new installation — ask them"
                ));
                vec![Effect::SaveNickKeys(self.nick_keys.clone())]
            }
            Some(_) => Vec::new(),
            None => vec![Effect::SaveNickKeys(self.nick_keys.clone())],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::Event;
    use huddle_protocol::{IdentityKey, ServerMessage};

    #[test]
    fn whois_shows_the_key_and_marks_a_changed_one() {
        let mut app = App::new(Some("me".into()), "me");
        app.start_chat("h:1", vec!["#lan".into()]);
        let alice = Nick::new("alice").unwrap();
        let reply = |key: &IdentityKey| {
            Event::Net(crate::net::NetEvent::Message(ServerMessage::WhoisReply {
                nick: alice.clone(),
                key: key.public_key(),
                rooms: vec![RoomName::new("#lan").unwrap()],
                away: Default::default(),
                since: 1_700_000_000_000,
            }))
        };
        let first = IdentityKey::generate().unwrap();
        let effects = app.update(reply(&first));
        assert!(matches!(effects.as_slice(), [Effect::SaveNickKeys(_)]));
        let shown = app.current_buffer().lines.last().unwrap().text.clone();
        assert!(
            shown.contains(&first.public_key().short()) && shown.contains("#lan"),
            "{shown}"
        );
        assert!(shown.contains("connected since 2023-11-1"), "{shown}");
        // The same key again: nothing to say or save.
        assert!(app.update(reply(&first)).is_empty());
        // Another key: marked.
        let other = IdentityKey::generate().unwrap();
        app.update(reply(&other));
        let last = app.current_buffer().lines.last().unwrap();
        assert_eq!(last.kind, LineKind::Error);
        assert!(
            last.text.contains(&first.public_key().short()),
            "{}",
            last.text
        );
    }
}
