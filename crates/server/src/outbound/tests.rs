//! The writer's draining, partial writes, and slow-client handling.

use super::*;

#[tokio::test]
async fn the_writer_drains_then_ends_when_every_handle_is_gone() {
    let (outbound, queue) = outbound(10, 1000);
    let second = outbound.clone();
    let (mut client, server) = tokio::io::duplex(4096);
    let writer = tokio::spawn(run_writer(server, queue, WRITE_INTERVAL));
    outbound.push(Bytes::from_static(b"one ")).unwrap();
    second.push(Bytes::from_static(b"two")).unwrap();
    drop(outbound);
    drop(second);
    assert_eq!(writer.await.unwrap(), WriterEnd::Drained);
    let mut received = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut client, &mut received)
        .await
        .unwrap();
    assert_eq!(received, b"one two");
}

#[tokio::test]
async fn what_the_socket_does_not_take_at_once_is_written_later_in_order() {
    let (outbound, queue) = outbound(100, 100_000);
    // A pipe of 16 bytes: every batch is cut short and finished later.
    let (mut client, server) = tokio::io::duplex(16);
    let writer = tokio::spawn(run_writer(server, queue, WRITE_INTERVAL));
    let frames: Vec<Vec<u8>> = (0..20u8).map(|n| vec![n; 50]).collect();
    for frame in &frames {
        outbound.push(Bytes::from(frame.clone())).unwrap();
    }
    drop(outbound);
    let mut received = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut client, &mut received)
        .await
        .unwrap();
    assert_eq!(received, frames.concat());
    assert_eq!(writer.await.unwrap(), WriterEnd::Drained);
}

#[tokio::test]
async fn a_writer_stuck_on_a_full_socket_ends_when_the_client_is_marked_slow() {
    let (outbound, queue) = outbound(3, 100_000);
    let (_client, server) = tokio::io::duplex(16);
    let writer = tokio::spawn(run_writer(server, queue, WRITE_INTERVAL));
    outbound.push(Bytes::from(vec![1; 64])).unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    // Nobody reads: the queue fills up and the client is marked slow.
    let pushed = (0..10).map(|_| outbound.push(Bytes::from(vec![2; 64])));
    assert!(pushed.into_iter().any(|r| r == Err(PushError::Slow)));
    let end = tokio::time::timeout(Duration::from_secs(1), writer).await;
    assert_eq!(end.unwrap().unwrap(), WriterEnd::Slow);
}

#[tokio::test]
async fn a_full_queue_marks_the_client_slow() {
    let (outbound, _queue) = outbound(2, 1000);
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
    let (outbound, _queue) = super::outbound(100, 10);
    outbound.push(Bytes::from_static(b"123456")).unwrap();
    assert_eq!(
        outbound.push(Bytes::from_static(b"123456")),
        Err(PushError::Slow)
    );
}
