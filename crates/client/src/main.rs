//! `huddle`: terminal chat rooms for a LAN.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::{Context as _, bail};
use clap::Parser;
use huddle::{
    cli::{Args, Commands},
    config::Config,
    discovery::{Browser, BrowserConfig},
    host::{HostOptions, host},
    plain::{self, PlainOptions},
    transfer::AcceptPolicy,
    trust::{Security, Trust},
    tui::run::{self, Start},
    with_default_port,
};
use huddle_protocol::{DEFAULT_TCP_PORT, Nick, RoomName};
use tokio::net::lookup_host;

async fn resolve_probes(hosts: &[String], port: u16) -> Vec<SocketAddr> {
    let mut addrs = Vec::new();
    for host in hosts {
        if let Ok(found) = lookup_host(with_default_port(host, port)).await {
            addrs.extend(found.filter(SocketAddr::is_ipv4));
        }
    }
    addrs
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HUDDLE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// The TUI was started without a terminal.
#[derive(Debug, thiserror::Error)]
#[error("huddle needs a terminal; use --plain for scripts (see huddle --help)")]
struct NeedsTerminal;

/// Runs huddle; an error is printed through the sanitiser (it may carry
/// text a server sent, such as a `Reject`'s) and exits with status 1 (2 for
/// a plain-mode connection failure).
#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run_main().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            let text = huddle::sanitize::sanitize_lines(&format!("{err:#}")).join(" ⏎ ");
            eprintln!("Error: {text}");
            // Plain mode: 1 when lines were refused, 2 when the connection
            // failed (scripts tell them apart).
            let code = match err.downcast_ref::<huddle::plain::PlainError>() {
                Some(plain) => plain.exit_code(),
                None if err.is::<NeedsTerminal>() => 2,
                None => 1,
            };
            std::process::ExitCode::from(code)
        }
    }
}

/// On SIGTERM, SIGHUP or SIGINT: removes unfinished downloads, gives the
/// terminal back if a TUI holds it, and exits (128 + the signal's number).
fn stop_on_signals() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut hangup = signal(SignalKind::hangup()).context("cannot watch SIGHUP")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
    tokio::spawn(async move {
        let code = tokio::select! {
            _ = terminate.recv() => 143,
            _ = hangup.recv() => 129,
            _ = interrupt.recv() => 130,
        };
        huddle::transfer::parts::remove_all();
        if ratatui::crossterm::terminal::is_raw_mode_enabled().unwrap_or(false) {
            ratatui::restore();
        }
        std::process::exit(code);
    });
    Ok(())
}

