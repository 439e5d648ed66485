//! A real nats-server with JetStream on loopback for the cluster tests,
//! installed from Debian's package if missing, killed when dropped; and
//! huddle-server nodes started against it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers may panic.

use std::{
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::tui_peer::{ServerProcess, free_loopback_addr};

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
    /// More nats-server arguments (authentication, TLS).
    extra: Vec<String>,
}

impl NatsServer {
    /// Starts one on a free port (another, if the port was taken meanwhile).
    pub(crate) async fn start() -> Option<Self> {
        Self::start_with(&[]).await
    }

    /// [`Self::start`] with more nats-server arguments.
    pub(crate) async fn start_with(extra: &[&str]) -> Option<Self> {
        let mut server = Self {
            child: None,
            binary: nats_binary()?,
            addr: free_loopback_addr(),
            store: tempfile::tempdir().unwrap(),
            extra: extra.iter().map(ToString::to_string).collect(),
        };
        for _ in 0..5 {
            if server.try_start().await {
                return Some(server);
            }
            server.kill();
            server.addr = free_loopback_addr();
        }
        panic!("nats-server did not start on five ports");
    }

    /// `nats://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> String {
        format!("nats://{}", self.addr)
    }

    /// `SCHEME://CREDENTIALS127.0.0.1:PORT` (credentials: `user:pass@`).
    pub(crate) fn url_as(&self, scheme: &str, credentials: &str) -> String {
        format!("{scheme}://{credentials}{}", self.addr)
    }

    /// Starts it again, on the same port and store.
    pub(crate) async fn restart(&mut self) {
        assert!(self.try_start().await, "nats-server did not start again");
    }

    /// Starts it on its port and store: whether it listens.
    async fn try_start(&mut self) -> bool {
        let mut child = Command::new(&self.binary)
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &self.addr.port().to_string(),
                "-sd",
            ])
            .arg(self.store.path())
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let listening = listening_or_exited(&mut child, self.addr).await;
        self.child = Some(child);
        listening
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

/// Starts a `huddle-server` node of the cluster at `nats`, with the
/// defaults a user runs (rate limits on), and its IRC gateway: the process
/// and its chat and IRC addresses. A node that exits before it listens
/// (a port taken meanwhile by some connection's local end) is started
/// again on other ports; its log is in the panic if none starts.
pub(crate) async fn start_node(nats: &str) -> (ServerProcess, SocketAddr, SocketAddr) {
    start_node_with(nats, &["--no-discovery"]).await
}

/// [`start_node`] with `extra` arguments instead of `--no-discovery`.
pub(crate) async fn start_node_with(
    nats: &str,
    extra: &[&str],
) -> (ServerProcess, SocketAddr, SocketAddr) {
    static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let mut log_text = String::new();
    for _ in 0..5 {
        let (addr, irc) = (free_loopback_addr(), free_loopback_addr());
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = std::env::temp_dir().join(format!("huddle-node-{}-{n}.log", std::process::id()));
        let stderr = match std::env::var_os("HUDDLE_NODE_LOGS") {
            Some(_) => Stdio::inherit(),
            None => std::fs::File::create(&log).map_or_else(|_| Stdio::null(), Stdio::from),
        };
        let child = Command::new(huddle_e2e::workspace_binary("huddle-server"))
            .args(["--bind", &addr.to_string(), "--irc-bind", &irc.to_string()])
            .args(extra)
            .args(["--cluster", nats, "--log"])
            // HUDDLE_NODE_LOGS=info shows the nodes' logs (else warnings,
            // kept in a file).
            .arg(std::env::var("HUDDLE_NODE_LOGS").unwrap_or_else(|_| "warn".into()))
            .stderr(stderr)
            .spawn()
            .expect("huddle-server is built by `cargo test --workspace`");
        let mut node = ServerProcess(child);
        let started = listening_or_exited(&mut node.0, addr).await;
        log_text = std::fs::read_to_string(&log).unwrap_or_default();
        let _ = std::fs::remove_file(&log);
        if started {
            return (node, addr, irc);
        }
        eprintln!("a cluster node did not start on {addr}, trying again; it said: {log_text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("no cluster node started; the last one said: {log_text}");
}

/// Whether `child` listens on `addr` within 20 s (false: it exited first,
/// or did not listen in time).
async fn listening_or_exited(child: &mut Child, addr: SocketAddr) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return true;
        }
        if child.try_wait().ok().flatten().is_some() || Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
