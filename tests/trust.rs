//! Trust on first use against a man in the middle, with the real binary:
//! a proxy on loopback first forwards the real server's TLS untouched (the
//! client pins that fingerprint), then presents its own certificate while
//! relaying to the server. The client refuses it on every try, naming both
//! fingerprints, until the user runs `huddle trust ADDRESS`; then it
//! connects to it — and still cannot log in through it, since its
//! identity proof is bound to the TLS connection. A server that really got
//! a new identity is accepted the same deliberate way, and then works. A
//! `--fingerprint` pin refuses anyone else outright.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

use std::{
    ffi::OsString,
    net::SocketAddr,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use huddle_server::{Server, ServerConfig, ServerIdentity};
use tokio::net::{TcpListener, TcpStream};

/// A loopback proxy to `upstream`: transparent, or (once `intercept` is
/// set) terminating TLS with its own certificate and relaying over a TLS
/// connection of its own.
async fn proxy(upstream: SocketAddr, intercept: Arc<AtomicBool>) -> (SocketAddr, ServerIdentity) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let identity = ServerIdentity::generate().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(identity.tls_config().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            let (intercept, acceptor) = (intercept.load(Ordering::SeqCst), acceptor.clone());
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    return;
                };
                if !intercept {
                    let (mut client, mut server) = (client, server);
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    return;
                }
                let Ok(mut client) = acceptor.accept(client).await else {
                    return;
                };
                let connector = tokio_rustls::TlsConnector::from(
                    huddle_protocol::tls::client_config().unwrap(),
                );
                let Ok(mut server) = connector
                    .connect(huddle_protocol::tls::server_name(), server)
                    .await
                else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            });
        }
    });
    (addr, identity)
}

fn plain_args(addr: SocketAddr, config: &Path, extra: &[&str]) -> Vec<OsString> {
    let addr = addr.to_string();
    let mut args: Vec<OsString> = [
        "--plain",
        "--connect",
        &addr,
        "--nick",
        "ci",
        "--room",
        "#ops",
    ]
    .map(Into::into)
    .to_vec();
    args.extend(extra.iter().map(Into::into));
    args.push("--config".into());
    args.push(config.into());
    args
}

const PATIENCE: Duration = Duration::from_secs(30);

