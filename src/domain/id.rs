//! Opaque identifiers: time-ordered (UUIDv7) so that listing by id is listing
//! by creation, written as 32 lowercase hex digits, which are URL-safe.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Id(String);

impl Id {
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().simple().to_string())
    }

    /// Accepts only what `generate` makes, so that a malformed id is known to
    /// exist nowhere without asking storage.
    pub fn parse(s: &str) -> Option<Self> {
        let ok = s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        ok.then(|| Self(s.to_owned()))
    }

    /// Wraps a value read back from storage, which only ever holds generated ids.
    pub fn from_stored(s: String) -> Self {
        Self(s)
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

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_and_sort_by_creation() {
        let a = Id::generate();
        let b = Id::generate();
        assert_eq!(Id::parse(a.as_str()), Some(a.clone()));
        assert!(a < b);
    }

    #[test]
    fn rejects_anything_else() {
        for bad in ["", "1235", "ABCDEF0123456789abcdef0123456789", "../etc/passwd", "0123456789abcdef0123456789abcdeg"]
        {
            assert_eq!(Id::parse(bad), None, "{bad}");
        }
    }
}
