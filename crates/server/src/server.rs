//! The accept loop: admission limits (total and per address), one task per
//! connection, and graceful shutdown.

use std::{net::SocketAddr, sync::Arc};

use huddle_protocol::ServerId;
use tokio::{
    net::{TcpListener, TcpSocket},
    task::JoinHandle,
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tracing::{info, warn};

mod errors;
pub use errors::ServerError;

use crate::{
    admission::Admissions,
    config::ServerConfig,
    connection::{Context, reject, serve},
    hub::{Hub, Store, acknowledge},
    identity::ServerIdentity,
    inbound::{InboundLimits, PartialFrames},
    metrics::ConnectionOutcome,
    outbound::Flushers,
    store::StoreLimits,
};

/// A bound, not yet running, huddle server.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    context: Arc<Context>,
    discovery: Option<crate::discovery::Responder>,
    /// The HTTP status listener, with `--http`.
    status: Option<TcpListener>,
    /// The IRC gateway's listener, with `--irc-bind`.
    irc: Option<TcpListener>,
    /// The IRC gateway's TLS listener, with `--irc-tls-bind`.
    irc_tls: Option<TcpListener>,
    /// What the cluster's publisher drains, with `--cluster`.
    cluster_queue: Option<crate::cluster::PublishQueue>,
}

/// Binds a listener with the given backlog (the kernel's queue of
/// connections not accepted yet; 128 by default elsewhere).
fn listen(addr: SocketAddr, backlog: u32) -> std::io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// A listener on `bind` if one is configured (the side doors: status page,
/// IRC gateway); a bind failure is `error`'s.
fn listen_if(
    bind: Option<SocketAddr>,
    backlog: u32,
    error: impl Fn(SocketAddr, std::io::Error) -> ServerError,
) -> Result<Option<TcpListener>, ServerError> {
    bind.map(|addr| listen(addr, backlog).map_err(|source| error(addr, source)))
        .transpose()
}

/// Raises this process's soft limit on open files to its hard limit, once:
/// every connection is a file, and the common soft limit of 1,024 would
/// stop the server far below `max_clients`. Logs both limits.
fn raise_open_file_limit() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let before = rlimit::getrlimit(rlimit::Resource::NOFILE);
        match (before, rlimit::increase_nofile_limit(u64::MAX)) {
            (Ok((soft, hard)), Ok(now)) => {
                info!(soft_before = soft, soft = now, hard, "open file limit");
            }
            (_, Err(err)) | (Err(err), _) => warn!(%err, "cannot raise the open file limit"),
        }
    });
}

/// A server running in the background (see [`Server::spawn`]).
#[derive(Debug)]
pub struct RunningServer {
    /// The chat address it listens on.
    pub addr: SocketAddr,
    /// The discovery address it listens on, if discovery is on.
    pub discovery_addr: Option<SocketAddr>,
    /// The HTTP status address it listens on, if any.
    pub status_addr: Option<SocketAddr>,
    /// The IRC gateway's address, if any.
    pub irc_addr: Option<SocketAddr>,
    /// The IRC gateway's TLS address, if any.
    pub irc_tls_addr: Option<SocketAddr>,
    /// The server's id, as in its beacons and `Welcome`.
    pub server_id: ServerId,
    /// The SHA-256 of its certificate.
    pub fingerprint: huddle_protocol::Fingerprint,
    discovery_stats: Option<Arc<crate::discovery::DiscoveryStats>>,
    hub: Arc<Hub>,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

impl RunningServer {
    /// How many clients are connected (greeted) right now.
    pub fn clients(&self) -> usize {
        self.hub.user_count()
    }

    /// Shuts the server down gracefully and waits for it to finish.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
    }

    /// What the discovery responder has done so far, if discovery is on.
    pub fn discovery_counts(&self) -> Option<crate::DiscoveryCounts> {
        self.discovery_stats.as_ref().map(|stats| stats.snapshot())
    }

    /// A token that shuts the server down when cancelled.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }
}

