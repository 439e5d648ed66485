//! IRC logins: the holder of a key sets a password (`SetIrcPassword`) with
//! which an IRC client may log in (SASL PLAIN, `irc/sasl.rs`) as that key:
//! the IRC user then holds the key's bound nicks and reads its direct
//! messages, as the key's native client does. Kept only as Argon2id hashes
//! (`password.rs`), in memory and, with a store, on disk.

use huddle_protocol::{ClientId, ErrorCode, Nick, PublicKey, ShortText};
use serde::{Deserialize, Serialize};

use super::{Caller, Hub, Refusal, lock, refuse};
use crate::{password::PasswordHash, wall_clock::now_millis};

/// One key's IRC login.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IrcLogin {
    key: PublicKey,
    hash: PasswordHash,
}

impl Hub {
    /// `SetIrcPassword` from `caller` (which proved a key): what to tell it.
    pub(crate) fn set_irc_password(
        &self,
        caller: Caller<'_>,
        password: &ShortText,
    ) -> Result<String, Refusal> {
        let key = lock(&self.users)
            .get(caller.nick.folded())
            .filter(|user| user.conn == caller.conn)
            .and_then(|user| user.key);
        let Some(key) = key else {
            return refuse(
                ErrorCode::BadPassword,
                "an IRC login belongs to a key; connect with huddle to set one",
            );
        };
        if password.is_empty() {
            lock(&self.irc_logins).remove(&caller.client);
            if let Some(store) = &self.store {
                store.save_irc_login(caller.client, None);
            }
            return Ok("No IRC client may log in as you any more".into());
        }
        let Some(hash) = PasswordHash::of(password.as_str()) else {
            return refuse(ErrorCode::Internal, "cannot keep the password just now");
        };
        let login = IrcLogin { key, hash };
        if let Some(store) = &self.store {
            match huddle_protocol::encode_payload(&login) {
                Ok(bytes) => store.save_irc_login(caller.client, Some(bytes.to_vec())),
                Err(err) => tracing::error!(%err, "cannot encode an IRC login"),
            }
        }
        lock(&self.irc_logins).insert(caller.client, login);
        Ok(format!(
            "An IRC client may now log in as {} with that password (SASL PLAIN); \
             it will hold your nicks and read your direct messages",
            caller.nick
        ))
    }

    /// SASL PLAIN as `nick` with `password`: the key it logs in as.
    pub(crate) fn irc_login(
        &self,
        nick: &Nick,
        password: &str,
    ) -> Result<(ClientId, PublicKey), Refusal> {
        let failed = || refuse(ErrorCode::BadPassword, "SASL authentication failed");
        let Some(client) = self.key_holding(nick) else {
            return failed();
        };
        let known = lock(&self.irc_logins).get(&client).cloned();
        let login = known.or_else(|| {
            let bytes = self.store.as_ref()?.irc_login(client)?;
            let login: IrcLogin = huddle_protocol::decode_payload(&bytes).ok()?;
            lock(&self.irc_logins).insert(client, login.clone());
            Some(login)
        });
        match login {
            Some(login) if login.hash.verify(password) => Ok((client, login.key)),
            _ => failed(),
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
