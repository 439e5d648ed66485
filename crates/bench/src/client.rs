//! One benchmark connection, speaking huddle or IRC: connect, join, then
//! read (counting and timing every benchmark message) and, for senders,
//! write.

use std::{cell::RefCell, net::SocketAddr, rc::Rc, time::Instant};

use anyhow::{Context as _, bail};
use bytes::{Buf, BytesMut};
use huddle_protocol::{
    ChatText, ClientMessage, ClientMsgId, Hello, IdentityKey, MessageKind, Nick, RoomName,
    ShortText, encode_frame,
};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
    sync::Mutex,
};

/// A connection's read half (plain TCP or TLS).
pub(crate) type Reader = Box<dyn AsyncRead + Unpin>;
/// A connection's write half (plain TCP or TLS).
pub(crate) type Writer = Box<dyn AsyncWrite + Unpin>;

use crate::{
    payload,
    stats::{Receiver, Stats},
};

/// Which protocol to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
pub(crate) enum Protocol {
    Huddle,
    Irc,
}

/// A connected, joined client.
pub(crate) struct Client {
    /// What the server advertised in `Welcome` (huddle only).
    pub(crate) limits: Option<huddle_protocol::Limits>,
    pub(crate) reader: Reader,
    pub(crate) writer: Rc<Mutex<Writer>>,
    /// Bytes read during the handshake that belong to later frames.
    pub(crate) leftover: BytesMut,
}

async fn open(server: SocketAddr, source: Option<std::net::IpAddr>) -> anyhow::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    if let Some(ip) = source {
        socket
            .bind(SocketAddr::new(ip, 0))
            .with_context(|| format!("cannot bind source address {ip}"))?;
    }
    let stream = socket
        .connect(server)
        .await
        .with_context(|| format!("cannot connect to {server}"))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Writes all of `bytes` and flushes (TLS may hold bytes back otherwise).
pub(crate) async fn send(writer: &mut Writer, bytes: &[u8]) -> std::io::Result<()> {
    writer.write_all(bytes).await?;
    writer.flush().await
}

/// Splits the stream, after a TLS handshake if `tls` (accepting any
/// certificate: the bench measures, it does not pin).
/// Also returns the connection's channel binding (zeros without TLS).
async fn secure(stream: TcpStream, tls: bool) -> anyhow::Result<(Reader, Writer, [u8; 32])> {
    if !tls {
        let (reader, writer) = stream.into_split();
        return Ok((Box::new(reader), Box::new(writer), [0; 32]));
    }
    let connector = tokio_rustls::TlsConnector::from(huddle_protocol::tls::client_config()?);
    let stream = connector
        .connect(huddle_protocol::tls::server_name(), stream)
        .await
        .context("TLS handshake")?;
    let binding = stream.get_ref().1.export_keying_material(
        [0u8; 32],
        huddle_protocol::proof::CHANNEL_BINDING_LABEL,
        None,
    )?;
    let (reader, writer) = tokio::io::split(stream);
    Ok((Box::new(reader), Box::new(writer), binding))
}

