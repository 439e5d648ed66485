//! A smoke test of the benchmark tool in CI: a handful of clients for a
//! second against an in-process server, everything delivered.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

use std::process::Command;

use huddle_server::{Server, ServerConfig};

/// Runs huddle-bench with `args` and `--json`; its report.
async fn bench(args: &[&str]) -> serde_json::Value {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_huddle-bench"))
            .args(&args)
            .arg("--json")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_run_delivers_everything_and_reports_json() {
    let config = ServerConfig {
        rate_limit: false,
        ..ServerConfig::loopback()
    };
    let server = Server::bind(config).await.unwrap().spawn();
    let addr = server.addr.to_string();
    let pid = std::process::id().to_string();
    let report = bench(&[
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
        "--duration",
        "1",
        "--drain",
        "3",
        "--pid",
        &pid,
    ])
    .await;
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
    assert!(
        report["paced_rate"].is_null(),
        "a server without a rate limit says so: {report}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_a_default_server_the_bench_paces_to_the_advertised_rate() {
    // The default server: 20 messages a second per client.
    let server = Server::bind(ServerConfig::loopback())
        .await
        .unwrap()
        .spawn();
    let addr = server.addr.to_string();
    let report = bench(&[
        "--server",
        &addr,
        "--clients",
        "3",
        "--senders",
        "1",
        "--rate",
        "500",
        "--duration",
        "2",
        "--drain",
        "2",
    ])
    .await;
    assert_eq!(report["paced_rate"].as_f64(), Some(18.0), "{report}");
    let sent = report["sent"].as_u64().unwrap();
    assert!(
        (30..=40).contains(&sent),
        "about 18 a second for 2 s: {report}"
    );
    assert_eq!(report["refused"], 0, "{report}");
    assert_eq!(report["lost"], 0, "{report}");
    assert_eq!(report["delivered"].as_u64(), Some(sent * 2), "{report}");
    server.stop().await;
}
