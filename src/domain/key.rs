//! The API key format: `kw_` then 64 URL-safe base64 characters carrying 352
//! random bits and a CRC-32 of them.
//!
//! The fixed prefix lets secret scanners find leaked keys; the checksum lets a
//! mistyped or made-up key be refused before any storage lookup. A secret is
//! never stored. Two values are derived from it:
//!
//! - the *assertion key*, SHA-256(secret): at 67 bytes a secret is longer
//!   than SHA-256's 64-byte block, so HMAC-SHA256 keyed with the secret first
//!   hashes it (RFC 2104), and this digest verifies the HS256 assertions a
//!   client signs with its secret. Whoever holds it can sign as the key, so
//!   it is stored only sealed (`super::seal`);
//! - the *lookup hash*, SHA-256(SHA-256(secret)): what a request's key is
//!   found and compared by. At this entropy a fast hash is as safe as a slow
//!   one and keeps the check on every request cheap, and it gives nothing
//!   that signs an assertion. Being a hash of the assertion key, it can be
//!   computed for keys stored before sealing existed.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const PREFIX: &str = "kw_";
const RANDOM_BYTES: usize = 44;
const CHECKSUM_BYTES: usize = 4;
const ENCODED_LEN: usize = (RANDOM_BYTES + CHECKSUM_BYTES) * 4 / 3;
/// Length of every well-formed secret, prefix included.
pub const SECRET_LEN: usize = PREFIX.len() + ENCODED_LEN;

// Checked when compiling: at least 256 random bits, and longer than SHA-256's
// 64-byte block (what makes SHA-256(secret) the secret's HMAC key).
const _: () = assert!(RANDOM_BYTES * 8 >= 256 && SECRET_LEN > 64);

/// A key's secret in plaintext. It exists only between minting and the
/// response that creates it, or while a request is being authenticated; it
/// prints as `<redacted>` and cannot be serialized.
#[derive(Clone)]
pub struct Secret(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyFormatError {
    #[error("not a keyward key")]
    NotAKey,
    #[error("key checksum does not match")]
    BadChecksum,
}

impl Secret {
    /// A new secret from the operating system's CSPRNG.
    pub fn mint() -> Result<Self, getrandom::Error> {
        let mut entropy = [0u8; RANDOM_BYTES];
        getrandom::fill(&mut entropy)?;
        Ok(Self::from_entropy(entropy))
    }

    /// The seam for tests: the same encoding from chosen bytes.
    pub fn from_entropy(entropy: [u8; RANDOM_BYTES]) -> Self {
        let mut payload = [0u8; RANDOM_BYTES + CHECKSUM_BYTES];
        payload[..RANDOM_BYTES].copy_from_slice(&entropy);
        payload[RANDOM_BYTES..].copy_from_slice(&crc32fast::hash(&entropy).to_be_bytes());
        Self(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(payload)))
    }

    /// Checks shape and checksum only; whether the key exists is storage's
    /// question.
    pub fn parse(raw: &str) -> Result<Self, KeyFormatError> {
        let encoded =
            raw.strip_prefix(PREFIX).filter(|rest| rest.len() == ENCODED_LEN).ok_or(KeyFormatError::NotAKey)?;
        let payload = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| KeyFormatError::NotAKey)?;
        let (entropy, checksum) = payload.split_at(RANDOM_BYTES);
        if crc32fast::hash(entropy).to_be_bytes() != checksum {
            return Err(KeyFormatError::BadChecksum);
        }
        Ok(Self(raw.to_owned()))
    }

    /// The lookup hash: what storage finds the key by.
    pub fn hash(&self) -> SecretHash {
        self.assertion_key().lookup_hash()
    }

    /// The HMAC key equivalent to the secret, which verifies its assertions.
    pub fn assertion_key(&self) -> AssertionKey {
        AssertionKey(Sha256::digest(self.0.as_bytes()).into())
    }

    /// The plaintext, for the one response that hands it out and for signing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// SHA-256(secret): signs and verifies HS256 assertions exactly as the secret
