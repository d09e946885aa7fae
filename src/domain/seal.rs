//! Sealing: authenticated encryption of what the database must keep but must
//! not hand to whoever copies it — the material that verifies a client's
//! HS256 assertions, and keyward's own token signing key.
//!
//! The sealing key lives outside the database (`--secret-key-file` or
//! `KEYWARD_SECRET_KEY`). Each sealed value is bound to a context (for
//! example the key id it belongs to) through the AEAD's associated data, so
//! that a value moved to another row does not open there.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

/// What every sealed value starts with; the version leaves room for another
/// cipher later.
const SEALED_PREFIX: &str = "v1.";
const NONCE_LEN: usize = 12;
pub const KEY_LEN: usize = 32;

/// The key that seals and opens. Prints as `<redacted>`.
#[derive(Clone)]
pub struct SealingKey(Key);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealingKeyError {
    #[error(
        "a secret key is 32 bytes written as 64 hex digits or as base64 (43 or 44 characters); this one is {0} characters"
    )]
    BadFormat(usize),
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("no OS randomness: {0}")]
    Randomness(getrandom::Error),
    #[error("the cipher refused the value")]
    Cipher,
}

impl SealingKey {
    /// A fresh key from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; KEY_LEN];
        getrandom::fill(&mut bytes)?;
        Ok(Self::from_bytes(bytes))
    }

    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(Key::from(bytes))
    }

    /// Reads the text form: 64 hex digits, or base64 (standard or URL-safe,
    /// padded or not). Surrounding white space is ignored.
    pub fn from_text(text: &str) -> Result<Self, SealingKeyError> {
        let text = text.trim();
        let bytes = if text.len() == 2 * KEY_LEN && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..KEY_LEN).map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()).collect::<Option<Vec<u8>>>()
        } else {
            let unpadded = text.trim_end_matches('=');
            URL_SAFE_NO_PAD.decode(unpadded).ok().or_else(|| STANDARD.decode(text).ok())
        };
        bytes
            .and_then(|b| <[u8; KEY_LEN]>::try_from(b).ok())
            .map(Self::from_bytes)
            .ok_or(SealingKeyError::BadFormat(text.chars().count()))
    }

    /// The text form written to a new key file.
    pub fn to_text(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0.as_slice())
    }

    /// Encrypts `plaintext` for `context`; the result is text, fit for a
    /// column.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Result<String, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(SealError::Randomness)?;
        let cipher = ChaCha20Poly1305::new(&self.0);
        let sealed = cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: context.as_bytes() })
            .map_err(|_| SealError::Cipher)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(out)))
    }

    /// Decrypts what `seal` made for the same `context` with the same key;
    /// `None` for anything else (another key, another context, tampering).
    pub fn open(&self, context: &str, sealed: &str) -> Option<Vec<u8>> {
        let raw = URL_SAFE_NO_PAD.decode(sealed.strip_prefix(SEALED_PREFIX)?).ok()?;
        if raw.len() < NONCE_LEN {
            return None;
        }
        let (nonce, body) = raw.split_at(NONCE_LEN);
        ChaCha20Poly1305::new(&self.0)
            .decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad: context.as_bytes() })
            .ok()
    }

    /// Whether `value` is in the sealed form (a stored value from before
    /// sealing is not).
    pub fn is_sealed(value: &str) -> bool {
        value.starts_with(SEALED_PREFIX)
    }
}

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealingKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sealed_values_open_only_with_the_same_key_and_context() {
        let key = SealingKey::from_bytes([1; 32]);
        let sealed = key.seal("api-key:a", b"material").expect("randomness");
        assert!(SealingKey::is_sealed(&sealed));
        assert_eq!(key.open("api-key:a", &sealed).as_deref(), Some(&b"material"[..]));
        assert_eq!(key.open("api-key:b", &sealed), None, "another row's context");
        assert_eq!(SealingKey::from_bytes([2; 32]).open("api-key:a", &sealed), None, "another key");
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(key.open("api-key:a", &String::from_utf8(tampered).expect("ascii")), None);
        assert_ne!(key.seal("api-key:a", b"material").expect("randomness"), sealed, "a fresh nonce each time");
    }

    #[test]
    fn text_forms_round_trip() {
        let key = SealingKey::generate().expect("randomness");
        let again = SealingKey::from_text(&format!("  {}\n", key.to_text())).expect("own text form");
        let sealed = key.seal("c", b"x").expect("randomness");
        assert_eq!(again.open("c", &sealed).as_deref(), Some(&b"x"[..]));
        let hex: String = [7u8; 32].iter().map(|b| format!("{b:02x}")).collect();
        assert!(SealingKey::from_text(&hex).is_ok());
        assert!(SealingKey::from_text(&STANDARD.encode([7u8; 32])).is_ok());
        for bad in ["", "short", &"a".repeat(63), &STANDARD.encode([7u8; 31])] {
            assert!(SealingKey::from_text(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_hides_the_key() {
        let key = SealingKey::from_bytes([9; 32]);
        assert!(!format!("{key:?}").contains(&key.to_text()));
    }

    proptest! {
        #[test]
        fn opening_junk_never_panics(s in ".*") {
            let key = SealingKey::from_bytes([3; 32]);
            prop_assert_eq!(key.open("c", &s), None);
            prop_assert_eq!(key.open("c", &format!("v1.{s}")), None);
        }
    }
}
