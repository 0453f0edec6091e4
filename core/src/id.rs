//! Identifiers: hall, service, window, zone and device ids share one rule.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An id matching `[a-z0-9][a-z0-9_-]{0,31}` (CONTRACT.md), so that it can
/// stand in an MQTT topic level and a URL path segment as it is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Id(String);

impl Id {
    /// Checks the id rule.
    pub fn parse(s: &str) -> Result<Id, InvalidId> {
        let bytes = s.as_bytes();
        let first_ok = bytes
            .first()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        let rest_ok = bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_' || *b == b'-');
        if first_ok && rest_ok && bytes.len() <= 32 {
            Ok(Id(s.to_owned()))
        } else {
            Err(InvalidId(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Id {
    type Error = InvalidId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Id::parse(&s)
    }
}

impl From<Id> for String {
    fn from(id: Id) -> String {
        id.0
    }
}

impl std::borrow::Borrow<str> for Id {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// The text that failed the id rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid id {0:?}: expected [a-z0-9][a-z0-9_-]{{0,31}}")]
pub struct InvalidId(pub String);

/// A ticket's place in the log: tickets are numbered in the order they are
/// issued, for all time. The public, unguessable handle is [`crate::Ticket::token`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TicketId(pub u64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_contract_ids() {
        for ok in ["3", "a", "pad-3", "window_12", "x".repeat(32).as_str()] {
            assert!(Id::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_others() {
        for bad in [
            "",
            "A",
            "-a",
            "_a",
            "a/b",
            "a+",
            "a#",
            "窗口",
            &"x".repeat(33),
        ] {
            assert!(Id::parse(bad).is_err(), "{bad}");
        }
    }
}
