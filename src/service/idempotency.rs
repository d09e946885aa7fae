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
//!
//! A replay is authorized afresh: the kept answer carries what the call
//! demanded of its caller (the organization, the role, and for a key made,
//! that key's bounds), and it is given again only to a caller who still
//! meets that now. A person removed from the organization, or a key whose
//! account was demoted, gets `403`, not the secret.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Principal, Service, ServiceError};
use crate::domain::entity::ApiKey;
use crate::domain::{Id, Narrowing, RateLimit, Role, SealingKey, UnixTime, cidr, scope};
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

/// What a call that created something demanded of its caller, kept with
/// its answer: a replay must meet it again, now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReplayGuard {
    org: String,
    role: Role,
    key: Option<KeyBounds>,
}

/// A key's narrowing and expiry, as a ceiling checks them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct KeyBounds {
    scopes: Vec<String>,
    allowed_cidrs: Vec<String>,
    rate_limit: Option<(u32, u32)>,
    expires: Option<UnixTime>,
}

impl ReplayGuard {
    /// A call in `p`'s organization that needed `role`.
    pub fn new(p: &Principal, role: Role) -> Self {
        Self { org: p.org_id.to_string(), role, key: None }
    }

    /// A call that made `key`: whoever replays it must be able to make that
    /// key now.
    pub fn made_key(mut self, key: &ApiKey) -> Self {
        let n = &key.narrowing;
        self.key = Some(KeyBounds {
            scopes: n.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            allowed_cidrs: n.allowed_cidrs.iter().map(ToString::to_string).collect(),
            rate_limit: n.rate_limit.map(|r| (r.limit, r.period)),
            expires: key.expires,
        });
        self
    }

    /// The organization a replay is pinned to.
    pub fn org(&self) -> Option<Id> {
        Id::parse(&self.org)
    }

    fn to_line(&self) -> Result<Vec<u8>, ServiceError> {
        serde_json::to_vec(self).map_err(|e| ServiceError::Internal(e.into()))
    }
}

impl KeyBounds {
    fn narrowing(&self) -> Option<Narrowing> {
        Some(Narrowing {
            scopes: scope::parse_list(&self.scopes).ok()?,
            allowed_cidrs: cidr::parse_list(&self.allowed_cidrs).ok()?,
            rate_limit: match self.rate_limit {
                Some((limit, period)) => Some(RateLimit::parse(limit.into(), period.into()).ok()?),
                None => None,
            },
            ..Default::default()
        })
    }
}

/// What to do with a request carrying an idempotency key.
#[derive(Debug)]
pub enum Claim {
    /// The first time: run it, then `finish` or `release`.
    Fresh,
    /// Done before: answer with this status and body, if the caller still
    /// meets the guard (`None`: an answer kept without one, which no
    /// replay may have).
    Replay { status: u16, body: Vec<u8>, guard: Option<ReplayGuard> },
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
                let (guard, body) = split_kept(body);
                Claim::Replay { status: u16::try_from(status).unwrap_or(500), body, guard }
            }
            _ if idempotency::take_over(tx.conn(), &scope.scope, key, now - STALE_AFTER, now).await? => Claim::Fresh,
            _ => Claim::InProgress,
        };
        tx.commit().await?;
        Ok(claim)
    }

    /// Keeps the answer of a first request that succeeded, with what a
    /// replay of it must meet.
    pub async fn finish_idempotency_key(
        &self,
        scope: &IdempotencyScope,
        key: &str,
        status: u16,
        body: &[u8],
        guard: &ReplayGuard,
    ) -> Result<(), ServiceError> {
        let mut kept = guard.to_line()?;
        kept.push(b'\n');
        kept.extend_from_slice(body);
        let sealed = scope.sealing.seal(&context(scope, key), &kept)?;
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

/// A kept answer is its guard's JSON on the first line, then the body. An
/// answer kept before guards were has none.
fn split_kept(kept: Vec<u8>) -> (Option<ReplayGuard>, Vec<u8>) {
    let Some(newline) = kept.iter().position(|b| *b == b'\n') else { return (None, kept) };
    match serde_json::from_slice::<ReplayGuard>(&kept[..newline]) {
        Ok(guard) => (Some(guard), kept[newline + 1..].to_vec()),
        Err(_) => (None, kept),
    }
}

impl Service {
    /// Whether `p` (already pinned to the guard's organization) may still
    /// make the call whose answer it replays: the role it needed, and for a
    /// key made, a ceiling that still covers that key.
    pub fn authorize_replay(&self, p: &Principal, guard: &ReplayGuard) -> Result<(), ServiceError> {
        let refused = || ServiceError::forbidden("the caller may no longer make this call; its answer is not repeated");
        if p.org_id.as_str() != guard.org || p.role < guard.role {
            return Err(refused());
        }
        if let Some(bounds) = &guard.key {
            let narrowing = bounds.narrowing().ok_or_else(refused)?;
            p.ceiling().check(&narrowing, bounds.expires).map_err(ServiceError::above_ceiling)?;
        }
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

    #[test]
    fn a_kept_answer_splits_into_its_guard_and_body() {
        let guard = ReplayGuard { org: "o".into(), role: Role::Editor, key: None };
        let mut kept = guard.to_line().expect("json");
        kept.extend_from_slice(b"\n{\"a\":\"b\nc\"}");
        assert_eq!(split_kept(kept), (Some(guard), b"{\"a\":\"b\nc\"}".to_vec()));
        assert_eq!(split_kept(b"{\"id\":1}".to_vec()), (None, b"{\"id\":1}".to_vec()), "kept before guards");
        assert_eq!(split_kept(b"{\"x\":1}\n{}".to_vec()).0, None, "a line that is no guard");
    }
}
