//! Plain line mode against a real server: lines in, events out, a clean
//! exit after every message is acknowledged.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

use std::time::Duration;

use huddle::plain::{PlainError, PlainOptions, run};
use huddle_protocol::{Nick, RoomName};
use huddle_server::{Server, ServerConfig};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// Reads output lines until one contains `needle` (20 s at most).
async fn wait_for(
    lines: &mut tokio::io::Lines<BufReader<tokio::io::DuplexStream>>,
    needle: &str,
) -> String {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let line = lines.next_line().await.unwrap().expect("output ended");
            if line.contains(needle) {
                return line;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("never printed {needle:?}"))
}

fn options(addr: std::net::SocketAddr, nick: &str) -> PlainOptions {
    PlainOptions {
        addr: addr.to_string(),
        security: huddle_e2e::any_server(),
        nick: Nick::new(nick).unwrap(),
        key: huddle_e2e::fresh_key(),
        rooms: vec![RoomName::new("#general").unwrap()],
        history: 0,
        downloads: std::env::temp_dir().join("huddle-plain-test-unused"),
        accept: huddle::transfer::AcceptPolicy::default(),
    }
}

#[tokio::test]
async fn lines_are_sent_events_printed_and_the_exit_waits_for_acks() {
    let server = Server::bind(ServerConfig::loopback())
        .await
        .unwrap()
        .spawn();
    // Bob listens: his stdin stays open, his stdout is a pipe we read.
    let (mut bob_stdin, bob_input) = tokio::io::duplex(1024);
    let (bob_output, bob_stdout) = tokio::io::duplex(64 * 1024);
    let bob = tokio::spawn(run(options(server.addr, "bob"), bob_input, bob_output));
    let mut bob_lines = BufReader::new(bob_stdout).lines();
    wait_for(&mut bob_lines, "[#general] -!- joined").await;

    let input = "hello bob\n/me waves\nmulti \u{1b}[2J escape\n/msg bob psst\n/msg nobody hi\n/frobnicate\n";
    let mut alice_out = Vec::new();
    let result = run(
        options(server.addr, "alice"),
        input.as_bytes(),
        &mut alice_out,
    )
    .await;
    let alice_out = String::from_utf8(alice_out).unwrap();
    // Line 3 (an escape sequence: ChatText forbids ESC) and line 6 (an
    // unknown command) were refused here, line 5 (a message to nobody) by
    // the server: each named by its line number, and the run fails.
    assert!(
        matches!(&result, Err(PlainError::Refused(lines)) if lines == &[3, 5, 6]),
        "{result:?}\n{alice_out}"
    );
    assert!(
        alice_out.contains("error: line 5: no user is called nobody"),
        "{alice_out}"
    );
    assert!(
        alice_out.contains("error: line 6: unknown command /frobnicate"),
        "{alice_out}"
    );
    assert!(
        alice_out.contains("error: line 3: invalid text: control character"),
        "{alice_out}"
    );

    assert_eq!(
        wait_for(&mut bob_lines, "<alice>").await,
        "[#general] <alice> hello bob"
    );
    assert_eq!(
        wait_for(&mut bob_lines, "* alice").await,
        "[#general] * alice waves"
    );
    assert_eq!(
        wait_for(&mut bob_lines, "psst").await,
        "[@alice] <alice> psst"
    );
    assert_eq!(
        wait_for(&mut bob_lines, "quit").await,
        "[#general] -!- alice quit (end of input)"
    );

    bob_stdin.shutdown().await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), bob)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_clean_run_exits_ok_once_everything_is_acked() {
    let server = Server::bind(ServerConfig::loopback())
        .await
        .unwrap()
        .spawn();
    let input: String = (0..50).map(|n| format!("line {n}\n")).collect();
    let mut out = Vec::new();
    run(options(server.addr, "bot"), input.as_bytes(), &mut out)
        .await
        .unwrap();
    // History proves the server stored all 50 before the bot quit.
    let (mut reader, _) = huddle_testkit::Client::connect(server.addr, "reader").await;
    let texts = joined_history(&mut reader, "#general").await;
    assert_eq!(
        texts,
        (0..50).map(|n| format!("line {n}")).collect::<Vec<_>>()
    );
    server.stop().await;
}

