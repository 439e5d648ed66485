//! The `huddle` binary itself: `discover`, plain mode on a pipe, `--help`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

use std::{
    io::Write,
    process::{Command, Stdio},
    time::Duration,
};

use huddle_server::{DiscoveryConfig, Server, ServerConfig};

fn huddle() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_huddle"));
    command.env("HUDDLE_LOG", "warn");
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discover_prints_the_servers_found_as_json() {
    // Free on every address: the discovery socket binds the wildcard.
    let port = std::net::UdpSocket::bind("0.0.0.0:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = ServerConfig {
        name: "json box".into(),
        discovery: Some(DiscoveryConfig {
            bind: ([0, 0, 0, 0], port).into(),
            announce_to: vec![([127, 255, 255, 255], port).into()],
            ..DiscoveryConfig::default()
        }),
        ..ServerConfig::loopback()
    };
    let server = Server::bind(config).await.unwrap().spawn();
    let dir = tempfile::tempdir().unwrap();
    let output = tokio::task::spawn_blocking({
        let config = dir.path().join("config.toml");
        move || {
            huddle()
                .args([
                    "discover",
                    "--timeout",
                    "1",
                    "--json",
                    "--loopback-only",
                    "--discovery-port",
                ])
                .arg(port.to_string())
                .arg("--config")
                .arg(config)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{output:?}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let servers = json["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 1, "{json}");
    assert_eq!(servers[0]["name"], "json box");
    assert_eq!(servers[0]["addr"], server.addr.to_string());
    assert_eq!(servers[0]["version"], huddle_protocol::PROTOCOL_VERSION);
    assert!(servers[0]["rtt_ms"].as_f64().unwrap() >= 0.0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_mode_reads_a_pipe_and_exits_zero_after_the_acks() {
    let server = Server::bind(ServerConfig::loopback())
        .await
        .unwrap()
        .spawn();
    let dir = tempfile::tempdir().unwrap();
    let addr = server.addr.to_string();
    let config = dir.path().join("config.toml");
    let output = tokio::task::spawn_blocking(move || {
        let mut child = huddle()
            .args([
                "--plain",
                "--connect",
                &addr,
                "--nick",
                "piper",
                "--room",
                "#pipes",
                "--config",
            ])
            .arg(config)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"hi from a pipe\n")
            .unwrap();
        child.wait_with_output().unwrap()
    });
    let output = tokio::time::timeout(Duration::from_secs(20), output)
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(stdout.contains("[#pipes] -!- joined"), "{stdout}");
    server.stop().await;
}

#[test]
fn help_lists_the_modes() {
    let output = huddle().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--host",
        "--connect",
        "--nick",
        "--room",
        "--plain",
        "--probe",
        "discover",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
    }
}

#[test]
fn without_a_terminal_the_tui_says_to_use_plain_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let output = huddle()
        .args(["--connect", "127.0.0.1:9", "--nick", "ana", "--config"])
        .arg(dir.path().join("config.toml"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("needs a terminal; use --plain"), "{stderr}");
}
