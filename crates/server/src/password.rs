//! Room passwords: kept only as Argon2id hashes (PHC strings, with their
//! own salt and parameters), never as the clear text, in memory or on disk;
//! and wrong guesses throttled, per connection and per address, so nobody
//! can guess at the speed of the hash.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Mutex, OnceLock, PoisonError},
    time::Duration,
};

use argon2::{
    Argon2,
    password_hash::{PasswordHasher, PasswordVerifier, phc},
};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// A room password's Argon2id hash, as a PHC string
/// (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PasswordHash(String);

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(argon2id)")
    }
}

impl PasswordHash {
    /// Hashes `password` with a fresh random salt and Argon2's default
    /// parameters (Argon2id, 19 MiB, 2 passes: OWASP's recommendation).
    /// `None` only if the system's random source fails.
    pub(crate) fn of(password: &str) -> Option<Self> {
        match Argon2::default().hash_password(password.as_bytes()) {
            Ok(hash) => Some(Self(hash.to_string())),
            Err(err) => {
                tracing::error!(%err, "cannot hash a room password");
                None
            }
        }
    }

    /// Whether `attempt` is the password (constant time in the hash).
    pub(crate) fn verify(&self, attempt: &str) -> bool {
        let Ok(parsed) = phc::PasswordHash::new(&self.0) else {
            tracing::error!("a stored room password hash is unreadable");
            return false;
        };
        Argon2::default()
            .verify_password(attempt.as_bytes(), &parsed)
            .is_ok()
    }
}

/// Wrong guesses allowed before each further one must wait.
const FREE_GUESSES: u32 = 5;

/// The longest wait between two guesses.
const MAX_WAIT: Duration = Duration::from_secs(300);

/// Most addresses tracked; past it the quiet ones are forgotten first.
const MAX_TRACKED_ADDRESSES: usize = 4096;

/// Password guesses from one source: after [`FREE_GUESSES`] wrong ones,
/// each further guess waits twice as long as the one before (1 s, 2 s,
/// 4 s, … up to [`MAX_WAIT`]) after the last. A guess counts as wrong from
/// the moment it is let through (so concurrent guesses cannot all slip
/// past one free slot) until it proves right.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct GuessThrottle {
    wrong: u32,
    last: Option<Instant>,
}

impl GuessThrottle {
    /// How long the next guess must wait, if it may not be made now.
    pub(crate) fn wait(&self, now: Instant) -> Option<Duration> {
        let last = self.last?;
        let excess = self.wrong.checked_sub(FREE_GUESSES)?;
        let delay = Duration::from_secs(1u64 << excess.min(16)).min(MAX_WAIT);
        let ready = last + delay;
        (ready > now).then(|| ready - now)
    }

    /// Lets a guess through (counted as wrong), or says how long to wait.
    pub(crate) fn begin(&mut self, now: Instant) -> Result<(), Duration> {
        if let Some(wait) = self.wait(now) {
            return Err(wait);
        }
        self.wrong = self.wrong.saturating_add(1);
        self.last = Some(now);
        Ok(())
    }

    /// The guess let through last was right.
    pub(crate) fn right(&mut self) {
        self.wrong = self.wrong.saturating_sub(1);
    }

    fn quiet_since(&self, now: Instant) -> Duration {
        self.last.map_or(Duration::MAX, |last| now - last)
    }
}

/// A guess from an address told to the other nodes of a cluster: `true`
/// when one was let through (counted wrong), `false` when it proved right.
pub(crate) type GuessNote = (IpAddr, bool);

/// One [`GuessThrottle`] per client address, shared by its connections
/// (and, in a cluster, by every node: `cluster/guesses.rs`).
#[derive(Debug, Default)]
pub(crate) struct AddressThrottles {
    by_address: Mutex<HashMap<IpAddr, GuessThrottle>>,
    /// Where this node's guesses go to be told to the others.
    shared: OnceLock<tokio::sync::mpsc::UnboundedSender<GuessNote>>,
}

impl AddressThrottles {
    /// From now on, every guess let through here and every right one is
    /// also sent to `others`.
    pub(crate) fn share_with(&self, others: tokio::sync::mpsc::UnboundedSender<GuessNote>) {
        let _ = self.shared.set(others);
    }

    fn tell_others(&self, note: GuessNote) {
        if let Some(others) = self.shared.get() {
            let _ = others.send(note);
        }
    }