#[tokio::test]
async fn untrusted_text_is_printed_sanitised_each_line_with_its_sender() {
    use huddle_protocol::{ChatMessage, ChatText, MessageId, MessageKind, ServerMessage, Target};
    let message = ServerMessage::Chat(ChatMessage {
        id: MessageId::from_uuid(*huddle_protocol::ClientMsgId::random().as_uuid()),
        target: Target::Room(RoomName::new("#x").unwrap()),
        from: Nick::new("eve").unwrap(),
        kind: MessageKind::Normal,
        text: ChatText::new("two\nlines\twith tab").unwrap(),
        timestamp: 0,
        client_msg_id: huddle_protocol::ClientMsgId::random(),
    });
    let line = huddle::plain::format_event(&message).unwrap();
    assert_eq!(line, "[#x] <eve> two\n[#x] <eve> lines    with tab");
    let hostile = ServerMessage::Chat(ChatMessage {
        text: ChatText::new("fine\n[#x] <boss> obey").unwrap(),
        ..match message {
            ServerMessage::Chat(chat) => chat,
            _ => unreachable!(),
        }
    });
    let lines = huddle::plain::format_event(&hostile).unwrap();
    assert_eq!(lines, "[#x] <eve> fine\n[#x] <eve> [#x] <boss> obey");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_in_plain_mode_delivers_a_file_and_waits_for_it() {
    let server = Server::bind(ServerConfig::loopback())
        .await
        .unwrap()
        .spawn();
    let (files, downloads) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let path = files.path().join("notes.txt");
    std::fs::write(&path, "meeting at 3\n".repeat(10_000)).unwrap();
    // Bob accepts files from alice without asking.
    let (mut bob_stdin, bob_input) = tokio::io::duplex(1024);
    let (bob_output, bob_stdout) = tokio::io::duplex(64 * 1024);
    let bob_options = PlainOptions {
        downloads: downloads.path().to_owned(),
        accept: huddle::transfer::AcceptPolicy {
            from: vec!["alice".into()],
            below: None,
        },
        ..options(server.addr, "bob")
    };
    let bob = tokio::spawn(run(bob_options, bob_input, bob_output));
    let mut bob_lines = BufReader::new(bob_stdout).lines();
    wait_for(&mut bob_lines, "joined").await;
    let input = format!("/send {}\n", path.display());
    let mut out = Vec::new();
    run(options(server.addr, "alice"), input.as_bytes(), &mut out)
        .await
        .unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("-!- sent notes.txt"), "{out}");
    let saved = wait_for(&mut bob_lines, "received notes.txt").await;
    assert!(saved.contains("saved as"), "{saved}");
    let copy = std::fs::read(downloads.path().join("notes.txt")).unwrap();
    assert_eq!(copy, std::fs::read(&path).unwrap());
    bob_stdin.shutdown().await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), bob)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    server.stop().await;
}

#[tokio::test]
async fn every_room_given_is_joined_and_lines_go_to_the_first() {
    let server = Server::bind(ServerConfig::loopback())
        .await
        .unwrap()
        .spawn();
    let options = PlainOptions {
        rooms: vec![RoomName::new("#a").unwrap(), RoomName::new("#b").unwrap()],
        ..options(server.addr, "bot")
    };
    let mut out = Vec::new();
    run(options, "to the first\n".as_bytes(), &mut out)
        .await
        .unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("[#a] -!- joined"), "{out}");
    assert!(out.contains("[#b] -!- joined"), "{out}");
    // The line went to #a: it is in #a's history, not #b's.
    let (mut reader, _) = huddle_testkit::Client::connect(server.addr, "reader").await;
    for (room, expected) in [("#a", vec!["to the first"]), ("#b", vec![])] {
        let texts = joined_history(&mut reader, room).await;
        assert_eq!(texts, expected, "{room}");
    }
    server.stop().await;
}

#[tokio::test]
async fn history_n_prints_the_last_messages_of_each_room_marked() {
    let server = Server::bind(ServerConfig::loopback())
        .await
        .unwrap()
        .spawn();
    let earlier: String = (1..=5).map(|n| format!("m{n}\n")).collect();
    said_by(server.addr, "earlier", &earlier).await;
    let options = PlainOptions {
        history: 3,
        ..options(server.addr, "bot")
    };
    let mut out = Vec::new();
    run(options, "".as_bytes(), &mut out).await.unwrap();
    let out = String::from_utf8(out).unwrap();
    let history: Vec<&str> = out.lines().filter(|l| l.contains("(history ")).collect();
    assert_eq!(history.len(), 3, "{out}");
    for (line, text) in history.iter().zip(["m3", "m4", "m5"]) {
        assert!(line.starts_with("[#general] (history "), "{line}");
        assert!(line.ends_with(&format!("<earlier> {text}")), "{line}");
    }
    server.stop().await;
}

/// Runs plain mode as `nick` with `lines` for input, to the end.
async fn said_by(addr: std::net::SocketAddr, nick: &str, lines: &str) {
    let mut ignored = Vec::new();
    run(options(addr, nick), lines.as_bytes(), &mut ignored)
        .await
        .unwrap();
}

/// Joins `room` on `reader` and returns the texts of the history the
/// server's `Joined` answer carries.
async fn joined_history(reader: &mut huddle_testkit::Client, room: &str) -> Vec<String> {
    let huddle_protocol::ServerMessage::Joined { history, .. } = reader.join(room).await else {
        panic!("{room}: no Joined answer")
    };
    history.iter().map(|m| m.text.to_string()).collect()
}

#[tokio::test]
async fn search_prints_the_servers_matches_newest_first() {
    let server = Server::bind(ServerConfig::loopback())
        .await
        .unwrap()
        .spawn();
    said_by(server.addr, "earlier", "deploy one\nlunch\nDeploy two\n").await;
    let mut out = Vec::new();
    let asked = "/search DEPLOY\n/search -all nothing-like-it\n/search\n";
    let result = run(options(server.addr, "bot"), asked.as_bytes(), &mut out).await;
    let out = String::from_utf8(out).unwrap();
    assert!(
        matches!(result, Err(PlainError::Refused(ref lines)) if lines == &[3]),
        "{result:?}\n{out}"
    );
    let lines: Vec<&str> = out.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("-!- search \"DEPLOY\": 2 match(es), newest first"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(lines[at + 1].starts_with("[#general] (found "), "{out}");
    assert!(lines[at + 1].ends_with("<earlier> Deploy two"), "{out}");
    assert!(lines[at + 2].ends_with("<earlier> deploy one"), "{out}");
    assert!(
        out.contains("-!- search \"nothing-like-it\": 0 match(es)"),
        "{out}"
    );
    assert!(out.contains("error: line 3: usage: /search"), "{out}");
    server.stop().await;
}
