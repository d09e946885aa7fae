//! Leaked secrets: whoever holds a key's secret may revoke it, without any
//! other credential. A secret is parsed (prefix and checksum) before any
//! storage is touched, and each well-formed one costs one indexed lookup.

use std::collections::HashSet;

use serde_json::json;

use super::audit::{self, Action, Target};
use super::{Principal, Service, ServiceError};
use crate::domain::{Secret, UnixTime};
use crate::store::{keys, revision};

/// The most secrets one request may name.
pub const MAX_SECRETS: usize = 1000;

/// Who reported a leak, as the trail records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeakSource {
    /// Someone holding the secret revoked it (`POST /api/leak/v1/revoke`).
    SelfRevocation,
}

impl LeakSource {
    pub fn as_str(self) -> &'static str {
        match self {
            LeakSource::SelfRevocation => "self-revocation",
        }
    }
}

impl Service {
    /// Anyone holding a secret. Disables every live key among `secrets`
    /// (junk, unknown, expired and already disabled ones are passed over
    /// alike) and answers nothing about which were which. The keys stop
    /// with the very next request here, and on other nodes within a poll.
    pub async fn revoke_leaked(
        &self,
        secrets: &[String],
        source: LeakSource,
        client_ip: Option<String>,
    ) -> Result<(), ServiceError> {
        if secrets.len() > MAX_SECRETS {
            return Err(ServiceError::invalid("secrets", format!("at most {MAX_SECRETS} secrets per request")));
        }
        // Checksums first: junk costs no storage at all.
        let hashes: HashSet<_> =
            secrets.iter().filter_map(|s| Secret::parse(s.trim()).ok()).map(|s| s.hash()).collect();
        if hashes.is_empty() {
            return Ok(());
        }
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let mut revoked = 0;
        for hash in &hashes {
            let Some(key) = keys::find_leaked(tx.conn(), hash).await? else { continue };
            if key.disabled || is_expired(key.expires, now) || !keys::disable(tx.conn(), &key.key_id).await? {
                continue;
            }
            let by = Principal::anonymous(key.org_id.clone(), client_ip.clone());
            let detail = json!({"serviceAccountId": key.account_id, "source": source.as_str()});
            audit::record(tx.conn(), &by, now, Action::KeyLeaked, Target::Key(&key.key_id), Some(detail)).await?;
            revoked += 1;
        }
        if revoked > 0 {
            revision::bump(tx.conn()).await?;
        }
        tx.commit().await?;
        if revoked > 0 {
            self.credentials_changed();
            self.metrics().lifecycle("leaked");
            tracing::info!(keys = revoked, source = source.as_str(), "disabled keys reported as leaked");
        }
        Ok(())
    }
}

fn is_expired(expires: Option<UnixTime>, now: UnixTime) -> bool {
    expires.is_some_and(|at| at <= now)
}
