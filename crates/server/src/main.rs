//! `huddle-server`: host huddle chat rooms on this machine's network.

use std::io::Write as _;

use anyhow::Context as _;
use clap::Parser;
use huddle_server::{
    Server,
    cli::{Args, LogFormat, config_from},
};
use tokio_util::sync::CancellationToken;

fn init_logging(args: &Args) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log)
        .with_context(|| format!("invalid --log filter {:?}", args.log))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match args.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn termination() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("cannot watch SIGINT")?,
        _ = terminate.recv() => {}
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = config_from(&args)?;
    if args.fingerprint {
        // A cluster's nodes share one identity, kept in NATS.
        let identity = match (&config.cluster[..], config.data_dir.as_deref()) {
            ([], dir) => {
                let dir = dir.context("no data directory")?;
                huddle_server::ServerIdentity::load_or_create(dir)
                    .context("cannot read the server's identity")?
            }
            (urls, _) => huddle_server::cluster_identity(urls, &config.cluster_tls)
                .await
                .context("cannot read the cluster's identity")?,
        };
        let fingerprint = identity.fingerprint();
        // `huddle-server --fingerprint | head -1` closes the pipe early:
        // that is not an error (println! would panic on it).
        let printed = writeln!(std::io::stdout(), "{fingerprint}\n{}", fingerprint.short());
        return match printed {
            Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => {
                Err(anyhow::Error::new(err).context("cannot print the fingerprint"))
            }
            _ => Ok(()),
        };
    }
    init_logging(&args)?;
    match (&config.data_dir, config.cluster.is_empty()) {
        (_, false) => tracing::info!("cluster mode: history is kept in NATS JetStream"),
        (Some(dir), true) => tracing::info!(data_dir = %dir.display(), "history is stored on disk"),
        (None, true) => tracing::info!("ephemeral: history is kept in memory only"),
    }
    let insecure = config.insecure_plaintext;
    let server = Server::bind(config)
        .await
        .context("cannot start the server")?;
    let fingerprint = server.fingerprint();
    tracing::info!(%fingerprint, short = %fingerprint.short(), "identity (clients pin this)");
    if insecure {
        tracing::warn!(
            "--insecure-plaintext: clients may connect without TLS; what they send can be read on the network"
        );
    }
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(server.run(shutdown.clone()));
    termination().await?;
    shutdown.cancel();
    run.await.context("the server task failed")?;
    Ok(())
}
