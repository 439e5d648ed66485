//! IRC logins: the holder of a key sets a password (`SetIrcPassword`) or a
//! TLS client certificate (`SetIrcCertificate`) with which an IRC client
//! may log in (SASL PLAIN or EXTERNAL, `irc/sasl.rs`) as that key: the IRC
//! user then holds the key's bound nicks and reads its direct messages, as
//! the key's native client does. Passwords are kept only as Argon2id hashes
//! (`password.rs`); certificates by their SHA-256. In memory and, with a
//! store, on disk (one record per key).

use std::collections::HashMap;

use huddle_protocol::{ClientId, ErrorCode, Fingerprint, Nick, PublicKey, ShortText};
use serde::{Deserialize, Serialize};

use super::{Caller, Hub, Refusal, lock, refuse};
use crate::{password::PasswordHash, wall_clock::now_millis};

/// One key's IRC login.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IrcLogin {
    key: PublicKey,
    password: Option<PasswordHash>,
    certificate: Option<Fingerprint>,
}

/// The logins known since start, and which key each certificate logs in
/// as (read from the store the first time a certificate is asked about).
#[derive(Debug, Default)]
pub(crate) struct IrcLogins {
    by_key: HashMap<ClientId, IrcLogin>,
    certificates: Option<HashMap<Fingerprint, ClientId>>,
}

impl Hub {
    /// `caller`'s key, if it proved one.
    fn key_of(&self, caller: Caller<'_>) -> Result<PublicKey, Refusal> {
        let key = lock(&self.users)
            .get(caller.nick.folded())
            .filter(|user| user.conn == caller.conn)
            .and_then(|user| user.key);
        match key {
            Some(key) => Ok(key),
            None => refuse(
                ErrorCode::BadPassword,
                "an IRC login belongs to a key; connect with huddle to set one",
            ),
        }
    }

    /// `client`'s login record, from memory or the store.
    fn irc_record(&self, client: ClientId) -> Option<IrcLogin> {
        if let Some(known) = lock(&self.irc_logins).by_key.get(&client).cloned() {
            return Some(known);
        }
        let bytes = self.store.as_ref()?.irc_login(client)?;
        let login: IrcLogin = huddle_protocol::decode_payload(&bytes).ok()?;
        lock(&self.irc_logins).by_key.insert(client, login.clone());
        Some(login)
    }

    /// Keeps `login` as `client`'s (in memory and on disk).
    fn save_irc_record(&self, client: ClientId, login: IrcLogin) {
        if let Some(store) = &self.store {
            let empty = login.password.is_none() && login.certificate.is_none();
            match huddle_protocol::encode_payload(&login) {
                Ok(_) if empty => store.save_irc_login(client, None),
                Ok(bytes) => store.save_irc_login(client, Some(bytes.to_vec())),
                Err(err) => tracing::error!(%err, "cannot encode an IRC login"),
            }
        }
        lock(&self.irc_logins).by_key.insert(client, login);
    }

    /// `SetIrcPassword` from `caller` (which proved a key): what to tell it.
    pub(crate) fn set_irc_password(
        &self,
        caller: Caller<'_>,
        password: &ShortText,
    ) -> Result<String, Refusal> {
        let key = self.key_of(caller)?;
        let hash = match password.is_empty() {
            true => None,
            false => match PasswordHash::of(password.as_str()) {
                Some(hash) => Some(hash),
                None => return refuse(ErrorCode::Internal, "cannot keep the password just now"),
            },
        };
        let told = match hash {
            None => "No IRC client may log in as you with a password any more".into(),
            Some(_) => format!(
                "An IRC client may now log in as {} with that password (SASL PLAIN); \
                 it will hold your nicks and read your direct messages",
                caller.nick
            ),
        };
        let mut login = self.irc_record(caller.client).unwrap_or(IrcLogin {
            key,
            password: None,
            certificate: None,
        });
        login.password = hash;
        self.save_irc_record(caller.client, login);
        Ok(told)
    }

