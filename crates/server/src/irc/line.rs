//! IRC lines: parsing what a client sends (IRCv3 tags, an optional prefix,
//! the command, at most 15 parameters) and writing what it is sent, every
//! line within the 512 bytes RFC 1459 allows (tags apart), long texts split
//! at character boundaries, never cut.

/// Bytes in a line without its tags, CR LF included (RFC 1459).
pub(crate) const MAX_LINE: usize = 512;
/// Bytes of tags a client may send before the rest (IRCv3 message-tags).
pub(crate) const MAX_TAGS: usize = 8191;
/// Most parameters a command has (RFC 1459); more are dropped.
const MAX_PARAMS: usize = 15;

/// A parsed client line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    /// The command, upper-cased (`PRIVMSG`, `CAP`, …).
    pub(crate) command: String,
    /// Its parameters, the trailing one last.
    pub(crate) params: Vec<String>,
}

impl Line {
    /// Parameter `index`, or empty.
    pub(crate) fn param(&self, index: usize) -> &str {
        self.params.get(index).map_or("", String::as_str)
    }
}

/// Parses one line (without its CR LF). Invalid UTF-8 is replaced, not
/// refused (IRC is bytes; huddle is text). `None` for an empty line.
pub(crate) fn parse(raw: &[u8]) -> Option<Line> {
    let text = String::from_utf8_lossy(raw);
    let mut rest = text.trim_start_matches(' ');
    // Tags: read past (the gateway acts on none a client sends).
    if rest.starts_with('@') {
        rest = rest
            .split_once(' ')
            .map_or("", |(_, r)| r)
            .trim_start_matches(' ');
    }
    if rest.starts_with(':') {
        rest = rest
            .split_once(' ')
            .map_or("", |(_, r)| r)
            .trim_start_matches(' ');
    }
    let (command, mut rest) = match rest.split_once(' ') {
        Some((command, rest)) => (command, rest),
        None => (rest, ""),
    };
    if command.is_empty() {
        return None;
    }
    let mut params = Vec::new();
    loop {
        rest = rest.trim_start_matches(' ');
        if rest.is_empty() {
            break;
        }
        if let Some(trailing) = rest.strip_prefix(':') {
            params.push(trailing.to_owned());
            break;
        }
        let (param, tail) = rest.split_once(' ').unwrap_or((rest, ""));
        params.push(param.to_owned());
        rest = tail;
    }
    params.truncate(MAX_PARAMS);
    Some(Line {
        command: command.to_ascii_uppercase(),
        params,
    })
}

/// Writes `:prefix COMMAND params…` (the last parameter as trailing when it
/// needs to be), with `tags` (`key=value;…`) in front if any, and CR LF.
pub(crate) fn format(tags: &str, prefix: &str, command: &str, params: &[&str]) -> String {
    let mut line = String::with_capacity(64);
    if !tags.is_empty() {
        line.push('@');
        line.push_str(tags);
        line.push(' ');
    }
    if !prefix.is_empty() {
        line.push(':');
        line.push_str(prefix);
        line.push(' ');
    }
    line.push_str(command);
    for (i, param) in params.iter().enumerate() {
        line.push(' ');
        let last = i + 1 == params.len();
        if last && (param.is_empty() || param.contains(' ') || param.starts_with(':')) {
            line.push(':');
        }
        line.push_str(param);
    }
    line.push_str("\r\n");
    line
}

/// `text` in pieces that each fit a line with `overhead` bytes of prefix,
/// command and target around them: split at line breaks, then at the last
/// space (or character boundary) that fits. Nothing is dropped.
pub(crate) fn split_text(text: &str, overhead: usize) -> Vec<&str> {
    let room = MAX_LINE.saturating_sub(overhead + 2).max(32);
    let mut pieces = Vec::new();
    for mut line in text.split('\n').map(|l| l.trim_end_matches('\r')) {
        while line.len() > room {
            let mut cut = room;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            if let Some(space) = line[..cut].rfind(' ').filter(|at| *at > room / 2) {
                cut = space + 1;
            }
            pieces.push(&line[..cut]);
            line = &line[cut..];
        }
        pieces.push(line);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_with_tags_prefix_and_trailing() {
        let line = parse(b"@time=x;+draft :alice!a@h privmsg #lan :hello there").unwrap();
        assert_eq!(line.command, "PRIVMSG");
        assert_eq!(line.params, ["#lan", "hello there"]);
        let line = parse(b"NICK   bob").unwrap();
        assert_eq!((line.command.as_str(), line.param(0)), ("NICK", "bob"));
        assert_eq!(parse(b""), None);
        assert_eq!(parse(b"   "), None);
        assert_eq!(parse(b":only.prefix"), None);
    }

    #[test]
    fn hostile_lines_parse_within_bounds() {
        let many = format!("X {}", "p ".repeat(1000));
        assert_eq!(parse(many.as_bytes()).unwrap().params.len(), MAX_PARAMS);
        let line = parse(b"PRIVMSG #a :caf\xff\x00").unwrap();
        assert_eq!(line.param(1), "caf\u{fffd}\0");
    }

    #[test]
    fn lines_are_written_with_a_trailing_only_when_needed() {
        assert_eq!(
            format("", "srv", "001", &["bob", "Welcome bob"]),
            ":srv 001 bob :Welcome bob\r\n"
        );
        assert_eq!(format("", "", "PING", &["t"]), "PING t\r\n");
        assert_eq!(
            format("time=1", "a", "TOPIC", &["#x", ""]),
            "@time=1 :a TOPIC #x :\r\n"
        );
    }

    #[test]
    fn long_texts_are_split_not_cut() {
        let text = "word ".repeat(300);
        let pieces = split_text(&text, 100);
        assert!(pieces.iter().all(|p| p.len() <= MAX_LINE - 102));
        assert_eq!(pieces.concat(), text);
        let wide = "日本".repeat(200);
        assert_eq!(split_text(&wide, 100).concat(), wide);
        assert_eq!(split_text("one\ntwo", 10), ["one", "two"]);
    }
}