/// Connects as `nick` (over TLS if `tls`) and joins `room`.
pub(crate) async fn connect(
    protocol: Protocol,
    tls: bool,
    server: SocketAddr,
    source: Option<std::net::IpAddr>,
    nick: &str,
    room: &str,
) -> anyhow::Result<Client> {
    let stream = open(server, source).await?;
    let (mut reader, mut writer, binding) =
        secure(stream, tls && protocol == Protocol::Huddle).await?;
    let mut buffer = BytesMut::with_capacity(4096);
    let mut limits = None;
    match protocol {
        Protocol::Huddle => {
            let key = IdentityKey::generate()?;
            let hello = ClientMessage::Hello(Hello::proving(
                &key,
                Nick::new(nick)?,
                &binding,
                ShortText::new("huddle-bench")?,
                ShortText::new(env!("CARGO_PKG_VERSION"))?,
            ));
            let join = ClientMessage::Join {
                room: RoomName::new(room)?,
                password: None,
            };
            let mut handshake = encode_frame(&hello)?.to_vec();
            handshake.extend_from_slice(&encode_frame(&join)?);
            send(&mut writer, &handshake).await?;
            // Welcome (0), then frames until Joined (2).
            loop {
                let payload = read_frame(&mut reader, &mut buffer).await?;
                match payload.first() {
                    Some(0) => {
                        if let Ok(huddle_protocol::ServerMessage::Welcome(welcome)) =
                            huddle_protocol::decode_payload(&payload)
                        {
                            limits = Some(welcome.limits);
                        }
                    }
                    Some(1) => bail!("{nick}: the server rejected the handshake"),
                    Some(12) => bail!("{nick}: the server refused to join {room}"),
                    Some(2) => break,
                    _ => {}
                }
            }
        }
        Protocol::Irc => {
            writer
                .write_all(format!("NICK {nick}\r\nUSER {nick} 0 * :{nick}\r\n").as_bytes())
                .await?;
            let mut joined = false;
            loop {
                let line = read_line(&mut reader, &mut buffer).await?;
                // ":server 001 nick :Welcome": the command is the second word.
                let command = line[..]
                    .split(|b| *b == b' ')
                    .nth(1)
                    .unwrap_or_default()
                    .to_vec();
                if line.starts_with(b"PING") {
                    let mut pong = b"PONG".to_vec();
                    pong.extend_from_slice(&line[4..]);
                    pong.extend_from_slice(b"\r\n");
                    writer.write_all(&pong).await?;
                } else if command == b"001" && !joined {
                    writer
                        .write_all(format!("JOIN {room}\r\n").as_bytes())
                        .await?;
                    joined = true;
                } else if command == b"366" {
                    break;
                } else if line.starts_with(b"ERROR")
                    // 422 (no MOTD) is an error numeric that harms nothing.
                    || (command.first() == Some(&b'4') && command != b"422")
                {
                    bail!("{nick}: {}", String::from_utf8_lossy(&line));
                }
            }
        }
    }
    Ok(Client {
        limits,
        reader,
        writer: Rc::new(Mutex::new(writer)),
        leftover: buffer,
    })
}

async fn fill(reader: &mut Reader, buffer: &mut BytesMut) -> anyhow::Result<()> {
    if buffer.capacity() - buffer.len() < 1024 {
        buffer.reserve(64 * 1024);
    }
    if reader.read_buf(buffer).await? == 0 {
        bail!("the server closed the connection");
    }
    Ok(())
}

async fn read_frame(reader: &mut Reader, buffer: &mut BytesMut) -> anyhow::Result<BytesMut> {
    loop {
        if let Some(frame) = take_frame(buffer) {
            return Ok(frame);
        }
        fill(reader, buffer).await?;
    }
}

fn take_frame(buffer: &mut BytesMut) -> Option<BytesMut> {
    let len = u32::from_be_bytes(buffer.get(..4)?.try_into().ok()?) as usize;
    if buffer.len() < 4 + len {
        return None;
    }
    buffer.advance(4);
    Some(buffer.split_to(len))
}

async fn read_line(reader: &mut Reader, buffer: &mut BytesMut) -> anyhow::Result<BytesMut> {
    loop {
        if let Some(line) = take_line(buffer) {
            return Ok(line);
        }
        fill(reader, buffer).await?;
    }
}

fn take_line(buffer: &mut BytesMut) -> Option<BytesMut> {
    let end = buffer.windows(2).position(|w| w == b"\r\n")?;
    let line = buffer.split_to(end);
    buffer.advance(2);
    Some(line)
}

