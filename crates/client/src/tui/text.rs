//! Turning buffer lines into styled, wrapped terminal rows: sanitising,
//! timestamps, nick colours, and wrapping measured with `unicode-width` so
//! wide characters and emoji never shift a column.

use chrono::{Local, TimeZone};
use ratatui::{
    style::{Color, Modifier, Style},
    text::{Line as Row, Span},
};
use unicode_width::UnicodeWidthChar;

use super::{
    buffer::{Line, LineKind},
    links::{RowLink, find_urls, piece_links},
};
use crate::sanitize::sanitize_lines;

const NICK_COLORS: [Color; 10] = [
    Color::Cyan,
    Color::Green,
    Color::Yellow,
    Color::Magenta,
    Color::Blue,
    Color::LightCyan,
    Color::LightGreen,
    Color::LightYellow,
    Color::LightMagenta,
    Color::LightBlue,
];

/// A nick's colour: the same for the same nick (case-insensitively) in
/// every run, from an FNV-1a hash.
pub fn nick_color(nick: &str) -> Color {
    let hash = nick
        .to_lowercase()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    NICK_COLORS[(hash % NICK_COLORS.len() as u64) as usize]
}

/// `HH:MM` in local time.
pub fn clock(unix_millis: u64) -> String {
    match Local.timestamp_millis_opt(unix_millis as i64).single() {
        Some(time) => time.format("%H:%M").to_string(),
        None => "--:--".into(),
    }
}

/// The rows for one line at `width` columns — a prefix (time, nick) on
/// the first row, continuation rows indented to the text column — and the
/// URLs on each row (`links.rs`).
pub fn rows_and_links(line: &Line, width: usize) -> (Vec<Row<'static>>, Vec<Vec<RowLink>>) {
    let dim = Style::default().add_modifier(Modifier::DIM);
    let mut prefix = vec![Span::styled(format!("{} ", clock(line.time)), dim)];
    let mut body = Style::default();
    let text_lines = sanitize_lines(&line.text);
    match &line.kind {
        LineKind::Chat {
            from,
            action,
            pending,
            mention,
            own,
        } => {
            let from = crate::sanitize::sanitize(from);
            let color = nick_color(&from);
            let nick_style = if *own {
                Style::default().fg(color).add_modifier(Modifier::BOLD)
            } else {
                Style::default().fg(color)
            };
            if *action {
                prefix.push(Span::styled("* ", Style::default().fg(color)));
                prefix.push(Span::styled(format!("{from} "), nick_style));
            } else {
                prefix.push(Span::styled(format!("{from}: "), nick_style));
            }
            if *mention {
                body = body.fg(Color::Black).bg(Color::Yellow);
            }
            if *pending {
                body = body.add_modifier(Modifier::DIM);
                prefix.insert(1, Span::styled("… ", dim));
            }
        }
        LineKind::Presence => body = dim,
        LineKind::Notice => {
            prefix.push(Span::styled("-!- ", Style::default().fg(Color::Blue)));
        }
        LineKind::Error => {
            prefix.push(Span::styled("-!- ", Style::default().fg(Color::Red)));
            body = body.fg(Color::Red);
        }
    }
    let prefix_width: usize = prefix.iter().map(|s| s.width()).sum();
    let indent = if prefix_width * 2 < width {
        prefix_width
    } else {
        0
    };
    let mut out = Vec::new();
    let mut links = Vec::new();
    let mut first = Some(prefix);
    for text in text_lines {
        let lead = first.take();
        let lead_width = lead
            .as_ref()
            .map_or(indent, |spans| spans.iter().map(|s| s.width()).sum());
        let avail = width.saturating_sub(lead_width).max(1);
        let urls = find_urls(&text);
        // Where each piece starts in `text` (wrapping drops only spaces).
        let mut offset = 0;
        let pieces = wrap(&text, avail, width.saturating_sub(indent).max(1));
        for (n, piece) in pieces.into_iter().enumerate() {
            offset += text[offset..].find(piece.as_str()).unwrap_or(0);
            let column = if n == 0 { lead_width } else { indent };
            links.push(piece_links(&text, &urls, &piece, offset, column));
            offset += piece.len();
            let mut spans = match (n, &lead) {
                (0, Some(lead)) => lead.clone(),
                _ => vec![Span::raw(" ".repeat(indent))],
            };
            spans.push(Span::styled(piece, body));
            out.push(Row::from(spans));
        }
    }
    (out, links)
}

/// Wraps `text` into pieces at most `first` columns wide (the first) and
/// `rest` columns wide (the others), preferring to break at spaces.
pub fn wrap(text: &str, first: usize, rest: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut current_width = 0;
    let mut limit = first;
    // Byte index just after the last space in `current`.
    let mut last_space: Option<usize> = None;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if current_width + w > limit && !current.is_empty() {
            match last_space {
                Some(at) => {
                    let tail = current.split_off(at);
                    pieces.push(current.trim_end().to_owned());
                    current = tail;
                    current_width = unicode_width::UnicodeWidthStr::width(current.as_str());
                }
                _ => {
                    pieces.push(std::mem::take(&mut current));
                    current_width = 0;
                }
            }
            last_space = None;
            limit = rest;
        }
        current.push(c);
        current_width += w;
        if c == ' ' {
            last_space = Some(current.len());
        }
    }
    pieces.push(current);
    pieces
}

#[cfg(test)]
mod tests {
    use unicode_width::UnicodeWidthStr;

    use super::*;

    #[test]
    fn wrapping_respects_display_width() {
        assert_eq!(wrap("hello world again", 11, 11), ["hello", "world again"]);
        let wide = wrap("日本語のテキスト", 6, 6);
        assert!(wide.iter().all(|p| p.width() <= 6), "{wide:?}");
        assert_eq!(wide.concat(), "日本語のテキスト");
        let emoji = wrap("😀😀😀😀😀", 4, 4);
        assert_eq!(emoji, ["😀😀", "😀😀", "😀"]);
        assert_eq!(wrap("abcdefgh", 3, 3), ["abc", "def", "gh"]);
    }

    #[test]
    fn nick_colours_are_stable_and_case_insensitive() {
        assert_eq!(nick_color("Alice"), nick_color("alice"));
        let distinct: std::collections::HashSet<_> =
            ["alice", "bob", "carol", "dave", "erin", "frank"]
                .iter()
                .map(|n| format!("{:?}", nick_color(n)))
                .collect();
        assert!(distinct.len() > 2);
    }
}
