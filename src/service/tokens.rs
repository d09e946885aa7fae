//! Short-lived access tokens: the JWT bearer grant (RFC 7523), where a client
//! signs an assertion with its key's secret (HS256), and client credentials
//! (HTTP Basic `keyId:secret`) for accounts that allow Basic.
//!
//! An assertion is verified with the key's assertion key, SHA-256(secret):
//! secrets are longer than SHA-256's block, so HMAC keyed with the secret and
//! HMAC keyed with its hash agree (RFC 2104). That value is stored sealed
//! with the secret key, never in the clear (`super::sealing`), and so is
//! keyward's own Ed25519 signing seed. Other services verify access tokens
//! offline with `/.well-known/jwks.json`.
//! keyward itself also checks, on each use, that the token's key still lives,
//! so that a revocation stops its tokens here at once. A token verified once
//! is remembered by its SHA-256 until its `exp` (`super::auth`'s cache): its
//! next uses cost neither a signature check nor a storage read, and a change
//! to its key or account, or to the signing keys, forgets it.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::auth::{AuthError, AuthFailure, Authenticated, Credential, TokenHash, VerifiedToken, judge};
use super::meter::RateStatus;
use super::sealing::{assertion_context, signing_context};
use super::{Service, ServiceError};
use crate::domain::{Id, Role, SealingKey, UnixTime};
use crate::store::credential_changes::{self, CredentialChange};
use crate::store::{CredentialRecord, keys, tokens};

/// The longest an access token lives, and the furthest ahead an assertion's
/// `exp` may be.
pub const MAX_LIFETIME: i64 = 3600;
/// Tolerated clock difference with clients, in seconds.
const LEEWAY: i64 = 30;

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The signing keys a node knows: the one it signs with, and the one before,
/// which still verifies the tokens it signed.
pub struct Keyring {
    current: Issuer,
    previous: Option<Issuer>,
}

impl Keyring {
    fn find(&self, kid: Option<&str>) -> Option<&Issuer> {
        let kid = kid?;
        std::iter::once(&self.current).chain(self.previous.as_ref()).find(|issuer| issuer.kid == kid)
    }
}

/// One of keyward's signing keys.
pub struct Issuer {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    public_x: String,
}

/// An issued access token. Prints as `<redacted>`.
pub struct AccessToken {
    pub token: String,
    pub expires_in: i64,
    /// The key's rate-limit count after this issue; `None` when it has none.
    pub rate: Option<RateStatus>,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccessToken(<redacted>, expires_in: {})", self.expires_in)
    }
}

/// RFC 6749 §5.2 errors.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    /// The client's own credentials (Basic) were refused.
    #[error("invalid_client")]
    InvalidClient,
    #[error("invalid_grant: {0}")]
    InvalidGrant(String),
    #[error("unsupported_grant_type")]
    UnsupportedGrantType,
    /// The key is past its rate limit: issuing a token is a use of it.
    #[error("rate limited")]
    RateLimited(RateStatus),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl OAuthError {
    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(_) => "invalid_request",
            OAuthError::InvalidClient => "invalid_client",
            OAuthError::InvalidGrant(_) => "invalid_grant",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::RateLimited(_) => "rate_limited",
            OAuthError::Service(_) => "server_error",
        }
    }
}

fn grant(detail: &str) -> OAuthError {
    OAuthError::InvalidGrant(detail.to_owned())
}

#[derive(Debug, Deserialize)]
pub struct AssertionClaims {
    iss: String,
    sub: String,
    exp: i64,
    jti: Option<String>,
    nbf: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize)]
struct AccessClaims {
    iss: String,
    aud: String,
    sub: String,
    exp: i64,
    iat: i64,
    jti: String,
    org_id: String,
    /// The key's effective role when the token was issued.
    role: Role,
    key_id: String,
    /// The key's scopes, space-separated (RFC 8693 §4.2); absent when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
}

/// The key id an assertion names, once its header is read: `None` when it
/// names none of the right shape (which is then refused like an unknown one).
pub fn assertion_key_id(assertion: &str) -> Result<Option<Id>, OAuthError> {
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| grant("the assertion is not a JWT"))?;
    if header.alg != Algorithm::HS256 {
        return Err(grant("the assertion must be signed with HS256"));
    }
    Ok(header.kid.as_deref().and_then(Id::parse))
}

