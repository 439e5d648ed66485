//! Before an IRC user may chat: CAP negotiation, SASL PLAIN if the user
//! logs in (`sasl.rs`), NICK and USER (PASS is read and ignored: a huddle
//! server has no password), then the nick is registered in the hub like a
//! native client's — as the logged-in key, or without one — and the welcome
//! numerics (001–005, with an ISUPPORT that tells the truth) and the MOTD
//! are sent.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use huddle_protocol::{
    ClientId, ConnectionId, Fingerprint, Nick, PublicKey,
    limits::{MAX_NICK_BYTES, MAX_ROOM_BYTES, MAX_SHORT_TEXT_BYTES},
};
use tokio::io::AsyncWriteExt;

use super::{
    line::{Line, format},
    replay::ReplayMarks,
    sasl::{Sasl, Step},
    session::{Caps, Session},
    stream::{IrcWrite, LineReader, Read},
};
use crate::{
    connection::Context,
    dispatch::{Dispatcher, Greeted},
    hub::Caller,
    outbound::{ForeignQueue, Outbound, foreign},
};

/// Registration must be over this long after connecting.
const REGISTRATION_TIMEOUT: Duration = Duration::from_secs(30);

/// The server's name in line prefixes.
pub(crate) const SERVER_NAME: &str = "huddle";

/// A registered IRC user, ready to chat.
#[derive(Debug)]
pub(crate) struct Entered {
    pub(crate) session: Session,
    pub(crate) dispatcher: Dispatcher,
    pub(crate) queue: ForeignQueue,
    pub(crate) outbound: Outbound,
    /// The nick's claim across the cluster, in cluster mode.
    pub(crate) claim: Option<Box<crate::cluster::NickClaim>>,
}

/// The answer to a `CAP` command (LS, LIST, REQ; END is answered by
/// silence), updating `caps`.
pub(crate) fn cap_reply(server: &str, nick: &str, line: &Line, caps: &mut Caps) -> String {
    let nick = if nick.is_empty() { "*" } else { nick };
    match line.param(0).to_ascii_uppercase().as_str() {
        "LS" => format("", server, "CAP", &[nick, "LS", &Caps::offered()]),
        "LIST" => format("", server, "CAP", &[nick, "LIST", &caps.taken()]),
        "REQ" => {
            let verdict = if caps.request(line.param(1)) {
                "ACK"
            } else {
                "NAK"
            };
            format("", server, "CAP", &[nick, verdict, line.param(1)])
        }
        "END" => String::new(),
        other => format("", server, "410", &[nick, other, "Invalid CAP command"]),
    }
}

/// What the user said so far.
#[derive(Debug, Default)]
struct Said {
    nick: Option<String>,
    /// The username from `USER`, once given.
    user: Option<String>,
    negotiating: bool,
    caps: Caps,
    sasl: Sasl,
    /// The fingerprint of the TLS client certificate, if one was presented.
    certificate: Option<Fingerprint>,
}

