//! Who may connect: connections counted in total and per address, and,
//! apart, those still waiting to say `Hello` (the cheapest thing for a
//! stranger to hold open). A slot is released when its [`Admission`] is
//! dropped; the pending slot as soon as the connection is greeted.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use huddle_protocol::ErrorCode;

use crate::config::ServerConfig;

#[derive(Debug, Default)]
struct Counts {
    connected: HashMap<IpAddr, usize>,
    pending: HashMap<IpAddr, usize>,
    pending_total: usize,
}

/// Counts connections in total and per address.
#[derive(Debug, Default)]
pub(crate) struct Admissions {
    counts: Mutex<Counts>,
}

/// One admitted connection's slots.
#[derive(Debug)]
pub(crate) struct Admission {
    admissions: Arc<Admissions>,
    ip: IpAddr,
    pending: bool,
}

fn release(map: &mut HashMap<IpAddr, usize>, ip: IpAddr) {
    if let Some(count) = map.get_mut(&ip) {
        *count -= 1;
        if *count == 0 {
            map.remove(&ip);
        }
    }
}

impl Admissions {
    fn counts(&self) -> MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Admits a connection from `ip`, or says why not (with the text for
    /// its `Reject`).
    pub(crate) fn admit(
        self: &Arc<Self>,
        ip: IpAddr,
        config: &ServerConfig,
    ) -> Result<Admission, (ErrorCode, String)> {
        let mut counts = self.counts();
        let total: usize = counts.connected.values().sum();
        if total >= config.max_clients {
            let text = format!("the server is full ({} connections)", config.max_clients);
            return Err((ErrorCode::ServerFull, text));
        }
        if counts.pending_total >= config.max_pending_handshakes {
            let text = "the server is busy with new connections; try again in a moment";
            return Err((ErrorCode::ServerFull, text.into()));
        }
        let connected = counts.connected.get(&ip).copied().unwrap_or(0);
        if connected >= config.max_clients_per_ip {
            let text = format!(
                "too many connections from {ip} (limit {})",
                config.max_clients_per_ip
            );
            return Err((ErrorCode::TooManyConnectionsFromAddress, text));
        }
        let pending = counts.pending.get(&ip).copied().unwrap_or(0);
        if pending >= config.max_pending_handshakes_per_ip {
            let text = format!(
                "too many connections from {ip} have not said Hello yet (limit {})",
                config.max_pending_handshakes_per_ip
            );
            return Err((ErrorCode::TooManyConnectionsFromAddress, text));
        }
        *counts.connected.entry(ip).or_insert(0) += 1;
        *counts.pending.entry(ip).or_insert(0) += 1;
        counts.pending_total += 1;
        Ok(Admission {
            admissions: self.clone(),
            ip,
            pending: true,
        })
    }
}

impl Admission {
    /// The connection said `Hello`: it no longer counts as pending.
    pub(crate) fn greeted(&mut self) {
        if std::mem::take(&mut self.pending) {
            let mut counts = self.admissions.counts();
            release(&mut counts.pending, self.ip);
            counts.pending_total -= 1;
        }
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.greeted();
        release(&mut self.admissions.counts().connected, self.ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_waiting_for_hello_are_bounded_apart_and_released_when_greeted() {
        let config = ServerConfig {
            max_pending_handshakes_per_ip: 2,
            max_pending_handshakes: 3,
            ..ServerConfig::loopback()
        };
        let admissions = Arc::new(Admissions::default());
        let (a, b): (IpAddr, IpAddr) = ([10, 0, 0, 1].into(), [10, 0, 0, 2].into());
        let mut first = admissions.admit(a, &config).unwrap();
        let _second = admissions.admit(a, &config).unwrap();
        let refused = admissions.admit(a, &config).unwrap_err();
        assert_eq!(refused.0, ErrorCode::TooManyConnectionsFromAddress);
        assert!(refused.1.contains("Hello"), "{}", refused.1);
        let _third = admissions.admit(b, &config).unwrap();
        assert_eq!(
            admissions.admit(b, &config).unwrap_err().0,
            ErrorCode::ServerFull
        );
        first.greeted();
        assert!(
            admissions.admit(a, &config).is_ok(),
            "a greeted slot is freed"
        );
    }
}
