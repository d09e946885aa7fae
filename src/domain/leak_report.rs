//! GitHub's secret-scanning partner reports: the public keys they are signed
//! with (GitHub's `meta/public_keys/secret_scanning` JSON) and the check of
//! a report's signature (ECDSA P-256 over SHA-256, base64 DER).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use serde::Deserialize;

/// Longest key identifier or signature header taken at all; GitHub's are
/// far shorter, and anything longer is refused before any decoding.
const MAX_HEADER: usize = 1024;

/// The keys a report may be signed with, by identifier.
#[derive(Clone)]
pub struct ReportKeys {
    keys: Vec<(String, VerifyingKey)>,
}

impl std::fmt::Debug for ReportKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.keys.iter().map(|(id, _)| id)).finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportKeysError {
    #[error("not GitHub's public_keys JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the key {0:?} is not a PEM P-256 public key")]
    Key(String),
    #[error("the file lists no public key")]
    Empty,
}

#[derive(Deserialize)]
struct KeysFile {
    public_keys: Vec<KeyEntry>,
}

#[derive(Deserialize)]
struct KeyEntry {
    key_identifier: String,
    key: String,
    // GitHub marks the key it signs with now; older ones still verify
    // reports sent before a rotation, so every listed key is kept.
    #[allow(dead_code)]
    #[serde(default)]
    is_current: bool,
}

impl ReportKeys {
    /// Reads `{"public_keys": [{"key_identifier", "key", "is_current"}]}`.
    pub fn from_json(text: &str) -> Result<Self, ReportKeysError> {
        let file: KeysFile = serde_json::from_str(text)?;
        let keys = file
            .public_keys
            .into_iter()
            .map(|entry| {
                VerifyingKey::from_public_key_pem(entry.key.trim())
                    .map(|key| (entry.key_identifier.clone(), key))
                    .map_err(|_| ReportKeysError::Key(entry.key_identifier))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(ReportKeysError::Empty);
        }
        Ok(Self { keys })
    }

    /// Whether `body` was signed by the key named `identifier`, the
    /// signature being base64 of its DER form. Anything unknown or
    /// malformed is simply not a valid signature.
    pub fn verify(&self, identifier: &str, signature: &str, body: &[u8]) -> bool {
        if identifier.len() > MAX_HEADER || signature.len() > MAX_HEADER {
            return false;
        }
        let Some((_, key)) = self.keys.iter().find(|(id, _)| id == identifier) else { return false };
        let Ok(der) = STANDARD.decode(signature.trim()) else { return false };
        let Ok(signature) = Signature::from_der(&der) else { return false };
        // Only the canonical (low-S) form: its twin (r, n - s) verifies too,
        // and would be a second signature of the same report.
        if signature.normalize_s().is_some() {
            return false;
        }
        key.verify(body, &signature).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use p256::ecdsa::SigningKey;
    use p256::ecdsa::signature::Signer;
    use p256::pkcs8::{EncodePublicKey, LineEnding};

    use super::*;

    fn signing_key(byte: u8) -> SigningKey {
        SigningKey::from_slice(&[byte; 32]).expect("key")
    }

    fn keys_file(entries: &[(&str, &SigningKey)]) -> String {
        let list: Vec<_> = entries
            .iter()
            .map(|(id, key)| {
                let pem = key.verifying_key().to_public_key_pem(LineEnding::LF).expect("pem");
                serde_json::json!({"key_identifier": id, "key": pem, "is_current": true})
            })
            .collect();
        serde_json::json!({ "public_keys": list }).to_string()
    }

    /// Signed as a careful signer does: in the canonical, low-S form.
    fn low_s(key: &SigningKey, body: &[u8]) -> Signature {
        let signature: Signature = key.sign(body);
        signature.normalize_s().unwrap_or(signature)
    }

    fn sign(key: &SigningKey, body: &[u8]) -> String {
        STANDARD.encode(low_s(key, body).to_der().as_bytes())
    }

    #[test]
    fn the_high_s_twin_of_a_valid_signature_is_refused() {
        let key = signing_key(1);
        let keys = ReportKeys::from_json(&keys_file(&[("one", &key)])).expect("keys");
        let body = br#"[{"token":"kw_x","type":"keyward_api_key","url":"u","source":"content"}]"#;
        let low = low_s(&key, body);
        let (r, s) = low.split_scalars();
        let twin = Signature::from_scalars(r, -s).expect("twin");
        assert!(twin.normalize_s().is_some(), "the twin is the high-S form");
        assert!(keys.verify("one", &STANDARD.encode(low.to_der().as_bytes()), body));
        assert!(!keys.verify("one", &STANDARD.encode(twin.to_der().as_bytes()), body));
    }

    #[test]
    fn only_the_named_key_over_the_exact_body_verifies() {
        let (one, two) = (signing_key(1), signing_key(2));
        let keys = ReportKeys::from_json(&keys_file(&[("one", &one), ("two", &two)])).expect("keys");
        let body = br#"[{"token":"kw_x","type":"keyward_api_key","url":"u","source":"content"}]"#;
        let signed = sign(&one, body);
        assert!(keys.verify("one", &signed, body));
        assert!(!keys.verify("two", &signed, body), "another key's name");
        assert!(!keys.verify("three", &signed, body), "an unknown key");
        assert!(!keys.verify("one", &signed, b"[]"), "another body");
        assert!(!keys.verify("one", "bm90IGRlcg==", body), "not DER");
        assert!(!keys.verify("one", "%%%", body), "not base64");
        assert!(!keys.verify("one", &"A".repeat(5000), body), "oversized");
    }

    #[test]
    fn bad_files_are_refused() {
        assert!(matches!(ReportKeys::from_json("{}"), Err(ReportKeysError::Json(_))));
        assert!(matches!(ReportKeys::from_json(r#"{"public_keys": []}"#), Err(ReportKeysError::Empty)));
        let bad = r#"{"public_keys": [{"key_identifier": "x", "key": "not pem", "is_current": true}]}"#;
        assert!(matches!(ReportKeys::from_json(bad), Err(ReportKeysError::Key(id)) if id == "x"));
    }
}
