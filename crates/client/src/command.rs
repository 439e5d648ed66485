//! Slash commands, shared by the TUI and plain mode: parsing the input line
//! into a [`Command`] (`core/requests.rs` turns one into a request for the
//! server), and the help text that lists every command and key.

/// Every command, with its arguments and what it does, for `/help` and Tab
/// completion.
pub const COMMANDS: &[(&str, &str, &str)] = &[
    ("/join", "#room [password]", "join (or create) a room"),
    (
        "/part",
        "[#room] [reason]",
        "leave the current or named room",
    ),
    ("/nick", "NEWNICK", "change your nick"),
    ("/msg", "NICK text", "send a direct message"),
    ("/query", "NICK", "open a direct conversation"),
    ("/me", "text", "send an action (* you text)"),
    ("/topic", "[text]", "show or set the room's topic"),
    ("/who", "[#room]", "list the members of a room"),
    ("/list", "", "list the server's rooms"),
    (
        "/whois",
        "NICK",
        "who holds a nick: key, rooms, idle time, program",
    ),
    (
        "/away",
        "[message]",
        "away (others see it; sending brings you back)",
    ),
    (
        "/search",
        "[-all] TEXT | -more",
        "lines containing TEXT here (-all: all the server stores for you)",
    ),
    ("/close", "", "close the current direct conversation"),
    (
        "/buffer",
        "N | #room | nick",
        "switch buffer (also /window, Alt+1..9)",
    ),
    (
        "/send",
        "PATH [NICK]",
        "offer a file to the room (or to NICK)",
    ),
    (
        "/accept",
        "[ID]",
        "accept a file offer (the latest if no ID)",
    ),
    (
        "/reject",
        "[ID]",
        "decline a file offer (the latest if no ID)",
    ),
    (
        "/cancel",
        "[ID]",
        "stop a file transfer (the latest if no ID)",
    ),
    ("/connect", "HOST[:PORT]", "connect to another server"),
    ("/server", "", "show the server you are on"),
    ("/disconnect", "", "leave the server, back to the browser"),
    (
        "/bar",
        "nicklist",
        "show or hide the member list (also Alt+L)",
    ),
    (
        "/set",
        "[NAME [VALUE]]",
        "show or change logging, notify, highlight (saved)",
    ),
    (
        "/ircpass",
        "PASSWORD | -off",
        "let an IRC client log in as you (SASL PLAIN)",
    ),
    (
        "/irccert",
        "SHA256:… | -off",
        "let an IRC client's certificate log in as you (SASL EXTERNAL)",
    ),
    ("/clear", "", "clear the current buffer"),
    ("/help", "", "show this help (Esc closes)"),
    ("/quit", "[reason]", "leave huddle"),
];

/// Every key, for `/help`.
pub const KEYS: &[(&str, &str)] = &[
    ("Enter", "send the line"),
    ("Alt+1..9, Ctrl+N / Ctrl+P", "switch buffer"),
    (
        "PgUp / PgDn, mouse wheel",
        "scroll (older history loads at the top)",
    ),
    ("Up / Down", "input history"),
    (
        "Ctrl+R",
        "search the buffer as you type (again: older, Ctrl+S newer, Enter stays, Esc back)",
    ),
    ("Tab", "complete a nick or command"),
    ("Ctrl+A / Ctrl+E, Home / End", "start / end of line"),
    (
        "Ctrl+Left / Ctrl+Right, Alt+B / Alt+F",
        "previous / next word",
    ),
    ("Ctrl+W, Alt+Backspace", "delete the previous word"),
    ("Ctrl+U / Ctrl+K", "delete to start / end of line"),
    ("F1", "toggle this help"),
    ("Ctrl+C", "quit"),
];

