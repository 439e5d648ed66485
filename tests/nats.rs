//! A real nats-server with JetStream on loopback for the cluster tests,
//! installed from Debian's package if missing, killed when dropped; and
//! huddle-server nodes started against it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers may panic.

use std::{
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, Stdio},
};

use crate::tui_peer::{ServerProcess, free_loopback_addr, wait_listening};

/// The nats-server binary, installed with apt-get (tests/lib.sh) if it is
/// missing; `None` (said on stderr as SKIPPED) where that is impossible.
pub(crate) fn nats_binary() -> Option<PathBuf> {
    let find = || {
        ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
            .into_iter()
            .map(PathBuf::from)
            .find(|path| path.exists())
    };
    if let Some(found) = find() {
        return Some(found);
    }
    let lib = concat!(env!("CARGO_MANIFEST_DIR"), "/lib.sh");
    let _ = Command::new("bash")
        .args([
            "-c",
            &format!("source {lib}; ensure_command nats-server nats-server"),
        ])
        .status();
    let found = find();
    if found.is_none() {
        eprintln!("SKIPPED: nats-server is not installed and apt-get could not install it");
    }
    found
}

/// A nats-server with JetStream, its store in a temporary directory.
pub(crate) struct NatsServer {
    child: Option<Child>,
    binary: PathBuf,
    pub(crate) addr: SocketAddr,
    store: tempfile::TempDir,
}

impl NatsServer {
    pub(crate) async fn start() -> Option<Self> {
        let mut server = Self {
            child: None,
            binary: nats_binary()?,
            addr: free_loopback_addr(),
            store: tempfile::tempdir().unwrap(),
        };
        server.restart().await;
        Some(server)
    }

    /// `nats://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> String {
        format!("nats://{}", self.addr)
    }

    /// Starts it (again, on the same port and store).
    pub(crate) async fn restart(&mut self) {
        let child = Command::new(&self.binary)
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &self.addr.port().to_string(),
                "-sd",
            ])
            .arg(self.store.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        wait_listening(self.addr).await;
    }

    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts a `huddle-server` node of the cluster at `nats` on `addr` (and
/// its IRC gateway on `irc`), with the defaults a user runs (rate limits
/// on).
pub(crate) async fn start_node(addr: SocketAddr, irc: SocketAddr, nats: &str) -> ServerProcess {
    let child = Command::new(huddle_e2e::workspace_binary("huddle-server"))
        .args(["--irc-bind", &irc.to_string()])
        .args([
            "--bind",
            &addr.to_string(),
            "--no-discovery",
            "--log",
            // HUDDLE_NODE_LOGS=info shows the nodes' logs (else nothing).
            &std::env::var("HUDDLE_NODE_LOGS").unwrap_or_else(|_| "warn".into()),
        ])
        .args(["--cluster", nats])
        .stderr(if std::env::var_os("HUDDLE_NODE_LOGS").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .spawn()
        .expect("huddle-server is built by `cargo test --workspace`");
    let node = ServerProcess(child);
    wait_listening(addr).await;
    node
}