    /// A guess another node let through (`wrong`) or found right: counted
    /// here as if made here, without its wait (it was made).
    pub(crate) fn note_elsewhere(&self, (address, wrong): GuessNote, now: Instant) {
        let mut map = self.lock(address, now);
        let throttle = map.entry(address).or_default();
        match wrong {
            true => {
                throttle.wrong = throttle.wrong.saturating_add(1);
                throttle.last = Some(now);
            }
            false => throttle.right(),
        }
    }

    /// [`GuessThrottle::begin`] for `address`.
    pub(crate) fn begin(&self, address: IpAddr, now: Instant) -> Result<(), Duration> {
        let begun = self
            .lock(address, now)
            .entry(address)
            .or_default()
            .begin(now);
        if begun.is_ok() {
            self.tell_others((address, true));
        }
        begun
    }

    /// The map, with room for `address`.
    fn lock(
        &self,
        address: IpAddr,
        now: Instant,
    ) -> std::sync::MutexGuard<'_, HashMap<IpAddr, GuessThrottle>> {
        let mut map = self
            .by_address
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_TRACKED_ADDRESSES && !map.contains_key(&address) {
            // Forget the addresses that have been quiet longest.
            let mut quiet: Vec<(IpAddr, Duration)> = map
                .iter()
                .map(|(address, throttle)| (*address, throttle.quiet_since(now)))
                .collect();
            quiet.sort_by_key(|(_, since)| std::cmp::Reverse(*since));
            for (address, _) in quiet.into_iter().take(MAX_TRACKED_ADDRESSES / 4) {
                map.remove(&address);
            }
        }
        map
    }

    /// [`GuessThrottle::right`] for `address`.
    pub(crate) fn right(&self, address: IpAddr) {
        let mut map = self
            .by_address
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(throttle) = map.get_mut(&address) {
            throttle.right();
        }
        drop(map);
        self.tell_others((address, false));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only_and_holds_no_clear_text() {
        let hash = PasswordHash::of("hunter2").unwrap();
        assert!(hash.0.starts_with("$argon2id$"), "{}", hash.0);
        assert!(!hash.0.contains("hunter2"));
        assert!(hash.verify("hunter2"));
        assert!(!hash.verify("hunter3"));
        assert_ne!(hash, PasswordHash::of("hunter2").unwrap(), "salted");
    }

    #[test]
    fn five_free_guesses_then_doubling_waits() {
        let start = Instant::now();
        let mut throttle = GuessThrottle::default();
        for _ in 0..5 {
            assert_eq!(throttle.begin(start), Ok(()));
        }
        assert_eq!(throttle.begin(start), Err(Duration::from_secs(1)));
        let later = start + Duration::from_secs(1);
        assert_eq!(throttle.begin(later), Ok(()));
        assert_eq!(throttle.begin(later), Err(Duration::from_secs(2)));
        // A right guess does not count.
        throttle.right();
        assert_eq!(throttle.begin(later), Err(Duration::from_secs(1)));
        let much_later = later + Duration::from_secs(3600);
        for _ in 0..40 {
            let _ = throttle.begin(much_later);
            throttle.last = Some(much_later);
            throttle.wrong += 1;
        }
        assert_eq!(throttle.wait(much_later), Some(MAX_WAIT));
    }

    #[test]
    fn guesses_made_on_other_nodes_count_and_ours_are_told_to_them() {
        let now = Instant::now();
        let throttles = AddressThrottles::default();
        let (tell, mut told) = tokio::sync::mpsc::unbounded_channel();
        throttles.share_with(tell);
        let mallory = IpAddr::from([10, 0, 0, 66]);
        for _ in 0..5 {
            throttles.note_elsewhere((mallory, true), now);
        }
        assert_eq!(throttles.begin(mallory, now), Err(Duration::from_secs(1)));
        assert!(told.try_recv().is_err(), "a refused guess is not told");
        // One of them proved right elsewhere: one more may be made here.
        throttles.note_elsewhere((mallory, false), now);
        assert_eq!(throttles.begin(mallory, now), Ok(()));
        throttles.right(mallory);
        assert_eq!(told.try_recv().ok(), Some((mallory, true)));
        assert_eq!(told.try_recv().ok(), Some((mallory, false)));
    }

    #[test]
    fn addresses_share_one_throttle_and_do_not_affect_each_other() {
        let now = Instant::now();
        let throttles = AddressThrottles::default();
        let (a, b): (IpAddr, IpAddr) = ([10, 0, 0, 1].into(), [10, 0, 0, 2].into());
        for _ in 0..5 {
            assert!(throttles.begin(a, now).is_ok());
        }
        assert!(throttles.begin(a, now).is_err());
        assert!(throttles.begin(b, now).is_ok());
    }
}