/// Runs registration; `None` if the user left, timed out or was refused.
pub(crate) async fn register(
    reader: &mut LineReader,
    write: &mut IrcWrite,
    (peer, certificate): (SocketAddr, Option<Fingerprint>),
    gateway: (&Context, &Arc<ReplayMarks>),
) -> Option<Entered> {
    let deadline = tokio::time::Instant::now() + REGISTRATION_TIMEOUT;
    let mut said = Said {
        certificate,
        ..Said::default()
    };
    loop {
        let read = tokio::select! {
            () = tokio::time::sleep_until(deadline) => {
                let _ = write.write_all(format("", "", "ERROR", &["Registration timed out"]).as_bytes()).await;
                return None;
            }
            read = reader.next() => read,
        };
        let out = match read {
            Read::Closed => return None,
            Read::TooLong => format("", SERVER_NAME, "417", &["*", "Input line was too long"]),
            Read::Line(raw) => match super::line::parse(&raw) {
                Some(line) if line.command == "QUIT" => return None,
                Some(line) if line.command == "AUTHENTICATE" => {
                    authenticate(&line, &mut said, peer, gateway.0).await
                }
                Some(line) => step(&line, &mut said),
                None => continue,
            },
        };
        write.write_all(out.as_bytes()).await.ok()?;
        if let Some(user) = said.user.as_deref()
            && !said.negotiating
            && let Some(nick) = said.nick.take()
        {
            let device = format!("{user}/{}", nick.to_lowercase());
            // Logged in with SASL, the user is that key; otherwise it has none.
            let login = said.sasl.login();
            let client = login
                .as_ref()
                .map_or_else(ClientId::random, |(client, _)| *client);
            // A node of a cluster claims the nick cluster-wide first.
            let claim = match claim_in_cluster(&nick, (client, login.is_some()), gateway.0).await {
                Ok(claim) => claim,
                Err(refusal) => {
                    write.write_all(refusal.as_bytes()).await.ok()?;
                    continue;
                }
            };
            match enter(&nick, (said.caps, device, client, login), peer, gateway) {
                Ok((mut entered, welcome)) => {
                    entered.claim = claim;
                    write.write_all(welcome.as_bytes()).await.ok()?;
                    return Some(entered);
                }
                Err(refusal) => {
                    crate::cluster::NickClaim::release(claim).await;
                    write.write_all(refusal.as_bytes()).await.ok()?;
                }
            }
        }
    }
}

/// One `AUTHENTICATE` line: the lines to answer.
async fn authenticate(line: &Line, said: &mut Said, peer: SocketAddr, context: &Context) -> String {
    let nick = said.nick.clone().unwrap_or_default();
    match said
        .sasl
        .step(&nick, line.param(0), said.certificate.is_some())
    {
        Step::Reply(out) => out,
        Step::Check(credentials) => {
            let (state, out) =
                super::sasl::check(context, (peer.ip(), said.certificate), &nick, credentials)
                    .await;
            said.sasl = state;
            out
        }
    }
}

/// One line before registration.
fn step(line: &Line, said: &mut Said) -> String {
    let nick = said.nick.clone().unwrap_or_default();
    match line.command.as_str() {
        "CAP" => {
            match line.param(0).to_ascii_uppercase().as_str() {
                "LS" | "REQ" => said.negotiating = true,
                "END" => said.negotiating = false,
                _ => {}
            }
            cap_reply(SERVER_NAME, &nick, line, &mut said.caps)
        }
        "NICK" if line.param(0).is_empty() => {
            format("", SERVER_NAME, "431", &["*", "No nickname given"])
        }
        "NICK" => {
            said.nick = Some(line.param(0).to_owned());
            String::new()
        }
        "USER" if line.params.len() < 4 => format(
            "",
            SERVER_NAME,
            "461",
            &["*", "USER", "Not enough parameters"],
        ),
        "USER" => {
            said.user = Some(line.param(0).to_owned());
            String::new()
        }
        "PASS" => String::new(),
        "PING" => format("", SERVER_NAME, "PONG", &[SERVER_NAME, line.param(0)]),
        _ => format("", SERVER_NAME, "451", &["*", "You have not registered"]),
    }
}

/// In cluster mode, `nick` claimed for `client` across the cluster (to let
/// go of when the user leaves); the 433 to write if it is taken.
async fn claim_in_cluster(
    nick: &str,
    (client, binds): (ClientId, bool),
    context: &Context,
) -> Result<Option<Box<crate::cluster::NickClaim>>, String> {
    let (Some(link), Ok(valid)) = (context.hub.cluster(), Nick::new(nick)) else {
        return Ok(None);
    };
    crate::cluster::NickClaim::make(link, &valid, client, binds)
        .await
        .map(Some)
        .map_err(|(_, text)| format("", SERVER_NAME, "433", &["*", nick, &text]))
}

