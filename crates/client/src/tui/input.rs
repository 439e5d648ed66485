//! The one-line inputs (the chat line, the browser's prompts): editing
//! keys as readline has them, and pastes, whose line breaks are kept as a
//! visible mark until the line is sent.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_input::{Input, InputRequest};

use super::app::{App, Screen};

/// The marker for a newline inside the one-line input (pasted text).
pub(super) const NEWLINE_MARK: char = '↵';

impl App {
    pub(super) fn on_paste(&mut self, text: &str) {
        // CR, LF and CRLF are all line breaks (tmux's `paste-buffer -p` and
        // many terminals send CR between lines).
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        let text = text.trim_end_matches('\n');
        let input = match (self.screen, &mut self.browser.prompt) {
            (Screen::Browser, Some((_, input))) => input,
            (Screen::Browser, None) => return,
            (Screen::Chat, _) => &mut self.input,
        };
        for c in text.chars() {
            let c = if c == '\n' { NEWLINE_MARK } else { c };
            input.handle(InputRequest::InsertChar(c));
        }
    }
}

/// Applies an editing key to a one-line input.
pub(super) fn edit_input(input: &mut Input, key: KeyEvent) {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    let request = match key.code {
        KeyCode::Char('a') if ctrl => InputRequest::GoToStart,
        KeyCode::Char('e') if ctrl => InputRequest::GoToEnd,
        KeyCode::Char('w') if ctrl => InputRequest::DeletePrevWord,
        KeyCode::Char('u') if ctrl => InputRequest::DeleteFromStart,
        KeyCode::Char('k') if ctrl => InputRequest::DeleteTillEnd,
        KeyCode::Char('b') if alt => InputRequest::GoToPrevWord,
        KeyCode::Char('f') if alt => InputRequest::GoToNextWord,
        KeyCode::Char('d') if alt => InputRequest::DeleteNextWord,
        KeyCode::Char(c) if !ctrl && !alt => InputRequest::InsertChar(c),
        KeyCode::Backspace if alt || ctrl => InputRequest::DeletePrevWord,
        KeyCode::Backspace => InputRequest::DeletePrevChar,
        KeyCode::Delete => InputRequest::DeleteNextChar,
        KeyCode::Left if ctrl || alt => InputRequest::GoToPrevWord,
        KeyCode::Right if ctrl || alt => InputRequest::GoToNextWord,
        KeyCode::Left => InputRequest::GoToPrevChar,
        KeyCode::Right => InputRequest::GoToNextChar,
        KeyCode::Home => InputRequest::GoToStart,
        KeyCode::End => InputRequest::GoToEnd,
        _ => return,
    };
    input.handle(request);
}
