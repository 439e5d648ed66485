//! The HTTP side door (`--http ADDR`, off by default): a status page for a
//! browser, the same as JSON, Prometheus metrics and a health check, on
//! hyper and the server's own runtime. It shares nothing with chat but
//! read access to the hub, so a bad HTTP client cannot slow a chat client:
//! at most [`MAX_CONNECTIONS`] at once, headers within [`HEADER_TIMEOUT`]
//! and [`MAX_HEADER_BYTES`] (hyper answers 431 past it), and every
//! connection closed after [`CONNECTION_LIFETIME`].
//!
//! `page.rs` renders the HTML, `snapshot.rs` reads the state (and is the
//! JSON), `prometheus.rs` the metrics, `sampler.rs` reads once a second
//! what is too costly to read per request (rates, queue depths).

mod page;
mod prometheus;
mod sampler;
mod snapshot;

use std::{convert::Infallible, net::SocketAddr, sync::Arc, time::Duration};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, Response, StatusCode, body::Incoming, header, service::service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
pub(crate) use sampler::{Sampled, run_sampler};
pub(crate) use snapshot::Sources;
use tokio::{net::TcpListener, sync::Semaphore};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tracing::{debug, info};

/// HTTP connections served at once; more are closed at once.
pub(crate) const MAX_CONNECTIONS: usize = 64;
/// A request's headers must arrive whole within this (slow-loris).
pub(crate) const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// The most a request's headers may take (hyper's smallest buffer bound).
pub(crate) const MAX_HEADER_BYTES: usize = 8 * 1024;
/// An HTTP connection is closed this long after it was accepted, whatever
/// it is doing (pages are small; a scraper reconnects).
pub(crate) const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);

type Body = Full<Bytes>;

/// What answers requests: the server's parts and its metrics registry.
#[derive(Debug)]
struct Site {
    sources: Arc<Sources>,
    registry: prometheus_client::registry::Registry,
}

/// Serves HTTP on `listener` until `shutdown`; every connection is a task
/// on `tasks`.
pub(crate) async fn serve(
    listener: TcpListener,
    sources: Arc<Sources>,
    tasks: TaskTracker,
    shutdown: CancellationToken,
) {
    let site = Arc::new(Site {
        registry: prometheus::registry(sources.clone()),
        sources,
    });
    if let Ok(addr) = listener.local_addr() {
        info!(%addr, "status page on http://{addr}/");
    }
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    debug!(%err, "HTTP accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            debug!(%peer, "HTTP connection refused: too many at once");
            continue;
        };
        let site = site.clone();
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
            let _slot = slot;
            serve_connection(stream, peer, site, shutdown).await;
        });
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    site: Arc<Site>,
    shutdown: CancellationToken,
) {
    let service = service_fn(move |request: Request<Incoming>| {
        let site = site.clone();
        async move { Ok::<_, Infallible>(site.respond(&request)) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_HEADER_BYTES)
        .serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        () = shutdown.cancelled() => {}
        () = tokio::time::sleep(CONNECTION_LIFETIME) => {}
        served = connection => {
            if let Err(err) = served {
                debug!(%peer, %err, "HTTP connection ended");
            }
        }
    }
}

fn reply(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Ok(value) = header::HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    response
}

const TEXT: &str = "text/plain; charset=utf-8";

impl Site {
    /// Answers one request (hyper leaves the body out for `HEAD`).
    fn respond(&self, request: &Request<Incoming>) -> Response<Body> {
        if request.method() != Method::GET && request.method() != Method::HEAD {
            let mut response = reply(
                StatusCode::METHOD_NOT_ALLOWED,
                TEXT,
                "only GET and HEAD are served here\n",
            );
            response
                .headers_mut()
                .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        match request.uri().path() {
            "/" => {
                let page = page::render(&self.sources.snapshot());
                reply(StatusCode::OK, "text/html; charset=utf-8", page)
            }
            "/status.json" => match serde_json::to_vec_pretty(&self.sources.snapshot()) {
                Ok(json) => reply(StatusCode::OK, "application/json", json),
                Err(err) => internal(&err),
            },
            "/metrics" => match prometheus::render(&self.registry) {
                Ok(text) if wants_openmetrics(request) => {
                    reply(StatusCode::OK, prometheus::OPENMETRICS, text)
                }
                Ok(text) => reply(
                    StatusCode::OK,
                    prometheus::TEXT_FORMAT,
                    prometheus::to_text_format(&text),
                ),
                Err(err) => internal(&err),
            },
            "/healthz" => match self.sources.health() {
                Ok(()) => reply(StatusCode::OK, TEXT, "ok\n"),
                Err(reason) => reply(StatusCode::SERVICE_UNAVAILABLE, TEXT, format!("{reason}\n")),
            },
            _ => reply(
                StatusCode::NOT_FOUND,
                TEXT,
                "not found; try /, /status.json, /metrics or /healthz\n",
            ),
        }
    }
}

/// Whether the client asked for OpenMetrics (Prometheus does); others get
/// the classic text format.
fn wants_openmetrics(request: &Request<Incoming>) -> bool {
    request
        .headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.contains("application/openmetrics-text"))
}

fn internal(err: &dyn std::fmt::Display) -> Response<Body> {
    reply(
        StatusCode::INTERNAL_SERVER_ERROR,
        TEXT,
        format!("cannot render this: {err}\n"),
    )
}
