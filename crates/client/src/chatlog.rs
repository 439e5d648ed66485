//! Chat logs, as weechat and irssi keep them: every room and direct
//! conversation appended to a plain text file,
//! `DATA_DIR/huddle/logs/SERVER/BUFFER.log`, one line per message:
//! `2026-11-30 17:41:02<TAB>alice<TAB>hello` (local time of the server's
//! timestamp; an action is ` *<TAB>alice waves`). Lines are appended and
//! flushed to the file as they come, so a crash loses at most what the
//! kernel had not written.
//!
//! What gets logged: a buffer's chat lines the server has given an id,
//! newest last, each once. The logger remembers, per file, the id of the
//! last line it wrote, and on opening a file the time of its last line, so
//! history replayed on a join or after a restart is not written again.

use std::{
    collections::HashMap,
    fs::{File, OpenOptions},
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
};

use huddle_protocol::{MessageId, ServerId};

use crate::tui::{
    app::App,
    buffer::{BufferKind, Line, LineKind},
};

/// One open log file and where it is up to.
#[derive(Debug)]
struct LogFile {
    file: File,
    /// The newest message written (this run).
    last_id: Option<MessageId>,
    /// The newest time written (this run or before): older lines are
    /// history already in the file.
    last_time: u64,
}

/// The logs of the server the client is on.
#[derive(Debug)]
pub struct ChatLogs {
    root: PathBuf,
    /// `root/SERVER`, once connected.
    dir: Option<PathBuf>,
    files: HashMap<String, LogFile>,
    /// Why logging stopped, once said (a full disk is not retried).
    failed: Option<String>,
}

/// A name safe as one path component: letters, digits and `#-_.@` kept,
/// everything else `_`, never starting with a dot.
fn file_name(text: &str) -> String {
    let name: String = text
        .chars()
        .map(|c| match c {
            c if c.is_alphanumeric() || "#-_.@".contains(c) => c,
            _ => '_',
        })
        .collect();
    match name.strip_prefix('.') {
        Some(rest) => format!("_{rest}"),
        None if name.is_empty() => "_".to_owned(),
        None => name,
    }
}