async fn run_main() -> anyhow::Result<()> {
    let args = Args::parse();
    if matches!(args.command, Some(Commands::ServeHosted)) {
        init_logging();
        return huddle::detach::serve(&host_options(&args)).await;
    }
    stop_on_signals()?;
    let config_path = args.config.clone().or_else(Config::default_path);
    let mut config = match &config_path {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let mut probes: Vec<String> = args.probes.clone();
    probes.extend(config.probe.iter().cloned());
    probes.extend(
        config
            .known_servers
            .iter()
            .map(|s| s.rsplit_once(':').map_or(s.as_str(), |(h, _)| h).to_owned()),
    );
    let browser = BrowserConfig {
        port: args.discovery_port,
        broadcast: !args.loopback_only,
        unicast: resolve_probes(&probes, args.discovery_port).await,
        ..BrowserConfig::default()
    };

    let known_servers = config_path
        .as_deref()
        .and_then(std::path::Path::parent)
        .map(|dir| dir.join("known_servers"))
        .or_else(huddle::trust::default_known_servers)
        .context("no config directory for the known-servers file: pass --config FILE")?;
    if let Some(Commands::Discover { timeout, json }) = &args.command {
        init_logging();
        let browser = Browser::new(browser).context("cannot open a UDP socket for discovery")?;
        let mut servers = browser
            .discover(Duration::from_secs_f64(timeout.max(0.1)))
            .await;
        if let Ok(known) = huddle::trust::KnownServers::load(&known_servers) {
            huddle::discovery::mark_trust(&mut servers, &known);
        }
        if *json {
            println!("{}", serde_json::json!({ "servers": servers }));
        } else {
            huddle::discovery::print_table(&servers);
        }
        return Ok(());
    }

    if let Some(Commands::Trust { addr }) = &args.command {
        let addr = with_default_port(addr, DEFAULT_TCP_PORT);
        return huddle::transport::trust_server(&addr, &known_servers).await;
    }
    // This installation's key, beside the config (a one-off key when
    // there is no config directory).
    let key = std::sync::Arc::new(match &config_path {
        Some(path) => {
            let file = path.with_file_name(huddle::identity::KEY_FILE);
            huddle::identity::load_or_create(&file)?
        }
        None => huddle_protocol::IdentityKey::generate()?,
    });
    let security = match (args.insecure_plaintext, args.fingerprint) {
        (true, _) => Security::InsecurePlaintext,
        (false, Some(pinned)) => Security::Tls(Trust::Pinned(pinned)),
        (false, None) => Security::Tls(Trust::KnownServers(known_servers)),
    };

    if let Some(nick) = &args.nick {
        Nick::new(nick.clone()).with_context(|| format!("--nick {nick:?}"))?;
    }
    let host_options = host_options(&args);
    // `--host --detach`: the server in a process of its own, pinned.
    let detached = match args.detach {
        true => {
            let log = host_options
                .data_dir
                .clone()
                .unwrap_or_else(std::env::temp_dir)
                .join("server.log");
            let mut child_args = vec![
                "--name".to_owned(),
                host_options.name.clone(),
                "--port".to_owned(),
                args.port.to_string(),
                "--discovery-port".to_owned(),
                args.discovery_port.to_string(),
            ];
            if args.insecure_plaintext {
                child_args.push("--insecure-plaintext".to_owned());
            }
            if args.no_discovery {
                child_args.extend(["--host".to_owned(), "--no-discovery".to_owned()]);
            }
            Some(huddle::detach::spawn(child_args, log).await?)
        }
        false => None,
    };

    let downloads = args
        .downloads
        .clone()
        .or_else(dirs::download_dir)
        .or_else(|| dirs::home_dir().map(|home| home.join("Downloads")))
        .unwrap_or_else(|| PathBuf::from("downloads"));
    let accept = AcceptPolicy {
        from: args.accept_files_from.clone(),
        below: args.accept_files_below,
    };
    // Unfinished downloads a client that is gone left behind.
    let stale = huddle::transfer::parts::clean_stale(&downloads);
    if stale > 0 {
        tracing::info!(stale, dir = %downloads.display(), "removed unfinished downloads");
    }

    if args.plain {
        init_logging();
        let Some(nick) = args.nick.clone().or_else(|| config.nick.clone()) else {
            bail!("plain mode needs a nick: pass --nick NICK");
        };
        let rooms = if args.rooms.is_empty() {
            vec![RoomName::new("#general")?]
        } else {
            args.rooms
                .iter()
                .map(|room| RoomName::new(room.clone()).with_context(|| format!("--room {room:?}")))
                .collect::<anyhow::Result<_>>()?
        };
        let mut hosted = None;
        let (addr, security) = match (&args.connect, args.host, &detached) {
            (Some(addr), ..) => (with_default_port(addr, DEFAULT_TCP_PORT), security),
            (None, true, Some(detached)) => {
                eprintln!("{}", detached.note());
                (detached.addr.clone(), detached.security.clone())
            }
            (None, true, None) => {
                let server = host(&host_options).await.context("cannot host a server")?;
                let found = (server.local_addr.clone(), server.security.clone());
                hosted = Some(server);
                found
            }
            (None, false, _) => bail!("plain mode needs --connect HOST[:PORT] or --host"),
        };
        remember_nick(&mut config, config_path.as_deref(), &nick);
        let options = PlainOptions {
            addr,
            security,
            nick: Nick::new(nick)?,
            key: key.clone(),
            rooms,
            history: args.history,
            downloads,
            accept,
        };
        let result = plain::run(options, tokio::io::stdin(), tokio::io::stdout()).await;
        if let Some(hosted) = hosted {
            hosted.server.stop().await;
        }
        return result.context("plain mode failed");
    }

    let start = match (&args.connect, args.host, &detached) {
        (Some(addr), ..) => Start::Connect {
            addr: with_default_port(addr, DEFAULT_TCP_PORT),
            rooms: args.rooms.clone(),
        },
        (None, true, Some(detached)) => Start::Connect {
            addr: detached.addr.clone(),
            rooms: args.rooms.clone(),
        },
        (None, true, None) => Start::Host {
            rooms: args.rooms.clone(),
        },
        (None, false, _) => Start::Browser,
    };
    // The TUI draws on a terminal; without one (a pipe, a file, cron) say
    // what to use instead of failing inside the terminal library.
    use std::io::IsTerminal as _;
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        return Err(anyhow::Error::new(NeedsTerminal));
    }
    if let Some(nick) = &args.nick {
        remember_nick(&mut config, config_path.as_deref(), nick);
    }
    run::run(run::Options {
        config,
        config_path,
        start,
        nick: args.nick.clone(),
        browser,
        host: host_options,
        downloads,
        accept,
        security,
        key,
        pinned: detached
            .as_ref()
            .map(|detached| (detached.addr.clone(), detached.security.clone())),
        notes: detached.iter().map(|detached| detached.note()).collect(),
    })
    .await
}

/// Keeps the nick given on the command line in the config file (the key
/// is in its own file), so the next run, plain or TUI, with or without
/// `--nick`, is the same user.
fn remember_nick(config: &mut Config, path: Option<&std::path::Path>, nick: &str) {
    if config.nick.as_deref() == Some(nick) {
        return;
    }
    config.nick = Some(nick.to_owned());
    if let Some(path) = path
        && let Err(err) = config.save(path)
    {
        eprintln!("warning: {err}");
    }
}

/// How `--host` (and its detached server) hosts.
fn host_options(args: &Args) -> HostOptions {
    let name = args.name.clone().unwrap_or_else(|| {
        let user = std::env::var("USER").unwrap_or_else(|_| "someone".into());
        format!("{user}'s huddle")
    });
    HostOptions {
        name,
        port: args.port,
        discovery_port: (!args.no_discovery).then_some(args.discovery_port),
        data_dir: dirs::data_dir().map(|dir| dir.join("huddle").join("hosted")),
        insecure_plaintext: args.insecure_plaintext,
    }
}
