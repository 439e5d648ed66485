//! Text from the network never reaches the terminal raw. Control characters
//! (C0, DEL, C1) become visible symbols, so escape sequences such as
//! `ESC ] 0 ; title BEL`, `ESC [ 2 J` or OSC 52 clipboard writes are shown,
//! not executed; bidirectional overrides, which can disguise text, are
//! dropped. Newlines and tabs are handled by the caller's line splitting.

/// Makes one line of untrusted text safe to draw.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\t' => out.push_str("    "),
            // Control pictures: U+2400 + code for C0, ␡ for DEL.
            '\u{0}'..='\u{1f}' => out.push(char::from_u32(0x2400 + c as u32).unwrap_or('�')),
            '\u{7f}' => out.push('␡'),
            '\u{80}'..='\u{9f}' => out.push('�'),
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Splits untrusted multi-line text into sanitised lines.
pub fn sanitize_lines(text: &str) -> Vec<String> {
    text.split('\n').map(sanitize).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has_no_controls(text: &str) -> bool {
        !text.chars().any(char::is_control)
    }

    #[test]
    fn escape_sequences_are_neutralised() {
        for hostile in [
            "\u{1b}]0;pwned\u{7}",
            "\u{1b}[2J\u{1b}[H",
            "\u{1b}]52;c;ZWNobyBvd25lZA==\u{7}",
            "\u{9b}31m",
            "bell\u{7}\u{7f}",
        ] {
            let safe = sanitize(hostile);
            assert!(has_no_controls(&safe), "{hostile:?} -> {safe:?}");
        }
        assert_eq!(sanitize("\u{1b}[2J"), "␛[2J");
        assert_eq!(sanitize("a\tb"), "a    b");
        assert_eq!(sanitize("abc\u{202e}def"), "abcdef");
        assert_eq!(sanitize("日本語 😀"), "日本語 😀");
    }

    #[test]
    fn lines_split_on_newlines() {
        assert_eq!(sanitize_lines("one\ntwo\u{1b}"), ["one", "two␛"]);
    }
}
