//! Identifiers. Each is a UUID on the wire as 16 raw bytes (no length
//! prefix), wrapped in its own type so one kind cannot be passed for another.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name(#[serde(with = "uuid::serde::compact")] pub Uuid);

        impl $name {
            /// Wraps a UUID.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

uuid_id!(
    /// A client installation's id: random (v4), kept across reconnects so the
    /// server can recognise a resend.
    ClientId
);
uuid_id!(
    /// A server's id: random (v4) per server instance; discovery merges
    /// beacons by it.
    ServerId
);
uuid_id!(
    /// One TCP connection's id, assigned by the server in `Welcome`.
    ConnectionId
);
uuid_id!(
    /// A chat message's id assigned by the server: a time-ordered UUID v7, so
    /// ids sort in the order the server accepted the messages.
    MessageId
);
uuid_id!(
    /// The id a client gives each message it sends (v4 or v7), echoed in the
    /// server's `Ack` and used to de-duplicate resends.
    ClientMsgId
);

uuid_id!(
    /// A file transfer's id, chosen (randomly) by the sender.
    TransferId
);

impl TransferId {
    /// A fresh random transfer id.
    pub fn random() -> Self {
        Self(Uuid::new_v4())
    }
}

impl ClientId {
    /// A fresh random client id.
    pub fn random() -> Self {
        Self(Uuid::new_v4())
    }
}

impl ServerId {
    /// A fresh random server id.
    pub fn random() -> Self {
        Self(Uuid::new_v4())
    }
}

impl ConnectionId {
    /// A fresh random connection id.
    pub fn random() -> Self {
        Self(Uuid::new_v4())
    }
}

impl ClientMsgId {
    /// A fresh random client message id.
    pub fn random() -> Self {
        Self(Uuid::new_v4())
    }
}

impl MessageId {
    /// The millisecond Unix timestamp embedded in a v7 id, if it is one.
    pub fn unix_millis(&self) -> Option<u64> {
        let (secs, nanos) = self.0.get_timestamp()?.to_unix();
        Some(secs * 1000 + u64::from(nanos) / 1_000_000)
    }
}