impl Server {
    /// Binds the chat listener (and the discovery responder, if configured).
    pub async fn bind(config: ServerConfig) -> Result<Self, ServerError> {
        raise_open_file_limit();
        let listener =
            listen(config.bind, config.listen_backlog).map_err(|source| ServerError::Bind {
                addr: config.bind,
                source,
            })?;
        let discovery = match &config.discovery {
            Some(discovery) => Some(crate::discovery::Responder::bind(discovery).map_err(
                |source| ServerError::Discovery {
                    addr: discovery.bind,
                    source,
                },
            )?),
            None => None,
        };
        let metrics = Arc::new(crate::metrics::Metrics::default());
        let status = listen_if(config.http, 64, |addr, source| ServerError::Http {
            addr,
            source,
        })?;
        let irc_error = |addr, source| ServerError::Irc { addr, source };
        let irc = listen_if(config.irc_bind, 128, irc_error)?;
        let irc_tls = listen_if(config.irc_tls_bind, 128, irc_error)?;
        let (cluster, cluster_queue) = if config.cluster.is_empty() {
            (None, None)
        } else {
            let (link, queue) = crate::cluster::ClusterLink::join(
                (&config.cluster, &config.cluster_tls),
                config.history_retention,
                config.nick_binding,
            )
            .await?;
            (Some(Arc::new(link)), Some(queue))
        };
        let store = match &config.data_dir {
            Some(_) if cluster.is_some() => None,
            Some(dir) => {
                let limits = StoreLimits {
                    retention: config.history_retention,
                    max_bytes: config.max_history_bytes,
                };
                let metrics = metrics.clone();
                let report = move |commit: crate::store::Commit<_>| {
                    metrics.commit(commit.took, commit.durable);
                    acknowledge(commit);
                };
                Some(Store::open(dir, limits, report)?)
            }
            None => None,
        };
        let identity = Arc::new(match (&cluster, &config.data_dir) {
            (Some(link), _) => crate::cluster::shared_identity(link.jetstream()).await?,
            (None, Some(dir)) => ServerIdentity::load_or_create(dir)?,
            (None, None) => ServerIdentity::generate()?,
        });
        let mut hub = Hub::new(&config, store, metrics.clone());
        if let Some(link) = cluster {
            hub = hub.with_cluster(link);
        }
        let tls = identity.tls_config()?;
        let irc_tls_config = identity.irc_tls_config()?;
        let flusher_count = std::thread::available_parallelism().map_or(1, usize::from);
        let inbound = Arc::new(InboundLimits {
            frame_deadline: config.frame_deadline,
            partial: PartialFrames::new(config.partial_frame_budget),
            metrics: metrics.clone(),
        });
        let context = Arc::new(Context {
            flushers: Flushers::new(flusher_count, config.write_interval, &metrics),
            hub: Arc::new(hub),
            config: Arc::new(config),
            server_id: identity.server_id(),
            identity,
            tls,
            irc_tls: irc_tls_config,
            status_addr: status.as_ref().and_then(|s| s.local_addr().ok()),
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
            password_guesses: Arc::default(),
            inbound,
        });
        Ok(Self {
            listener,
            context,
            discovery,
            status,
            irc,
            irc_tls,
            cluster_queue,
        })
    }