/// The local time of `millis` as `YYYY-MM-DD HH:MM:SS`.
fn local_time(millis: u64) -> String {
    let time = chrono::DateTime::from_timestamp_millis(i64::try_from(millis).unwrap_or(i64::MAX))
        .unwrap_or_default()
        .with_timezone(&chrono::Local);
    time.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The time of the last line of an existing log, in milliseconds (to the
/// second, as written).
fn last_time_in(path: &Path) -> u64 {
    let Ok(file) = File::open(path) else {
        return 0;
    };
    let last = BufReader::new(file).lines().map_while(Result::ok).last();
    last.and_then(|line| {
        let stamp = line.split('\t').next()?.to_owned();
        let time = chrono::NaiveDateTime::parse_from_str(&stamp, "%Y-%m-%d %H:%M:%S").ok()?;
        let local = time.and_local_timezone(chrono::Local).earliest()?;
        u64::try_from(local.timestamp_millis()).ok()
    })
    .map_or(0, |millis| millis + 999)
}

impl ChatLogs {
    /// Logs under `root` (e.g. the data dir's `huddle/logs`).
    pub fn new(root: PathBuf) -> Self {
        Self {
            root,
            dir: None,
            files: HashMap::new(),
            failed: None,
        }
    }

    /// The server the client is on now (its name and id): logs go to a
    /// directory of its own.
    pub fn set_server(&mut self, name: &str, id: ServerId) {
        let short = id.as_uuid().simple().to_string();
        let dir = self
            .root
            .join(file_name(&format!("{name}_{}", &short[..8])));
        if self.dir.as_ref() != Some(&dir) {
            self.files.clear();
            self.dir = Some(dir);
        }
    }

    /// Writes the chat lines of `app`'s buffers not written yet. Returns a
    /// message the first time writing fails (logging then stops).
    pub fn record(&mut self, app: &App) -> Option<String> {
        let dir = self.dir.clone()?;
        if self.failed.is_some() {
            return None;
        }
        for buffer in &app.buffers {
            let title = match &buffer.kind {
                BufferKind::Room(room) => room.to_string(),
                BufferKind::Direct(nick) => nick.to_string(),
                BufferKind::Status => continue,
            };
            if let Err(err) = self.record_buffer(&dir, &title, &buffer.lines) {
                let text = format!("chat logs stopped: {}: {err}", dir.display());
                self.failed = Some(text.clone());
                return Some(text);
            }
        }
        None
    }

    fn record_buffer(&mut self, dir: &Path, title: &str, lines: &[Line]) -> std::io::Result<()> {
        let last_id = self.files.get(title).and_then(|log| log.last_id);
        // New lines are at the end: walk back to the last one written.
        let fresh: Vec<&Line> = lines
            .iter()
            .rev()
            .filter(|line| line.id.is_some() && matches!(line.kind, LineKind::Chat { .. }))
            .take_while(|line| last_id.is_none_or(|last| line.id.is_some_and(|id| id > last)))
            .collect();
        let Some(newest) = fresh.first().and_then(|line| line.id) else {
            return Ok(());
        };
        let log = match self.files.entry(title.to_owned()) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::hash_map::Entry::Vacant(entry) => {
                std::fs::create_dir_all(dir)?;
                let path = dir.join(format!("{}.log", file_name(title)));
                let last_time = last_time_in(&path);
                let file = OpenOptions::new().create(true).append(true).open(&path)?;
                entry.insert(LogFile {
                    file,
                    last_id: None,
                    last_time,
                })
            }
        };
        let mut text = String::new();
        for line in fresh.iter().rev().filter(|line| line.time > log.last_time) {
            let LineKind::Chat { from, action, .. } = &line.kind else {
                continue;
            };
            let stamp = local_time(line.time);
            for part in crate::sanitize::sanitize_lines(&line.text) {
                match action {
                    true => text.push_str(&format!("{stamp}\t *\t{from} {part}\n")),
                    false => text.push_str(&format!("{stamp}\t{from}\t{part}\n")),
                }
            }
        }
        log.file.write_all(text.as_bytes())?;
        log.file.flush()?;
        log.last_id = Some(newest);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use huddle_protocol::{
        ChatMessage, ClientMsgId, MessageKind, Nick, RoomName, ServerMessage, Target,
    };

    fn chat(app: &mut App, from: &str, text: &str, id: u128, time: u64) {
        let message = ChatMessage {
            id: MessageId::from_uuid(uuid::Uuid::from_u128(id)),
            target: Target::Room(RoomName::new("#lan").unwrap()),
            from: Nick::new(from).unwrap(),
            kind: MessageKind::Normal,
            text: huddle_protocol::ChatText::new(text).unwrap(),
            timestamp: time,
            client_msg_id: ClientMsgId::random(),
        };
        app.update(crate::tui::app::Event::Net(crate::net::NetEvent::Message(
            ServerMessage::Chat(message),
        )));
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap().map_while(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
        out
    }

    #[test]
    fn each_message_is_logged_once_across_restarts_and_names_are_safe() {
        let dir = tempfile::tempdir().unwrap();
        let mut app = App::new(Some("me".into()), "me");
        app.start_chat("h:1", vec!["#lan".into()]);
        let server = ServerId::from_uuid(uuid::Uuid::from_u128(0xabcdef12 << 96));
        let mut logs = ChatLogs::new(dir.path().to_owned());
        logs.set_server("../office", server);
        chat(
            &mut app,
            "alice",
            "hello\nsecond line",
            1,
            1_700_000_000_000,
        );
        assert_eq!(logs.record(&app), None);
        chat(&mut app, "bob", "hi", 2, 1_700_000_005_000);
        logs.record(&app);
        logs.record(&app);
        let found: Vec<_> = walk(dir.path());
        let path = dir.path().join("_._office_abcdef12").join("#lan.log");
        assert!(found.contains(&path), "{found:?}");
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].ends_with("\talice\thello"), "{text}");
        assert!(lines[1].ends_with("\talice\tsecond line"), "{text}");
        assert!(lines[2].ends_with("\tbob\thi"), "{text}");
        // A new run sees the same history again: nothing is written twice.
        let mut again = ChatLogs::new(dir.path().to_owned());
        again.set_server("../office", server);
        again.record(&app);
        chat(&mut app, "carol", "later", 3, 1_700_000_010_000);
        again.record(&app);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 4, "{text}");
        assert!(text.ends_with("\tcarol\tlater\n"), "{text}");
    }
}
