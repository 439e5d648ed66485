//! Names that look alike: the confusable skeleton of Unicode TR39 (through
//! `unicode-security`), taken of the case-folded name. Cyrillic `аlice`,
//! fullwidth `ａｌｉｃｅ` and `alice` share one; so do `#lan` and `#Ⅰan`. A new
//! nick or room whose skeleton matches another's is refused, so nobody can
//! pass for someone (or somewhere) else. (Invisible and bidi characters are
//! refused earlier, by the protocol's name rules.)

use std::{
    collections::HashMap,
    hash::{DefaultHasher, Hash, Hasher},
};

use huddle_protocol::{ErrorCode, Nick, RoomName};

use super::{Refusal, User, refuse};

/// The skeleton two names share if they look alike.
pub(crate) fn skeleton(folded: &str) -> String {
    unicode_security::skeleton(folded).collect()
}

/// A hash of the skeleton, kept per user instead of the skeleton itself
/// (eight bytes, no allocation: every connection holds one).
pub(crate) fn skeleton_hash(folded: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    skeleton(folded).hash(&mut hasher);
    hasher.finish()
}

/// Refuses `nick` if an online user other than `conn` has a nick that
/// looks like it (and is not it).
pub(super) fn check_nick(
    users: &HashMap<String, User>,
    nick: &Nick,
    conn: huddle_protocol::ConnectionId,
) -> Result<(), Refusal> {
    let wanted = skeleton_hash(nick.folded());
    match users
        .values()
        .find(|user| user.conn != conn && user.skeleton == wanted)
    {
        Some(user) if user.nick.folded() == nick.folded() => refuse(
            ErrorCode::NickInUse,
            format!("the nick {nick} is already in use"),
        ),
        Some(user) => refuse(
            ErrorCode::NickInUse,
            format!("the nick {nick} looks like {}, who is online", user.nick),
        ),
        None => Ok(()),
    }
}

/// The rooms in memory by look-alike skeleton hash, kept beside the rooms
/// map so a new room is compared without recomputing every skeleton.
#[derive(Debug, Default)]
pub(crate) struct RoomSkeletons {
    by_folded: HashMap<String, u64>,
}

impl RoomSkeletons {
    /// Refuses a new room `name` if a room in memory under another name
    /// looks like it.
    pub(super) fn check(&self, name: &RoomName) -> Result<(), Refusal> {
        let wanted = skeleton_hash(name.folded());
        match self
            .by_folded
            .iter()
            .find(|(folded, hash)| **hash == wanted && folded.as_str() != name.folded())
        {
            Some((folded, _)) => refuse(
                ErrorCode::InvalidRoom,
                format!("{name} looks like the existing room {folded}; join that one"),
            ),
            None => Ok(()),
        }
    }

    pub(super) fn insert(&mut self, name: &RoomName) {
        self.by_folded
            .insert(name.folded().to_owned(), skeleton_hash(name.folded()));
    }

    pub(super) fn remove(&mut self, name: &RoomName) {
        self.by_folded.remove(name.folded());
    }
}

#[cfg(test)]
mod tests {
    use super::skeleton;

    #[test]
    fn look_alikes_share_a_skeleton_and_different_names_do_not() {
        let alice = skeleton("alice");
        assert_eq!(skeleton(&"аlice".to_lowercase()), alice, "Cyrillic а");
        assert_eq!(skeleton(&"ＡＬＩＣＥ".to_lowercase()), alice, "fullwidth");
        assert_eq!(skeleton("#1an"), skeleton("#lan"));
        assert_ne!(skeleton("bob"), alice);
        assert_ne!(skeleton("#ops"), skeleton("#lan"));
    }
}
