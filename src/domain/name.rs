//! A display name for an organization, a service account or a key.

use std::fmt;

pub const MAX_LEN: usize = 200;

/// Shown and serialized as the text itself.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Name(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most 200 characters")]
    TooLong,
    #[error("must not contain control characters")]
    ControlCharacter,
}

impl Name {
    /// Surrounding white space is dropped; what is left must be 1 to 200
    /// characters with no control characters.
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(NameError::Empty);
        }
        if trimmed.chars().count() > MAX_LEN {
            return Err(NameError::TooLong);
        }
        if trimmed.chars().any(char::is_control) {
            return Err(NameError::ControlCharacter);
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    pub fn from_stored_ref(s: &str) -> Self {
        Self(s.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form uniqueness is judged on: names differing only in case collide.
    pub fn folded(&self) -> String {
        self.0.to_lowercase()
    }
}

impl std::ops::Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<Name> for String {
    fn from(v: Name) -> Self {
        v.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn trims_and_limits() {
        assert_eq!(Name::parse("  John Doe ").map(|n| n.0), Ok("John Doe".into()));
        assert_eq!(Name::parse("   "), Err(NameError::Empty));
        assert_eq!(Name::parse(&"é".repeat(200)).map(|n| n.0.chars().count()), Ok(200));
        assert_eq!(Name::parse(&"a".repeat(201)), Err(NameError::TooLong));
        assert_eq!(Name::parse("a\u{0}b"), Err(NameError::ControlCharacter));
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_accepted_names_are_clean(s in ".*") {
            if let Ok(name) = Name::parse(&s) {
                prop_assert!(!name.as_str().is_empty());
                prop_assert!(name.as_str().chars().count() <= MAX_LEN);
                prop_assert_eq!(name.as_str().trim(), name.as_str());
            }
        }
    }
}
