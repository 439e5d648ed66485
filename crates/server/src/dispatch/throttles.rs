//! What a client's joins are held to besides the hub's rules: wrong room
//! passwords (per connection and per address, `password.rs`) and rooms
//! created per minute. The hub asks through [`JoinGate`] at the moment it
//! would check a password or create a room, so neither is counted when it
//! does not happen.

use std::{net::IpAddr, sync::Arc};

use huddle_protocol::ErrorCode;
use tokio::time::Instant;

use crate::{
    hub::{JoinGate, Refusal},
    password::{AddressThrottles, GuessThrottle},
    rate::TokenBucket,
};

/// One connection's join throttles.
#[derive(Debug)]
pub(crate) struct JoinThrottles {
    peer: IpAddr,
    /// Wrong room passwords from this connection.
    guesses: GuessThrottle,
    /// Wrong room passwords from its address, shared with its neighbours.
    address_guesses: Arc<AddressThrottles>,
    /// Rooms it may still create.
    creations: TokenBucket,
    creations_per_minute: u32,
}

impl JoinThrottles {
    pub(crate) fn new(
        peer: IpAddr,
        address_guesses: Arc<AddressThrottles>,
        creations_per_minute: u32,
        now: Instant,
    ) -> Self {
        let per_second = f64::from(creations_per_minute) / 60.0;
        Self {
            peer,
            guesses: GuessThrottle::default(),
            address_guesses,
            creations: TokenBucket::with_rate(per_second, creations_per_minute, now),
            creations_per_minute,
        }
    }

    /// The gate for one join at `now`; [`Gate::finish`] with its outcome.
    pub(crate) fn gate(&mut self, now: Instant) -> Gate<'_> {
        Gate {
            throttles: self,
            now,
            checked: false,
        }
    }
}

/// The throttles as the hub sees them during one join.
#[derive(Debug)]
pub(crate) struct Gate<'a> {
    throttles: &'a mut JoinThrottles,
    now: Instant,
    /// A password check was let through.
    checked: bool,
}

impl Gate<'_> {
    /// A join let through to a password check succeeded: the guess was
    /// right and does not count.
    pub(crate) fn finish(self, joined: bool) {
        if self.checked && joined {
            self.throttles.guesses.right();
            self.throttles.address_guesses.right(self.throttles.peer);
        }
    }
}

impl JoinGate for Gate<'_> {
    fn password_check(&mut self) -> Result<(), Refusal> {
        let (now, peer) = (self.now, self.throttles.peer);
        let own = &mut self.throttles.guesses;
        let begun = own.begin(now).and_then(|()| {
            self.throttles
                .address_guesses
                .begin(peer, now)
                .inspect_err(|_| own.right())
        });
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
        if self.throttles.creations.try_take(self.now) {
            return Ok(());
        }
        Err(Refusal {
            code: ErrorCode::TooManyRooms,
            text: format!(
                "you may create {} rooms a minute; join an existing one or wait",
                self.throttles.creations_per_minute
            ),
        })
    }
}