/// Registers `nick` in the hub; the welcome to write, or the refusal.
fn enter(
    nick: &str,
    (caps, device, client, login): (Caps, String, ClientId, Option<(ClientId, PublicKey)>),
    peer: SocketAddr,
    (context, marks): (&Context, &Arc<ReplayMarks>),
) -> Result<(Entered, String), String> {
    let nick = Nick::new(nick)
        .map_err(|err| format("", SERVER_NAME, "432", &["*", nick, &err.to_string()]))?;
    let config = &context.config;
    let (outbound, queue) = foreign(
        config.outbound_max_frames,
        config.outbound_max_bytes,
        context.flushers.pick(),
    );
    let key = login.map(|(_, key)| key);
    let conn = ConnectionId::random();
    let caller = Caller {
        conn,
        client,
        nick: &nick,
        outbound: &outbound,
    };
    let registered = match key {
        Some(_) => context.hub.register(caller),
        None => context.hub.register_keyless(caller),
    };
    if let Err(refusal) = registered {
        return Err(format(
            "",
            SERVER_NAME,
            "433",
            &["*", nick.as_str(), &refusal.text],
        ));
    }
    context.hub.set_identity(conn, &nick, key, "IRC");
    let session = Session::new(
        (SERVER_NAME.to_owned(), nick.to_string()),
        caps,
        device,
        marks.clone(),
    );
    let welcome = welcome(&session, context);
    let greeted = Greeted {
        conn,
        client,
        nick,
        peer: peer.ip(),
    };
    let dispatcher = Dispatcher::new(
        greeted,
        outbound.clone(),
        context,
        tokio::time::Instant::now(),
    );
    Ok((
        Entered {
            session,
            dispatcher,
            queue,
            outbound,
            claim: None,
        },
        welcome,
    ))
}

/// 001–005 and the MOTD.
fn welcome(session: &Session, context: &Context) -> String {
    let config = &context.config;
    let network: String = config
        .name
        .chars()
        .map(|c| if c.is_whitespace() { '-' } else { c })
        .collect();
    let version = concat!("huddle-server-", env!("CARGO_PKG_VERSION"));
    let mut out = String::new();
    let nick = session.nick.as_str();
    session.numeric(
        "001",
        &[&format!("Welcome to {}, {nick}", config.name)],
        &mut out,
    );
    session.numeric(
        "002",
        &[&format!("Your host is {SERVER_NAME}, running {version}")],
        &mut out,
    );
    session.numeric("003", &["This server speaks huddle and IRC"], &mut out);
    session.numeric("004", &[SERVER_NAME, version, "i", "k"], &mut out);
    let isupport = [
        format!("NETWORK={network}"),
        "CHANTYPES=#".into(),
        "CASEMAPPING=ascii".into(),
        format!("NICKLEN={MAX_NICK_BYTES}"),
        format!("CHANNELLEN={MAX_ROOM_BYTES}"),
        format!("TOPICLEN={MAX_SHORT_TEXT_BYTES}"),
        format!("AWAYLEN={MAX_SHORT_TEXT_BYTES}"),
        format!("CHANLIMIT=#:{}", config.limits.max_rooms_per_client),
        "CHANMODES=,k,,".into(),
        "PREFIX=()".into(),
        format!("CHATHISTORY={}", huddle_protocol::limits::MAX_HISTORY_PAGE),
        "MSGREFTYPES=msgid,timestamp".into(),
    ];
    let mut params: Vec<&str> = isupport.iter().map(String::as_str).collect();
    params.push("are supported by this server");
    session.numeric("005", &params, &mut out);
    match &config.motd {
        Some(motd) => {
            session.numeric(
                "375",
                &[&format!("- {SERVER_NAME} Message of the day -")],
                &mut out,
            );
            for line in motd.lines() {
                session.numeric("372", &[&format!("- {line}")], &mut out);
            }
            session.numeric("376", &["End of /MOTD command"], &mut out);
        }
        None => session.numeric("422", &["MOTD File is missing"], &mut out),
    }
    out
}
