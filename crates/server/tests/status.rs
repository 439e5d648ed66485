//! The HTTP side door against a real server with real clients: each
//! endpoint says what the server holds, user text is escaped, and bad HTTP
//! clients get the right status and never touch chat.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

mod common;

use std::{collections::HashMap, time::Duration};

use common::{
    Client,
    http::{get, get_accepting, request, try_request},
    room, start,
};
use huddle_protocol::{ClientMessage, ServerMessage, ShortText};
use huddle_server::ServerConfig;
use hyper::{Method, StatusCode};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

const HOSTILE_ROOM: &str = "#<script>alert(1)</script>";

fn with_status_page() -> ServerConfig {
    ServerConfig {
        http: Some("127.0.0.1:0".parse().unwrap()),
        ..ServerConfig::loopback()
    }
}

/// What Prometheus sends (2.42).
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// Every sample of an OpenMetrics text, by name and labels; panics on a
/// line that is neither a sample nor a known comment, or a missing `# EOF`.
fn parse_metrics(text: &str) -> HashMap<String, f64> {
    let mut samples = HashMap::new();
    let mut lines = text.lines().peekable();
    let mut saw_eof = false;
    while let Some(line) = lines.next() {
        if line == "# EOF" {
            saw_eof = lines.peek().is_none();
            continue;
        }
        if let Some(comment) = line.strip_prefix("# ") {
            let kind = comment.split(' ').next().unwrap();
            assert!(
                ["HELP", "TYPE", "UNIT"].contains(&kind),
                "odd comment {line:?}"
            );
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line:?}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("value in {line:?}"));
        let name_end = series.find('{').unwrap_or(series.len());
        assert!(
            series[..name_end]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "bad metric name in {line:?}"
        );
        samples.insert(series.to_owned(), value);
    }
    assert!(saw_eof, "no final # EOF");
    samples
}

/// Two clients in the hostile room, alice sends `count` messages; bob
/// reads them all.
async fn chat(server: &huddle_server::RunningServer, count: usize) -> (Client, Client) {
    let mut alice = Client::joined(server.addr, "alice", &[HOSTILE_ROOM]).await;
    let mut bob = Client::joined(server.addr, "bob", &[HOSTILE_ROOM]).await;
    alice
        .send(ClientMessage::SetTopic {
            room: room(HOSTILE_ROOM),
            topic: ShortText::lossy("<b>bold</b> & <img src=x onerror=alert(2)>"),
        })
        .await;
    for i in 0..count {
        alice.say(HOSTILE_ROOM, &format!("message {i}")).await;
    }
    for _ in 0..count {
        bob.next_chat().await;
    }
    // Acknowledged means committed: the commit is counted by then (a
    // `sync` could come back before the commit, which the fan-out does not
    // wait for).
    for _ in 0..count {
        alice
            .recv_until(|m| matches!(m, ServerMessage::Ack { .. }))
            .await;
    }
    (alice, bob)
}

#[tokio::test]
async fn every_endpoint_tells_what_the_server_holds() {
    let server = start(with_status_page()).await;
    let http = server.status_addr.unwrap();
    let (_alice, _bob) = chat(&server, 7).await;

    let json = get(http, "/status.json").await;
    assert_eq!(json.status, StatusCode::OK);
    assert_eq!(json.content_type(), "application/json");
    let status: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    assert_eq!(status["clients"]["connected"], 2);
    assert_eq!(status["clients"]["peak"], 2);
    assert_eq!(status["rooms"][0]["name"], HOSTILE_ROOM);
    assert_eq!(status["rooms"][0]["members"], 2);
    assert_eq!(
        status["rooms"][0]["topic"],
        "<b>bold</b> & <img src=x onerror=alert(2)>"
    );
    assert_eq!(status["traffic"]["room_messages"], 7);
    assert_eq!(status["traffic"]["deliveries"], 7);
    assert_eq!(status["traffic"]["connections"]["greeted"], 2);
    assert_eq!(status["health"]["ok"], true);
    assert_eq!(status["store"]["durable"], false);
    assert_eq!(
        status["server"]["fingerprint"],
        server.fingerprint.to_string().as_str()
    );

    let page = get(http, "/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.content_type().starts_with("text/html"));
    assert!(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.body.contains("&lt;img src=x onerror=alert(2)&gt;"));
    assert!(!page.body.contains("<script>"), "unescaped room name");
    assert!(!page.body.contains("<img"), "unescaped topic");
    assert!(page.body.contains("<svg class=\"spark\""));

    let metrics = get_accepting(http, "/metrics", PROMETHEUS_ACCEPT).await;
    assert_eq!(metrics.status, StatusCode::OK);
    let openmetrics = metrics.content_type();
    assert!(
        openmetrics.starts_with("application/openmetrics-text"),
        "{openmetrics}"
    );
    let samples = parse_metrics(&metrics.body);
    // Without OpenMetrics in Accept: the classic text format, same samples.
    let classic = get(http, "/metrics").await;
    assert!(
        classic
            .content_type()
            .starts_with("text/plain; version=0.0.4")
    );
    assert!(
        classic
            .body
            .contains("# TYPE huddle_deliveries_total counter\n")
    );
    assert!(!classic.body.contains("# EOF") && !classic.body.contains("# UNIT"));
    let classic_samples = parse_metrics(&format!("{}# EOF\n", classic.body));
    assert_eq!(classic_samples["huddle_deliveries_total"], 7.0);
    assert_eq!(samples["huddle_clients"], 2.0);
    assert_eq!(samples["huddle_rooms"], 1.0);
    assert_eq!(
        samples["huddle_messages_accepted_total{kind=\"room\"}"],
        7.0
    );
    assert_eq!(samples["huddle_deliveries_total"], 7.0);
    assert_eq!(
        samples["huddle_connections_total{outcome=\"greeted\"}"],
        2.0
    );
    assert_eq!(samples["huddle_fanout_seconds_count"], 7.0);
    assert_eq!(samples["huddle_fanout_seconds_bucket{le=\"+Inf\"}"], 7.0);
    assert!(samples["huddle_received_bytes_total"] > 0.0);
    assert!(samples["huddle_sent_bytes_total"] > 0.0);
    assert_eq!(samples["huddle_healthy"], 1.0);

    let health = get(http, "/healthz").await;
    assert_eq!(
        (health.status, health.body.as_str()),
        (StatusCode::OK, "ok\n")
    );
    server.stop().await;
}

#[tokio::test]
async fn refusals_and_the_durable_store_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(ServerConfig {
        data_dir: Some(dir.path().to_owned()),
        ..with_status_page()
    })
    .await;
    let http = server.status_addr.unwrap();
    let (mut alice, _bob) = chat(&server, 3).await;
    alice.say("#nowhere", "not a member").await;
    alice
        .recv_until(|m| matches!(m, ServerMessage::Error(_)))
        .await;
    let metrics = get_accepting(http, "/metrics", PROMETHEUS_ACCEPT).await;
    let samples = parse_metrics(&metrics.body);
    assert_eq!(
        samples["huddle_requests_refused_total{reason=\"NotInRoom\"}"],
        1.0
    );
    assert!(samples["huddle_store_commit_seconds_count"] >= 1.0);
    assert!(samples["huddle_store_file_bytes"] > 0.0);
    let status: serde_json::Value =
        serde_json::from_str(&get(http, "/status.json").await.body).unwrap();
    assert_eq!(status["store"]["durable"], true);
    assert!(status["store"]["commits"].as_u64().unwrap() >= 1);
    server.stop().await;
}

