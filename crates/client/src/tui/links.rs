//! Links: `http://` and `https://` URLs in messages become OSC 8
//! hyperlinks, so a terminal that knows them opens the URL on a click (one
//! that does not shows the same text). Nothing else is linked, and a URL is
//! only ever made of printable ASCII that cannot end the escape sequence
//! (no ESC, BEL or space): the rest of the line stays plain, sanitised text.
//!
//! The rows are laid out as usual (`text.rs`); [`link_cells`] then rewrites
//! the cells a URL covers on screen into one cell holding the whole escape
//! sequence, with its width forced to the columns the text takes
//! (ratatui's `CellDiffOption::ForcedWidth`) and the cells after it
//! skipped, so the layout and the diff are unchanged.

use std::{num::NonZeroU16, ops::Range};

use ratatui::buffer::{Buffer, CellDiffOption};

/// A URL on one screen row: where its text is, and where it leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowLink {
    /// The first column of the text, from the row's start.
    pub column: u16,
    /// Columns the text takes.
    pub width: u16,
    /// The whole URL (a wrapped one is the same URL on every row).
    pub url: String,
}

/// Characters a linked URL may hold: RFC 3986's, all printable ASCII.
fn url_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&'()*+,;=%".contains(c)
}

/// The `http`/`https` URLs in `text`, as byte ranges: from the scheme (not
/// inside a word) to the last URL character, without the punctuation a
/// sentence puts after a URL (`.`, `,`, a closing bracket it did not open).
pub fn find_urls(text: &str) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = next_scheme(text, from) {
        let rest = &text[at..];
        let len = rest.find(|c: char| !url_char(c)).unwrap_or(rest.len());
        let end = at + trim_trailing(&rest[..len]);
        let scheme_len = if rest.starts_with("https://") { 8 } else { 7 };
        if end > at + scheme_len {
            found.push(at..end);
        }
        from = at + len.max(scheme_len);
    }
    found
}

/// Where the next `http://` or `https://` not inside a word starts.
fn next_scheme(text: &str, from: usize) -> Option<usize> {
    let mut from = from;
    loop {
        let at = from + text.get(from..)?.find("http")?;
        let rest = &text[at..];
        let in_word = text[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric());
        if !in_word && (rest.starts_with("http://") || rest.starts_with("https://")) {
            return Some(at);
        }
        from = at + 4;
    }
}

/// The length of `url` without trailing sentence punctuation.
fn trim_trailing(url: &str) -> usize {
    let mut end = url.len();
    loop {
        let Some(last) = url[..end].chars().next_back() else {
            return end;
        };
        let opened = |open: char| url[..end].matches(open).count();
        let unbalanced = match last {
            ')' => opened('(') < opened(')'),
            ']' => opened('[') < opened(']'),
            '.' | ',' | ';' | ':' | '!' | '?' | '\'' => true,
            _ => false,
        };
        if !unbalanced {
            return end;
        }
        end -= 1;
    }
}

/// The links of one wrapped row: `piece` (found at byte `offset` of the
/// line's `text`) drawn from `column`.
pub fn piece_links(
    text: &str,
    urls: &[Range<usize>],
    piece: &str,
    offset: usize,
    column: usize,
) -> Vec<RowLink> {
    let span = offset..offset + piece.len();
    urls.iter()
        .filter_map(|url| {
            let start = url.start.max(span.start);
            let end = url.end.min(span.end);
            (start < end).then(|| RowLink {
                column: u16::try_from(column + (start - offset)).unwrap_or(u16::MAX),
                width: u16::try_from(end - start).unwrap_or(u16::MAX),
                url: text[url.clone()].to_owned(),
            })
        })
        .collect()
}

