//! Validated names: [`Nick`] and [`RoomName`]. A value of either type is
//! always valid, because deserialization goes through the same constructor.
//! Both compare, hash and order case-insensitively (by their folded form) and
//! display as the user typed them.

use std::{cmp::Ordering, fmt, hash, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::{
    error::{FieldKind, ValidationError},
    limits::{MAX_NICK_BYTES, MAX_ROOM_BYTES},
};

/// Punctuation allowed in nicks besides letters and digits (IRC's set).
const NICK_PUNCTUATION: &str = "-_[]{}\\|^`.";

/// A user's nick: 1 to 32 bytes of letters, digits and `-_[]{}\|^`.`, not
/// starting with a digit or `-`. Unique on a server case-insensitively.
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Nick {
    display: String,
    folded: String,
}

impl Nick {
    /// Validates `value` as a nick.
    pub fn new(value: impl Into<String>) -> Result<Self, ValidationError> {
        let display = value.into();
        let invalid = |reason: String| Err(ValidationError::new(FieldKind::Nick, reason));
        if display.is_empty() {
            return invalid("a nick cannot be empty".into());
        }
        if display.len() > MAX_NICK_BYTES {
            return invalid(format!(
                "{} bytes is longer than the limit of {MAX_NICK_BYTES}",
                display.len()
            ));
        }
        if let Some(bad) = display
            .chars()
            .find(|c| !(c.is_alphanumeric() || NICK_PUNCTUATION.contains(*c)))
        {
            return invalid(format!("character {bad:?} is not allowed in a nick"));
        }
        if display.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
            return invalid("a nick cannot start with a digit or '-'".into());
        }
        let folded = display.to_lowercase();
        Ok(Self { display, folded })
    }

    /// The nick as the user chose it.
    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// The case-folded form used for comparison.
    pub fn folded(&self) -> &str {
        &self.folded
    }
}

/// A room name: `#` followed by 1 to 63 bytes with no whitespace, control
/// characters or commas. A name given without the leading `#` gets one.
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoomName {
    display: String,
    folded: String,
}

impl RoomName {
    /// Validates and normalizes `value` as a room name.
    pub fn new(value: impl Into<String>) -> Result<Self, ValidationError> {
        let mut display = value.into();
        if !display.starts_with('#') {
            display.insert(0, '#');
        }
        let invalid = |reason: String| Err(ValidationError::new(FieldKind::Room, reason));
        if display.len() < 2 {
            return invalid("a room name needs at least one character after '#'".into());
        }
        if display.len() > MAX_ROOM_BYTES {
            return invalid(format!(
                "{} bytes is longer than the limit of {MAX_ROOM_BYTES}",
                display.len()
            ));
        }
        if let Some(bad) = display
            .chars()
            .find(|c| c.is_whitespace() || c.is_control() || *c == ',')
        {
            return invalid(format!("character {bad:?} is not allowed in a room name"));
        }
        let folded = display.to_lowercase();
        Ok(Self { display, folded })
    }

    /// The name as the room's creator wrote it, with its leading `#`.
    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// The case-folded form used for comparison.
    pub fn folded(&self) -> &str {
        &self.folded
    }
}

macro_rules! name_impls {
    ($name:ident) => {
        impl TryFrom<String> for $name {
            type Error = ValidationError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(name: $name) -> Self {
                name.display
            }
        }

        impl FromStr for $name {
            type Err = ValidationError;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Self::new(value)
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.folded == other.folded
            }
        }

        impl Eq for $name {}

        impl hash::Hash for $name {
            fn hash<H: hash::Hasher>(&self, state: &mut H) {
                self.folded.hash(state);
            }
        }

        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
                Some(self.cmp(other))
            }
        }

        impl Ord for $name {
            fn cmp(&self, other: &Self) -> Ordering {
                self.folded.cmp(&other.folded)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.display)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.display, f)
            }
        }
    };
}

name_impls!(Nick);
name_impls!(RoomName);

#[cfg(test)]
mod tests {
    use super::*;

    fn check_nick(input: &str, ok: bool) {
        assert_eq!(Nick::new(input).is_ok(), ok, "nick {input:?}");
    }

    #[test]
    fn nicks() {
        for good in [
            "alice",
            "Bob_",
            "[away]",
            "a",
            "ünïcödé",
            "x".repeat(32).as_str(),
        ] {
            check_nick(good, true);
        }
        for bad in [
            "",
            "1abc",
            "-x",
            "a b",
            "a\u{1b}",
            "#room",
            "x".repeat(33).as_str(),
            "a,b",
        ] {
            check_nick(bad, false);
        }
    }

    #[test]
    fn nicks_compare_case_insensitively() {
        let upper = Nick::new("Alice").unwrap();
        let lower = Nick::new("alice").unwrap();
        assert_eq!(upper, lower);
        assert_eq!(upper.as_str(), "Alice");
        assert_eq!(lower.folded(), "alice");
    }

    #[test]
    fn rooms_are_normalized() {
        assert_eq!(RoomName::new("general").unwrap().as_str(), "#general");
        assert_eq!(
            RoomName::new("#General").unwrap(),
            RoomName::new("#general").unwrap()
        );
        assert!(RoomName::new("#").is_err());
        assert!(RoomName::new("").is_err());
        assert!(RoomName::new("#a b").is_err());
        assert!(RoomName::new("#a,b").is_err());
        assert!(RoomName::new(format!("#{}", "r".repeat(63))).is_ok());
        assert!(RoomName::new(format!("#{}", "r".repeat(64))).is_err());
    }

    #[test]
    fn errors_name_the_field_and_reason() {
        let err = Nick::new("x".repeat(40)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid nick: 40 bytes is longer than the limit of 32"
        );
        assert_eq!(ValidationError::parse(&err.to_string()), Some(err));
    }
}
