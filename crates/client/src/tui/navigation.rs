//! Which buffer is shown: finding one by number or name, switching (the
//! read marker is set on the buffer left), creating one on first use.

use super::{
    app::App,
    buffer::{Buffer, BufferKind},
};

impl App {
    pub fn current_buffer(&self) -> &Buffer {
        &self.buffers[self.current]
    }

    /// A buffer by number (from 1, as listed) or by name (`#room`, `nick`
    /// or `@nick`, `status`), case-insensitively.
    pub(super) fn find_buffer(&self, which: &str) -> Option<usize> {
        if let Ok(number) = which.parse::<usize>() {
            return (1..=self.buffers.len())
                .contains(&number)
                .then(|| number - 1);
        }
        let wanted = which.to_lowercase();
        self.buffers.iter().position(|buffer| {
            let title = buffer.title().to_lowercase();
            title == wanted || title.strip_prefix('@') == Some(wanted.as_str())
        })
    }

    pub(super) fn switch_to(&mut self, index: usize) {
        if index < self.buffers.len() {
            if index != self.current
                && let Some(left) = self.buffers.get_mut(self.current)
            {
                left.read_marker = left.lines.last().map(|line| (line.time, line.id));
            }
            self.current = index;
            // A search belongs to the buffer it began in.
            self.find = None;
            let buffer = &mut self.buffers[index];
            buffer.unread = 0;
            buffer.mention = false;
        }
    }

    pub(super) fn buffer_index(&self, kind: &BufferKind) -> Option<usize> {
        self.buffers.iter().position(|b| &b.kind == kind)
    }

    /// The buffer for `kind`, created at the end if missing.
    pub(super) fn buffer_for(&mut self, kind: BufferKind) -> usize {
        match self.buffer_index(&kind) {
            Some(index) => index,
            None => {
                self.buffers.push(Buffer::new(kind));
                self.buffers.len() - 1
            }
        }
    }
}
