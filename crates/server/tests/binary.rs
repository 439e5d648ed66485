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

#[tokio::test]
async fn idle_strangers_cannot_use_up_a_low_file_limit() {
    // 64 files in all, soft and hard: the server cannot raise it.
    let mut child = server_under_ulimit("-n 64");
    let mut stderr = BufReader::new(child.0.stderr.take().unwrap());
    let addr = listening_addr(&mut stderr);
    // 120 connections from two addresses that never say Hello: without a
    // bound on them, they take every file the server may open.
    let mut idle = Vec::new();
    for n in 0..120u8 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(([127, 0, 0, 1 + n % 2], 0).into()).unwrap();
        idle.push(socket.connect(addr).await.unwrap());
    }
    // A real client from a third address gets in at once, long before the
    // strangers' Hello timeout (5 s) would free anything.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(([127, 0, 0, 3], 0).into()).unwrap();
    let started = std::time::Instant::now();
    let stream = tokio::time::timeout(Duration::from_secs(2), socket.connect(addr))
        .await
        .expect("connect stalled")
        .unwrap();
    let mut client = Client {
        nick: "alice".into(),
        framed: tokio_util::codec::Framed::new(
            common::tls_over(stream).await,
            huddle_protocol::ClientCodec::new(),
        ),
    };
    client.greet().await;
    let answer = tokio::time::timeout(Duration::from_secs(2), client.recv())
        .await
        .expect("no answer: the server is out of files");
    assert!(matches!(answer, ServerMessage::Welcome(_)), "{answer:?}");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "took {took:?}");
    drop(idle);
}

/// An ephemeral server with text logs on a piped stderr, started by a shell
/// that first runs `ulimit {limit}`.
fn server_under_ulimit(limit: &str) -> KillOnDrop {
    KillOnDrop(
        Command::new("sh")
            .args(["-c", &format!("ulimit {limit} && exec \"$0\" \"$@\"")])
            .arg(env!("CARGO_BIN_EXE_huddle-server"))
            .args(["--bind", "127.0.0.1:0", "--no-discovery", "--ephemeral"])
            .args(["--log-format", "text"])
            .env("NO_COLOR", "1")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

/// A child process killed when the test ends, passed or not (an orphaned
/// server would hold cargo's output pipe open).
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_soft_open_file_limit_is_raised_to_the_hard_one_and_both_are_logged() {
    let hard = Command::new("sh")
        .args(["-c", "ulimit -H -n"])
        .output()
        .unwrap();
    let hard = String::from_utf8_lossy(&hard.stdout).trim().to_owned();
    if hard == "unlimited" || hard.parse::<u64>().is_ok_and(|h| h <= 100) {
        eprintln!("SKIPPED: the hard open-file limit is {hard}, nothing to raise to");
        return;
    }
    let mut child = server_under_ulimit("-S -n 100");
    let mut stderr = BufReader::new(child.0.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("open file limit") {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "never logged");
    }
    assert!(line.contains("soft_before=100"), "{line}");
    assert!(line.contains(&format!("soft={hard}")), "{line}");
    assert!(line.contains(&format!("hard={hard}")), "{line}");
}
