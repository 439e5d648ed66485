//! `huddle --host --detach` with the real binary: the hosted server runs in
//! a process of its own, so it still serves (and remembers) after the
//! client that started it has quit; it stops on SIGTERM, as its note says.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

use std::{ffi::OsString, process::Command, time::Duration};

use huddle_protocol::ServerMessage;

const PATIENCE: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detached_host_keeps_serving_after_its_client_quits() {
    let home = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut args: Vec<OsString> = ["--plain", "--host", "--detach", "--no-discovery"]
        .map(Into::into)
        .to_vec();
    args.extend(["--port".into(), port.to_string().into()]);
    args.extend(["--nick", "ci", "--room", "#ops", "--config"].map(OsString::from));
    args.push(home.path().join("config.toml").into());
    let data = home.path().join("data");
    let output = huddle_e2e::run_huddle_in(
        args,
        &[("XDG_DATA_HOME", &data)],
        "left for later\n".into(),
        PATIENCE,
    )
    .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let pid: u32 = stderr
        .split("(pid ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("no pid in {stderr}"));
    // Stopped at the end whatever happens.
    struct Stop(u32);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = Command::new("kill").arg(self.0.to_string()).status();
        }
    }
    let stop = Stop(pid);

    // The client is gone; the server is not, and it kept the message.
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let (mut reader, _) = huddle_testkit::Client::connect(addr, "reader").await;
    let ServerMessage::Joined { history, .. } = reader.join("#ops").await else {
        panic!("#ops could not be joined")
    };
    assert!(
        history.iter().any(|m| m.text.as_str() == "left for later"),
        "{history:?}"
    );
    let log = data.join("huddle").join("hosted").join("server.log");
    assert!(log.exists(), "no log at {}", log.display());

    // SIGTERM stops it.
    drop(stop);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_ok()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "still serving after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
