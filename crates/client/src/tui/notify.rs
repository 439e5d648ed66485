//! Desktop notifications through the terminal: on a mention (your nick or
//! a highlight word) or a direct message, while the terminal is unfocused
//! or the message's buffer is not shown, an OSC 777 notification (shown by
//! many terminals; OSC 9 for the others), wrapped for tmux's passthrough
//! when running inside tmux. The text is sanitised and stripped of the
//! separators the sequence uses; `notify = false` in the config turns it
//! off, `highlight = ["deploy", "ana"]` adds words beyond your nick.

use super::app::{App, Effect};

/// The bytes to write to the terminal for a notification.
pub(super) fn osc_notification(title: &str, body: &str, in_tmux: bool) -> Vec<u8> {
    let clean = |text: &str| -> String {
        crate::sanitize::sanitize(text)
            .chars()
            .map(|c| if c == ';' || c.is_control() { ',' } else { c })
            .take(200)
            .collect()
    };
    let (title, body) = (clean(title), clean(body));
    let osc = format!("\x1b]777;notify;{title};{body}\x07\x1b]9;{title}: {body}\x07");
    match in_tmux {
        // tmux passes a sequence through when wrapped, its ESCs doubled.
        true => format!("\x1bPtmux;{}\x1b\\", osc.replace('\x1b', "\x1b\x1b")).into_bytes(),
        false => osc.into_bytes(),
    }
}

impl App {
    /// Whether a message in buffer `index` that mentions us (or is direct)
    /// should notify, and the effect that does.
    pub(super) fn notification(&self, index: usize, from: &str, text: &str) -> Option<Effect> {
        if !self.notify || (self.focused && index == self.current) {
            return None;
        }
        let title = match &self.buffers[index].kind {
            super::buffer::BufferKind::Direct(_) => format!("{from} (direct message)"),
            _ => format!("{from} in {}", self.buffers[index].title()),
        };
        Some(Effect::Notify {
            title,
            body: text.to_owned(),
        })
    }

    /// Whether `text` mentions our nick or one of the highlight words.
    pub(super) fn highlights(&self, text: &str) -> bool {
        super::incoming::mentions(text, &self.nick)
            || self
                .highlight_words
                .iter()
                .any(|word| super::incoming::mentions(text, word))
    }
}

#[cfg(test)]
mod tests {
    use huddle_protocol::Target;
    use ratatui::crossterm::event::{Event as TermEvent, KeyCode, KeyModifiers};

    use super::*;
    use crate::tui::{
        app::Event,
        testkit::{chat, chord, connected_app, nick, room, server},
    };

    fn notified(effects: &[Effect]) -> Option<&str> {
        effects.iter().find_map(|effect| match effect {
            Effect::Notify { body, .. } => Some(body.as_str()),
            _ => None,
        })
    }

    #[test]
    fn a_mention_or_highlight_elsewhere_or_unfocused_notifies() {
        let mut app = connected_app();
        app.highlight_words = vec!["deploy".into()];
        // #lan is shown and the terminal focused: the bell only.
        let effects = server(
            &mut app,
            chat("bob", Target::Room(room("#lan")), "alice: hi"),
        );
        assert_eq!(effects, [Effect::Bell]);
        // Unfocused: a notification too, for a highlight word as well.
        app.update(Event::Terminal(TermEvent::FocusLost));
        let effects = server(
            &mut app,
            chat("bob", Target::Room(room("#lan")), "deploy done"),
        );
        assert_eq!(notified(&effects), Some("deploy done"));
        app.update(Event::Terminal(TermEvent::FocusGained));
        // Focused but elsewhere: a direct message notifies.
        chord(&mut app, KeyCode::Char('1'), KeyModifiers::ALT);
        let effects = server(
            &mut app,
            chat("carol", Target::Direct(nick("alice")), "psst"),
        );
        assert_eq!(notified(&effects), Some("psst"));
        // Turned off: never.
        app.notify = false;
        let effects = server(
            &mut app,
            chat("carol", Target::Direct(nick("alice")), "again"),
        );
        assert_eq!(notified(&effects), None);
    }

    #[test]
    fn the_sequence_carries_no_stray_control_or_separator() {
        let bytes = osc_notification("bob; in #lan", "hi\x07\x1b]0;pwned", false);
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(text.matches('\x07').count(), 2, "{text:?}");
        assert!(
            text.starts_with("\x1b]777;notify;bob, in #lan;hi"),
            "{text:?}"
        );
        let wrapped = String::from_utf8(osc_notification("t", "b", true)).unwrap();
        assert!(
            wrapped.starts_with("\x1bPtmux;\x1b\x1b]777;"),
            "{wrapped:?}"
        );
        assert!(wrapped.ends_with("\x1b\\"), "{wrapped:?}");
    }
}
