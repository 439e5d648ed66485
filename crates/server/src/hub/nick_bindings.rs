//! Nicks bound to keys: whoever last held a nick keeps it for a while
//! after they leave (30 days by default), so nobody else can take `alice`
//! while she is offline. A binding is made or refreshed when a key claims a
//! nick (connecting or `/nick`) and when it lets go (quitting, renaming);
//! another key asking for the nick before the binding ends is refused
//! (`NickBound`). While a nick is in use the registry itself guards it, so
//! memory holds only the bindings of nicks let go (at most
//! [`MAX_REMEMBERED`]; past that, expired ones are dropped, then new ones
//! are kept on disk only). With a store every binding is also on disk
//! (`schema::NICKS`), written when claimed too, so a crash does not free a
//! nick. The clock is the wall clock: a binding outlives the process.

use std::collections::HashMap;

use huddle_protocol::{ClientId, ErrorCode, Nick};

use super::{Refusal, refuse};

/// Who holds a nick, and until when (Unix milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Binding {
    pub(crate) client: ClientId,
    pub(crate) until: u64,
}

/// Most bindings kept in memory.
pub(crate) const MAX_REMEMBERED: usize = 100_000;

/// The bindings known in memory, by folded nick.
#[derive(Debug, Default)]
pub(crate) struct NickBindings {
    known: HashMap<String, Binding>,
}

impl NickBindings {
    /// The binding of `nick` if it is in memory.
    pub(crate) fn get(&self, nick: &Nick) -> Option<Binding> {
        self.known.get(nick.folded()).copied()
    }

    /// Remembers a binding (read from the store, or just made), within
    /// [`MAX_REMEMBERED`]: when full, expired bindings go first; if none
    /// has, the new one is not kept (a store still has it).
    pub(crate) fn remember(&mut self, nick: &Nick, binding: Binding, now: u64) {
        if self.known.len() >= MAX_REMEMBERED && !self.known.contains_key(nick.folded()) {
            self.known.retain(|_, held| held.until > now);
            if self.known.len() >= MAX_REMEMBERED {
                return;
            }
        }
        self.known.insert(nick.folded().to_owned(), binding);
    }

    /// Forgets `nick`'s binding: it is in use, which guards it meanwhile.
    pub(crate) fn forget(&mut self, nick: &Nick) {
        if self.known.remove(nick.folded()).is_some() && self.known.is_empty() {
            self.known.shrink_to_fit();
        }
    }
}

/// Refuses `client` the nick if another key holds it at `now` (Unix ms).
pub(crate) fn check(
    binding: Option<Binding>,
    nick: &Nick,
    client: ClientId,
    now: u64,
) -> Result<(), Refusal> {
    match binding {
        Some(held) if held.client != client && held.until > now => {
            let days = (held.until - now).div_ceil(24 * 60 * 60 * 1000);
            refuse(
                ErrorCode::NickBound,
                format!(
                    "{nick} belongs to someone else's key for {days} more day(s); pick another nick"
                ),
            )
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binding_refuses_other_keys_until_it_ends() {
        let (alice, mallory) = (ClientId::random(), ClientId::random());
        let nick = Nick::new("alice").unwrap();
        let held = Some(Binding {
            client: alice,
            until: 1_000,
        });
        assert!(check(held, &nick, alice, 500).is_ok());
        let refusal = check(held, &nick, mallory, 500).unwrap_err();
        assert_eq!(refusal.code, ErrorCode::NickBound);
        assert!(refusal.text.contains("1 more day"), "{}", refusal.text);
        assert!(check(held, &nick, mallory, 1_000).is_ok(), "ended");
        assert!(check(None, &nick, mallory, 0).is_ok());
    }
}