/// does. Prints as `<redacted>`; stored only sealed.
#[derive(Clone, PartialEq, Eq)]
pub struct AssertionKey([u8; 32]);

impl AssertionKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn lookup_hash(&self) -> SecretHash {
        SecretHash(Sha256::digest(self.0).into())
    }
}

impl fmt::Debug for AssertionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AssertionKey(<redacted>)")
    }
}

/// The lookup hash of a secret: what storage keeps and looks keys up by.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretHash([u8; 32]);

impl SecretHash {
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn into_bytes(self) -> [u8; 32] {
        self.0
    }

    pub fn from_hex(s: &str) -> Option<Self> {
        if s.len() != 64 || !s.is_ascii() {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Self(out))
    }

    /// The comparison every authentication ends with; it takes the same time
    /// wherever the two hashes differ.
    pub fn matches(&self, other: &SecretHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn minted_secret_has_prefix_length_and_parses() {
        let secret = Secret::mint().expect("os randomness");
        assert!(secret.expose().starts_with("kw_"));
        assert_eq!(secret.expose().len(), SECRET_LEN);
        assert!(Secret::parse(secret.expose()).is_ok());
        assert_ne!(secret.expose(), Secret::mint().expect("os randomness").expose());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let secret = Secret::from_entropy([7; 44]);
        let shown = format!("{secret:?} {:?}", secret.hash());
        assert!(!shown.contains(&secret.expose()[3..]));
        assert!(!shown.contains(&secret.hash().to_hex()));
    }

    #[test]
    fn rejects_foreign_and_truncated_input() {
        let good = Secret::from_entropy([1; 44]);
        let good = good.expose();
        for bad in
            ["", "kw_", "secret-key", &good[..good.len() - 1], &format!("{good}A"), &good.replacen("kw_", "KW_", 1)]
        {
            assert_eq!(Secret::parse(bad).err(), Some(KeyFormatError::NotAKey), "{bad}");
        }
    }

    #[test]
    fn the_lookup_hash_cannot_sign_what_the_secret_signs() {
        let secret = Secret::from_entropy([4; 44]);
        let lookup = secret.hash();
        assert_ne!(&lookup.0, secret.assertion_key().as_bytes());
        assert_eq!(lookup, secret.assertion_key().lookup_hash());
    }

    #[test]
    fn hash_hex_round_trips() {
        let hash = Secret::from_entropy([9; 44]).hash();
        assert_eq!(SecretHash::from_hex(&hash.to_hex()), Some(hash));
        assert_eq!(SecretHash::from_hex("zz"), None);
    }

    proptest! {
        #[test]
        fn encode_then_parse_round_trips(entropy in proptest::collection::vec(any::<u8>(), 44)) {
            let secret = Secret::from_entropy(entropy.try_into().expect("44 bytes"));
            let parsed = Secret::parse(secret.expose()).expect("own output parses");
            prop_assert_eq!(parsed.hash(), secret.hash());
        }

        #[test]
        fn any_single_character_typo_is_caught(entropy in proptest::collection::vec(any::<u8>(), 44), pos in 3usize..SECRET_LEN, replacement in "[A-Za-z0-9_-]") {
            let secret = Secret::from_entropy(entropy.try_into().expect("44 bytes"));
            let mut chars: Vec<char> = secret.expose().chars().collect();
            let new = replacement.chars().next().expect("one char");
            prop_assume!(chars[pos] != new);
            chars[pos] = new;
            let typo: String = chars.into_iter().collect();
            prop_assert!(Secret::parse(&typo).is_err());
        }

        #[test]
        fn parse_never_panics(s in ".*") {
            let _ = Secret::parse(&s);
            let _ = Secret::parse(&format!("kw_{s}"));
        }
    }
}
