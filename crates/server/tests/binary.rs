//! The real `huddle-server` binary: starts from flags, serves, and on
//! SIGTERM says `Bye` to its clients and exits 0.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

mod common;

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    process::{Command, Stdio},
    time::Duration,
};

use common::Client;
use huddle_protocol::{ErrorCode, ServerMessage};

/// Finds the port the server logged it listens on.
fn listening_addr(stderr: &mut impl BufRead) -> SocketAddr {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "the server exited before listening"
        );
        if let Some(rest) = line.split("addr=").nth(1) {
            return rest.split_whitespace().next().unwrap().parse().unwrap();
        }
    }
}

#[tokio::test]
async fn sigterm_says_bye_and_exits_zero() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_huddle-server"))
        .args([
            "--bind",
            "127.0.0.1:0",
            "--no-discovery",
            "--ephemeral",
            "--name",
            "test box",
            "--log-format",
            "text",
        ])
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let addr = listening_addr(&mut stderr);
    let (mut client, welcome) = Client::connect(addr, "alice").await;
    assert_eq!(welcome.server_name.as_str(), "test box");
    client.join("#lan").await;

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let seen = client.until_closed().await;
    assert!(
        matches!(
            seen.last(),
            Some(ServerMessage::Bye {
                code: ErrorCode::ShuttingDown,
                ..
            })
        ),
        "{seen:?}"
    );
    let exit = tokio::task::spawn_blocking(move || child.wait().unwrap());
    let exit = tokio::time::timeout(Duration::from_secs(10), exit)
        .await
        .unwrap()
        .unwrap();
    assert!(exit.success(), "exit status {exit}");
    // One line per connect and disconnect, with the reason.
    let log: Vec<String> = stderr.lines().map_while(Result::ok).collect();
    assert!(
        log.iter()
            .any(|l| l.contains("disconnected") && l.contains("server shutting down")),
        "{log:?}"
    );
}