#[tokio::test]
async fn a_full_server_is_unhealthy_and_says_why() {
    let server = start(ServerConfig {
        max_clients: 1,
        ..with_status_page()
    })
    .await;
    let http = server.status_addr.unwrap();
    assert_eq!(get(http, "/healthz").await.status, StatusCode::OK);
    let _alice = Client::joined(server.addr, "alice", &[]).await;
    let health = get(http, "/healthz").await;
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(health.body, "the server is full (1 of 1 clients)\n");
    server.stop().await;
}

#[tokio::test]
async fn wrong_methods_unknown_paths_and_head_get_the_right_status() {
    let server = start(with_status_page()).await;
    let http = server.status_addr.unwrap();
    let post = request(http, Method::POST, "/").await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.headers["allow"], "GET, HEAD");
    let delete = request(http, Method::DELETE, "/metrics").await;
    assert_eq!(delete.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(get(http, "/admin").await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(http, "/status.json?x=1").await.status, StatusCode::OK);
    let head = request(http, Method::HEAD, "/").await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    let length: usize = head.headers["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(length > 100, "HEAD tells the page's length: {length}");
    server.stop().await;
}

/// Reads what the server sends until it closes, within `within`.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut answer = Vec::new();
    tokio::time::timeout(within, stream.read_to_end(&mut answer))
        .await
        .ok()?
        .ok()?;
    Some(String::from_utf8_lossy(&answer).into_owned())
}

#[tokio::test]
async fn oversized_headers_get_431_and_a_slow_loris_is_cut_off_while_chat_goes_on() {
    let server = start(with_status_page()).await;
    let http = server.status_addr.unwrap();
    let (mut alice, mut bob) = chat(&server, 1).await;

    let mut big = TcpStream::connect(http).await.unwrap();
    let padding = "a".repeat(20 * 1024);
    big.write_all(format!("GET / HTTP/1.1\r\nHost: x\r\nX-Pad: {padding}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let answer = read_until_closed(&mut big, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer:?}");

    // Slow loris: headers never finished. Meanwhile chat is untouched.
    let mut loris = TcpStream::connect(http).await.unwrap();
    loris
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    alice.say(HOSTILE_ROOM, "while the loris waits").await;
    assert_eq!(bob.next_chat().await, "while the loris waits");
    let started = std::time::Instant::now();
    let cut = read_until_closed(&mut loris, Duration::from_secs(15)).await;
    assert!(cut.is_some(), "the slow request was never closed");
    assert!(started.elapsed() < Duration::from_secs(10));
    alice.say(HOSTILE_ROOM, "after").await;
    assert_eq!(bob.next_chat().await, "after");
    server.stop().await;
}

#[tokio::test]
async fn connections_past_the_limit_are_closed_and_the_page_still_serves_after() {
    let server = start(with_status_page()).await;
    let http = server.status_addr.unwrap();
    let mut held = Vec::new();
    for _ in 0..70 {
        held.push(TcpStream::connect(http).await.unwrap());
    }
    // The 65th and later are closed at once, without an answer.
    let mut last = held.pop().unwrap();
    let closed = read_until_closed(&mut last, Duration::from_secs(5)).await;
    assert_eq!(closed.as_deref(), Some(""));
    drop(held);
    // Their slots come back as they close.
    let mut served = false;
    for _ in 0..50 {
        let attempt = try_request(http, Method::GET, "/healthz", None);
        if let Ok(Ok(reply)) = tokio::time::timeout(Duration::from_millis(500), attempt).await
            && reply.status == StatusCode::OK
        {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served);
    server.stop().await;
}
