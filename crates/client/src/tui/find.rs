//! Ctrl+R: finding in the current buffer as you type, as weechat's search
//! mode does. The input line becomes the query; the newest line containing
//! it (case-insensitively) is brought into view and highlighted, Ctrl+R
//! again goes to the next older match and Ctrl+S back to a newer one, Enter
//! stays where the match is, Esc returns to where you were. (`/search`,
//! `search.rs`, lists matches instead.)

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_input::Input;

use super::{
    app::App,
    buffer::{Line, LineKind},
    input::edit_input,
};

/// The state of a Ctrl+R search.
#[derive(Debug, Clone, Default)]
pub struct Find {
    /// What is looked for.
    pub query: Input,
    /// The line matched (an index into the buffer's lines), if any.
    pub matched: Option<usize>,
    /// Where the buffer was scrolled when the search began (Esc goes back).
    saved_scroll: usize,
}

impl Find {
    /// Whether `line` contains the query (chat lines only; an empty query
    /// matches nothing).
    pub fn matches(&self, line: &Line) -> bool {
        let query = self.query.value();
        !query.is_empty()
            && matches!(line.kind, LineKind::Chat { .. })
            && line.text.to_lowercase().contains(&query.to_lowercase())
    }
}

impl App {
    /// Ctrl+R in the chat screen: starts a search in the current buffer.
    pub(super) fn start_find(&mut self) {
        self.find = Some(Find {
            saved_scroll: self.buffers[self.current].scroll,
            ..Find::default()
        });
    }

    /// A key while searching.
    pub(super) fn find_key(&mut self, key: KeyEvent) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let Some(find) = &mut self.find else { return };
        match key.code {
            KeyCode::Esc => {
                let saved = find.saved_scroll;
                self.find = None;
                self.buffers[self.current].scroll = saved;
            }
            KeyCode::Enter => self.find = None,
            KeyCode::Char('r') if ctrl => self.find_next(true),
            KeyCode::Char('s') if ctrl => self.find_next(false),
            _ => {
                edit_input(&mut find.query, key);
                find.matched = None;
                self.find_next(true);
            }
        }
    }

    /// Moves to the next match, older (`back`) or newer than the current
    /// one (from the newest line when there is none), and scrolls it into
    /// view.
    fn find_next(&mut self, back: bool) {
        let Some(find) = &self.find else { return };
        let buffer = &self.buffers[self.current];
        let found = match (find.matched, back) {
            (None, _) => (0..buffer.lines.len())
                .rev()
                .find(|&i| find.matches(&buffer.lines[i])),
            (Some(at), true) => (0..at).rev().find(|&i| find.matches(&buffer.lines[i])),
            (Some(at), false) => {
                (at + 1..buffer.lines.len()).find(|&i| find.matches(&buffer.lines[i]))
            }
        };
        let Some(at) = found else { return };
        let scroll = buffer.lines.len() - 1 - at;
        if let Some(find) = &mut self.find {
            find.matched = Some(at);
        }
        let buffer = &mut self.buffers[self.current];
        buffer.scroll = scroll;
        buffer.new_below = scroll > 0;
    }
}

#[cfg(test)]
pub(super) mod tests {
    use huddle_protocol::Target;
    use ratatui::crossterm::event::{KeyCode, KeyModifiers};

    use super::super::{
        app::App,
        testkit::{chat, chord, connected_app, key, room, server},
    };

    fn ctrl(app: &mut App, c: char) {
        chord(app, KeyCode::Char(c), KeyModifiers::CONTROL);
    }

    fn type_text(app: &mut App, text: &str) {
        for c in text.chars() {
            key(app, KeyCode::Char(c));
        }
    }

    fn matched_text(app: &App) -> Option<String> {
        let at = app.find.as_ref()?.matched?;
        Some(app.current_buffer().lines[at].text.clone())
    }

    /// An app in #lan with bob's `lines` said, newest last.
    pub(in super::super) fn app_with(lines: &[&str]) -> App {
        let mut app = connected_app();
        for text in lines {
            server(&mut app, chat("bob", Target::Room(room("#lan")), text));
        }
        app
    }

    #[test]
    fn ctrl_r_finds_as_you_type_goes_older_and_esc_returns() {
        let mut app = app_with(&["deploy one", "lunch?", "deploy two", "noise", "later"]);
        let before = app.current_buffer().scroll;
        ctrl(&mut app, 'r');
        type_text(&mut app, "DEPLOY");
        assert_eq!(
            matched_text(&app).as_deref(),
            Some("deploy two"),
            "the newest match"
        );
        assert!(app.current_buffer().scroll > 0, "scrolled to it");
        ctrl(&mut app, 'r');
        assert_eq!(
            matched_text(&app).as_deref(),
            Some("deploy one"),
            "then older"
        );
        ctrl(&mut app, 'r');
        assert_eq!(
            matched_text(&app).as_deref(),
            Some("deploy one"),
            "none older: stays"
        );
        ctrl(&mut app, 's');
        assert_eq!(
            matched_text(&app).as_deref(),
            Some("deploy two"),
            "Ctrl+S: newer"
        );
        key(&mut app, KeyCode::Esc);
        assert!(app.find.is_none());
        assert_eq!(app.current_buffer().scroll, before, "back where it was");
        assert_eq!(
            app.input.value(),
            "",
            "the query never reached the input line"
        );
    }

    #[test]
    fn enter_stays_at_the_match() {
        let mut app = app_with(&["the build is red", "fixed", "ok"]);
        ctrl(&mut app, 'r');
        type_text(&mut app, "red");
        let scroll = app.current_buffer().scroll;
        assert!(scroll > 0);
        key(&mut app, KeyCode::Enter);
        assert!(app.find.is_none());
        assert_eq!(app.current_buffer().scroll, scroll);
    }
}
