//! Tab completion on the input line: commands at the start of the line,
//! rooms after `#` (joined ones first, then those `/list` showed), and the
//! current buffer's members (with `: ` at the start of the line, as
//! weechat does); Tab again cycles through the candidates.

use tui_input::Input;

use super::{
    app::{App, Completion},
    buffer::BufferKind,
};
use crate::command::complete_command;

impl App {
    /// Tab: completes the word at the cursor (a command, a room, a
    /// member's nick), or moves on to the next candidate.
    pub(super) fn complete(&mut self) {
        if let Some(completion) = &mut self.completion {
            completion.index = (completion.index + 1) % completion.candidates.len();
        } else {
            let value: Vec<char> = self.input.value().chars().collect();
            let cursor = self.input.cursor().min(value.len());
            let start = value[..cursor]
                .iter()
                .rposition(|c| *c == ' ')
                .map_or(0, |i| i + 1);
            let word: String = value[start..cursor].iter().collect();
            let lower = word.to_lowercase();
            let candidates: Vec<String> = if start == 0 && word.starts_with('/') {
                complete_command(&lower)
                    .into_iter()
                    .map(str::to_owned)
                    .collect()
            } else if word.starts_with('#') {
                // Rooms we are in, then rooms the server listed (`/list`).
                let joined = self.buffers.iter().filter_map(|b| match &b.kind {
                    BufferKind::Room(room) => Some(room),
                    _ => None,
                });
                let mut rooms: Vec<String> = Vec::new();
                for room in joined.chain(&self.listed_rooms) {
                    let name = room.to_string();
                    if room.folded().starts_with(&lower) && !rooms.contains(&name) {
                        rooms.push(name);
                    }
                }
                rooms
            } else {
                self.buffers[self.current]
                    .members
                    .iter()
                    .filter(|nick| nick.folded().starts_with(&lower) && nick.as_str() != self.nick)
                    .map(|nick| nick.to_string())
                    .collect()
            };
            if candidates.is_empty()
                || word.is_empty() && start == 0 && self.buffers[self.current].members.is_empty()
            {
                return;
            }
            self.completion = Some(Completion {
                candidates,
                index: 0,
                before: value[..start].iter().collect(),
                after: value[cursor..].iter().collect(),
                at_line_start: start == 0,
            });
        }
        let Some(completion) = &self.completion else {
            return;
        };
        let word = &completion.candidates[completion.index];
        let suffix = if word.starts_with('/') || word.starts_with('#') || !completion.at_line_start
        {
            " "
        } else {
            ": "
        };
        let head = format!("{}{word}{suffix}", completion.before);
        let cursor = head.chars().count();
        self.input = Input::new(format!("{head}{}", completion.after)).with_cursor(cursor);
    }
}
