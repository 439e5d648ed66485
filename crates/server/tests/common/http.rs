//! A real HTTP/1.1 client (hyper's) for the status side door.

use std::net::SocketAddr;

use http_body_util::{BodyExt, Empty};
use hyper::{HeaderMap, Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// One response, its body read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn content_type(&self) -> &str {
        self.headers
            .get(hyper::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// Sends `method path` on a new connection and reads the answer.
pub async fn request(addr: SocketAddr, method: Method, path: &str) -> Reply {
    tokio::time::timeout(super::PATIENCE, try_request(addr, method, path, None))
        .await
        .expect("no HTTP answer in time")
        .unwrap()
}

/// `GET path` with an `Accept` header.
pub async fn get_accepting(addr: SocketAddr, path: &str, accept: &str) -> Reply {
    tokio::time::timeout(
        super::PATIENCE,
        try_request(addr, Method::GET, path, Some(accept)),
    )
    .await
    .expect("no HTTP answer in time")
    .unwrap()
}

/// [`request`], with failures returned.
pub async fn try_request(
    addr: SocketAddr,
    method: Method,
    path: &str,
    accept: Option<&str>,
) -> Result<Reply, Box<dyn std::error::Error + Send + Sync>> {
    let stream = TcpStream::connect(addr).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let driver = tokio::spawn(connection);
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, addr.to_string());
    if let Some(accept) = accept {
        request = request.header(hyper::header::ACCEPT, accept);
    }
    let request = request.body(Empty::<bytes::Bytes>::new())?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await?.to_bytes();
    drop(sender);
    let _ = driver.await;
    Ok(Reply {
        status,
        headers,
        body: String::from_utf8(body.to_vec())?,
    })
}

pub async fn get(addr: SocketAddr, path: &str) -> Reply {
    request(addr, Method::GET, path).await
}
