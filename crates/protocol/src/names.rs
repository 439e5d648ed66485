//! Validated names: [`Nick`] and [`RoomName`]. A value of either type is
//! always valid, because deserialization goes through the same constructor.
//! Both compare, hash and order case-insensitively (by their folded form) and
//! display as the user typed them.

use std::{cmp::Ordering, fmt, hash, str::FromStr};

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::{
    error::{FieldKind, ValidationError},
    limits::{MAX_NICK_BYTES, MAX_ROOM_BYTES},
};

/// Punctuation allowed in nicks besides letters and digits (IRC's set).
const NICK_PUNCTUATION: &str = "-_[]{}\\|^`.";

/// Characters that draw nothing or reorder text: zero-width spaces and
/// joiners, bidirectional marks, embeddings, overrides and isolates, the
/// soft hyphen, variation selectors, fillers and tags (Unicode's default
/// ignorables and bidi controls). A name holding one looks like another.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// A user's nick: 1 to 32 bytes of letters, digits and `-_[]{}\|^`.`, not
/// starting with a digit (of any script) or `-`, in Unicode normal form C
/// (it is normalised). Unique on a server case-insensitively.
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Nick {
    display: String,
    folded: String,
}

impl Nick {
    /// Validates `value` as a nick (after normalising it to NFC).
    pub fn new(value: impl Into<String>) -> Result<Self, ValidationError> {
        let display: String = value.into().nfc().collect();
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
            .find(|c| is_invisible(*c) || !(c.is_alphanumeric() || NICK_PUNCTUATION.contains(*c)))
        {
            return invalid(format!("character {bad:?} is not allowed in a nick"));
        }
        if display.starts_with(|c: char| c.is_numeric() || c == '-') {
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
/// or invisible characters ([`is_invisible`]) or commas, in Unicode normal
/// form C (it is normalised). A name given without the leading `#` gets one.
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoomName {
    display: String,
    folded: String,
}

impl RoomName {
    /// Validates and normalizes `value` as a room name.
    pub fn new(value: impl Into<String>) -> Result<Self, ValidationError> {
        let mut display: String = value.into().nfc().collect();
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
            .find(|c| c.is_whitespace() || c.is_control() || is_invisible(*c) || *c == ',')
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
    fn look_alike_tricks_are_refused_or_normalised() {
        for hidden in [
            "\u{200B}", "\u{200D}", "\u{200E}", "\u{202E}", "\u{00AD}", "\u{FEFF}",
        ] {
            assert!(
                RoomName::new(format!("#la{hidden}n")).is_err(),
                "{hidden:?} in a room"
            );
            assert!(
                Nick::new(format!("al{hidden}ice")).is_err(),
                "{hidden:?} in a nick"
            );
        }
        assert!(Nick::new("٣abc").is_err(), "an Arabic-Indic digit first");
        assert!(
            Nick::new("abc٣").is_ok(),
            "digits of any script after the first"
        );
        // Composed and decomposed é are one nick.
        let composed = Nick::new("ren\u{e9}").unwrap();
        let decomposed = Nick::new("rene\u{301}").unwrap();
        assert_eq!(composed, decomposed);
        assert_eq!(decomposed.as_str(), "ren\u{e9}");
        assert_eq!(
            RoomName::new("#caf\u{65}\u{301}").unwrap().as_str(),
            "#caf\u{e9}"
        );
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