/// The next complete frame (huddle) or line (IRC) in `buffer[at..]`:
/// (item start, item end, next position). Borrowing, not splitting, keeps
/// allocation off the per-delivery path.
fn next_item(protocol: Protocol, buffer: &[u8], at: usize) -> Option<(usize, usize, usize)> {
    let rest = buffer.get(at..)?;
    match protocol {
        Protocol::Huddle => {
            let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
            (rest.len() >= 4 + len).then_some((at + 4, at + 4 + len, at + 4 + len))
        }
        Protocol::Irc => {
            let newline = memchr::memchr(b'\n', rest)?;
            let end = if newline > 0 && rest[newline - 1] == b'\r' {
                newline - 1
            } else {
                newline
            };
            Some((at, at + end, at + newline + 1))
        }
    }
}

/// Reads until the connection ends, counting benchmark messages into
/// `stats` and answering keepalive pings.
pub(crate) async fn read_loop(
    protocol: Protocol,
    mut client_reader: Reader,
    writer: Rc<Mutex<Writer>>,
    mut buffer: BytesMut,
    stats: Rc<RefCell<Stats>>,
    mut receiver: Receiver,
    start: Instant,
) {
    loop {
        // One clock read per batch of frames: the batch arrived together.
        let now = start.elapsed().as_nanos() as u64;
        let mut at = 0;
        let mut pongs: Vec<Vec<u8>> = Vec::new();
        {
            let mut stats = stats.borrow_mut();
            while let Some((begin, end, next)) = next_item(protocol, &buffer, at) {
                let item = &buffer[begin..end];
                at = next;
                let text = match protocol {
                    Protocol::Huddle => payload::huddle_chat_text(item),
                    Protocol::Irc => payload::irc_privmsg_text(item),
                };
                if let Some((sender, seq, sent)) = text.and_then(payload::parse) {
                    receiver.record(&mut stats, sender, seq, now.saturating_sub(sent));
                    continue;
                }
                match protocol {
                    Protocol::Huddle if item.first() == Some(&11) => {
                        let token =
                            huddle_protocol::decode_payload::<huddle_protocol::ServerMessage>(item)
                                .ok()
                                .and_then(|m| match m {
                                    huddle_protocol::ServerMessage::Ping { token } => Some(token),
                                    _ => None,
                                });
                        if let Some(frame) = token
                            .and_then(|token| encode_frame(&ClientMessage::Pong { token }).ok())
                        {
                            pongs.push(frame.to_vec());
                        }
                    }
                    Protocol::Huddle if item.first() == Some(&5) => stats.acked += 1,
                    Protocol::Huddle if item.first() == Some(&12) => {
                        let refused = huddle_protocol::decode_payload::<
                            huddle_protocol::ServerMessage,
                        >(item)
                        .is_ok_and(|m| {
                            matches!(m, huddle_protocol::ServerMessage::Error(report) if report.id.is_some())
                        });
                        if refused {
                            stats.refused_in_room[receiver.room()] += 1;
                        }
                    }
                    Protocol::Irc if item.starts_with(b"PING") => {
                        let mut pong = b"PONG".to_vec();
                        pong.extend_from_slice(&item[4..]);
                        pong.extend_from_slice(b"\r\n");
                        pongs.push(pong);
                    }
                    _ => {}
                }
            }
        }
        buffer.advance(at);
        for pong in pongs {
            let _ = send(&mut *writer.lock().await, &pong).await;
        }
        if buffer.capacity() - buffer.len() < 4096 {
            buffer.reserve(64 * 1024);
        }
        match client_reader.read_buf(&mut buffer).await {
            Ok(0) | Err(_) => {
                stats.borrow_mut().disconnected += 1;
                return;
            }
            Ok(_) => {}
        }
    }
}

/// Encodes one benchmark message to `room`.
pub(crate) fn message(protocol: Protocol, room: &str, text: &str) -> anyhow::Result<Vec<u8>> {
    Ok(match protocol {
        Protocol::Huddle => encode_frame(&ClientMessage::Say {
            room: RoomName::new(room)?,
            id: ClientMsgId::random(),
            kind: MessageKind::Normal,
            text: ChatText::new(text)?,
        })?
        .to_vec(),
        Protocol::Irc => format!("PRIVMSG {room} :{text}\r\n").into_bytes(),
    })
}
