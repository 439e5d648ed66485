//! How a node reaches a NATS server that wants credentials or TLS, as
//! nats-server expects them: a password in the URL; TLS (`tls://`) with
//! the certificate that signs the server's (`--cluster-ca`). Refused, a
//! node says why and exits: a wrong password, an unknown certificate, an
//! unreadable CA file; the URLs may come from `HUDDLE_CLUSTER`. Real
//! nats-server, real huddle-server nodes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

#[allow(dead_code)] // Shared with the other cluster tests.
mod nats;
#[allow(dead_code)] // The durability tests' harness; only its processes are used here.
mod tui_peer;

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use huddle_e2e::workspace_binary;
use nats::{NatsServer, start_node_with};

/// Runs a node with `args`, expecting it to give up within 30 s: what it
/// said on stderr.
fn refused_node(args: &[&str]) -> String {
    refused_node_with(args, None)
}

/// [`refused_node`], its NATS URLs given in `HUDDLE_CLUSTER` if `cluster`.
fn refused_node_with(args: &[&str], cluster: Option<&str>) -> String {
    let mut command = Command::new(workspace_binary("huddle-server"));
    if let Some(urls) = cluster {
        command.env("HUDDLE_CLUSTER", urls);
    }
    let mut child = command
        .args(["--bind", "127.0.0.1:0", "--no-discovery", "--log", "warn"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("a node refused by NATS kept running: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success(), "{args:?} succeeded");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_reaches_nats_with_its_password_and_is_refused_with_another() {
    let Some(nats) = NatsServer::start_with(&["--user", "huddle", "--pass", "s3cret"]).await else {
        return;
    };
    let url = nats.url_as("nats", "huddle:s3cret@");
    let (_node, addr, _) = start_node_with(&url, &["--no-discovery"]).await;
    let (_ana, _) = huddle_testkit::Client::connect(addr, "ana").await;
    let said = refused_node(&["--cluster", &nats.url_as("nats", "huddle:wrong@")]);
    assert!(said.contains("authorization violation"), "{said}");
    assert!(!said.contains("wrong"), "the password is shown: {said}");
    // The same URL from the environment (out of the process list).
    let said = refused_node_with(&[], Some(&nats.url_as("nats", "huddle:wrong@")));
    assert!(said.contains("authorization violation"), "{said}");
}

/// A CA (openssl) and a certificate it signed for 127.0.0.1, as an
/// operator's private CA would: the CA's file, the certificate's, its key.
fn certificate_authority(dir: &std::path::Path) -> Option<[std::path::PathBuf; 3]> {
    let at = |name: &str| dir.join(name);
    let openssl = |args: &[&str]| {
        Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    std::fs::write(
        at("server.ext"),
        "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\n",
    )
    .ok()?;
    let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    let steps = [
        format!("req -x509 {ec} -days 1 -subj /CN=test-CA -keyout ca.key -out ca.pem"),
        format!("req {ec} -subj /CN=127.0.0.1 -keyout nats.key -out nats.csr"),
        "x509 -req -in nats.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 \
         -extfile server.ext -out nats.pem"
            .to_owned(),
    ];
    let made = steps
        .iter()
        .all(|step| openssl(&step.split_whitespace().collect::<Vec<_>>()));
    made.then(|| [at("ca.pem"), at("nats.pem"), at("nats.key")])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_reaches_nats_over_tls_with_its_ca_and_is_refused_without() {
    let dir = tempfile::tempdir().unwrap();
    let Some(files) = certificate_authority(dir.path()) else {
        eprintln!("SKIPPED: openssl could not make certificates for nats-server");
        return;
    };
    let [ca, cert, key] = files.map(|file| file.to_str().unwrap().to_owned());
    let tls = ["--tls", "--tlscert", &cert, "--tlskey", &key];
    let Some(nats) = NatsServer::start_with(&tls).await else {
        return;
    };
    let url = nats.url_as("tls", "");
    let (_node, addr, _) = start_node_with(&url, &["--no-discovery", "--cluster-ca", &ca]).await;
    let (_ana, _) = huddle_testkit::Client::connect(addr, "ana").await;
    // Without the CA, the server's certificate is nobody's.
    let said = refused_node(&["--cluster", &url]);
    assert!(
        said.contains("cannot reach NATS") && said.to_lowercase().contains("tls"),
        "{said}"
    );
    // A CA file that is not there is named.
    let said = refused_node(&["--cluster", &url, "--cluster-ca", "/nonexistent/ca.pem"]);
    assert!(said.contains("/nonexistent/ca.pem"), "{said}");
}
