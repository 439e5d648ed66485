//! A buffer: one room, one direct conversation, or the server's status
//! buffer, with its lines, unread state and scroll position.

use huddle_protocol::{ClientMsgId, MessageId, Nick, RoomName};

/// Most lines kept per buffer; older ones are dropped (and can be fetched
/// again from the server's history).
const MAX_LINES: usize = 5000;

/// What a buffer shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BufferKind {
    /// Server notices, errors, lists.
    Status,
    /// A room.
    Room(RoomName),
    /// A direct conversation with one user.
    Direct(Nick),
}

/// How a line is drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineKind {
    /// Someone spoke (or acted, with `action`).
    Chat {
        from: String,
        action: bool,
        /// Sent by us and not yet acknowledged.
        pending: bool,
        /// Mentions our nick.
        mention: bool,
        /// Sent by us.
        own: bool,
    },
    /// Joins, parts, renames: drawn dimmed.
    Presence,
    /// Information from the client or server.
    Notice,
    /// Something went wrong.
    Error,
}

/// One message in a buffer. `text` is raw; it is sanitised when drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Milliseconds since the Unix epoch.
    pub time: u64,
    pub kind: LineKind,
    pub text: String,
    /// The server's id, for chat lines that have one.
    pub id: Option<MessageId>,
    /// Our id, for lines we sent.
    pub client_id: Option<ClientMsgId>,
    /// The file transfer this line shows the progress of.
    pub transfer: Option<huddle_protocol::TransferId>,
}

#[derive(Debug, Clone)]
pub struct Buffer {
    pub kind: BufferKind,
    pub lines: Vec<Line>,
    pub unread: usize,
    pub mention: bool,
    pub members: Vec<Nick>,
    pub topic: String,
    /// Lines hidden below the view (0 = following the newest).
    pub scroll: usize,
    /// New lines arrived while scrolled up.
    pub new_below: bool,
    /// The server has no older history for this room.
    pub history_complete: bool,
    /// A history page was requested and has not arrived.
    pub fetching: bool,
    /// Still a member (rooms only): false after parting or disconnecting.
    pub joined: bool,
    /// Fetching what was said while disconnected.
    pub catching_up: bool,
}

impl Buffer {
    pub fn new(kind: BufferKind) -> Self {
        Self {
            kind,
            lines: Vec::new(),
            unread: 0,
            mention: false,
            members: Vec::new(),
            topic: String::new(),
            scroll: 0,
            new_below: false,
            history_complete: false,
            fetching: false,
            joined: false,
            catching_up: false,
        }
    }

    /// The name shown in the buffer list.
    pub fn title(&self) -> String {
        match &self.kind {
            BufferKind::Status => "status".into(),
            BufferKind::Room(room) => room.to_string(),
            BufferKind::Direct(nick) => format!("@{nick}"),
        }
    }

    /// Appends a line, keeping the view where it is if scrolled up.
    pub fn push(&mut self, line: Line) {
        self.lines.push(line);
        if self.scroll > 0 {
            self.scroll += 1;
            self.new_below = true;
        }
        if self.lines.len() > MAX_LINES {
            let excess = self.lines.len() - MAX_LINES;
            self.lines.drain(..excess);
            self.history_complete = false;
        }
    }

    /// Inserts chat lines from history, skipping those already shown, keeping
    /// lines ordered by server id and the view where it is.
    pub fn merge_history(&mut self, older: Vec<Line>) {
        let fresh: Vec<Line> = older
            .into_iter()
            .filter(|line| line.id.is_none() || !self.lines.iter().any(|l| l.id == line.id))
            .collect();
        if fresh.is_empty() {
            return;
        }
        // History older than everything shown goes on top; otherwise each
        // line goes before the first line with a larger id.
        for line in fresh {
            let at = match line.id {
                Some(id) => self.ordered_position(id),
                None => 0,
            };
            self.lines.insert(at, line);
            if at < self.lines.len() - self.scroll.min(self.lines.len()) {
                // Inserted above the view's bottom: nothing moves.
            } else {
                self.scroll += 1;
            }
        }
    }

    /// Where a message with server id `id` belongs: before the first newer
    /// message or before our own messages still waiting for their ack (they
    /// will be newer); at the end if neither exists.
    fn ordered_position(&self, id: MessageId) -> usize {
        self.lines
            .iter()
            .position(|l| match l.id {
                Some(shown) => shown > id,
                None => l.client_id.is_some(),
            })
            .unwrap_or(self.lines.len())
    }

    /// Moves the line at `at`, just given its server id, to its place in
    /// the server's order (a resend may have been overtaken).
    pub fn reorder_acked(&mut self, at: usize) {
        if at >= self.lines.len() {
            return;
        }
        let line = self.lines.remove(at);
        let place = line.id.map_or(at, |id| self.ordered_position(id));
        self.lines.insert(place.min(self.lines.len()), line);
    }

    /// The newest server id shown, to ask for what came after it.
    pub fn newest_id(&self) -> Option<MessageId> {
        self.lines.iter().filter_map(|l| l.id).max()
    }

    /// Whether a line with this server id is shown.
    pub fn has_id(&self, id: MessageId) -> bool {
        self.lines.iter().rev().any(|l| l.id == Some(id))
    }

    /// The oldest server id shown, to ask for history before it.
    pub fn oldest_id(&self) -> Option<MessageId> {
        self.lines.iter().filter_map(|l| l.id).min()
    }

    pub fn scroll_up(&mut self, by: usize) {
        self.scroll = (self.scroll + by).min(self.lines.len().saturating_sub(1));
    }

    pub fn scroll_down(&mut self, by: usize) {
        self.scroll = self.scroll.saturating_sub(by);
        if self.scroll == 0 {
            self.new_below = false;
        }
    }

    /// Whether the view shows the oldest line.
    pub fn at_top(&self) -> bool {
        self.scroll + 1 >= self.lines.len()
    }

    pub fn clear(&mut self) {
        self.lines.clear();
        self.scroll = 0;
        self.new_below = false;
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn line(id: u128) -> Line {
        Line {
            time: 0,
            kind: LineKind::Notice,
            text: format!("{id}"),
            id: Some(MessageId::from_uuid(Uuid::from_u128(id))),
            client_id: None,
            transfer: None,
        }
    }

    fn texts(buffer: &Buffer) -> Vec<&str> {
        buffer.lines.iter().map(|l| l.text.as_str()).collect()
    }

    #[test]
    fn new_lines_keep_a_scrolled_view_in_place() {
        let mut buffer = Buffer::new(BufferKind::Status);
        for n in 0..10 {
            buffer.push(line(n));
        }
        buffer.scroll_up(3);
        buffer.push(line(10));
        assert_eq!(buffer.scroll, 4);
        assert!(buffer.new_below);
        buffer.scroll_down(10);
        assert_eq!(buffer.scroll, 0);
        assert!(!buffer.new_below);
    }

    #[test]
    fn history_merges_by_id_without_duplicates() {
        let mut buffer = Buffer::new(BufferKind::Status);
        for n in [5, 6, 9] {
            buffer.push(line(n));
        }
        buffer.merge_history(vec![line(3), line(4), line(5), line(7)]);
        assert_eq!(texts(&buffer), ["3", "4", "5", "6", "7", "9"]);
    }
}
