//! A raw IRC client for the gateway's tests: writes lines, reads lines,
//! registers; and the server configuration with the gateway on.

use huddle_protocol::ServerMessage;
use huddle_server::{RunningServer, ServerConfig};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
};

use super::{Client, PATIENCE};

pub type Read = Box<dyn tokio::io::AsyncRead + Unpin + Send>;
pub type Write = Box<dyn tokio::io::AsyncWrite + Unpin + Send>;

/// A raw IRC client: writes lines, reads lines.
pub struct Irc {
    lines: tokio::io::Lines<BufReader<Read>>,
    /// The socket's write half, for tests that write raw bytes.
    pub write: Write,
}

impl Irc {
    pub async fn connect(server: &RunningServer) -> Self {
        let stream = TcpStream::connect(server.irc_addr.unwrap()).await.unwrap();
        let (read, write) = stream.into_split();
        Self::over(Box::new(read), Box::new(write))
    }

    pub fn over(read: Read, write: Write) -> Self {
        Self {
            lines: BufReader::new(read).lines(),
            write,
        }
    }

    pub async fn send(&mut self, line: &str) {
        self.write
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .unwrap();
    }

    pub async fn line(&mut self) -> String {
        match tokio::time::timeout(PATIENCE, self.lines.next_line()).await {
            Ok(Ok(Some(line))) => line,
            other => panic!("no IRC line: {other:?}"),
        }
    }

    /// Lines until one contains `needle`; returns them all, that one last.
    pub async fn until(&mut self, needle: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let line = self.line().await;
            let done = line.contains(needle);
            seen.push(line);
            if done {
                return seen;
            }
        }
    }

    /// Connects and registers as `nick` with server-time and echo-message.
    pub async fn registered(server: &RunningServer, nick: &str) -> (Self, Vec<String>) {
        let mut irc = Self::connect(server).await;
        irc.send("CAP LS 302").await;
        irc.send(&format!("NICK {nick}")).await;
        irc.send(&format!("USER {nick} 0 * :{nick} on IRC")).await;
        let ls = irc.line().await;
        assert!(
            ls.contains("CAP * LS") && ls.contains("server-time"),
            "{ls}"
        );
        irc.send("CAP REQ :server-time echo-message").await;
        let ack = irc.line().await;
        assert!(ack.contains("ACK") && ack.contains("echo-message"), "{ack}");
        irc.send("CAP END").await;
        let welcome = irc.until(" 422 ").await;
        (irc, welcome)
    }
}

pub fn gateway() -> ServerConfig {
    ServerConfig {
        irc_bind: Some(([127, 0, 0, 1], 0).into()),
        ..ServerConfig::loopback()
    }
}

/// What a native client's `Whois` of `nick` says of its key and program.
pub async fn whois(
    client: &mut Client,
    nick: &str,
) -> (Option<huddle_protocol::PublicKey>, String) {
    client
        .send(huddle_protocol::ClientMessage::Whois {
            nick: huddle_protocol::Nick::new(nick).unwrap(),
        })
        .await;
    match client
        .recv_until(|m| matches!(m, ServerMessage::WhoisReply { .. }))
        .await
    {
        ServerMessage::WhoisReply { key, client, .. } => (key, client.to_string()),
        _ => unreachable!(),
    }
}

/// The lines up to one containing `needle`, after sending `line`.
pub async fn ask(irc: &mut Irc, line: &str, needle: &str) -> String {
    irc.send(line).await;
    irc.until(needle).await.join("\n")
}
