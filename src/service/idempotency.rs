//! Idempotent retries: a creating call sent again with the same
//! `Idempotency-Key` by the same caller gets the first call's answer instead
//! of creating a second thing, as Stripe's API does.
//!
//! The answer is kept for 24 hours, sealed with a key derived from the
//! caller's own credential, which keyward never stores. A replayed key
//! creation can so carry the same secret again to the one caller who made
//! it, while a copy of the database (even with the secret key) opens
//! nothing. The first request claims the key before it runs, so concurrent
//! retries cannot each create a thing: one runs, the others are told it is
//! in progress.

use sha2::{Digest, Sha256};

use super::{Service, ServiceError};
use crate::domain::SealingKey;
use crate::store::idempotency;

/// How long a key and its answer are kept.
pub const KEPT_FOR: i64 = 24 * 3600;
/// A claim older than this whose request never finished (its node died) may
/// be taken over; well past the 10 s request deadline.
const STALE_AFTER: i64 = 60;

/// A caller's idempotency key, derived from what they presented.
pub struct IdempotencyScope {
    /// Names the caller in storage; reveals nothing of the credential.
    scope: String,
    /// Seals the answer; derivable only from the credential itself.
    sealing: SealingKey,
}

impl IdempotencyScope {
    /// From the credential a request presented (its `Authorization` value or
    /// its session token).
    pub fn of_credential(credential: &[u8]) -> Self {
        let digest = |label: &[u8]| -> [u8; 32] {
            let mut h = Sha256::new();
            h.update(label);
            h.update(credential);
            h.finalize().into()
        };
        let scope = digest(b"keyward idempotency scope\0").iter().map(|b| format!("{b:02x}")).collect();
        Self { scope, sealing: SealingKey::from_bytes(digest(b"keyward idempotency seal\0")) }
    }
}

/// What to do with a request carrying an idempotency key.
#[derive(Debug)]
pub enum Claim {
    /// The first time: run it, then `finish` or `release`.
    Fresh,
    /// Done before: answer with this status and body.
    Replay { status: u16, body: Vec<u8> },
    /// The key was used for another request.
    Mismatch,
    /// The first request with this key is still running.
    InProgress,
}

fn context(scope: &IdempotencyScope, key: &str) -> String {
    format!("idempotency:{}:{key}", scope.scope)
}

impl Service {
    pub async fn claim_idempotency_key(
        &self,
        scope: &IdempotencyScope,
        key: &str,
        request_hash: &str,
    ) -> Result<Claim, ServiceError> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        if idempotency::claim(tx.conn(), &scope.scope, key, request_hash, now, now + KEPT_FOR).await? {
            tx.commit().await?;
            return Ok(Claim::Fresh);
        }
        let Some(found) = idempotency::get(tx.conn(), &scope.scope, key).await? else {
            // Claimed and released between the two statements: the caller
            // may simply retry.
            return Ok(Claim::InProgress);
        };
        if found.request_hash != request_hash {
            return Ok(Claim::Mismatch);
        }
        let claim = match (found.status, found.response) {
            (Some(status), Some(sealed)) => {
                let body = scope
                    .sealing
                    .open(&context(scope, key), &sealed)
                    .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("a kept idempotent answer does not open")))?;
                Claim::Replay { status: u16::try_from(status).unwrap_or(500), body }
            }
            _ if idempotency::take_over(tx.conn(), &scope.scope, key, now - STALE_AFTER, now).await? => Claim::Fresh,
            _ => Claim::InProgress,
        };
        tx.commit().await?;
        Ok(claim)
    }

    /// Keeps the answer of a first request that succeeded.
    pub async fn finish_idempotency_key(
        &self,
        scope: &IdempotencyScope,
        key: &str,
        status: u16,
        body: &[u8],
    ) -> Result<(), ServiceError> {
        let sealed = scope.sealing.seal(&context(scope, key), body)?;
        let mut tx = self.store().begin().await?;
        idempotency::finish(tx.conn(), &scope.scope, key, i64::from(status), &sealed).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forgets the claim of a first request that did not succeed, so that a
    /// retry with the same key runs again.
    pub async fn release_idempotency_key(&self, scope: &IdempotencyScope, key: &str) -> Result<(), ServiceError> {
        let mut tx = self.store().begin().await?;
        idempotency::release(tx.conn(), &scope.scope, key).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scope_reveals_nothing_that_opens_the_answer() {
        let a = IdempotencyScope::of_credential(b"kw_secret");
        let b = IdempotencyScope::of_credential(b"kw_other");
        assert_ne!(a.scope, b.scope);
        let sealed = a.sealing.seal(&context(&a, "k"), b"{}").expect("seal");
        assert!(b.sealing.open(&context(&a, "k"), &sealed).is_none(), "another caller cannot open it");
        let from_scope = SealingKey::from_text(&a.scope).expect("the scope is 32 bytes of hex");
        assert!(from_scope.open(&context(&a, "k"), &sealed).is_none(), "the stored scope is not the key");
        let again = IdempotencyScope::of_credential(b"kw_secret");
        assert_eq!(again.sealing.open(&context(&a, "k"), &sealed).as_deref(), Some(&b"{}"[..]));
    }
}
