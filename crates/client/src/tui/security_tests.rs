//! What the TUI says about trust: a server whose fingerprint changed is
//! connected to only after the user types `yes`; a connection without TLS
//! says INSECURE in red; a new server's fingerprint is announced.

use huddle_protocol::Fingerprint;
use ratatui::{Terminal, backend::TestBackend, crossterm::event::KeyCode, style::Color};

use super::{
    app::{App, Effect, Event, Screen},
    testkit::{connected_app, found_server, key, type_line},
    ui::draw,
};
use crate::{net::NetEvent, net::PeerIdentity, trust::Verdict};

fn changed_server(fingerprint: Fingerprint) -> crate::discovery::FoundServer {
    crate::discovery::FoundServer {
        name: "office".into(),
        fingerprint: Some(fingerprint),
        trust: Some(format!(
            "CHANGED: you trusted {} at this address",
            Fingerprint([1; 32])
        )),
        ..found_server("office", 7007)
    }
}

#[test]
fn a_changed_fingerprint_is_accepted_only_by_typing_yes() {
    let mut app = App::new(Some("alice".into()), "alice");
    let new = Fingerprint([2; 32]);
    app.update(Event::Servers(vec![changed_server(new)]));
    // Enter asks instead of connecting, naming both fingerprints.
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(app.screen, Screen::Browser);
    let said = app.last_status().unwrap_or_default().to_owned();
    assert!(said.contains(&new.to_string()), "{said}");
    assert!(said.contains(&Fingerprint([1; 32]).to_string()), "{said}");
    // Anything but yes changes nothing.
    assert!(type_line(&mut app, "y").is_empty());
    assert_eq!(app.screen, Screen::Browser);
    // yes records it, then connects.
    key(&mut app, KeyCode::Enter);
    let effects = type_line(&mut app, "yes");
    assert_eq!(
        effects,
        [
            Effect::TrustServer("10.0.0.1:7007".into(), new),
            Effect::Connect("10.0.0.1:7007".into())
        ]
    );
}

#[test]
fn without_tls_the_status_bar_says_insecure_in_red_and_a_new_server_is_announced() {
    let mut app = connected_app();
    app.update(Event::Net(NetEvent::Identity(PeerIdentity {
        fingerprint: None,
        verdict: None,
    })));
    let mut terminal = Terminal::new(TestBackend::new(80, 10)).unwrap();
    terminal.draw(|frame| draw(frame, &app)).unwrap();
    let cells = terminal.backend().buffer().clone();
    let bottom: String = (0..80).map(|x| cells[(x, 9)].symbol()).collect();
    let at = bottom
        .find("INSECURE")
        .expect("no INSECURE in the status bar");
    assert_eq!(cells[(at as u16, 9)].bg, Color::Red);

    let mut app = connected_app();
    let fingerprint = Fingerprint([3; 32]);
    app.update(Event::Net(NetEvent::Identity(PeerIdentity {
        fingerprint: Some(fingerprint),
        verdict: Some(Verdict::FirstUse),
    })));
    let said = app.last_status().unwrap_or_default().to_owned();
    assert!(
        said.contains(&fingerprint.to_string()) && said.contains("New server"),
        "{said}"
    );
}
