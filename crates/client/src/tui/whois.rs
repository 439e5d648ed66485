//! `/whois NICK`: who holds a nick — the short fingerprint of the key it
//! proved, and its rooms you may see. The key seen for each nick is
//! remembered (in the config file); a nick that shows up with a different
//! key later is marked loudly: another person, or a reinstall.

use huddle_protocol::{ClientMessage, Nick, PublicKey, ServerMessage};

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

    /// The server's answer (a `WhoisReply`): shown where the user is,
    /// its key compared with the key this nick had before.
    pub(super) fn on_whois(&mut self, reply: ServerMessage) -> Vec<Effect> {
        let ServerMessage::WhoisReply {
            nick,
            key,
            rooms,
            away,
            since,
            idle_secs,
            client,
        } = reply
        else {
            return Vec::new();
        };
        let short = key.as_ref().map(PublicKey::short);
        let mut parts = vec![match &short {
            Some(short) => format!("{nick}: key {short}"),
            None => format!("{nick}: no key (came in without one, as IRC users do)"),
        }];
        if !rooms.is_empty() {
            let rooms: Vec<String> = rooms.iter().map(ToString::to_string).collect();
            parts.push(format!("in {}", rooms.join(", ")));
        }
        let since = chrono::DateTime::from_timestamp_millis(i64::try_from(since).unwrap_or(0))
            .unwrap_or_default()
            .with_timezone(&chrono::Local)
            .format("%Y-%m-%d %H:%M");
        parts.push(format!("connected since {since}"));
        parts.push(format!("idle {}", idle_time(idle_secs)));
        if !client.is_empty() {
            parts.push(format!("using {client}"));
        }
        if !away.is_empty() {
            parts.push(format!("away: {away}"));
        }
        let current = self.current;
        self.buffers[current].push(Line::new(LineKind::Notice, parts.join(" · ")));
        let Some(short) = short else {
            return Vec::new();
        };
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

/// An idle time as people say it: `42 s`, `5 min`, `2 h 5 min`, `3 d 4 h`.
fn idle_time(secs: u64) -> String {
    let (mins, hours, days) = (secs / 60, secs / 3600, secs / 86_400);
    match (days, hours, mins) {
        (0, 0, 0) => format!("{secs} s"),
        (0, 0, _) => format!("{mins} min"),
        (0, _, _) => format!("{hours} h {} min", mins % 60),
        _ => format!("{days} d {} h", hours % 24),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::Event;
    use huddle_protocol::{IdentityKey, RoomName};

    #[test]
    fn whois_shows_the_key_and_marks_a_changed_one() {
        let mut app = App::new(Some("me".into()), "me");
        app.start_chat("h:1", vec!["#lan".into()]);
        let alice = Nick::new("alice").unwrap();
        let reply = |key: &IdentityKey| {
            Event::Net(crate::net::NetEvent::Message(ServerMessage::WhoisReply {
                nick: alice.clone(),
                key: Some(key.public_key()),
                rooms: vec![RoomName::new("#lan").unwrap()],
                away: Default::default(),
                since: 1_700_000_000_000,
                idle_secs: 3_900,
                client: huddle_protocol::ShortText::new("huddle 0.1.0").unwrap(),
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
        assert!(
            shown.contains("idle 1 h 5 min · using huddle 0.1.0"),
            "{shown}"
        );
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

    #[test]
    fn idle_times_read_as_people_say_them() {
        let said: Vec<String> = [42, 300, 7_500, 273_600].map(super::idle_time).into();
        assert_eq!(said, ["42 s", "5 min", "2 h 5 min", "3 d 4 h"]);
    }
}
