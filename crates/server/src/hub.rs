//! The shared chat state: who is connected under which nick, and the rooms.
//!
//! Locks: `users` (nick registry) and `rooms` (the map) are held only for a
//! lookup or an insert; each room has its own mutex, held while its state
//! changes and its frames are queued (queueing never waits), so unrelated
//! rooms never serialise. No lock is held across an `.await` (there are no
//! `.await`s in this file), and no room lock is held while the map or the
//! registry is locked, so there is no lock-order cycle. `mailboxes` (direct
//! messages) is held while a direct message gets its id and is queued, so a
//! recipient gets them in id order; `dedup` is only ever taken last;
//! `room_skeletons`, `kept_rooms` and `idle_rooms` are taken alone.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock},
};

use huddle_protocol::{
    ClientId, ConnectionId, ErrorCode, Nick, RoomName, ServerMessage, encode_frame,
};

use crate::{mailbox::Mailboxes, outbound::Outbound, room::Room, wall_clock::now_millis};

/// Users whose newest direct messages are kept in memory.
const MAX_MAILBOXES: usize = 1000;

mod away;
mod cluster_presence;
mod cluster_relay;
mod dedup;
mod durable;
mod files;
mod gauges;
mod irc_logins;
mod lookalike;
mod membership;
mod nick_bindings;
mod offline;
mod programs;
mod queries;
mod relay;
mod search;
pub(crate) use search::SearchRequest;

use dedup::Dedup;
pub(crate) use durable::{Request, acknowledge};
pub(crate) use gauges::OutboundDepths;
pub(crate) use membership::JoinGate;
#[cfg(test)]
pub(crate) use membership::Unlimited;
pub(crate) use queries::BeaconRooms;
pub(crate) use relay::Said;

/// The durable store as the hub uses it: what waits for a commit is an ack.
pub(crate) type Store = crate::store::DiskStore<durable::PendingAck>;

/// A request the hub refused, with the code and text for the `Error` frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) code: ErrorCode,
    pub(crate) text: String,
}

fn refuse<T>(code: ErrorCode, text: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal {
        code,
        text: text.into(),
    })
}

#[derive(Debug)]
struct User {
    conn: ConnectionId,
    /// Whose mailbox its direct messages go to.
    client: ClientId,
    nick: Nick,
    /// A hash of the nick's look-alike skeleton (`lookalike.rs`).
    skeleton: u64,
    /// The key it proved at `Hello` (set just after registering).
    key: Option<huddle_protocol::PublicKey>,
    /// When it connected (Unix ms), for `Whois`.
    since: u64,
    /// The program it came in with (`huddle 0.1.0`, `IRC`), for `Whois`
    /// (shared: `programs.rs`).
    program: Option<std::sync::Arc<str>>,
    /// Its away message, if away (`away.rs`).
    away: Option<Box<away::Away>>,
    outbound: Outbound,
}

impl User {
    fn of(caller: Caller<'_>, nick: &Nick) -> Self {
        Self {
            conn: caller.conn,
            client: caller.client,
            nick: nick.clone(),
            skeleton: lookalike::skeleton_hash(nick.folded()),
            outbound: caller.outbound.clone(),
            key: None,
            since: now_millis(),
            program: None,
            away: None,
        }
    }
}

/// The client a request comes from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caller<'a> {
    pub(crate) conn: ConnectionId,
    /// The client installation's id from `Hello`, stable across reconnects.
    pub(crate) client: ClientId,
    pub(crate) nick: &'a Nick,
    pub(crate) outbound: &'a Outbound,
}