/// A parsed input line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Plain text (or `//text`, an escaped slash) to say in the buffer.
    Say(String),
    Join {
        room: String,
        password: Option<String>,
    },
    Part {
        room: Option<String>,
        reason: String,
    },
    Nick(String),
    Msg {
        nick: String,
        text: String,
    },
    Query(String),
    /// Switch to a buffer by number (from 1) or name (weechat's `/buffer`,
    /// irssi's `/window`).
    Buffer(String),
    Me(String),
    Topic(Option<String>),
    Who(Option<String>),
    List,
    Close,
    Send {
        path: String,
        nick: Option<String>,
    },
    Accept(Option<String>),
    Reject(Option<String>),
    Cancel(Option<String>),
    Connect(String),
    Ignore(Option<String>),
    Unignore(String),
    Whois(String),
    Search(String),
    Away(String),
    /// The password an IRC client logs in with as this key (empty: none).
    IrcPassword(String),
    /// The TLS client certificate (`SHA256:…`) an IRC client logs in with
    /// as this key (`None`: none).
    IrcCertificate(Option<String>),
    Set(String),
    Bar(String),
    Server,
    Disconnect,
    Clear,
    Help,
    Quit(String),
}

/// Parses one input line; the error is the message to show the user.
pub fn parse(line: &str) -> Result<Command, String> {
    let Some(rest) = line.strip_prefix('/') else {
        return Ok(Command::Say(line.to_owned()));
    };
    if rest.starts_with('/') {
        return Ok(Command::Say(rest.to_owned()));
    }
    let (name, args) = rest.split_once(' ').unwrap_or((rest, ""));
    let args = args.trim();
    let words: Vec<&str> = args.split_whitespace().collect();
    let usage = |command: &str| {
        let (_, arguments, _) = COMMANDS
            .iter()
            .find(|(name, _, _)| name.trim_start_matches('/') == command)
            .copied()
            .unwrap_or(("", "", ""));
        Err(format!("usage: /{command} {arguments}"))
    };
    let rest_after_first = || {
        args.split_once(' ')
            .map_or("", |(_, rest)| rest.trim())
            .to_owned()
    };
    match name.to_lowercase().as_str() {
        "join" | "j" => match words.as_slice() {
            [room] => Ok(Command::Join {
                room: (*room).into(),
                password: None,
            }),
            [room, password] => Ok(Command::Join {
                room: (*room).into(),
                password: Some((*password).into()),
            }),
            _ => usage("join"),
        },
        "part" | "leave" => match words.first() {
            Some(room) if room.starts_with('#') => Ok(Command::Part {
                room: Some((*room).into()),
                reason: rest_after_first(),
            }),
            _ => Ok(Command::Part {
                room: None,
                reason: args.to_owned(),
            }),
        },
        "nick" => match words.as_slice() {
            [nick] => Ok(Command::Nick((*nick).into())),
            _ => usage("nick"),
        },
        "msg" | "m" => match words.as_slice() {
            [nick, _, ..] => Ok(Command::Msg {
                nick: (*nick).into(),
                text: rest_after_first(),
            }),
            _ => usage("msg"),
        },
        "query" | "q" => match words.as_slice() {
            [nick] => Ok(Command::Query((*nick).into())),
            _ => usage("query"),
        },
        "buffer" | "b" | "window" | "win" => match words.as_slice() {
            [which] => Ok(Command::Buffer((*which).to_owned())),
            _ => usage("buffer"),
        },
        "me" if !args.is_empty() => Ok(Command::Me(args.to_owned())),
        "me" => usage("me"),
        "topic" => Ok(Command::Topic((!args.is_empty()).then(|| args.to_owned()))),
        "who" | "names" => Ok(Command::Who(words.first().map(|r| (*r).to_owned()))),
        "list" => Ok(Command::List),
        "close" => Ok(Command::Close),
        "send" => match words.as_slice() {
            [] => usage("send"),
            // A path may hold spaces: a trailing word is a nick only if the
            // whole line is not a file.
            [.., last] if words.len() > 1 && !std::path::Path::new(args).exists() => {
                Ok(Command::Send {
                    path: args[..args.len() - last.len()].trim().to_owned(),
                    nick: Some((*last).to_owned()),
                })
            }
            _ => Ok(Command::Send {
                path: args.to_owned(),
                nick: None,
            }),
        },
        "accept" => Ok(Command::Accept(words.first().map(|w| (*w).to_owned()))),
        "reject" | "decline" => Ok(Command::Reject(words.first().map(|w| (*w).to_owned()))),
        "cancel" => Ok(Command::Cancel(words.first().map(|w| (*w).to_owned()))),
        "connect" | "server" if words.len() == 1 => Ok(Command::Connect(words[0].to_owned())),
        "connect" => usage("connect"),
        "server" => Ok(Command::Server),
        "ignore" => match words.as_slice() {
            [] => Ok(Command::Ignore(None)),
            [nick] => Ok(Command::Ignore(Some((*nick).to_owned()))),
            _ => usage("ignore"),
        },
        "search" | "lastlog" => Ok(Command::Search(args.to_owned())),
        "away" => Ok(Command::Away(args.to_owned())),
        "ircpass" => match args.trim() {
            "" => Err("usage: /ircpass PASSWORD (or /ircpass -off)".into()),
            "-off" => Ok(Command::IrcPassword(String::new())),
            password => Ok(Command::IrcPassword(password.to_owned())),
        },
        "irccert" => match args.trim() {
            "" => Err("usage: /irccert SHA256:FINGERPRINT (or /irccert -off)".into()),
            "-off" => Ok(Command::IrcCertificate(None)),
            fingerprint => Ok(Command::IrcCertificate(Some(fingerprint.to_owned()))),
        },
        "set" => Ok(Command::Set(args.to_owned())),
        "back" => Ok(Command::Away(String::new())),
        "whois" => match words.as_slice() {
            [nick] => Ok(Command::Whois((*nick).to_owned())),
            _ => usage("whois"),
        },
        "unignore" => match words.as_slice() {
            [nick] => Ok(Command::Unignore((*nick).to_owned())),
            _ => usage("unignore"),
        },
        "bar" => match words.as_slice() {
            [bar] => Ok(Command::Bar((*bar).to_lowercase())),
            _ => usage("bar"),
        },
        "disconnect" => Ok(Command::Disconnect),
        "clear" => Ok(Command::Clear),
        "help" | "h" | "?" if args == "set" => Ok(Command::Set(String::new())),
        "help" | "h" | "?" => Ok(Command::Help),
        "quit" | "exit" => Ok(Command::Quit(args.to_owned())),
        _ => Err(format!("unknown command /{name} (try /help)")),
    }
}