/// Makes the cells of `link`, on row `y` starting at column `x`, one
/// hyperlink (see the module doc). Cells outside `buffer` are left alone.
pub fn link_cells(buffer: &mut Buffer, x: u16, y: u16, link: &RowLink) {
    let area = buffer.area;
    let start = x.saturating_add(link.column);
    let end = start.saturating_add(link.width).min(area.right());
    let Some(width) = NonZeroU16::new(end.saturating_sub(start)) else {
        return;
    };
    if y >= area.bottom() || start < area.left() {
        return;
    }
    let text: String = (start..end).map(|cx| buffer[(cx, y)].symbol()).collect();
    let first = &mut buffer[(start, y)];
    first.set_symbol(&format!("\x1b]8;;{}\x1b\\{text}\x1b]8;;\x1b\\", link.url));
    first.set_diff_option(CellDiffOption::ForcedWidth(width));
    for cx in start + 1..end {
        buffer[(cx, y)].set_diff_option(CellDiffOption::Skip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(text: &str) -> Vec<&str> {
        find_urls(text).into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn only_http_and_https_urls_are_found_without_trailing_punctuation() {
        assert_eq!(
            urls("see https://example.com/a?b=1&c=(2), then http://x.org."),
            ["https://example.com/a?b=1&c=(2)", "http://x.org"]
        );
        assert_eq!(
            urls("(https://example.com/wiki)"),
            ["https://example.com/wiki"]
        );
        assert_eq!(
            urls("https://example.com/Foo_(bar)"),
            ["https://example.com/Foo_(bar)"]
        );
        assert!(urls("javascript:alert(1) file:///etc/passwd ftp://x").is_empty());
        assert!(urls("nothttps://example.com https:// http://").is_empty());
        // A URL ends at the first character that cannot be in one.
        assert_eq!(urls("https://exa\u{1b}]8;;evil"), ["https://exa"]);
        assert_eq!(urls("https://ex.com/é"), ["https://ex.com/"]);
    }

    #[test]
    fn a_wrapped_url_links_each_piece_to_the_whole_url() {
        let text = "go https://example.com/long/path now";
        let urls = find_urls(text);
        // Wrapped as "go https://exam" + "ple.com/long/path now".
        let first = piece_links(text, &urls, "go https://exam", 0, 6);
        let second = piece_links(text, &urls, "ple.com/long/path now", 15, 2);
        let url = "https://example.com/long/path".to_owned();
        assert_eq!(
            first,
            [RowLink {
                column: 9,
                width: 12,
                url: url.clone()
            }]
        );
        assert_eq!(
            second,
            [RowLink {
                column: 2,
                width: 17,
                url
            }]
        );
    }

    /// The hyperlink cells of the screen after drawing `app`: (symbol,
    /// forced width, whether every cell after it, within that width, is
    /// skipped).
    fn drawn_links(app: &crate::tui::app::App, width: u16) -> Vec<(String, u16, bool)> {
        let mut terminal =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(width, 12)).unwrap();
        // The frame as drawn (the backend is only sent what changed).
        let cells = terminal
            .draw(|frame| crate::tui::ui::draw(frame, app))
            .unwrap()
            .buffer
            .clone();
        let mut found = Vec::new();
        for y in 0..cells.area.height {
            for x in 0..cells.area.width {
                let cell = &cells[(x, y)];
                if !cell.symbol().contains('\x1b') {
                    continue;
                }
                let CellDiffOption::ForcedWidth(forced) = cell.diff_option else {
                    panic!("an escape sequence in a cell without a forced width")
                };
                let skipped = (x + 1..x + forced.get())
                    .all(|cx| cells[(cx, y)].diff_option == CellDiffOption::Skip);
                found.push((cell.symbol().to_owned(), forced.get(), skipped));
            }
        }
        found
    }

    #[test]
    fn a_url_in_a_message_is_drawn_as_one_hyperlink_cell_of_its_width() {
        use crate::tui::testkit::{chat, connected_app, room, server};
        let mut app = connected_app();
        let lan = huddle_protocol::Target::Room(room("#lan"));
        let text = "docs at https://example.com/guide, not javascript:alert(1)";
        server(&mut app, chat("bob", lan.clone(), text));
        let url = "https://example.com/guide";
        let expected = format!("\x1b]8;;{url}\x1b\\{url}\x1b]8;;\x1b\\");
        assert_eq!(drawn_links(&app, 100), [(expected, 25, true)]);
        // Wrapped in a narrow terminal: each piece leads to the whole URL.
        let long = "https://example.com/a/rather/long/path/to/a/page";
        server(&mut app, chat("bob", lan, long));
        let links = drawn_links(&app, 40);
        let to_long: Vec<_> = links
            .iter()
            .filter(|(symbol, _, _)| symbol.starts_with(&format!("\x1b]8;;{long}\x1b")))
            .collect();
        assert!(to_long.len() >= 2, "{links:?}");
        let shown: String = to_long
            .iter()
            .map(|(symbol, _, _)| {
                symbol
                    .split('\x1b')
                    .nth(2)
                    .unwrap_or("")
                    .trim_start_matches('\\')
            })
            .collect();
        assert_eq!(shown, long, "the pieces together show the URL");
        assert!(to_long.iter().all(|(_, _, skipped)| *skipped));
    }
}