#[derive(Debug)]
pub(crate) struct Hub {
    users: Mutex<HashMap<String, User>>,
    /// The programs users came in with, each kept once.
    programs: Mutex<programs::Programs>,
    /// IRC logins read or set since start (`irc_logins.rs`).
    irc_logins: Mutex<irc_logins::IrcLogins>,
    rooms: RwLock<HashMap<String, Arc<Mutex<Room>>>>,
    history_per_room: usize,
    history_on_join: usize,
    /// Durable history; `None` keeps history in memory only (`--ephemeral`).
    store: Option<Store>,
    dedup: Mutex<Dedup>,
    /// The newest direct messages, per client id.
    mailboxes: Mutex<Mailboxes>,
    transfers: Mutex<HashMap<huddle_protocol::TransferId, files::Transfer>>,
    limits: huddle_protocol::Limits,
    /// A transfer without progress for this long is ended.
    stall_timeout: std::time::Duration,
    /// Woken when a deadline is set (see `deadlines.rs`).
    pub(crate) deadline_set: tokio::sync::Notify,
    /// The look-alike skeletons of the rooms in the map (`lookalike.rs`).
    room_skeletons: Mutex<lookalike::RoomSkeletons>,
    /// Protected rooms evicted from memory, by folded name: their password
    /// must outlive them (ephemeral only; the store keeps them otherwise).
    kept_rooms: Mutex<HashMap<String, crate::room::RoomMeta>>,
    /// Empty rooms kept for their history, longest idle first.
    idle_rooms: Mutex<IdleRooms>,
    max_idle_rooms: usize,
    /// Most bytes of history idle rooms may hold in memory together.
    idle_history_bytes: usize,
    /// Which key holds which nick (`nick_bindings.rs`).
    nick_bindings: Mutex<nick_bindings::NickBindings>,
    /// How long a nick stays bound after its key lets go; 0: not at all.
    nick_hold_millis: u64,
    /// Senders told that a direct message's recipient is offline
    /// (`offline.rs`).
    offline_told: Mutex<offline::OfflineTold>,
    /// What the server counts (`metrics.rs`).
    metrics: Arc<crate::metrics::Metrics>,
    /// The cluster this hub is a node of (`--cluster`); `None`: a single
    /// server (`cluster_relay.rs`).
    cluster: Option<Arc<crate::cluster::ClusterLink>>,
}

/// Emptied rooms kept for their history, longest idle first, with the
/// bytes of history each holds.
#[derive(Debug, Default)]
struct IdleRooms {
    order: std::collections::VecDeque<(String, usize)>,
    bytes: usize,
}

impl IdleRooms {
    fn remove(&mut self, folded: &str) {
        if let Some(at) = self.order.iter().position(|(name, _)| name == folded)
            && let Some((_, bytes)) = self.order.remove(at)
        {
            self.bytes -= bytes;
        }
    }
}

/// A poisoned lock only means another task panicked mid-update; the maps
/// stay structurally valid, so carry on rather than take the server down.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn send(outbound: &Outbound, message: &ServerMessage) {
    let _ = outbound.send(message);
}

fn frame(message: &ServerMessage) -> Option<bytes::Bytes> {
    encode_frame(message)
        .map_err(|err| tracing::error!(%err, "cannot encode a server message"))
        .ok()
}

