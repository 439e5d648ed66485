//! SASL during registration (IRCv3 `sasl`). PLAIN: `AUTHENTICATE PLAIN`,
//! then the base64 of `authzid NUL authcid NUL password` (in 400-byte
//! pieces, `+` ending one that is exactly 400); the account (authcid) is a
//! nick, the password the one its key's holder set with `SetIrcPassword`.
//! EXTERNAL: on the TLS port, the client certificate whose fingerprint a
//! key's holder set with `SetIrcCertificate` (`AUTHENTICATE EXTERNAL`,
//! then `AUTHENTICATE +`). Logged in (`hub/irc_logins.rs`), the IRC user is
//! that key: it may take the key's bound nicks and reads its direct
//! messages. Failures are throttled per address like room passwords
//! (`password.rs`); passwords are checked off the async threads (Argon2id
//! takes tens of milliseconds).

use std::net::IpAddr;

use base64::Engine;
use huddle_protocol::{ClientId, Fingerprint, Nick, PublicKey};

use super::{line::format, registration::SERVER_NAME};
use crate::connection::Context;

/// The mechanisms offered (`CAP LS`'s `sasl=`, and `908`).
pub(crate) const MECHANISMS: &str = "PLAIN,EXTERNAL";

/// Longest AUTHENTICATE payload taken, in base64 bytes.
const MAX_PAYLOAD: usize = 1200;

/// One base64 piece of the payload at most; a piece this long is followed
/// by more (or `+`).
const PIECE: usize = 400;

/// Where SASL stands for one registering user.
#[derive(Debug, Default)]
pub(crate) enum Sasl {
    /// Not started (or failed, or aborted).
    #[default]
    Idle,
    /// `AUTHENTICATE PLAIN` was said: the payload comes, in pieces.
    Receiving(String),
    /// `AUTHENTICATE EXTERNAL` was said: `+` comes.
    External,
    /// Logged in as this key.
    LoggedIn { client: ClientId, key: PublicKey },
}

/// What to check for a login.
pub(crate) enum Credentials {
    /// PLAIN: a nick and its password.
    Password { account: String, password: String },
    /// EXTERNAL: the TLS client certificate.
    Certificate,
}

/// What an `AUTHENTICATE` line asks for.
pub(crate) enum Step {
    /// Answer with these lines.
    Reply(String),
    /// The exchange is whole: check it.
    Check(Credentials),
}

impl Sasl {
    /// The key logged in as, if any.
    pub(crate) fn login(&self) -> Option<(ClientId, PublicKey)> {
        match self {
            Sasl::LoggedIn { client, key } => Some((*client, *key)),
            _ => None,
        }
    }

    /// One `AUTHENTICATE` line with parameter `param`, from `nick`
    /// (`certified`: it presented a TLS client certificate).
    pub(crate) fn step(&mut self, nick: &str, param: &str, certified: bool) -> Step {
        let nick = if nick.is_empty() { "*" } else { nick };
        let reply = |numeric: &str, text: &str| {
            Step::Reply(format("", SERVER_NAME, numeric, &[nick, text]))
        };
        let mechanism = |name: &str| param.eq_ignore_ascii_case(name);
        match std::mem::take(self) {
            _ if param == "*" => reply("906", "SASL authentication aborted"),
            Sasl::LoggedIn { .. } => reply("907", "You have already authenticated using SASL"),
            Sasl::Idle if mechanism("PLAIN") => {
                *self = Sasl::Receiving(String::new());
                Step::Reply(format("", "", "AUTHENTICATE", &["+"]))
            }
            Sasl::Idle if mechanism("EXTERNAL") && certified => {
                *self = Sasl::External;
                Step::Reply(format("", "", "AUTHENTICATE", &["+"]))
            }
            Sasl::Idle if mechanism("EXTERNAL") => {
                reply("904", "EXTERNAL needs a TLS client certificate")
            }
            Sasl::Idle => {
                let offered = [nick, MECHANISMS, "are available SASL mechanisms"];
                let failed = [nick, "SASL authentication failed"];
                Step::Reply(
                    format("", SERVER_NAME, "908", &offered)
                        + &format("", SERVER_NAME, "904", &failed),
                )
            }
            // No authzid: EXTERNAL logs in as the certificate's key only.
            Sasl::External if param == "+" => Step::Check(Credentials::Certificate),
            Sasl::External => reply("904", "SASL authentication failed"),
            Sasl::Receiving(payload) => self.receive(nick, payload, param),
        }
    }

