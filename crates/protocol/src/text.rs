//! Validated texts: [`ChatText`] for message bodies and [`ShortText`] for
//! single-line fields (topics, reasons, names of servers and clients).

use std::{fmt, ops::Deref};

use serde::{Deserialize, Serialize};

use crate::{
    error::{FieldKind, ValidationError},
    limits::{MAX_SHORT_TEXT_BYTES, MAX_TEXT_BYTES},
};

/// A chat message body: 1 to 4096 bytes of UTF-8 with no control characters
/// other than newline and tab. Clients still sanitise text before drawing it
/// (other terminal-unsafe characters exist), but no escape sequence can
/// travel in a `ChatText`, since ESC is a control character.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ChatText(String);

impl ChatText {
    /// Validates `value` as a chat text.
    pub fn new(value: impl Into<String>) -> Result<Self, ValidationError> {
        let value = value.into();
        let invalid = |reason: String| Err(ValidationError::new(FieldKind::Text, reason));
        if value.is_empty() {
            return invalid("a message cannot be empty".into());
        }
        if value.len() > MAX_TEXT_BYTES {
            return invalid(format!(
                "{} bytes is longer than the limit of {MAX_TEXT_BYTES}",
                value.len()
            ));
        }
        if let Some(bad) = value
            .chars()
            .find(|c| c.is_control() && *c != '\n' && *c != '\t')
        {
            return invalid(format!("control character {bad:?} is not allowed"));
        }
        Ok(Self(value))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A single line of at most 390 bytes with no control characters at all; may
/// be empty (an empty topic clears it).
#[derive(Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ShortText(String);

impl ShortText {
    /// Validates `value` as a short single-line text.
    pub fn new(value: impl Into<String>) -> Result<Self, ValidationError> {
        let value = value.into();
        let invalid = |reason: String| Err(ValidationError::new(FieldKind::ShortText, reason));
        if value.len() > MAX_SHORT_TEXT_BYTES {
            return invalid(format!(
                "{} bytes is longer than the limit of {MAX_SHORT_TEXT_BYTES}",
                value.len()
            ));
        }
        if let Some(bad) = value.chars().find(|c| c.is_control()) {
            return invalid(format!("control character {bad:?} is not allowed"));
        }
        Ok(Self(value))
    }

    /// Builds a short text from any string by replacing control characters
    /// with spaces and cutting it at a character boundary to fit the limit.
    pub fn lossy(value: &str) -> Self {
        let mut out = String::with_capacity(value.len().min(MAX_SHORT_TEXT_BYTES));
        for c in value.chars() {
            let c = if c.is_control() { ' ' } else { c };
            if out.len() + c.len_utf8() > MAX_SHORT_TEXT_BYTES {
                break;
            }
            out.push(c);
        }
        Self(out)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! text_impls {
    ($name:ident) => {
        impl TryFrom<String> for $name {
            type Error = ValidationError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(text: $name) -> Self {
                text.0
            }
        }

        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }
    };
}

text_impls!(ChatText);
text_impls!(ShortText);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_text_limits() {
        assert!(ChatText::new("hello\n\tworld").is_ok());
        assert!(ChatText::new("").is_err());
        assert!(ChatText::new("\u{1b}]0;pwned\u{7}").is_err());
        assert!(ChatText::new("a\rb").is_err());
        assert!(ChatText::new("é".repeat(2048)).is_ok());
        assert!(ChatText::new(format!("{}x", "é".repeat(2048))).is_err());
    }

    #[test]
    fn short_text_is_one_line() {
        assert!(ShortText::new("").is_ok());
        assert!(ShortText::new("a\nb").is_err());
        assert_eq!(ShortText::lossy("a\nb\u{1b}").as_str(), "a b ");
        assert_eq!(ShortText::lossy(&"é".repeat(400)).len(), 390);
    }
}