    /// `SetIrcCertificate` from `caller` (which proved a key).
    pub(crate) fn set_irc_certificate(
        &self,
        caller: Caller<'_>,
        certificate: Option<Fingerprint>,
    ) -> Result<String, Refusal> {
        let key = self.key_of(caller)?;
        self.load_certificates();
        if let Some(fingerprint) = certificate
            && self
                .certificate_holder(&fingerprint)
                .is_some_and(|holder| holder != caller.client)
        {
            return refuse(
                ErrorCode::BadPassword,
                "that certificate logs in as another key already",
            );
        }
        let mut login = self.irc_record(caller.client).unwrap_or(IrcLogin {
            key,
            password: None,
            certificate: None,
        });
        {
            let mut logins = lock(&self.irc_logins);
            let index = logins.certificates.get_or_insert_with(HashMap::new);
            if let Some(old) = login.certificate {
                index.remove(&old);
            }
            if let Some(new) = certificate {
                index.insert(new, caller.client);
            }
        }
        login.certificate = certificate;
        self.save_irc_record(caller.client, login);
        Ok(match certificate {
            Some(fingerprint) => format!(
                "An IRC client presenting the certificate {} may now log in as {} \
                 (SASL EXTERNAL, on the gateway's TLS port)",
                fingerprint.short(),
                caller.nick
            ),
            None => "No IRC client may log in as you with a certificate any more".into(),
        })
    }

    /// Reads every stored certificate login once, to find them by
    /// fingerprint.
    fn load_certificates(&self) {
        if lock(&self.irc_logins).certificates.is_some() {
            return;
        }
        let stored = self
            .store
            .as_ref()
            .map(|store| store.irc_logins())
            .unwrap_or_default();
        let mut index = HashMap::new();
        for (client, bytes) in stored {
            if let Ok(login) = huddle_protocol::decode_payload::<IrcLogin>(&bytes)
                && let Some(fingerprint) = login.certificate
            {
                index.insert(fingerprint, client);
            }
        }
        let mut logins = lock(&self.irc_logins);
        for (client, login) in &logins.by_key {
            if let Some(fingerprint) = login.certificate {
                index.insert(fingerprint, *client);
            }
        }
        logins.certificates.get_or_insert(index);
    }

    /// The key a certificate logs in as.
    fn certificate_holder(&self, fingerprint: &Fingerprint) -> Option<ClientId> {
        lock(&self.irc_logins)
            .certificates
            .as_ref()
            .and_then(|index| index.get(fingerprint).copied())
    }

    /// SASL PLAIN as `nick` with `password`: the key it logs in as.
    pub(crate) fn irc_login(
        &self,
        nick: &Nick,
        password: &str,
    ) -> Result<(ClientId, PublicKey), Refusal> {
        let login = self
            .key_holding(nick)
            .and_then(|client| Some((client, self.irc_record(client)?)));
        match login {
            Some((client, login))
                if login
                    .password
                    .as_ref()
                    .is_some_and(|hash| hash.verify(password)) =>
            {
                Ok((client, login.key))
            }
            _ => refuse(ErrorCode::BadPassword, "SASL authentication failed"),
        }
    }

    /// SASL EXTERNAL with the certificate `fingerprint`: the key it logs in
    /// as.
    pub(crate) fn irc_login_by_certificate(
        &self,
        fingerprint: &Fingerprint,
    ) -> Result<(ClientId, PublicKey), Refusal> {
        self.load_certificates();
        let login = self
            .certificate_holder(fingerprint)
            .and_then(|client| Some((client, self.irc_record(client)?)));
        match login {
            Some((client, login)) if login.certificate.as_ref() == Some(fingerprint) => {
                Ok((client, login.key))
            }
            _ => refuse(
                ErrorCode::BadPassword,
                "no key lets this certificate log in",
            ),
        }
    }

    /// The key that holds `nick`: connected with it now, or bound to it.
    fn key_holding(&self, nick: &Nick) -> Option<ClientId> {
        let online = lock(&self.users)
            .get(nick.folded())
            .filter(|user| user.key.is_some())
            .map(|user| user.client);
        online.or_else(|| {
            self.binding_of(nick)
                .filter(|binding| binding.until > now_millis())
                .map(|binding| binding.client)
        })
    }
}
