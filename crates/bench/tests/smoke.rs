//! A smoke test of the benchmark tool in CI: a handful of clients for a
//! second against an in-process server, everything delivered.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

use std::process::Command;

use huddle_server::{Server, ServerConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_run_delivers_everything_and_reports_json() {
    let config = ServerConfig {
        rate_limit: false,
        ..ServerConfig::loopback()
    };
    let server = Server::bind(config).await.unwrap().spawn();
    let addr = server.addr.to_string();
    let pid = std::process::id().to_string();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_huddle-bench"))
            .args([
                "--server",
                &addr,
                "--clients",
                "6",
                "--rooms",
                "2",
                "--senders",
                "2",
                "--rate",
                "200",
            ])
            .args(["--duration", "1", "--drain", "3", "--pid", &pid, "--json"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{output:?}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let sent = report["sent"].as_u64().unwrap();
    assert!(sent >= 100, "{report}");
    // Two rooms of three: each message reaches the two others in its room.
    assert_eq!(
        report["expected_deliveries"].as_u64().unwrap(),
        sent * 2,
        "{report}"
    );
    assert_eq!(
        report["delivered"], report["expected_deliveries"],
        "{report}"
    );
    assert_eq!(report["lost"], 0);
    assert_eq!(report["transport"], "tls", "TLS is the default");
    assert_eq!(report["duplicated"], 0);
    assert!(report["latency_us_p99"].as_u64().unwrap() > 0);
    assert!(report["server_rss_bytes"].as_u64().unwrap() > 0);
    server.stop().await;
}