/// `huddle trust ADDR`, with the config (and so the known servers) at
/// `config`.
async fn trust(addr: SocketAddr, config: &Path) -> std::process::Output {
    let mut args: Vec<OsString> = vec!["trust".into(), addr.to_string().into(), "--config".into()];
    args.push(config.into());
    huddle_e2e::run_huddle(args, String::new(), PATIENCE).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_man_in_the_middle_is_refused_until_accepted_deliberately() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::bind(ServerConfig {
        data_dir: Some(data.path().to_owned()),
        ..ServerConfig::loopback()
    })
    .await
    .unwrap()
    .spawn();
    let intercept = Arc::new(AtomicBool::new(false));
    let (addr, mitm) = proxy(server.addr, intercept.clone()).await;
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.toml");

    // First use: the real server's certificate passes through; pinned.
    let first =
        huddle_e2e::run_huddle(plain_args(addr, &config, &[]), "hello\n".into(), PATIENCE).await;
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{stderr}");
    assert!(
        stderr.contains(&server.fingerprint.to_string()),
        "first use is announced: {stderr}"
    );
    let known = std::fs::read_to_string(home.path().join("known_servers")).unwrap();
    assert!(
        known.contains(&format!("{addr} {}", server.fingerprint)),
        "{known}"
    );

    // The proxy turns hostile: refused, on every try, naming both.
    intercept.store(true, Ordering::SeqCst);
    for _ in 0..2 {
        let refused =
            huddle_e2e::run_huddle(plain_args(addr, &config, &[]), "secret\n".into(), PATIENCE)
                .await;
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(refused.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(&server.fingerprint.to_string()), "{stderr}");
        assert!(stderr.contains(&mitm.fingerprint().to_string()), "{stderr}");
        assert!(stderr.contains(&format!("huddle trust {addr}")), "{stderr}");
    }
    assert_eq!(server.clients(), 0, "nothing got through");

    // A pin refuses it as well.
    let pin = format!("{}", server.fingerprint);
    let pinned = huddle_e2e::run_huddle(
        plain_args(addr, &config, &["--fingerprint", &pin]),
        String::new(),
        PATIENCE,
    )
    .await;
    let stderr = String::from_utf8_lossy(&pinned.stderr);
    assert_eq!(pinned.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not the pinned"), "{stderr}");

    // Accepted deliberately, it connects (through the proxy).
    let accepted = trust(addr, &config).await;
    let stdout = String::from_utf8_lossy(&accepted.stdout);
    assert!(accepted.status.success(), "{accepted:?}");
    assert!(stdout.contains(&mitm.fingerprint().to_string()), "{stdout}");
    assert!(
        stdout.contains(&format!("replacing {}", server.fingerprint)),
        "{stdout}"
    );
    // Fooled into accepting the relay, the user still cannot be
    // impersonated: Hello's proof is bound to the TLS connection it was
    // made on, and the relay's two connections differ.
    let relayed =
        huddle_e2e::run_huddle(plain_args(addr, &config, &[]), "again\n".into(), PATIENCE).await;
    let stderr = String::from_utf8_lossy(&relayed.stderr);
    assert_eq!(relayed.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("BadIdentityProof"), "{stderr}");
    assert_eq!(server.clients(), 0, "nobody logged in through the relay");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_a_new_identity_is_refused_until_accepted_then_works() {
    let first_dir = tempfile::tempdir().unwrap();
    let config_for = |dir: &Path, bind: SocketAddr| ServerConfig {
        bind,
        data_dir: Some(dir.to_owned()),
        ..ServerConfig::loopback()
    };
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let server = Server::bind(config_for(first_dir.path(), loopback))
        .await
        .unwrap()
        .spawn();
    let addr = server.addr;
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.toml");
    let first =
        huddle_e2e::run_huddle(plain_args(addr, &config, &[]), "hi\n".into(), PATIENCE).await;
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    server.stop().await;
    // Reinstalled: same address, a new identity.
    let second_dir = tempfile::tempdir().unwrap();
    let server = Server::bind(config_for(second_dir.path(), addr))
        .await
        .unwrap()
        .spawn();
    let refused =
        huddle_e2e::run_huddle(plain_args(addr, &config, &[]), "hi\n".into(), PATIENCE).await;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&server.fingerprint.to_string()), "{stderr}");
    let accepted = trust(addr, &config).await;
    assert!(accepted.status.success(), "{accepted:?}");
    let after =
        huddle_e2e::run_huddle(plain_args(addr, &config, &[]), "hi\n".into(), PATIENCE).await;
    assert!(
        after.status.success(),
        "{}",
        String::from_utf8_lossy(&after.stderr)
    );
    server.stop().await;
}

#[tokio::test]
async fn a_corrupt_known_servers_file_is_a_clear_error_and_is_left_alone() {
    let server = Server::bind(ServerConfig::loopback())
        .await
        .unwrap()
        .spawn();
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.toml");
    let known = home.path().join("known_servers");
    std::fs::write(&known, "garbage\n").unwrap();
    let output = huddle_e2e::run_huddle(
        plain_args(server.addr, &config, &[]),
        String::new(),
        PATIENCE,
    )
    .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("known_servers") && stderr.contains("line 1"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&known).unwrap(), "garbage\n");
    server.stop().await;
}

#[tokio::test]
async fn plaintext_needs_both_ends_to_opt_in() {
    let server = Server::bind(ServerConfig::loopback())
        .await
        .unwrap()
        .spawn();
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.toml");
    let args = plain_args(server.addr, &config, &["--insecure-plaintext"]);
    let refused = huddle_e2e::run_huddle(args, String::new(), PATIENCE).await;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("accepts only TLS"), "{stderr}");
    server.stop().await;

    let insecure = Server::bind(ServerConfig {
        insecure_plaintext: true,
        ..ServerConfig::loopback()
    })
    .await
    .unwrap()
    .spawn();
    let args = plain_args(insecure.addr, &config, &["--insecure-plaintext"]);
    let output = huddle_e2e::run_huddle(args, "in the clear\n".into(), PATIENCE).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !home.path().join("known_servers").exists(),
        "nothing to pin without TLS"
    );
    insecure.stop().await;
}