/// The claims of an assertion signed (HS256) with `hmac_key` for
/// `audience`; `None` for a bad signature or claims of the wrong shape. Its
/// times are judged by the caller against keyward's clock.
pub fn verify_assertion(assertion: &str, hmac_key: &[u8; 32], audience: &str) -> Option<AssertionClaims> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    validation.validate_exp = false;
    jsonwebtoken::decode::<AssertionClaims>(assertion, &DecodingKey::from_secret(hmac_key), &validation)
        .ok()
        .map(|data| data.claims)
}

/// The DER of an Ed25519 private key in PKCS#8 form: a fixed prefix, then the seed.
fn pkcs8(seed: &[u8; 32]) -> Vec<u8> {
    let mut der = vec![0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
    der.extend_from_slice(seed);
    der
}

impl Issuer {
    fn from_seed(kid: String, seed: &[u8; 32]) -> Result<Self, ServiceError> {
        let public = ed25519_dalek::SigningKey::from_bytes(seed).verifying_key().to_bytes();
        let public_x = URL_SAFE_NO_PAD.encode(public);
        let decoding = DecodingKey::from_ed_components(&public_x).map_err(|e| ServiceError::Internal(e.into()))?;
        Ok(Self { kid, encoding: EncodingKey::from_ed_der(&pkcs8(seed)), decoding, public_x })
    }
}

impl Service {
    /// This node's copy of the shared signing keys, read on first use and
    /// again after any change to credentials (a rotation of the signing key
    /// bumps the credential revision, which every node watches).
    async fn keyring(&self) -> Result<Arc<Keyring>, ServiceError> {
        if let Some(ring) = self.inner.issuer.read().ok().and_then(|r| r.clone()) {
            return Ok(ring);
        }
        let generation = self.inner.issuer_generation.load(Ordering::SeqCst);
        let ring = Arc::new(self.load_keyring().await?);
        if let Ok(mut slot) = self.inner.issuer.write() {
            // A reload asked for while this one read storage must not be
            // undone by what it read.
            if self.inner.issuer_generation.load(Ordering::SeqCst) == generation {
                *slot = Some(ring.clone());
            }
        }
        Ok(ring)
    }

    /// Forgets this node's copy of the signing keys, and the tokens it
    /// verified with them; the next token reads them.
    pub(crate) fn forget_signing_keys(&self) {
        if let Ok(mut slot) = self.inner.issuer.write() {
            self.inner.issuer_generation.fetch_add(1, Ordering::SeqCst);
            *slot = None;
        }
        self.inner.credentials.forget_tokens();
    }

    async fn load_keyring(&self) -> Result<Keyring, ServiceError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)?;
        let kid = Id::generate().to_string();
        let candidate = self.sealing_key().seal(&signing_context(&kid), &seed)?;
        let mut tx = self.store().begin().await?;
        let stored = tokens::signing_keys(tx.conn(), (&kid, &candidate), self.now()).await?;
        tx.commit().await?;
        let current = self.open_signing_key(stored.kid, &stored.seed)?;
        let previous = match (stored.previous_kid, stored.previous_seed) {
            (Some(kid), Some(seed)) => Some(self.open_signing_key(kid, &seed)?),
            _ => None,
        };
        Ok(Keyring { current, previous })
    }

    fn open_signing_key(&self, kid: String, stored: &str) -> Result<Issuer, ServiceError> {
        let seed = if SealingKey::is_sealed(stored) {
            self.sealing_key().open(&signing_context(&kid), stored)
        } else {
            // Stored by an earlier version; sealed at the next start.
            STANDARD.decode(stored).ok()
        };
        let seed: [u8; 32] = seed
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("the stored signing key is damaged")))?;
        Issuer::from_seed(kid, &seed)
    }

    /// The operator: starts a new signing key. Tokens are signed with it from
    /// now on, on every node within `revocation_poll`; the key it replaces is
    /// still published, so tokens it signed verify until they expire (at
    /// most an hour); the one before that is dropped. Answers the new and
    /// the previous kid.
    pub async fn rotate_signing_key(&self) -> Result<(String, Option<String>), ServiceError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)?;
        let kid = Id::generate().to_string();
        let sealed = self.sealing_key().seal(&signing_context(&kid), &seed)?;
        let mut tx = self.store().begin().await?;
        let previous = tokens::rotate_signing_key(tx.conn(), &kid, &sealed, self.now()).await?;
        credential_changes::record(tx.conn(), &CredentialChange::Everything, self.now()).await?;
        tx.commit().await?;
        self.credentials_changed();
        tracing::info!(kid = %kid, previous = ?previous, "started a new token signing key");
        Ok((kid, previous))
    }

    /// The public keys that verify access tokens, as a JWK set: the current
    /// signing key, then the previous one while there is one.
    pub async fn jwks(&self) -> Result<serde_json::Value, ServiceError> {
        let ring = self.keyring().await?;
        let keys: Vec<_> = std::iter::once(&ring.current)
            .chain(ring.previous.as_ref())
            .map(|issuer| {
                serde_json::json!({
                    "kty": "OKP", "crv": "Ed25519", "x": issuer.public_x, "kid": issuer.kid, "alg": "EdDSA", "use": "sig",
                })
            })
            .collect();
        Ok(serde_json::json!({ "keys": keys }))
    }

    /// The JWT bearer grant: `assertion` signed with a key's secret, its
    /// audience the token endpoint's URL.
    pub async fn exchange_assertion(
        &self,
        assertion: &str,
        token_endpoint: &str,
        issuer_url: &str,
        client: Option<IpAddr>,
    ) -> Result<(AccessToken, Id), OAuthError> {
        let key_id = assertion_key_id(assertion)?;
        // An unknown key id and a bad signature get the same answer after the
        // same work (an HMAC under a throwaway key), so the endpoint tells
        // nobody which key ids exist.
        let found = match &key_id {
            Some(id) => self.assertion_material(id).await?,
            None => None,
        };
        let verifying_key = found.as_ref().map_or([0u8; 32], |(_, key)| *key);
        let verified = verify_assertion(assertion, &verifying_key, token_endpoint);
        let (Some(key_id), Some((record, _)), Some(claims)) = (key_id, found, verified) else {
            return Err(grant("the assertion was refused: unknown key, bad signature or malformed claims"));
        };
        let account = record.account_id.to_string();
        if claims.iss != account || claims.sub != account {
            return Err(grant("iss and sub must be the key's service account id"));
        }
        let now = self.now();
        if claims.exp + LEEWAY <= now {
            return Err(grant("the assertion has expired"));
        }
        if claims.exp > now + MAX_LIFETIME + LEEWAY {
            return Err(grant("the assertion's exp is more than an hour ahead"));
        }
        if claims.nbf.is_some_and(|nbf| nbf > now + LEEWAY) {
            return Err(grant("the assertion is not valid yet"));
        }
        let jti =
            claims.jti.filter(|j| !j.is_empty() && j.len() <= 200).ok_or_else(|| grant("the assertion needs a jti"))?;
        judge(&record, now).map_err(|f| grant(&f.to_string()))?;
        if !record.narrowing.admits(client) {
            self.metrics().auth_outcome(AuthFailure::OutsideAllowedCidrs.reason());
            return Err(grant("the assertion was refused: unknown key, bad signature or malformed claims"));
        }
        let mut tx = self.store().begin().await.map_err(ServiceError::from)?;
        let fresh = tokens::use_assertion(tx.conn(), &key_id, &jti, claims.exp + LEEWAY, now)
            .await
            .map_err(ServiceError::from)?;
        tx.commit().await.map_err(ServiceError::from)?;
        if !fresh {
            return Err(grant("this assertion was already used"));
        }
        let rate = self.spend_use(&Authenticated::of(record.clone())).await?;
        self.note_use(&record.key_id, &record.account_id);
        Ok((self.issue(&record, issuer_url, rate).await?, key_id))
    }

    /// Client credentials: `keyId:secret` by HTTP Basic, for accounts that
    /// allow Basic.
    pub async fn exchange_client_credentials(
        &self,
        credential: &Credential,
        issuer_url: &str,
        client: Option<IpAddr>,
    ) -> Result<AccessToken, OAuthError> {
        let who = match self.authenticate(credential).await {
            Ok(who) => who,
            Err(AuthError::Refused(_)) => return Err(OAuthError::InvalidClient),
            Err(AuthError::Service(e)) => return Err(e.into()),
        };
        self.admit(&who, client).map_err(|_| OAuthError::InvalidClient)?;
        let rate = self.spend_use(&who).await?;
        self.note_use(&who.key_id, &who.account_id);
        let record = self.credential_by_id(&who.key_id).await?.ok_or(OAuthError::InvalidClient)?;
        Ok(self.issue(&record, issuer_url, rate).await?)
    }

    /// Issuing a token is a use of its key: counted against the key's rate
    /// limit, and refused past it.
    async fn spend_use(&self, who: &Authenticated) -> Result<Option<RateStatus>, OAuthError> {
        match self.meter(who).await {
            Some(status) if !status.allowed => Err(OAuthError::RateLimited(status)),
            counted => Ok(counted),
        }
    }

    async fn issue(
        &self,
        record: &CredentialRecord,
        issuer_url: &str,
        rate: Option<RateStatus>,
    ) -> Result<AccessToken, ServiceError> {
        let ring = self.keyring().await?;
        let issuer = &ring.current;
        let now = self.now();
        let expires_in = record.expires.map_or(MAX_LIFETIME, |at| (at - now).min(MAX_LIFETIME));
        let claims = AccessClaims {
            iss: issuer_url.to_owned(),
            aud: issuer_url.to_owned(),
            sub: record.account_id.to_string(),
            exp: now + expires_in,
            iat: now,
            jti: Id::generate().to_string(),
            org_id: record.org_id.to_string(),
            role: record.effective_role(),
            key_id: record.key_id.to_string(),
            scope: Some(record.narrowing.scope_string()).filter(|s| !s.is_empty()),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(issuer.kid.clone());
        let token =
            jsonwebtoken::encode(&header, &claims, &issuer.encoding).map_err(|e| ServiceError::Internal(e.into()))?;
        self.metrics().auth_outcome("token_issued");
        Ok(AccessToken { token, expires_in, rate })
    }

    /// An access token presented as `Bearer`: keyward's signature, not
    /// expired, and its key still live (so a revocation stops it at once).
    /// Nothing is counted here: see `decide_key`.
    pub async fn verify_access_token(&self, token: &str, issuer_url: &str) -> Result<Authenticated, AuthError> {
        // Seen before: its signature and claims held for this issuer, and
        // its key's record is as current as the key check's.
        let cache = &self.inner.credentials;
        let hash = TokenHash::of(token);
        if let Some(known) = cache.token(&hash).filter(|known| *known.issuer == *issuer_url) {
            return self.accept_token(&known.checked.record, known.exp);
        }
        // Taken before the keyring and the key are read: a change forgotten
        // meanwhile keeps this answer out of the cache.
        let generation = cache.generation();
        let ring = self.keyring().await?;
        let kid = jsonwebtoken::decode_header(token).map_err(|_| AuthFailure::Malformed)?.kid;
        // A kid this node does not publish (a key rotated out, or junk) is
        // refused without trying a signature.
        let issuer = ring.find(kid.as_deref()).ok_or(AuthFailure::Malformed)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[issuer_url]);
        validation.set_issuer(&[issuer_url]);
        validation.validate_exp = false;
        let claims = jsonwebtoken::decode::<AccessClaims>(token, &issuer.decoding, &validation)
            .map_err(|_| AuthFailure::Malformed)?
            .claims;
        let now = self.now();
        if claims.exp <= now {
            return Err(AuthFailure::Expired.into());
        }
        let key_id = Id::parse(&claims.key_id).ok_or(AuthFailure::Malformed)?;
        let checked = self.checked_by_id(&key_id).await?.ok_or(AuthFailure::Unknown)?;
        if checked.record.account_id.as_str() != claims.sub {
            return Err(AuthFailure::Unknown.into());
        }
        let keep_for = Duration::from_secs((claims.exp - now).clamp(1, MAX_LIFETIME) as u64);
        let verified = Arc::new(VerifiedToken { checked, exp: claims.exp, issuer: issuer_url.into(), keep_for });
        cache.put_token(hash, verified.clone(), generation);
        self.accept_token(&verified.checked.record, verified.exp)
    }

    /// A verified token's use: refused past its `exp` or when its key may
    /// not be used now.
    fn accept_token(&self, record: &CredentialRecord, exp: UnixTime) -> Result<Authenticated, AuthError> {
        let now = self.now();
        if exp <= now {
            return Err(AuthFailure::Expired.into());
        }
        judge(record, now)?;
        // The key's narrowing as it is now, not as it was when the token was
        // issued: a narrowed or demoted key's tokens narrow with it.
        Ok(Authenticated::of(record.clone()))
    }

    /// A key's record and its opened assertion key.
    ///
    /// One statement and one opening either way: a key id that names no key
    /// opens a stand-in, so that its answer takes as long as a real one's.
    async fn assertion_material(&self, key: &Id) -> Result<Option<(CredentialRecord, [u8; 32])>, ServiceError> {
        static STAND_IN: std::sync::LazyLock<Option<String>> = std::sync::LazyLock::new(|| {
            SealingKey::from_bytes([7; 32]).seal(&assertion_context(&Id::generate()), &[0; 32]).ok()
        });
        let found = {
            let mut conn = self.store().read().await?;
            keys::find_assertion_material(&mut conn, key).await?
        };
        let Some((record, Some(sealed))) = found else {
            if let Some(stand_in) = STAND_IN.as_deref() {
                let _ = self.sealing_key().open(&assertion_context(key), stand_in);
            }
            return Ok(None);
        };
        let opened = self.sealing_key().open(&assertion_context(key), &sealed).and_then(|b| b.try_into().ok());
        if opened.is_none() {
            tracing::warn!(key = %key, "a key's sealed assertion key does not open with this secret key");
        }
        Ok(opened.map(|k| (record, k)))
    }

    async fn credential_by_id(&self, key: &Id) -> Result<Option<CredentialRecord>, ServiceError> {
        let mut conn = self.store().read().await?;
        Ok(keys::find_credential_by_id(&mut conn, key).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Secret;

    #[test]
    fn an_hs256_signature_made_with_the_secret_verifies_with_its_digest_only() {
        let secret = Secret::mint().expect("randomness");
        let claims = serde_json::json!({"sub": "x", "exp": 4_000_000_000_i64});
        let jwt = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret.expose().as_bytes()),
        )
        .expect("sign");
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp"]);
        let with_digest = DecodingKey::from_secret(secret.assertion_key().as_bytes());
        assert!(jsonwebtoken::decode::<serde_json::Value>(&jwt, &with_digest, &validation).is_ok());
        let with_lookup_hash = DecodingKey::from_secret(&secret.hash().into_bytes());
        assert!(jsonwebtoken::decode::<serde_json::Value>(&jwt, &with_lookup_hash, &validation).is_err());
        let other = Secret::mint().expect("randomness");
        let wrong = DecodingKey::from_secret(other.assertion_key().as_bytes());
        assert!(jsonwebtoken::decode::<serde_json::Value>(&jwt, &wrong, &validation).is_err());
    }

    #[test]
    fn access_tokens_verify_with_the_published_key() {
        let issuer = Issuer::from_seed("k1".into(), &[7; 32]).expect("issuer");
        let claims = serde_json::json!({"sub": "x", "exp": 4_000_000_000_i64});
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some("k1".into());
        let jwt = jsonwebtoken::encode(&header, &claims, &issuer.encoding).expect("sign");
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_required_spec_claims(&["exp"]);
        let published = DecodingKey::from_ed_components(&issuer.public_x).expect("jwk");
        assert!(jsonwebtoken::decode::<serde_json::Value>(&jwt, &published, &validation).is_ok());
    }
}
