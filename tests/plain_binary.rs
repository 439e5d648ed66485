//! The real `huddle --plain` binary as a script uses it: a pipe of lines
//! against a default server (rate limit on) is delivered whole, in order,
//! paced; and the exit status tells refused lines (1) from a failed
//! connection (2).

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

use std::{
    process::{Command, Output, Stdio},
    time::Duration,
};

use huddle_server::{Server, ServerConfig};

/// Runs `huddle --plain` on `input` (killed after `limit`).
async fn plain(addr: &str, input: String, limit: Duration) -> Output {
    let home = tempfile::tempdir().unwrap();
    plain_with(addr, input, limit, &home.path().join("config.toml")).await
}

/// [`plain`] with the config file at `config`.
async fn plain_with(
    addr: &str,
    input: String,
    limit: Duration,
    config: &std::path::Path,
) -> Output {
    let mut args: Vec<std::ffi::OsString> = [
        "--plain",
        "--connect",
        addr,
        "--nick",
        "ci",
        "--room",
        "#ops",
        "--config",
    ]
    .map(Into::into)
    .to_vec();
    args.push(config.into());
    huddle_e2e::run_huddle(args, input, limit).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_piped_log_is_delivered_whole_and_in_order_at_the_servers_rate() {
    // `seq 1 10000 | huddle --plain` against the default server (20
    // messages a second, a burst of 100): lines that come faster than the
    // rate are batched into messages of several lines, so this takes
    // seconds, not the nine minutes 10,000 messages would.
    let server = Server::bind(ServerConfig::loopback())
        .await
        .unwrap()
        .spawn();
    let mut reader = huddle_testkit::Client::joined(server.addr, "reader", &["#ops"]).await;
    const LINES: usize = 10_000;
    let input: String = (1..=LINES).map(|n| format!("{n}\n")).collect();
    let collect = tokio::spawn(async move {
        let mut lines = Vec::new();
        let mut messages = 0;
        while lines.len() < LINES {
            let text = reader.next_chat().await;
            lines.extend(text.split('\n').map(str::to_owned));
            messages += 1;
        }
        (lines, messages)
    });
    let output = plain(&server.addr.to_string(), input, Duration::from_secs(60)).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let (lines, messages) = tokio::time::timeout(Duration::from_secs(10), collect)
        .await
        .expect("the reader did not get every line")
        .unwrap();
    let expected: Vec<String> = (1..=LINES).map(|n| n.to_string()).collect();
    assert_eq!(lines, expected, "lost, doubled or reordered");
    assert!(
        messages < LINES / 10,
        "{messages} messages: the lines were not batched"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_lines_exit_1_and_a_failed_connection_exits_2() {
    let server = Server::bind(ServerConfig::loopback())
        .await
        .unwrap()
        .spawn();
    // Refused by huddle (2: unknown command), by the server with the
    // message's id (3: nobody is called that), by the server without one
    // (5: the nick is someone else's).
    let (_taken, _) = huddle_testkit::Client::connect(server.addr, "taken").await;
    let input = "fine\n/frobnicate\n/msg nobody hi\nalso fine\n/nick taken\n".to_owned();
    let output = plain(&server.addr.to_string(), input, Duration::from_secs(30)).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("line 2, 3, 5"), "{stderr}");
    assert!(
        stdout.contains("error: line 2: unknown command"),
        "{stdout}"
    );
    assert!(stdout.contains("error: line 5: "), "{stdout}");
    // Nothing listens on the port the server had.
    let addr = server.addr.to_string();
    server.stop().await;
    let output = plain(&addr, "hello\n".to_owned(), Duration::from_secs(30)).await;
    assert_eq!(output.status.code(), Some(2), "{:?}", output);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_and_nick_persist_so_the_next_run_is_the_same_user() {
    let server = Server::bind(ServerConfig::loopback())
        .await
        .unwrap()
        .spawn();
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.toml");
    let addr = server.addr.to_string();
    let output = plain_with(&addr, "hi\n".into(), Duration::from_secs(30), &config).await;
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let first = std::fs::read_to_string(&config).expect("no config written");
    assert!(first.contains("\"ci\""), "{first}");
    let key = home.path().join(huddle::identity::KEY_FILE);
    let first_key = std::fs::read(&key).expect("no key written");
    // The nick "ci" is now bound to that key: only the same key gets it
    // back on the next run.
    let output = plain_with(&addr, "again\n".into(), Duration::from_secs(30), &config).await;
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), first);
    assert_eq!(std::fs::read(&key).unwrap(), first_key, "a new identity");
    // Another installation (another config dir, another key) is refused it.
    let other = tempfile::tempdir().unwrap();
    let output = plain_with(
        &addr,
        String::new(),
        Duration::from_secs(30),
        &other.path().join("config.toml"),
    )
    .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("belongs to someone else's key"), "{stderr}");
    server.stop().await;
}