/// Commands starting with `prefix` (which includes the `/`).
pub fn complete_command(prefix: &str) -> Vec<&'static str> {
    COMMANDS
        .iter()
        .map(|(name, _, _)| *name)
        .filter(|name| name.starts_with(prefix))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(line: &str, expected: Result<Command, &str>) {
        assert_eq!(parse(line), expected.map_err(str::to_owned), "{line:?}");
    }

    #[test]
    fn commands_parse() {
        check("hello", Ok(Command::Say("hello".into())));
        check("//not a command", Ok(Command::Say("/not a command".into())));
        check(
            "/join #lan",
            Ok(Command::Join {
                room: "#lan".into(),
                password: None,
            }),
        );
        check(
            "/join #lan pw",
            Ok(Command::Join {
                room: "#lan".into(),
                password: Some("pw".into()),
            }),
        );
        check("/join", Err("usage: /join #room [password]"));
        check(
            "/part",
            Ok(Command::Part {
                room: None,
                reason: String::new(),
            }),
        );
        check(
            "/part #x bye now",
            Ok(Command::Part {
                room: Some("#x".into()),
                reason: "bye now".into(),
            }),
        );
        check(
            "/part see you",
            Ok(Command::Part {
                room: None,
                reason: "see you".into(),
            }),
        );
        check(
            "/msg bob hi there",
            Ok(Command::Msg {
                nick: "bob".into(),
                text: "hi there".into(),
            }),
        );
        check("/msg bob", Err("usage: /msg NICK text"));
        check("/me waves", Ok(Command::Me("waves".into())));
        check("/me", Err("usage: /me text"));
        check("/topic", Ok(Command::Topic(None)));
        check("/topic new one", Ok(Command::Topic(Some("new one".into()))));
        check("/nick a b", Err("usage: /nick NEWNICK"));
        check("/QUIT gone", Ok(Command::Quit("gone".into())));
        check("/connect box:7010", Ok(Command::Connect("box:7010".into())));
        check("/server other", Ok(Command::Connect("other".into())));
        check("/server", Ok(Command::Server));
        check("/disconnect", Ok(Command::Disconnect));
        check("/connect", Err("usage: /connect HOST[:PORT]"));
        check(
            "/frobnicate",
            Err("unknown command /frobnicate (try /help)"),
        );
    }

    #[test]
    fn command_completion() {
        assert_eq!(complete_command("/j"), ["/join"]);
        assert_eq!(complete_command("/q"), ["/query", "/quit"]);
    }
}