impl Hub {
    /// A hub with `config`'s limits and bounds, with durable history in
    /// `store` if given.
    pub(crate) fn new(
        config: &crate::config::ServerConfig,
        store: Option<Store>,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> Self {
        let (limits, history_per_room) = (config.limits, config.history_per_room);
        let history_on_join = usize::from(limits.history_on_join);
        Self {
            users: Mutex::new(HashMap::new()),
            programs: Mutex::default(),
            irc_logins: Mutex::default(),
            rooms: RwLock::new(HashMap::new()),
            history_per_room,
            history_on_join,
            store,
            dedup: Mutex::new(Dedup::default()),
            mailboxes: Mutex::new(Mailboxes::new(history_per_room, MAX_MAILBOXES)),
            transfers: Mutex::new(HashMap::new()),
            limits,
            stall_timeout: config.transfer_stall_timeout,
            deadline_set: tokio::sync::Notify::new(),
            kept_rooms: Mutex::new(HashMap::new()),
            room_skeletons: Mutex::default(),
            idle_rooms: Mutex::new(IdleRooms::default()),
            max_idle_rooms: config.max_idle_rooms,
            idle_history_bytes: config.idle_history_bytes,
            nick_bindings: Mutex::default(),
            nick_hold_millis: u64::try_from(config.nick_binding.as_millis()).unwrap_or(u64::MAX),
            offline_told: Mutex::default(),
            metrics,
            cluster: None,
        }
    }

    /// Records who connection `conn`, registered as `nick`, is: the key it
    /// proved (none through the IRC gateway) and the program it uses.
    pub(crate) fn set_identity(
        &self,
        conn: ConnectionId,
        nick: &Nick,
        key: Option<huddle_protocol::PublicKey>,
        program: &str,
    ) {
        let program = lock(&self.programs).intern(program);
        if let Some(user) = lock(&self.users).get_mut(nick.folded())
            && user.conn == conn
        {
            user.key = key;
            user.program = Some(program);
        }
    }

    /// Who holds `nick`: from memory, else from the store.
    fn binding_of(&self, nick: &Nick) -> Option<nick_bindings::Binding> {
        if let Some(binding) = lock(&self.nick_bindings).get(nick) {
            return Some(binding);
        }
        let (client, until) = self.store.as_ref()?.nick_binding(nick)?;
        Some(nick_bindings::Binding { client, until })
    }

    /// Refuses `client` a nick another key holds.
    fn check_binding(&self, nick: &Nick, client: ClientId) -> Result<(), Refusal> {
        if self.nick_hold_millis == 0 {
            return Ok(());
        }
        nick_bindings::check(self.binding_of(nick), nick, client, now_millis())
    }

    /// `client` claims `nick`: in use from now on (the registry guards it),
    /// and bound on disk in case the server stops without a quit.
    fn claim_nick(&self, nick: &Nick, client: ClientId) {
        if self.nick_hold_millis == 0 {
            return;
        }
        lock(&self.nick_bindings).forget(nick);
        if let Some(store) = &self.store {
            let until = now_millis().saturating_add(self.nick_hold_millis);
            store.bind_nick(nick, client, until);
        }
    }

    /// `client` lets go of `nick`: bound to it for the hold time from now.
    fn release_nick(&self, nick: &Nick, client: ClientId) {
        if self.nick_hold_millis == 0 {
            return;
        }
        let now = now_millis();
        let until = now.saturating_add(self.nick_hold_millis);
        let binding = nick_bindings::Binding { client, until };
        lock(&self.nick_bindings).remember(nick, binding, now);
        if let Some(store) = &self.store {
            store.bind_nick(nick, client, until);
        }
    }

    /// Claims `nick` for a new connection, and makes sure the client's
    /// accepted message ids are at hand for its resends.
    pub(crate) fn register(&self, caller: Caller<'_>) -> Result<(), Refusal> {
        self.enter(caller, true)
    }

    /// Claims `nick` for a connection without a key (an IRC user): it
    /// may not take a bound nick, and binds none (nobody could prove to
    /// be it later, so a binding would only lock the nick away).
    pub(crate) fn register_keyless(&self, caller: Caller<'_>) -> Result<(), Refusal> {
        self.enter(caller, false)
    }

    fn enter(&self, caller: Caller<'_>, binds: bool) -> Result<(), Refusal> {
        if let Some(store) = &self.store
            && !self.dedup().knows(caller.client)
        {
            let rows = store.dedup_rows(caller.client, dedup::PER_CLIENT);
            self.dedup().load(caller.client, rows);
        }
        // In use first (the clearer answer while its holder is online),
        // then bound; checked again under the lock that inserts.
        lookalike::check_nick(&lock(&self.users), caller.nick, caller.conn)?;
        self.check_binding(caller.nick, caller.client)?;
        {
            let mut users = lock(&self.users);
            lookalike::check_nick(&users, caller.nick, caller.conn)?;
            users.insert(
                caller.nick.folded().to_owned(),
                User::of(caller, caller.nick),
            );
        }
        if binds {
            self.claim_nick(caller.nick, caller.client);
        }
        self.back_online(caller.nick);
        Ok(())
    }

    /// Runs `f` on room `name` under its lock, if the caller is a member;
    /// otherwise refuses with `NotInRoom`.
    fn in_room<T>(
        &self,
        caller: Caller<'_>,
        name: &RoomName,
        f: impl FnOnce(&mut Room) -> T,
    ) -> Result<T, Refusal> {
        let room = self.room(name);
        let mut guard = room.as_ref().map(|room| lock(room));
        match guard.as_deref_mut() {
            Some(room) if room.members.contains_key(&caller.conn) => Ok(f(room)),
            _ => refuse(ErrorCode::NotInRoom, format!("you are not in {name}")),
        }
    }

    fn dedup(&self) -> MutexGuard<'_, Dedup> {
        lock(&self.dedup)
    }

    /// Commits what is queued for the disk and closes the store.
    pub(crate) fn close(&self) {
        if let Some(store) = &self.store {
            store.close();
        }
    }

    pub(crate) fn user_count(&self) -> usize {
        lock(&self.users).len()
    }

    fn room(&self, name: &RoomName) -> Option<Arc<Mutex<Room>>> {
        self.rooms
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name.folded())
            .cloned()
    }
}

#[cfg(test)]
mod direct_tests;
#[cfg(test)]
mod files_tests;
#[cfg(test)]
mod membership_tests;
#[cfg(test)]
mod queries_tests;
#[cfg(test)]
mod search_tests;
#[cfg(test)]
mod tests;
