//! `/search TEXT` (irssi's `/lastlog`): the lines of the current buffer
//! that contain TEXT, case-insensitively, listed at its end with their time
//! and sender. `/search -all TEXT` asks the server, which looks through
//! everything it stores of every room you are in and of your direct
//! messages — what was said before this client started too — and lists
//! the matches newest first, a page at a time (`/search -more` for older
//! ones); while not connected it looks through every buffer here instead.

use huddle_protocol::{ClientMessage, MessageId, SearchHit, ShortText};

use super::{
    app::{App, ConnState, Effect},
    buffer::{BufferKind, Line, LineKind},
};

/// At most this many matches are listed (the newest).
const MAX_MATCHES: usize = 50;

/// Matches asked of the server at a time.
const SERVER_PAGE: u16 = 50;

/// A `/search -all` the server answers: what was asked, where the answers
/// go, and where the next page starts.
#[derive(Debug, Clone)]
pub struct ServerSearch {
    query: ShortText,
    /// The buffer the search was typed in.
    buffer: BufferKind,
    /// `/search -more` asks for matches older than this.
    next: Option<MessageId>,
}

/// A time (Unix ms) as the local date and minute.
fn clock(time: u64) -> String {
    chrono::DateTime::from_timestamp_millis(i64::try_from(time).unwrap_or(0))
        .unwrap_or_default()
        .with_timezone(&chrono::Local)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// `time <from> text` (or `time * from text` for an action).
fn describe_chat(time: u64, from: &str, action: bool, text: &str) -> String {
    let time = clock(time);
    match action {
        true => format!("{time} * {from} {text}"),
        false => format!("{time} <{from}> {text}"),
    }
}

/// `time <from> text` for a matching line.
fn describe(line: &Line) -> String {
    match &line.kind {
        LineKind::Chat { from, action, .. } => describe_chat(line.time, from, *action, &line.text),
        _ => format!("{} {}", clock(line.time), line.text),
    }
}

/// `where: time <from> text` for a match the server found.
fn describe_hit(hit: &SearchHit) -> String {
    let message = hit.message();
    let place = match hit {
        SearchHit::Room(message) => match &message.target {
            huddle_protocol::Target::Room(room) => room.to_string(),
            huddle_protocol::Target::Direct(to) => format!("to {to}"),
        },
        SearchHit::Direct(entry) if entry.outgoing => format!("you to {}", entry.peer()),
        SearchHit::Direct(entry) => format!("{} to you", entry.peer()),
    };
    let action = message.kind == huddle_protocol::MessageKind::Action;
    let text = describe_chat(
        message.timestamp,
        message.from.as_str(),
        action,
        message.text.as_str(),
    );
    format!("{place}: {text}")
}

impl App {
    /// `/search [-all] TEXT`, `/search -more`.
    pub(super) fn search(&mut self, args: &str) -> Vec<Effect> {
        if args.trim() == "-more" {
            return self.search_server_older();
        }
        let (all, needle) = match args.strip_prefix("-all") {
            Some(rest) if rest.is_empty() || rest.starts_with(' ') => (true, rest.trim()),
            _ => (false, args.trim()),
        };
        if needle.is_empty() {
            self.error_here("usage: /search [-all] TEXT, or /search -more".into());
            return Vec::new();
        }
        if all && self.conn == ConnState::Connected {
            return self.search_server(needle);
        }
        if all {
            self.notice_here("Not connected: looking only at what this client holds".into());
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

    /// `/search -all TEXT` while connected: the server's first page.
    fn search_server(&mut self, needle: &str) -> Vec<Effect> {
        let query = match ShortText::new(needle) {
            Ok(query) => query,
            Err(err) => {
                self.error_here(format!("cannot search for that: {err}"));
                return Vec::new();
            }
        };
        self.notice_here(format!(
            "Asking the server for {needle:?} in your rooms and direct messages…"
        ));
        let buffer = self.current_buffer().kind.clone();
        self.server_search = Some(ServerSearch {
            query: query.clone(),
            buffer,
            next: None,
        });
        vec![Effect::Send(ClientMessage::Search {
            query,
            room: None,
            before: None,
            limit: SERVER_PAGE,
        })]
    }

    /// `/search -more`: the next page of the last server search.
    fn search_server_older(&mut self) -> Vec<Effect> {
        let Some(search) = &mut self.server_search else {
            self.error_here("/search -more continues a /search -all; there is none".into());
            return Vec::new();
        };
        let Some(before) = search.next.take() else {
            self.error_here("that search has shown every match".into());
            return Vec::new();
        };
        search.buffer = self.buffers[self.current].kind.clone();
        vec![Effect::Send(ClientMessage::Search {
            query: search.query.clone(),
            room: None,
            before: Some(before),
            limit: SERVER_PAGE,
        })]
    }

    /// The server's `SearchResults`: listed in the buffer the search was
    /// typed in.
    pub(super) fn on_search_results(
        &mut self,
        query: &ShortText,
        hits: &[SearchHit],
        next: Option<MessageId>,
    ) {
        let typed_in = match &mut self.server_search {
            Some(search) if &search.query == query => {
                search.next = next;
                Some(search.buffer.clone())
            }
            _ => None,
        };
        let index = typed_in
            .and_then(|kind| self.buffer_index(&kind))
            .unwrap_or(self.current);
        let summary = match (hits.len(), next.is_some()) {
            (0, false) => format!("No stored message contains {query:?}"),
            (0, true) => format!("None of the messages looked at contains {query:?}"),
            (n, _) => format!("{n} stored message(s) contain {query:?}, newest first:"),
        };
        let buffer = &mut self.buffers[index];
        buffer.push(Line::new(LineKind::Notice, summary));
        for hit in hits {
            buffer.push(Line::new(
                LineKind::Notice,
                format!("  {}", describe_hit(hit)),
            ));
        }
        if next.is_some() {
            let more = "  older matches: /search -more".to_owned();
            buffer.push(Line::new(LineKind::Notice, more));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::tui::{
        buffer::LineKind,
        testkit::{buffer_texts, chat, connected_app, room, sent, server, type_line},
    };
    use huddle_protocol::{ClientMessage, MessageId, SearchHit, ServerMessage, ShortText, Target};

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
        app.conn = crate::tui::app::ConnState::Offline;
        type_line(&mut app, "/search -all LUNCH");
        let last = app.current_buffer().lines.last().unwrap();
        assert!(
            last.text.contains("#lan: ") && last.text.contains("<carol> lunch?"),
            "{}",
            last.text
        );
        app.conn = crate::tui::app::ConnState::Connected;
        type_line(&mut app, "/search nothing-like-it");
        let last = app.current_buffer().lines.last().unwrap();
        assert!(last.text.starts_with("No line contains"), "{}", last.text);
        assert_eq!(last.kind, LineKind::Notice);
    }

    fn hit(from: &str, target: Target, text: &str) -> SearchHit {
        let ServerMessage::Chat(message) = chat(from, target, text) else {
            unreachable!()
        };
        SearchHit::Room(message)
    }

    #[test]
    fn search_all_asks_the_server_and_pages_with_more() {
        let mut app = connected_app();
        let effects = type_line(&mut app, "/search -all deploy");
        let query = ShortText::new("deploy").unwrap();
        let asked = sent(&effects);
        assert!(
            matches!(asked.as_slice(), [ClientMessage::Search { query: q, room: None, before: None, .. }] if *q == query),
            "{asked:?}"
        );
        let older = MessageId::from_uuid(uuid::Uuid::from_u128(7));
        let lan = Target::Room(room("#lan"));
        server(
            &mut app,
            ServerMessage::SearchResults {
                query: query.clone(),
                room: None,
                hits: vec![hit("bob", lan.clone(), "deploy from last week")],
                next: Some(older),
            },
        );
        let texts = buffer_texts(&app);
        let at = texts
            .iter()
            .position(|t| t.contains("1 stored message(s) contain \"deploy\""))
            .unwrap();
        assert!(
            texts[at + 1].contains("#lan: ")
                && texts[at + 1].contains("<bob> deploy from last week")
        );
        assert!(texts[at + 2].contains("/search -more"), "{texts:?}");
        let effects = type_line(&mut app, "/search -more");
        let asked = sent(&effects);
        assert!(
            matches!(asked.as_slice(), [ClientMessage::Search { before: Some(b), .. }] if *b == older),
            "{asked:?}"
        );
        server(
            &mut app,
            ServerMessage::SearchResults {
                query,
                room: None,
                hits: Vec::new(),
                next: None,
            },
        );
        assert!(
            buffer_texts(&app)
                .last()
                .unwrap()
                .contains("No stored message contains")
        );
        type_line(&mut app, "/search -more");
        assert_eq!(
            app.current_buffer().lines.last().unwrap().kind,
            LineKind::Error
        );
    }
}
