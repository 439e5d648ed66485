//! A buffer: one room, one direct conversation, or the server's status
//! buffer, with its lines, unread state and scroll position.

use huddle_protocol::{ClientMsgId, MessageId, Nick, RoomName};

/// Lines kept per buffer (up to a tenth more between trims); older ones
/// are dropped (and can be fetched again from the server's history).
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
    /// The sender's id, for messages the server delivered: a copy accepted
    /// again after a server crash (under a new `id`) carries the same.
    pub origin: Option<ClientMsgId>,
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
    /// Where the user stopped reading: the newest line (its time and id)
    /// when they last left this buffer. Lines after it are drawn below a
    /// marker line, as weechat does, until they leave again.
    pub read_marker: Option<(u64, Option<MessageId>)>,
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
            read_marker: None,
        }
    }

    /// Whether `line` came after the read marker (`read`).
    pub fn after_marker(line: &Line, read: (u64, Option<MessageId>)) -> bool {
        let (time, id) = read;
        line.time > time
            || (line.time == time && matches!((line.id, id), (Some(new), Some(old)) if new > old))
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
        // Trimmed in steps of a tenth, so a busy room does not move every
        // line for every message that arrives.
        if self.lines.len() > MAX_LINES + MAX_LINES / 10 {
            let excess = self.lines.len() - MAX_LINES;
            self.lines.drain(..excess);
            self.history_complete = false;
        }
    }

    /// The line showing the message `from` sent as `origin`, if any.
    pub fn find_origin(&self, from: &str, origin: ClientMsgId) -> Option<usize> {
        self.lines.iter().position(|line| {
            line.origin == Some(origin)
                && matches!(&line.kind, LineKind::Chat { from: shown, .. } if shown == from)
        })
    }

    /// If `line` is a message already shown under another server id (it was
    /// accepted again after a server crash), gives the shown line the new id
    /// and returns true.
    pub fn absorb_copy(&mut self, line: &Line) -> bool {
        let (Some(origin), LineKind::Chat { from, .. }) = (line.origin, &line.kind) else {
            return false;
        };
        match self.find_origin(from, origin) {
            Some(at) => {
                if line.id.is_some() {
                    self.lines[at].id = line.id;
                }
                true
            }
            None => false,
        }
    }

    /// Inserts chat lines from history, skipping those already shown (by
    /// server id, or by sender and sender's id), keeping lines ordered by
    /// server id and the view where it is.
    pub fn merge_history(&mut self, older: Vec<Line>) {
        let mut fresh: Vec<Line> = Vec::new();
        for line in older {
            let shown = line.id.is_some() && self.lines.iter().any(|l| l.id == line.id);
            if !shown && !self.absorb_copy(&line) {
                fresh.push(line);
            }
        }
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

    /// Where a message with server id `id` belongs: after every older
    /// message, then before the first newer message or our first message
    /// still waiting for its ack (it will be newer); at the end if neither
    /// follows. (A line we typed just before a disconnection can precede
    /// older messages that were still arriving.)
    fn ordered_position(&self, id: MessageId) -> usize {
        let after_older = self
            .lines
            .iter()
            .rposition(|l| l.id.is_some_and(|shown| shown < id))
            .map_or(0, |at| at + 1);
        self.lines[after_older..]
            .iter()
            .position(|l| match l.id {
                Some(shown) => shown > id,
                None => l.client_id.is_some(),
            })
            .map_or(self.lines.len(), |at| after_older + at)
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

impl Line {
    /// A line stamped with the current time.
    pub fn new(kind: LineKind, text: String) -> Self {
        Self {
            time: crate::now_millis(),
            kind,
            text,
            id: None,
            client_id: None,
            origin: None,
            transfer: None,
        }
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
            origin: None,
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
