//! What a client's joins and searches are held to besides the rate limit
//! and the hub's rules: wrong room passwords (per connection and per
//! address, `password.rs`), rooms created per minute, and searches per
//! second (each may read thousands of stored messages). The hub asks through [`JoinGate`] at the moment it
//! would check a password or create a room, so neither is counted when it
//! does not happen — and a connection that never does either never
//! allocates its throttles (most connections only join rooms that exist).

use std::{net::IpAddr, sync::Arc};

use huddle_protocol::ErrorCode;
use tokio::time::Instant;

use crate::{
    hub::{JoinGate, Refusal},
    password::{AddressThrottles, GuessThrottle},
    rate::TokenBucket,
};

/// One connection's join throttles, made when first needed.
#[derive(Debug)]
pub(crate) struct JoinThrottles {
    /// Wrong room passwords from this connection.
    guesses: GuessThrottle,
    /// Rooms it may still create.
    creations: TokenBucket,
}

/// What a connection's throttles need to know, and the throttles once
/// made.
#[derive(Debug)]
pub(crate) struct Throttled {
    peer: IpAddr,
    /// Wrong room passwords from the address, shared with its neighbours.
    address_guesses: Arc<AddressThrottles>,
    throttles: Option<Box<JoinThrottles>>,
    /// Searches it may still make; made at its first search.
    searches: Option<Box<TokenBucket>>,
}

/// Searches one connection may make a second, sustained.
const SEARCHES_PER_SECOND: u32 = 2;

/// Searches one connection may make at once.
const SEARCH_BURST: u32 = 5;

impl Throttled {
    pub(crate) fn new(peer: IpAddr, address_guesses: Arc<AddressThrottles>) -> Self {
        Self {
            peer,
            address_guesses,
            throttles: None,
            searches: None,
        }
    }

    /// One search at `now`, if the connection has not searched too often.
    pub(crate) fn search(&mut self, now: Instant) -> Result<(), Refusal> {
        let searches = self.searches.get_or_insert_with(|| {
            Box::new(TokenBucket::new(SEARCHES_PER_SECOND, SEARCH_BURST, now))
        });
        match searches.try_take(now) {
            true => Ok(()),
            false => Err(Refusal {
                code: ErrorCode::RateLimited,
                text: format!(
                    "at most {SEARCHES_PER_SECOND} searches a second; this one was dropped"
                ),
            }),
        }
    }

    /// The gate for one join at `now` (rooms created at most
    /// `per_minute`); [`Gate::finish`] with its outcome.
    pub(crate) fn gate(&mut self, now: Instant, per_minute: u32) -> Gate<'_> {
        Gate {
            throttled: self,
            now,
            per_minute,
            checked: false,
        }
    }
}

/// The throttles as the hub sees them during one join.
#[derive(Debug)]
pub(crate) struct Gate<'a> {
    throttled: &'a mut Throttled,
    now: Instant,
    per_minute: u32,
    /// A password check was let through.
    checked: bool,
}

impl Gate<'_> {
    fn throttles(&mut self) -> &mut JoinThrottles {
        let (now, per_minute) = (self.now, self.per_minute);
        self.throttled.throttles.get_or_insert_with(|| {
            let per_second = f64::from(per_minute) / 60.0;
            Box::new(JoinThrottles {
                guesses: GuessThrottle::default(),
                creations: TokenBucket::with_rate(per_second, per_minute, now),
            })
        })
    }

    /// A join let through to a password check succeeded: the guess was
    /// right and does not count.
    pub(crate) fn finish(mut self, joined: bool) {
        if self.checked && joined {
            self.throttles().guesses.right();
            let peer = self.throttled.peer;
            self.throttled.address_guesses.right(peer);
        }
    }
}

impl JoinGate for Gate<'_> {
    fn password_check(&mut self) -> Result<(), Refusal> {
        let (now, peer) = (self.now, self.throttled.peer);
        let shared = self.throttled.address_guesses.clone();
        let own = &mut self.throttles().guesses;
        let begun = own
            .begin(now)
            .and_then(|()| shared.begin(peer, now).inspect_err(|_| own.right()));
        match begun {
            Ok(()) => {
                self.checked = true;
                Ok(())
            }
            Err(wait) => Err(Refusal {
                code: ErrorCode::BadPassword,
                text: format!(
                    "too many wrong passwords; try again in {} s",
                    wait.as_secs().max(1)
                ),
            }),
        }
    }

    fn room_creation(&mut self) -> Result<(), Refusal> {
        let now = self.now;
        if self.throttles().creations.try_take(now) {
            return Ok(());
        }
        Err(Refusal {
            code: ErrorCode::TooManyRooms,
            text: format!(
                "you may create {} rooms a minute; join an existing one or wait",
                self.per_minute
            ),
        })
    }
}
