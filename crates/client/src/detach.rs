//! `huddle --host --detach`: the hosted server in a process of its own, so
//! it keeps serving the others after this client quits (or its terminal
//! closes). The client starts itself again with a hidden command, in a
//! process group of its own, logging to a file; the child hosts the server
//! as `--host` does and tells the parent, on one line of its standard
//! output, where it listens, its fingerprint and its pid; then the parent
//! connects like any client, pinned to that fingerprint.

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Command, Stdio},
    time::Duration,
};

use anyhow::{Context as _, bail};

use crate::{
    host::{HostOptions, host},
    trust::{Security, Trust},
};

/// The hidden command the detached child runs.
pub const SERVE_COMMAND: &str = "__serve-hosted";

/// A server running detached.
#[derive(Debug)]
pub struct Detached {
    /// Where this client connects.
    pub addr: String,
    /// Pinned to its fingerprint (or plain, if asked).
    pub security: Security,
    /// Its process id (to stop it: `kill PID`).
    pub pid: u32,
    /// Its log file.
    pub log: PathBuf,
}

impl Detached {
    /// What to tell the user.
    pub fn note(&self) -> String {
        format!(
            "The server runs in the background (pid {}, log {}); it keeps running when you quit. Stop it with: kill {}",
            self.pid,
            self.log.display(),
            self.pid
        )
    }
}

/// Starts the hosted server detached and waits (10 s at most) for it to
/// say it is ready. `args` are the options the child is given before the
/// hidden command (name, port, discovery port, config…).
pub async fn spawn(args: Vec<String>, log: PathBuf) -> anyhow::Result<Detached> {
    use std::os::unix::process::CommandExt as _;
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .with_context(|| format!("cannot open {}", log.display()))?;
    let exe = std::env::current_exe().context("cannot find this program to start it again")?;
    let mut child = Command::new(exe)
        .args(&args)
        .arg(SERVE_COMMAND)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log_file))
        .process_group(0)
        .spawn()
        .context("cannot start the detached server")?;
    let stdout = child
        .stdout
        .take()
        .context("no pipe from the detached server")?;
    let read = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    });
    let line = match tokio::time::timeout(Duration::from_secs(10), read).await {
        Ok(Ok(Ok(line))) => line,
        _ => {
            let _ = child.kill();
            bail!("the detached server did not start; see {}", log.display());
        }
    };
    let mut words = line.split_whitespace();
    let (Some("ready"), Some(addr), Some(security), Some(pid)) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        bail!(
            "the detached server did not start: {line:?}; see {}",
            log.display()
        );
    };
    let security = match security {
        "plaintext" => Security::InsecurePlaintext,
        fingerprint => Security::Tls(Trust::Pinned(fingerprint.parse()?)),
    };
    Ok(Detached {
        addr: addr.to_owned(),
        security,
        pid: pid.parse().context("the detached server sent no pid")?,
        log,
    })
}

/// The detached child: hosts the server, says where on standard output,
/// and serves until SIGTERM or SIGINT (SIGHUP is ignored: the terminal it
/// came from may close).
pub async fn serve(options: &HostOptions) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangup = signal(SignalKind::hangup()).context("cannot watch SIGHUP")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let hosted = host(options).await.context("cannot host a server")?;
    for note in &hosted.notes {
        eprintln!("{note}");
    }
    let security = match &hosted.security {
        Security::Tls(Trust::Pinned(fingerprint)) => fingerprint.to_string(),
        _ => "plaintext".to_owned(),
    };
    println!(
        "ready {} {security} {}",
        hosted.local_addr,
        std::process::id()
    );
    loop {
        tokio::select! {
            _ = hangup.recv() => continue,
            _ = terminate.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    eprintln!("stopping");
    hosted.server.stop().await;
    Ok(())
}
