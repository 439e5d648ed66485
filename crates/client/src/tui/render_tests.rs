//! Rendering into ratatui's `TestBackend`, asserting on the cells.

use huddle_protocol::{ServerId, ServerMessage, Target};
use ratatui::crossterm::event::{KeyCode, KeyModifiers};

use super::{
    app::{App, Event},
    buffer::{Line, LineKind},
    testkit::{
        chat, chord, connected_app, key, nick, render, room, rows, screen, server, type_line,
    },
};

#[test]
fn the_browser_lists_servers_and_the_host_option() {
    let mut app = App::new(Some("alice".into()), "alice");
    app.update(Event::Servers(vec![crate::discovery::FoundServer {
        server_id: Some(ServerId::random()),
        name: "office".into(),
        users: 3,
        rooms: vec![crate::discovery::FoundRoom {
            name: "#lan".into(),
            members: 3,
        }],
        rtt_ms: Some(1.25),
        version: 1,
        fingerprint: Some(huddle_protocol::Fingerprint([0x3f; 32])),
        trust: Some("new".into()),
        status_url: Some("http://192.168.1.5:7080/".into()),
        ..crate::discovery::FoundServer::blank(([192, 168, 1, 5], 7007).into())
    }]));
    let text = screen(&app, 120, 12);
    for expected in [
        "servers on your network",
        "office",
        "192.168.1.5:7007",
        "1.2 ms",
        "#lan (3)",
        "new server, fingerprint 3f3f 3f3f 3f3f 3f3f",
        "+ host here",
        "Enter connect",
        "status page http://192.168.1.5:7080/",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    // The selected row is drawn reversed.
    let cells = render(&app, 120, 12);
    let office_row = rows(&cells)
        .iter()
        .position(|r| r.contains("office"))
        .unwrap() as u16;
    assert!(
        cells[(2, office_row)]
            .modifier
            .contains(ratatui::style::Modifier::REVERSED)
    );
}

#[test]
fn the_nick_prompt_is_drawn_over_the_browser() {
    let app = App::new(None, "sam");
    let text = screen(&app, 80, 12);
    assert!(text.contains("Your nick") && text.contains("sam"), "{text}");
}

#[test]
fn the_chat_screen_shows_buffers_messages_members_input_and_status() {
    let mut app = connected_app();
    server(
        &mut app,
        chat("bob", Target::Room(room("#lan")), "the build is green"),
    );
    app.latency = Some(std::time::Duration::from_micros(1500));
    for c in "typing".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    let rows = rows(&render(&app, 100, 16));
    let text = rows.join("\n");
    assert!(rows[0].starts_with("1 status"), "{text}");
    assert!(rows[1].starts_with("2 #lan"), "{text}");
    assert!(rows[0].contains("#lan — lunch at noon"), "{text}");
    assert!(rows[0].trim_end().ends_with("3 member(s)"), "{text}");
    for member in ["alice", "bob", "carol"] {
        assert!(
            rows.iter().any(|r| r.trim_end().ends_with(member)),
            "member {member} missing:\n{text}"
        );
    }
    let message = rows
        .iter()
        .find(|r| r.contains("bob: the build is green"))
        .expect(&text);
    let time_at = message.find("bob:").unwrap() - 6;
    assert!(
        message[time_at..time_at + 5].chars().nth(2) == Some(':'),
        "no HH:MM before the nick: {message}"
    );
    assert_eq!(rows[14], format!("{:<100}", "[#lan] typing"));
    assert!(
        rows[15].contains("office │ alice │ connected │ 1.5 ms"),
        "{}",
        rows[15]
    );
}

#[test]
fn the_help_overlay_lists_every_command_and_key() {
    let mut app = connected_app();
    key(&mut app, KeyCode::F(1));
    let first = screen(&app, 100, 40);
    // The rest is a page down (the overlay scrolls when it does not fit).
    key(&mut app, KeyCode::PageDown);
    key(&mut app, KeyCode::PageDown);
    let second = screen(&app, 100, 40);
    let text = format!("{first}\n{second}");
    for (command, _, _) in crate::command::COMMANDS {
        assert!(text.contains(command), "{command} missing from help");
    }
    for expected in ["Ctrl+W", "PgUp", "Tab", "Alt+1..9"] {
        assert!(second.contains(expected), "{expected} missing from help");
    }
    assert!(first.contains("PgDn/PgUp scroll"), "{first}");
}

#[test]
fn a_narrow_terminal_hides_the_panels_and_keeps_input_and_status() {
    let mut app = connected_app();
    server(
        &mut app,
        chat(
            "bob",
            Target::Room(room("#lan")),
            "a fairly long message that has to wrap on a narrow screen",
        ),
    );
    let rows = rows(&render(&app, 40, 10));
    let text = rows.join("\n");
    assert!(rows[0].starts_with("[2/2] #lan"), "{text}");
    assert!(!text.contains("member(s)"), "{text}");
    assert!(text.contains("bob: a fairly long"), "{text}");
    assert!(
        rows.iter().any(|r| r.trim() == "screen"),
        "the wrapped tail is missing:\n{text}"
    );
    assert!(rows[8].starts_with("[#lan]"), "{text}");
    assert!(rows[9].contains("connected"), "{text}");
}

#[test]
fn every_small_size_renders_without_panicking() {
    let mut app = connected_app();
    server(
        &mut app,
        chat("bob", Target::Room(room("#lan")), "日本語 and 😀 emoji"),
    );
    for width in 1..=45 {
        for height in 1..=12 {
            render(&app, width, height);
        }
    }
    key(&mut app, KeyCode::F(1));
    render(&app, 10, 3);
}

#[test]
fn escape_sequences_from_the_network_never_reach_the_terminal() {
    let mut app = connected_app();
    // Straight into the buffer, as if a hostile server skipped validation.
    let index = app.current;
    for hostile in [
        "\u{1b}]0;pwned\u{7}",
        "\u{1b}[2J\u{1b}[H",
        "\u{1b}]52;c;ZWNobyBvd25lZA==\u{7}",
        "\u{9b}31mred",
    ] {
        app.buffers[index].push(Line {
            time: 0,
            kind: LineKind::Chat {
                from: "eve\u{1b}[5m".into(),
                action: false,
                pending: false,
                mention: false,
                own: false,
            },
            text: hostile.into(),
            id: None,
            client_id: None,
            origin: None,
            transfer: None,
        });
    }
    app.buffers[index].topic = "\u{1b}]0;topic\u{7}".into();
    let cells = render(&app, 100, 16);
    for cell in cells.content() {
        assert!(
            !cell.symbol().chars().any(char::is_control),
            "control character {:?} in a cell",
            cell.symbol()
        );
    }
    let text = rows(&cells).join("\n");
    assert!(text.contains("␛]0;pwned␇"), "{text}");
    assert!(text.contains("␛[2J␛[H"), "{text}");
}

#[test]
fn wide_characters_do_not_shift_the_columns() {
    let mut app = connected_app();
    server(
        &mut app,
        chat("bob", Target::Room(room("#lan")), "日本語のテキスト 😀😀😀"),
    );
    server(
        &mut app,
        chat("bob", Target::Room(room("#lan")), "plain ascii text"),
    );
    let cells = render(&app, 100, 16);
    // The members panel's border is in the same column on every row.
    let border_columns: Vec<u16> = (0..14)
        .map(|y| {
            (0..100)
                .rev()
                .find(|&x| cells[(x, y)].symbol() == "│")
                .unwrap()
        })
        .collect();
    assert!(
        border_columns.windows(2).all(|w| w[0] == w[1]),
        "{border_columns:?}"
    );
    let _ = nick("x");
}

#[test]
fn a_direct_conversation_shows_its_peer_not_a_member_count() {
    let mut app = connected_app();
    type_line(&mut app, "/query bob");
    let text = rows(&render(&app, 100, 12)).join("\n");
    assert!(!text.contains("0 member(s)"), "{text}");
    assert!(text.contains("direct"), "{text}");
}

#[test]
fn after_a_nick_change_the_member_list_shows_the_new_nick_at_once() {
    let mut app = connected_app();
    server(
        &mut app,
        ServerMessage::NickChanged {
            old: huddle_protocol::Nick::new("alice").unwrap(),
            new: huddle_protocol::Nick::new("alicia").unwrap(),
        },
    );
    let members: Vec<&str> = app
        .current_buffer()
        .members
        .iter()
        .map(|n| n.as_str())
        .collect();
    assert_eq!(members, ["alicia", "bob", "carol"]);
    let text = rows(&render(&app, 100, 12)).join("\n");
    assert!(
        text.contains("alicia") && !text.contains("alice "),
        "{text}"
    );
}

#[test]
fn the_browser_hint_fits_a_100_column_terminal() {
    let app = App::new(Some("ana".into()), "ana");
    let text = rows(&render(&app, 100, 12)).join("\n");
    assert!(text.contains("none found: Enter hosts one here"), "{text}");
}

#[test]
fn alt_l_and_bar_nicklist_hide_and_show_the_member_list() {
    let mut app = connected_app();
    let shown = rows(&render(&app, 100, 12)).join("\n");
    assert!(shown.contains("3 member(s)"), "{shown}");
    chord_alt(&mut app, 'l');
    let hidden = rows(&render(&app, 100, 12)).join("\n");
    assert!(!hidden.contains("member(s)"), "{hidden}");
    type_line(&mut app, "/bar nicklist");
    let again = rows(&render(&app, 100, 12)).join("\n");
    assert!(again.contains("3 member(s)"), "{again}");
}

fn chord_alt(app: &mut App, c: char) {
    app.update(Event::Terminal(ratatui::crossterm::event::Event::Key(
        ratatui::crossterm::event::KeyEvent::new(
            KeyCode::Char(c),
            ratatui::crossterm::event::KeyModifiers::ALT,
        ),
    )));
}

#[test]
fn the_read_marker_sits_where_you_left_a_buffer() {
    let mut app = connected_app();
    server(
        &mut app,
        chat("bob", Target::Room(room("#lan")), "read this one"),
    );
    // Leave #lan for the status buffer; then two new messages arrive.
    chord(&mut app, KeyCode::Char('1'), KeyModifiers::ALT);
    server(&mut app, chat("bob", Target::Room(room("#lan")), "new one"));
    server(
        &mut app,
        chat("carol", Target::Room(room("#lan")), "newer one"),
    );
    chord(&mut app, KeyCode::Char('2'), KeyModifiers::ALT);
    let rows = rows(&render(&app, 80, 16));
    let at = |needle: &str| rows.iter().position(|r| r.contains(needle)).unwrap();
    let marker = rows
        .iter()
        .position(|r| r.contains("────────"))
        .expect("no read marker");
    assert!(
        at("read this one") < marker && marker < at("new one"),
        "{rows:#?}"
    );
    // Nothing new since: no marker after leaving and coming back.
    chord(&mut app, KeyCode::Char('1'), KeyModifiers::ALT);
    chord(&mut app, KeyCode::Char('2'), KeyModifiers::ALT);
    let rows = super::render_tests::rows(&render(&app, 80, 16));
    assert!(!rows.iter().any(|r| r.contains("────────")), "{rows:#?}");
}

#[test]
fn ctrl_r_draws_the_match_reversed_others_underlined_and_the_query_as_input() {
    let mut app = super::find::tests::app_with(&["deploy one", "lunch?", "deploy two", "later"]);
    chord(&mut app, KeyCode::Char('r'), KeyModifiers::CONTROL);
    for c in "deploy".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    let cells = render(&app, 100, 14);
    let text = rows(&cells);
    let row_of = |needle: &str| text.iter().position(|r| r.contains(needle)).unwrap() as u16;
    let column = |row: u16| {
        text[row as usize]
            .find("deploy")
            .map(|at| text[row as usize][..at].chars().count() as u16)
            .unwrap()
    };
    let style_at = |needle: &str| {
        let row = row_of(needle);
        cells[(column(row), row)].modifier
    };
    use ratatui::style::Modifier;
    assert!(
        style_at("deploy two").contains(Modifier::REVERSED),
        "{text:?}"
    );
    assert!(
        style_at("deploy one").contains(Modifier::UNDERLINED),
        "{text:?}"
    );
    assert!(!style_at("deploy one").contains(Modifier::REVERSED));
    let input = text
        .iter()
        .find(|r| r.contains("(search, Esc back)"))
        .unwrap();
    assert!(input.contains("deploy"), "{input}");
}
