//! Opaque one-off tokens: session cookies and one-time links. 256 random
//! bits, URL-safe; only their SHA-256 is stored.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)?;
        Ok(Self(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Wraps what a client sent back; an ill-formed one simply matches nothing.
    pub fn from_client(s: &str) -> Self {
        Self(s.to_owned())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The stored form.
    pub fn hash_hex(&self) -> String {
        hex_sha256(self.0.as_bytes())
    }

    /// A second token bound to this one (the CSRF token of a session), which
    /// the server can recompute and so need not store.
    pub fn derived(&self, purpose: &str) -> String {
        hex_sha256(format!("{purpose}:{}", self.0).as_bytes())
    }
}

/// What a one-time link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// The first run's link, which creates the first organization and admin.
    Setup,
    /// An invitation's link, which chooses a person's first password.
    Password,
    /// An invitation's link to a person who has an account: it opens the
    /// page where they, logged in as that account, accept the membership.
    Accept,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Setup => "setup",
            LinkPurpose::Password => "password",
            LinkPurpose::Accept => "accept",
        }
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_hidden() {
        let a = Token::generate().expect("os randomness");
        let b = Token::generate().expect("os randomness");
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 43);
        assert!(!format!("{a:?}").contains(a.expose()));
        assert_ne!(a.hash_hex(), a.derived("csrf"));
        assert_eq!(a.hash_hex().len(), 64);
    }
}
