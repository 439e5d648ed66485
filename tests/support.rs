//! Helpers shared by the end-to-end tests.

use std::{net::UdpSocket, time::Duration};

use huddle_server::{DiscoveryConfig, RunningServer, Server, ServerConfig};

/// A UDP port free right now on every address (the discovery socket binds
/// the wildcard address, which collides with any other socket on the port,
/// even one on another address), for a test's discovery traffic (servers
/// share it with SO_REUSEPORT, so it is bound again after this).
pub fn free_udp_port() -> std::io::Result<u16> {
    Ok(UdpSocket::bind("0.0.0.0:0")?.local_addr()?.port())
}

/// A server on loopback with discovery on `discovery_port`, announcing to
/// the loopback broadcast address only (never the real LAN).
pub async fn discoverable_server(
    name: &str,
    discovery_port: u16,
) -> Result<RunningServer, huddle_server::ServerError> {
    Server::bind(discoverable_config(name, discovery_port))
        .await
        .map(Server::spawn)
}

/// What [`discoverable_server`] runs with.
pub fn discoverable_config(name: &str, discovery_port: u16) -> ServerConfig {
    ServerConfig {
        name: name.into(),
        discovery: Some(DiscoveryConfig {
            bind: ([0, 0, 0, 0], discovery_port).into(),
            announce_to: vec![([127, 255, 255, 255], discovery_port).into()],
            announce_every: Duration::from_millis(300),
            replies_per_second: 50,
        }),
        ..ServerConfig::loopback()
    }
}

/// A browser that probes only this host's loopback on `port`.
pub fn loopback_browser_config(port: u16) -> huddle::discovery::BrowserConfig {
    huddle::discovery::BrowserConfig {
        port,
        broadcast: false,
        unicast: Vec::new(),
        probe_every: Duration::from_millis(200),
        expire_after: Duration::from_millis(1500),
    }
}

/// A blocking UDP socket bound with SO_REUSEADDR/SO_REUSEPORT and broadcast
/// allowed, like a server's discovery responder.
pub fn shared_udp_socket(addr: std::net::SocketAddr) -> std::io::Result<UdpSocket> {
    let socket = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_broadcast(true)?;
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// A binary built by this workspace (`target/<profile>/<name>`), next to
/// the running test's own directory.
pub fn workspace_binary(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    dir.join(name)
}

/// TLS trusting whatever server answers first (a throwaway known-servers
/// file): for test helpers whose subject is not trust.
pub fn any_server() -> huddle::trust::Security {
    let file = std::env::temp_dir().join(format!(
        "huddle-test-known-servers-{}",
        uuid::Uuid::new_v4()
    ));
    huddle::trust::Security::Tls(huddle::trust::Trust::KnownServers(file))
}

/// TLS trusting exactly `server`.
pub fn pinned(server: &huddle_server::RunningServer) -> huddle::trust::Security {
    huddle::trust::Security::Tls(huddle::trust::Trust::Pinned(server.fingerprint))
}

/// Runs the real `huddle` binary with `args`, feeding it `input` on stdin;
/// killed (and the test failed) if it has not exited within `limit`.
pub async fn run_huddle(
    args: Vec<std::ffi::OsString>,
    input: String,
    limit: Duration,
) -> std::process::Output {
    run_huddle_in(args, &[], input, limit).await
}

/// [`run_huddle`] with environment variables set (`XDG_DATA_HOME`, say).
#[allow(clippy::expect_used)] // A test helper: failing is its way to report.
pub async fn run_huddle_in(
    args: Vec<std::ffi::OsString>,
    env: &[(&str, &std::path::Path)],
    input: String,
    limit: Duration,
) -> std::process::Output {
    use std::{
        io::Write,
        process::{Command, Stdio},
    };
    let mut child = Command::new(workspace_binary("huddle"))
        .args(args)
        .envs(env.iter().map(|(key, value)| (*key, *value)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the huddle binary is built by `cargo test --workspace`");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let pid = child.id().to_string();
    let waited = tokio::task::spawn_blocking(move || child.wait_with_output());
    let output = match tokio::time::timeout(limit, waited).await {
        Ok(Ok(Ok(output))) => output,
        Ok(other) => panic!("waiting for huddle failed: {other:?}"),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid]).status();
            panic!("huddle {pid} did not finish within {limit:?}");
        }
    };
    let _ = writer.join();
    output
}

/// A new installation's key.
#[allow(clippy::expect_used)] // A test helper: failing is its way to report.
pub fn fresh_key() -> std::sync::Arc<huddle_protocol::IdentityKey> {
    std::sync::Arc::new(huddle_protocol::IdentityKey::generate().expect("a random key"))
}

/// A `huddle --plain` that stays in a room (its input kept open), whose
/// output lines are read as they come: a reader as a user runs it.
#[derive(Debug)]
pub struct PlainWatcher {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    /// Every line printed so far.
    pub seen: Vec<String>,
    _home: tempfile::TempDir,
}

impl PlainWatcher {
    /// Starts `huddle --plain --connect ADDR --nick NICK --room ROOM` with
    /// a config of its own (its own key).
    #[allow(clippy::expect_used)] // A test helper: failing is its way to report.
    pub fn start(addr: &str, nick: &str, room: &str) -> Self {
        use std::{
            io::BufRead,
            process::{Command, Stdio},
        };
        let home = tempfile::tempdir().expect("a temporary directory");
        let mut child = Command::new(workspace_binary("huddle"))
            .args(["--plain", "--connect", addr, "--nick", nick, "--room", room])
            .arg("--config")
            .arg(home.path().join("config.toml"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the huddle binary is built by `cargo test --workspace`");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
            _home: home,
        }
    }

    /// Waits (up to `limit`) until a line satisfying `done` is printed;
    /// false if it never is.
    pub fn wait_for(&mut self, done: impl Fn(&str) -> bool, limit: Duration) -> bool {
        if self.seen.iter().any(|line| done(line)) {
            return true;
        }
        let deadline = std::time::Instant::now() + limit;
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = done(&line);
                    self.seen.push(line);
                    if found {
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
        false
    }
}

impl Drop for PlainWatcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
