//! The queue, the flusher and the writer task over real loopback sockets:
//! draining, a full socket handed over and back, and slow clients.

use std::sync::Arc;

use bytes::Bytes;
use tokio::{
    io::{AsyncRead, AsyncReadExt},
    net::{TcpListener, TcpSocket, TcpStream},
};

use super::*;
use crate::link;

/// A connected pair with small socket buffers, so a socket fills quickly:
/// the server's write half and the client.
async fn pair() -> (WriteLink, TcpStream) {
    let (server, client) = tcp_pair().await;
    let (_read, write) = link::plain(server);
    (write, client)
}

/// The same over TLS: the server's write half and the client's stream.
async fn tls_pair() -> (WriteLink, Box<dyn AsyncRead + Unpin + Send>) {
    let (server, client) = tcp_pair().await;
    let identity = crate::identity::ServerIdentity::generate().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(identity.tls_config().unwrap());
    let connector =
        tokio_rustls::TlsConnector::from(huddle_protocol::tls::client_config().unwrap());
    let (server, client) = tokio::join!(
        acceptor.accept(server),
        connector.connect(huddle_protocol::tls::server_name(), client)
    );
    let (_read, write) = link::tls(server.unwrap());
    (write, Box::new(client.unwrap()))
}

async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpSocket::new_v4().unwrap();
    client.set_recv_buffer_size(4096).unwrap();
    let client = client
        .connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    socket2::SockRef::from(&server)
        .set_send_buffer_size(4096)
        .unwrap();
    (server, client)
}

fn running_flusher() -> Arc<Flusher> {
    let flusher = Flusher::new(WRITE_INTERVAL, std::sync::Arc::default());
    tokio::spawn(flusher.clone().run());
    flusher
}

#[tokio::test]
async fn the_writer_drains_then_ends_when_every_handle_is_gone() {
    let (socket, mut client) = tls_pair().await;
    let (outbound, queue) = outbound(10, 1000, running_flusher());
    let second = outbound.clone();
    let writer = tokio::spawn(run_writer(socket, queue));
    outbound.push(Bytes::from_static(b"one ")).unwrap();
    second.push(Bytes::from_static(b"two")).unwrap();
    drop(outbound);
    drop(second);
    assert_eq!(writer.await.unwrap(), WriterEnd::Drained);
    let mut received = Vec::new();
    client.read_to_end(&mut received).await.unwrap();
    assert_eq!(received, b"one two");
}

#[tokio::test]
async fn a_full_socket_is_waited_for_and_everything_arrives_in_order() {
    let (socket, client) = pair().await;
    full_socket_is_waited_for(socket, Box::new(client)).await;
}

#[tokio::test]
async fn a_full_tls_socket_is_waited_for_and_everything_arrives_in_order() {
    // With TLS, what the socket does not take waits encrypted in rustls:
    // the writer task must still wait for it (a backlog, not a rest).
    let (socket, client) = tls_pair().await;
    full_socket_is_waited_for(socket, client).await;
}

async fn full_socket_is_waited_for(
    socket: WriteLink,
    mut client: Box<dyn AsyncRead + Unpin + Send>,
) {
    let (outbound, queue) = outbound(1000, 1 << 20, running_flusher());
    let writer = tokio::spawn(run_writer(socket, queue));
    // Far more than the socket buffers hold while the client is not reading.
    let frames: Vec<Vec<u8>> = (0..200u32).map(|n| n.to_be_bytes().repeat(250)).collect();
    for frame in &frames {
        outbound.push(Bytes::from(frame.clone())).unwrap();
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        !matches!(*lock(&outbound.shared.socket), Slot::Ready(_)),
        "the socket was not handed to the writer task"
    );
    // More frames while the writer task holds the socket.
    let late: Vec<u8> = b"late".repeat(100);
    outbound.push(Bytes::from(late.clone())).unwrap();
    drop(outbound);
    let mut received = Vec::new();
    client.read_to_end(&mut received).await.unwrap();
    let mut expected = frames.concat();
    expected.extend_from_slice(&late);
    assert_eq!(received.len(), expected.len());
    assert!(received == expected, "bytes out of order");
    assert_eq!(writer.await.unwrap(), WriterEnd::Drained);
}

#[tokio::test]
async fn a_writer_stuck_on_a_full_socket_ends_when_the_client_is_marked_slow() {
    let (socket, _client) = pair().await;
    let (outbound, queue) = outbound(100, 100_000, running_flusher());
    let writer = tokio::spawn(run_writer(socket, queue));
    // Nobody reads: the socket fills, then the queue, and the client is
    // marked slow.
    let mut pushed = Vec::new();
    for _ in 0..200 {
        pushed.push(outbound.push(Bytes::from(vec![2; 1024])));
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(pushed.contains(&Err(PushError::Slow)));
    let end = tokio::time::timeout(Duration::from_secs(1), writer).await;
    assert_eq!(end.unwrap().unwrap(), WriterEnd::Slow);
}

#[tokio::test]
async fn a_full_queue_marks_the_client_slow() {
    let flusher = Flusher::new(WRITE_INTERVAL, std::sync::Arc::default());
    let (outbound, _queue) = outbound(2, 1000, flusher.clone());
    outbound.push(Bytes::from_static(b"a")).unwrap();
    outbound.push(Bytes::from_static(b"b")).unwrap();
    assert_eq!(
        outbound.push(Bytes::from_static(b"c")),
        Err(PushError::Slow)
    );
    assert_eq!(
        outbound.push(Bytes::from_static(b"d")),
        Err(PushError::Slow)
    );
    let (outbound, _queue) = super::outbound(100, 10, flusher);
    outbound.push(Bytes::from_static(b"123456")).unwrap();
    assert_eq!(
        outbound.push(Bytes::from_static(b"123456")),
        Err(PushError::Slow)
    );
}