    /// A piece of a PLAIN payload.
    fn receive(&mut self, nick: &str, mut payload: String, piece: &str) -> Step {
        let reply = |numeric: &str, text: &str| {
            Step::Reply(format("", SERVER_NAME, numeric, &[nick, text]))
        };
        if piece != "+" {
            payload.push_str(piece);
        }
        if payload.len() > MAX_PAYLOAD {
            return reply("905", "SASL message too long");
        }
        if piece.len() == PIECE {
            *self = Sasl::Receiving(payload);
            return Step::Reply(String::new());
        }
        match decode_plain(&payload) {
            Some((account, password)) => Step::Check(Credentials::Password { account, password }),
            None => reply("904", "SASL authentication failed"),
        }
    }
}

/// `authzid NUL authcid NUL password` from base64: (authcid, password).
/// An authzid other than empty or the authcid is refused.
fn decode_plain(payload: &str) -> Option<(String, String)> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(payload)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.splitn(3, '\0');
    let (authzid, authcid, password) = (parts.next()?, parts.next()?, parts.next()?);
    (authzid.is_empty() || authzid == authcid).then(|| (authcid.to_owned(), password.to_owned()))
}

/// Checks `credentials` (throttled per address; a password off the async
/// threads): the SASL state and the lines to answer.
pub(crate) async fn check(
    context: &Context,
    (peer, certificate): (IpAddr, Option<Fingerprint>),
    nick: &str,
    credentials: Credentials,
) -> (Sasl, String) {
    let nick = if nick.is_empty() { "*" } else { nick };
    let failed = |text: &str| {
        let line = format("", SERVER_NAME, "904", &[nick, text]);
        (Sasl::Idle, line)
    };
    let now = tokio::time::Instant::now();
    if let Err(wait) = context.password_guesses.begin(peer, now) {
        let text = format!(
            "too many failed logins; try again in {} s",
            wait.as_secs().max(1)
        );
        return failed(&text);
    }
    let hub = context.hub.clone();
    let checked = match credentials {
        Credentials::Password { account, password } => {
            let Ok(account) = Nick::new(account) else {
                return failed("SASL authentication failed");
            };
            tokio::task::spawn_blocking(move || hub.irc_login(&account, &password))
                .await
                .ok()
        }
        Credentials::Certificate => certificate.map(|fp| hub.irc_login_by_certificate(&fp)),
    };
    let Some(Ok((client, key))) = checked else {
        return failed("SASL authentication failed");
    };
    context.password_guesses.right(peer);
    let mask = format!("{nick}!{nick}@huddle");
    let text = format!("You are now logged in as {nick}");
    let lines = format("", SERVER_NAME, "900", &[nick, &mask, nick, &text])
        + &format(
            "",
            SERVER_NAME,
            "903",
            &[nick, "SASL authentication successful"],
        );
    (Sasl::LoggedIn { client, key }, lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(text: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    #[test]
    fn plain_payloads_decode_and_bad_ones_do_not() {
        assert_eq!(
            decode_plain(&plain("\0alice\0hunter2")),
            Some(("alice".into(), "hunter2".into()))
        );
        assert_eq!(
            decode_plain(&plain("alice\0alice\0pw")),
            Some(("alice".into(), "pw".into()))
        );
        assert_eq!(
            decode_plain(&plain("bob\0alice\0pw")),
            None,
            "acting for another"
        );
        assert_eq!(decode_plain(&plain("alice-only")), None);
        assert_eq!(decode_plain("not base64!"), None);
    }

    #[test]
    fn the_exchange_asks_for_the_payload_and_takes_it_in_pieces() {
        let mut sasl = Sasl::default();
        assert!(
            matches!(sasl.step("al", "SCRAM-SHA-256", false), Step::Reply(r) if r.contains(" 908 "))
        );
        assert!(
            matches!(sasl.step("al", "EXTERNAL", false), Step::Reply(r) if r.contains(" 904 "))
        );
        assert!(
            matches!(sasl.step("al", "EXTERNAL", true), Step::Reply(r) if r == "AUTHENTICATE +\r\n")
        );
        assert!(matches!(
            sasl.step("al", "+", true),
            Step::Check(Credentials::Certificate)
        ));
        assert!(
            matches!(sasl.step("al", "PLAIN", false), Step::Reply(r) if r == "AUTHENTICATE +\r\n")
        );
        let payload = plain(&format!("\0al\0{}", "p".repeat(400)));
        let (first, rest) = payload.split_at(PIECE);
        assert!(matches!(sasl.step("al", first, false), Step::Reply(r) if r.is_empty()));
        match sasl.step("al", rest, false) {
            Step::Check(Credentials::Password { account, password }) => {
                assert_eq!((account.as_str(), password.len()), ("al", 400));
            }
            _ => panic!("the payload was not whole"),
        }
        assert!(matches!(sasl.step("al", "PLAIN", false), Step::Reply(_)));
        assert!(matches!(sasl.step("al", "*", false), Step::Reply(r) if r.contains(" 906 ")));
    }
}
