//! `/search TEXT` (irssi's `/lastlog`): the lines of the current buffer
//! that contain TEXT, case-insensitively, listed at its end with their time
//! and sender; `/search -all TEXT` looks through every buffer and names
//! where each match is. Only what this client holds is searched (what was
//! loaded into the buffers, history pages included).

use super::{
    app::{App, Effect},
    buffer::{Line, LineKind},
};

/// At most this many matches are listed (the newest).
const MAX_MATCHES: usize = 50;

/// `time  <from> text` for a match.
fn describe(line: &Line) -> String {
    let time = chrono::DateTime::from_timestamp_millis(i64::try_from(line.time).unwrap_or(0))
        .unwrap_or_default()
        .with_timezone(&chrono::Local)
        .format("%Y-%m-%d %H:%M");
    match &line.kind {
        LineKind::Chat {
            from, action: true, ..
        } => format!("{time} * {from} {}", line.text),
        LineKind::Chat { from, .. } => format!("{time} <{from}> {}", line.text),
        _ => format!("{time} {}", line.text),
    }
}

impl App {
    /// `/search [-all] TEXT`.
    pub(super) fn search(&mut self, args: &str) -> Vec<Effect> {
        let (all, needle) = match args.strip_prefix("-all") {
            Some(rest) if rest.is_empty() || rest.starts_with(' ') => (true, rest.trim()),
            _ => (false, args.trim()),
        };
        if needle.is_empty() {
            self.error_here("usage: /search [-all] TEXT".into());
            return Vec::new();
        }
        let folded = needle.to_lowercase();
        let searched: Vec<usize> = match all {
            true => (0..self.buffers.len()).collect(),
            false => vec![self.current],
        };
        let mut found: Vec<String> = Vec::new();
        for index in searched {
            let buffer = &self.buffers[index];
            let title = buffer.title();
            for line in buffer.lines.iter().filter(|line| {
                matches!(line.kind, LineKind::Chat { .. })
                    && line.text.to_lowercase().contains(&folded)
            }) {
                found.push(match all {
                    true => format!("{title}: {}", describe(line)),
                    false => describe(line),
                });
            }
        }
        let total = found.len();
        let shown = found.split_off(total.saturating_sub(MAX_MATCHES));
        let summary = match (total, total > shown.len()) {
            (0, _) => format!("No line contains {needle:?}"),
            (_, true) => format!(
                "{total} lines contain {needle:?}; the newest {}:",
                shown.len()
            ),
            _ => format!("{total} line(s) contain {needle:?}:"),
        };
        self.notice_here(summary);
        for text in shown {
            self.notice_here(format!("  {text}"));
        }
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use crate::tui::{
        buffer::LineKind,
        testkit::{buffer_texts, chat, connected_app, room, server, type_line},
    };
    use huddle_protocol::Target;

    #[test]
    fn search_lists_matches_here_or_everywhere() {
        let mut app = connected_app();
        let lan = Target::Room(room("#lan"));
        server(&mut app, chat("bob", lan.clone(), "the Deploy is done"));
        server(&mut app, chat("carol", lan, "lunch?"));
        type_line(&mut app, "/search deploy");
        let texts = buffer_texts(&app);
        let at = texts
            .iter()
            .position(|t| t.contains("1 line(s) contain"))
            .unwrap();
        assert!(
            texts[at + 1].contains("<bob> the Deploy is done"),
            "{texts:?}"
        );
        assert!(
            !texts[at..].iter().any(|t| t.contains("lunch")),
            "{texts:?}"
        );
        type_line(&mut app, "/search -all LUNCH");
        let last = app.current_buffer().lines.last().unwrap();
        assert!(
            last.text.contains("#lan: ") && last.text.contains("<carol> lunch?"),
            "{}",
            last.text
        );
        type_line(&mut app, "/search nothing-like-it");
        let last = app.current_buffer().lines.last().unwrap();
        assert!(last.text.starts_with("No line contains"), "{}", last.text);
        assert_eq!(last.kind, LineKind::Notice);
    }
}
