//! A rogue server against the real `huddle` binary: whatever text a server
//! sends goes through the one sanitiser on every output path, plain mode's
//! stdout and stderr included, so no escape sequence (OSC 52 clipboard
//! writes, screen clears, title changes) or bidi override reaches the
//! terminal.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use futures_util::{SinkExt, StreamExt};
use huddle_protocol::{
    ClientMessage, ConnectionId, ErrorCode, ErrorReport, Limits, Nick, PROTOCOL_VERSION, Reject,
    RequestKind, ServerCodec, ServerId, ServerMessage, ShortText, Welcome,
};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;

/// OSC 52 (write the clipboard), clear screen, set the window title.
const ESCAPES: &str = "\u{1b}]52;c;cm0gLXJmIH4=\u{7}\u{1b}[2J\u{1b}]0;pwned\u{7}";

/// Right-to-left override: legal in a `ShortText`, so it can reach a
/// client inside any validated field.
const RLO: char = '\u{202e}';

/// Runs `huddle --plain` against `addr` with empty input; returns its exit
/// status, stdout and stderr. Killed if it has not exited in 20 s.
async fn run_plain(addr: std::net::SocketAddr) -> (Option<i32>, String, String) {
    let home = tempfile::tempdir().unwrap();
    let child = Command::new(huddle_e2e::workspace_binary("huddle"))
        .args(["--plain", "--connect", &addr.to_string(), "--nick", "ci"])
        .args(["--room", "#ops", "--config"])
        .arg(home.path().join("config.toml"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let waited = tokio::task::spawn_blocking(move || child.wait_with_output());
    let output = match tokio::time::timeout(Duration::from_secs(20), waited).await {
        Ok(output) => output.unwrap().unwrap(),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid]).status();
            panic!("huddle did not exit within 20 s");
        }
    };
    let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
    (
        output.status.code(),
        text(output.stdout),
        text(output.stderr),
    )
}

fn assert_inert(what: &str, text: &str) {
    assert!(
        !text
            .chars()
            .any(|c| c == '\u{1b}' || c == '\u{7}' || c == RLO),
        "{what} carries raw escapes or bidi controls: {text:?}"
    );
}

/// Accepts one client over TLS (a rogue server has a certificate like any
/// other; the client, trusting on first use, takes it) and reads its Hello.
async fn accept_hello(
    listener: &TcpListener,
) -> Framed<tokio_rustls::server::TlsStream<TcpStream>, ServerCodec> {
    let (stream, _) = listener.accept().await.unwrap();
    let identity = huddle_server::ServerIdentity::generate().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(identity.tls_config().unwrap());
    let stream = acceptor.accept(stream).await.unwrap();
    let mut framed = Framed::new(stream, ServerCodec::new());
    let Some(Ok(ClientMessage::Hello(_))) = framed.next().await else {
        panic!("no Hello")
    };
    framed
}

#[tokio::test]
async fn a_reject_text_with_escape_sequences_reaches_stderr_sanitised() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let rogue = tokio::spawn(async move {
        let mut framed = accept_hello(&listener).await;
        let reject = Reject {
            code: ErrorCode::VersionMismatch,
            server_version: PROTOCOL_VERSION,
            text: format!("{ESCAPES}go away{RLO}"),
        };
        framed.send(ServerMessage::Reject(reject)).await.unwrap();
    });
    let (status, stdout, stderr) = run_plain(addr).await;
    rogue.await.unwrap();
    assert_eq!(
        status,
        Some(2),
        "a refused connection is exit status 2: {stderr}"
    );
    assert!(stderr.contains("go away"), "the reason is shown: {stderr}");
    assert_inert("stderr", &stderr);
    assert_inert("stdout", &stdout);
}

#[tokio::test]
async fn texts_in_validated_fields_reach_stdout_and_stderr_sanitised() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let rogue = tokio::spawn(async move {
        let mut framed = accept_hello(&listener).await;
        let welcome = Welcome {
            version: PROTOCOL_VERSION,
            server_id: ServerId::random(),
            connection_id: ConnectionId::random(),
            server_name: ShortText::new(format!("evil{RLO}lave")).unwrap(),
            motd: None,
            nick: Nick::new("ci").unwrap(),
            limits: Limits::default(),
        };
        framed.send(ServerMessage::Welcome(welcome)).await.unwrap();
        let notice = huddle_protocol::ChatText::new(format!("{RLO}exe.txt")).unwrap();
        framed
            .send(ServerMessage::Notice { text: notice })
            .await
            .unwrap();
        // Refuse the join, with a bidi override in the reason.
        while let Some(Ok(message)) = framed.next().await {
            if let ClientMessage::Join { .. } = message {
                let report = ErrorReport {
                    code: ErrorCode::BadPassword,
                    text: ShortText::new(format!("no entry{RLO}")).unwrap(),
                    request: RequestKind::Join,
                    id: None,
                };
                framed.send(ServerMessage::Error(report)).await.unwrap();
                break;
            }
        }
    });
    let (status, stdout, stderr) = run_plain(addr).await;
    rogue.await.unwrap();
    assert_eq!(status, Some(1), "{stderr}");
    assert!(
        stdout.contains("evillave"),
        "the server name is shown: {stdout}"
    );
    assert!(
        stderr.contains("no entry"),
        "the refusal is shown: {stderr}"
    );
    assert_inert("stdout", &stdout);
    assert_inert("stderr", &stderr);
}