/// A real `huddle-server` on `port` with its history in `data`, default
/// settings otherwise (durable, rate-limited); killed when dropped.
struct ServerProcess(std::process::Child);

impl ServerProcess {
    async fn start(port: u16, data: &std::path::Path) -> Self {
        let child = Command::new(huddle_e2e::workspace_binary("huddle-server"))
            .args(["--bind", &format!("127.0.0.1:{port}"), "--no-discovery"])
            .arg("--data-dir")
            .arg(data)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = Self(child);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not start listening on {port}");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Every message of `room`, oldest first, as the server keeps them.
async fn whole_history(addr: &str, room: &str) -> Vec<String> {
    let (mut auditor, _) = huddle_testkit::Client::connect(addr.parse().unwrap(), "auditor").await;
    let messages = auditor.whole_history(room).await;
    messages.iter().map(|m| m.text.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_pipe_loses_nothing_and_doubles_nothing() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(port, data.path()).await;
    // A reader in the room, as a user runs one: it is cut off by the kill
    // too, and must still print every line once, in order.
    let mut watcher = huddle_e2e::PlainWatcher::start(&addr, "watcher", "#ops");
    assert!(
        watcher.wait_for(|line| line.contains("joined"), Duration::from_secs(10)),
        "{:?}",
        watcher.seen
    );
    // 10,000 lines of ~100 bytes: ~250 batched messages, ~9 s at the
    // default rate, so the kill below lands mid-stream.
    const LINES: usize = 10_000;
    let line = |n: usize| format!("{n} {}", "x".repeat(95));
    let input: String = (1..=LINES).map(|n| format!("{}\n", line(n))).collect();
    let client = tokio::spawn({
        let addr = addr.clone();
        async move { plain(&addr, input, Duration::from_secs(90)).await }
    });
    // Kill the server (SIGKILL) with lines in flight, then start it again
    // on the same port and data.
    tokio::time::sleep(Duration::from_secs(3)).await;
    drop(server);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _server = ServerProcess::start(port, data.path()).await;
    let output = client.await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("reconnected"),
        "the kill went unnoticed: {stdout}"
    );
    let expected: Vec<String> = (1..=LINES).map(line).collect();
    let stored: Vec<String> = whole_history(&addr, "#ops")
        .await
        .iter()
        .flat_map(|text| text.split('\n').map(str::to_owned).collect::<Vec<_>>())
        .collect();
    assert_eq!(stored, expected);
    let last = format!("<ci> {}", line(LINES));
    let printed = tokio::task::block_in_place(|| {
        watcher.wait_for(|line| line.ends_with(&last), Duration::from_secs(30))
    });
    let said: Vec<&str> = watcher
        .seen
        .iter()
        .filter_map(|line| line.strip_prefix("[#ops] <ci> "))
        .collect();
    assert!(printed, "the reader stopped at {:?}", said.last());
    assert_eq!(said, expected, "the reader saw each line once, in order");
}
