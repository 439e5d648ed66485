//! Plain mode's progress line: while a long pipe is being sent at the
//! server's rate, one line on stderr, rewritten in place (at most four
//! times a second), says how far it got — only when stderr is a terminal,
//! so scripts and logs never see it.

use std::{io::Write, time::Duration};

use tokio::time::Instant;

/// Least time between two rewrites of the line.
const EVERY: Duration = Duration::from_millis(250);

/// The progress line's state.
#[derive(Debug)]
pub(crate) struct Progress {
    enabled: bool,
    last: Option<Instant>,
    shown: bool,
}

/// The text of the line.
pub(crate) fn describe(read: usize, delivered: u64, waiting: usize) -> String {
    format!(
        "huddle: {read} line(s) read, {delivered} delivered, {waiting} waiting for the rate limit"
    )
}

impl Progress {
    /// A progress line, shown only if `enabled` (stderr is a terminal).
    pub(crate) fn new(enabled: bool) -> Self {
        Self {
            enabled,
            last: None,
            shown: false,
        }
    }

    /// Whether the line is due again at `now` (and notes that it is).
    fn due(&mut self, now: Instant) -> bool {
        if !self.enabled || self.last.is_some_and(|last| now < last + EVERY) {
            return false;
        }
        self.last = Some(now);
        true
    }

    /// Rewrites the line if it is due.
    pub(crate) fn report(&mut self, read: usize, delivered: u64, waiting: usize, now: Instant) {
        if self.due(now) {
            let mut err = std::io::stderr();
            let _ = write!(err, "\r{}\x1b[K", describe(read, delivered, waiting));
            let _ = err.flush();
            self.shown = true;
        }
    }

    /// Ends the line, if one was shown, with the final figures, so what
    /// follows starts clean.
    pub(crate) fn finish(&mut self, read: usize, delivered: u64, waiting: usize) {
        if std::mem::take(&mut self.shown) {
            let mut err = std::io::stderr();
            let _ = writeln!(err, "\r{}\x1b[K", describe(read, delivered, waiting));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_is_rewritten_at_most_four_times_a_second_and_never_when_off() {
        let start = Instant::now();
        let mut progress = Progress::new(true);
        assert!(progress.due(start));
        assert!(!progress.due(start + Duration::from_millis(100)));
        assert!(progress.due(start + Duration::from_millis(260)));
        let mut off = Progress::new(false);
        assert!(!off.due(start));
        assert_eq!(
            describe(120, 100, 20),
            "huddle: 120 line(s) read, 100 delivered, 20 waiting for the rate limit"
        );
    }
}
