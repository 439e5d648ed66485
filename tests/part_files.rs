//! Unfinished downloads do not outlive the client: a real `huddle --plain`
//! receiving a file is stopped with SIGTERM and leaves no `.part` behind,
//! and one left by a client killed outright is removed at the next start.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use huddle_protocol::{
    ClientMessage, FileChunk, FileOffer, Nick, ServerMessage, ShortText, Target, TransferId,
};
use huddle_server::{Server, ServerConfig};

fn parts(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".part"))
        .collect()
}

/// `huddle --plain` as bob, accepting alice's files into `downloads`.
fn bob(addr: std::net::SocketAddr, downloads: &Path, stdin: Stdio) -> Child {
    Command::new(huddle_e2e::workspace_binary("huddle"))
        .args(["--plain", "--connect", &addr.to_string(), "--nick", "bob"])
        .args(["--room", "#x", "--accept-files-from", "alice"])
        .arg("--downloads")
        .arg(downloads)
        .arg("--config")
        .arg(downloads.join("config.toml"))
        .stdin(stdin)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits for `done` for at most `limit`.
async fn wait_until(limit: Duration, done: impl Fn() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    done()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_stopped_by_sigterm_leaves_no_part_file() {
    let server = Server::bind(ServerConfig::loopback())
        .await
        .unwrap()
        .spawn();
    let downloads = tempfile::tempdir().unwrap();
    let mut bob = bob(server.addr, downloads.path(), Stdio::piped());
    // Alice offers a big file and sends its first chunk only.
    let (mut alice, _, _) = huddle::net::connect(
        &server.addr.to_string(),
        &huddle_e2e::pinned(&server),
        &huddle::net::Introduction::fresh(Nick::new("alice").unwrap()),
    )
    .await
    .unwrap();
    // Bob is online once a direct message to him is accepted.
    let transfer = TransferId::random();
    let online = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let offer = FileOffer {
                transfer,
                target: Target::Direct(Nick::new("bob").unwrap()),
                name: ShortText::new("big.iso").unwrap(),
                size: 10 << 20,
                sha256: [0; 32],
            };
            alice.send(ClientMessage::FileOffer(offer)).await.unwrap();
            loop {
                match alice.next().await {
                    Some(Ok(ServerMessage::FileCredit { .. })) => return,
                    Some(Ok(ServerMessage::Error(_))) => break,
                    Some(Ok(_)) => {}
                    other => panic!("{other:?}"),
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(online.is_ok(), "bob never accepted");
    let chunk = FileChunk {
        transfer,
        offset: 0,
        data: vec![7u8; 64 * 1024].into(),
    };
    alice.send(ClientMessage::FileChunk(chunk)).await.unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || !parts(downloads.path())
            .is_empty())
        .await,
        "no .part was written"
    );
    Command::new("kill")
        .args(["-TERM", &bob.id().to_string()])
        .status()
        .unwrap();
    let status = bob.wait().unwrap();
    assert_eq!(status.code(), Some(143), "{status:?}");
    assert_eq!(parts(downloads.path()), Vec::<String>::new());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_file_left_by_a_killed_client_is_removed_at_the_next_start() {
    let server = Server::bind(ServerConfig::loopback())
        .await
        .unwrap()
        .spawn();
    let downloads = tempfile::tempdir().unwrap();
    // As a client killed with SIGKILL would leave it (pid 4,000,000 cannot
    // be running: Linux's pid_max is at most 4,194,304 and rarely so high).
    let left = downloads.path().join(".big.iso.abcdef12.4000000.part");
    std::fs::write(&left, b"half a file").unwrap();
    let mut bob = bob(server.addr, downloads.path(), Stdio::null());
    assert!(
        wait_until(Duration::from_secs(10), || !left.exists()).await,
        "the stale .part is still there"
    );
    let _ = bob.wait();
    server.stop().await;
}