    /// The chat address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or(self.context.config.bind)
    }

    /// The discovery address actually bound, if discovery is on.
    pub fn discovery_addr(&self) -> Option<SocketAddr> {
        self.discovery.as_ref().and_then(|d| d.local_addr().ok())
    }

    /// The IRC gateway's address actually bound, with `--irc-bind`.
    pub fn irc_addr(&self) -> Option<SocketAddr> {
        self.irc.as_ref().and_then(|s| s.local_addr().ok())
    }

    /// The IRC gateway's TLS address actually bound, with `--irc-tls-bind`.
    pub fn irc_tls_addr(&self) -> Option<SocketAddr> {
        self.irc_tls.as_ref().and_then(|s| s.local_addr().ok())
    }

    /// The HTTP status address actually bound, with `--http`.
    pub fn status_addr(&self) -> Option<SocketAddr> {
        self.status.as_ref().and_then(|s| s.local_addr().ok())
    }

    /// This server's id.
    pub fn server_id(&self) -> ServerId {
        self.context.server_id
    }

    /// The SHA-256 of this server's certificate: what clients pin.
    pub fn fingerprint(&self) -> huddle_protocol::Fingerprint {
        self.context.identity.fingerprint()
    }

    /// Runs in a background task until [`RunningServer::stop`].
    pub fn spawn(self) -> RunningServer {
        let shutdown = CancellationToken::new();
        RunningServer {
            addr: self.local_addr(),
            discovery_addr: self.discovery_addr(),
            status_addr: self.status_addr(),
            irc_addr: self.irc_addr(),
            irc_tls_addr: self.irc_tls_addr(),
            server_id: self.server_id(),
            fingerprint: self.fingerprint(),
            discovery_stats: self.discovery.as_ref().map(|d| d.stats.clone()),
            hub: self.context.hub.clone(),
            shutdown: shutdown.clone(),
            task: tokio::spawn(async move { self.run(shutdown).await }),
        }
    }

    /// Serves until `shutdown` is cancelled, then says `Bye` to every client,
    /// lets queued frames flush (bounded by the flush timeout) and returns.
    pub async fn run(self, shutdown: CancellationToken) {
        let Server {
            listener,
            context,
            discovery,
            status,
            irc,
            irc_tls,
            cluster_queue,
        } = self;
        let config = context.config.clone();
        info!(addr = %listener.local_addr().map_or(config.bind, |a| a), name = %config.name, "listening");
        let tracker = context.tasks.clone();
        context.flushers.start(&tracker, &context.shutdown);
        tracker.spawn(crate::deadlines::run_deadlines(
            context.hub.clone(),
            context.shutdown.clone(),
        ));
        if let (Some(link), Some(queue)) = (context.hub.cluster(), cluster_queue) {
            let hub = context.hub.clone();
            let bound = listener.local_addr().unwrap_or(config.bind);
            let advertised = crate::cluster::advertised(&config.advertise, bound);
            crate::cluster::start(
                link.clone(),
                queue,
                hub,
                (advertised, context.password_guesses.clone()),
                &tracker,
                &context.shutdown,
            );
        }
        if let Some(status) = status {
            start_status(status, &context, discovery.as_ref());
        }
        if let Some(discovery) = discovery {
            let port = listener
                .local_addr()
                .map_or(config.bind.port(), |a| a.port());
            tracker.spawn(discovery.run(context.clone(), port, context.shutdown.clone()));
        }
        let admissions = Arc::new(Admissions::default());
        let marks = Arc::new(crate::irc::ReplayMarks::default());
        for (listener, tls) in [(irc, false), (irc_tls, true)] {
            if let Some(listener) = listener {
                let gateway = crate::irc::serve(
                    (listener, tls),
                    context.clone(),
                    admissions.clone(),
                    marks.clone(),
                );
                tracker.spawn(gateway);
            }
        }
        loop {
            let accepted = tokio::select! {
                () = shutdown.cancelled() => break,
                accepted = listener.accept() => accepted,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Usually out of file descriptors: back off instead of spinning.
                    warn!(%err, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            match admissions.admit(peer.ip(), &config) {
                Ok(admission) => {
                    let context = context.clone();
                    tracker.spawn(serve(stream, peer, context, admission));
                }
                Err((code, text)) => {
                    info!(%peer, ?code, "connection refused");
                    (context.hub.metrics()).connection(ConnectionOutcome::RefusedByLimits);
                    let context = context.clone();
                    tracker.spawn(async move {
                        crate::transport::refuse(stream, peer, &context, reject(code, text)).await;
                    });
                }
            }
        }
        drop(listener);
        info!("shutting down");
        context.shutdown.cancel();
        tracker.close();
        let grace = config.flush_timeout + crate::dispatch::LAST_WORDS_TIMEOUT;
        if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
            warn!("some connections did not finish in time");
        }
        context.hub.close();
    }
}

/// Starts the HTTP status side door and its once-a-second sampler.
fn start_status(
    listener: TcpListener,
    context: &Arc<Context>,
    discovery: Option<&crate::discovery::Responder>,
) {
    let sampled = crate::status::Sampled::default();
    let sources = Arc::new(crate::status::Sources {
        context: context.clone(),
        discovery: discovery.map(|d| d.stats.clone()),
        sampled: sampled.clone(),
    });
    let tasks = &context.tasks;
    tasks.spawn(crate::status::run_sampler(
        sampled,
        context.hub.clone(),
        context.shutdown.clone(),
    ));
    tasks.spawn(crate::status::serve(
        listener,
        sources,
        tasks.clone(),
        context.shutdown.clone(),
    ));
}
