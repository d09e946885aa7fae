//! Leaked secrets: whoever holds a key's secret may revoke it without any
//! other credential, and GitHub's secret scanning reports the keys it finds
//! in public. A secret is parsed (prefix and checksum) before any storage is
//! touched, and each well-formed one costs one indexed lookup.

use std::collections::HashMap;

use serde_json::json;

use super::audit::{self, Action, Target};
use super::mail::{LeakPayload, Mail};
use super::webhooks;
use super::{Principal, Service, ServiceError};
use crate::domain::webhook::Event;
use crate::domain::{Secret, SecretHash, UnixTime};
use crate::store::credential_changes::{self, CredentialChange};
use crate::store::keys::LeakedKey;
use crate::store::{Conn, keys, leak_reports};

/// The most secrets one request may name.
pub const MAX_SECRETS: usize = 1000;
/// Secrets looked up per second for anonymous self-revocation, node-wide:
/// two full calls' worth, a sliver of one core.
pub const ANONYMOUS_LOOKUPS_PER_SECOND: u32 = 2 * MAX_SECRETS as u32;
/// A call of at most this many secrets is never refused for the node-wide
/// allowance.
const SMALL_CALL: usize = 10;

/// Who reported a leak, as the trail records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeakSource {
    /// Someone holding the secret revoked it (`POST /api/leak/v1/revoke`).
    SelfRevocation,
    /// GitHub's secret scanning (`POST /api/leak/v1/github`).
    GitHub,
}

impl LeakSource {
    pub fn as_str(self) -> &'static str {
        match self {
            LeakSource::SelfRevocation => "self-revocation",
            LeakSource::GitHub => "github",
        }
    }
}

/// What a reported live key gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LeakAction {
    /// Disabled at once (the default).
    #[default]
    Disable,
    /// Only recorded in the trail, for admins to act on.
    Notify,
}

impl LeakAction {
    pub fn as_str(self) -> &'static str {
        match self {
            LeakAction::Disable => "disable",
            LeakAction::Notify => "notify",
        }
    }
}

/// One reported secret, with where it was found (GitHub's `url` and
/// `source`), when the reporter says.
#[derive(Debug, Clone, Default)]
pub struct LeakedSecret {
    pub secret: String,
    pub url: Option<String>,
    pub found_in: Option<String>,
}

impl Service {
    /// Anyone holding a secret. Disables every live key among `secrets`
    /// (junk, unknown, expired and already disabled ones are passed over
    /// alike) and answers nothing about which were which.
    pub async fn revoke_leaked(&self, secrets: &[String], client_ip: Option<String>) -> Result<(), ServiceError> {
        // Only secrets whose checksum holds cost a lookup; those are what
        // the node-wide allowance bounds. A small call (someone revoking the
        // few keys they leaked) does not wait on it: the per-address throttle
        // bounds those, so a flood of large calls cannot keep anyone from
        // revoking their own key.
        let lookups = secrets.iter().filter(|s| Secret::parse(s.trim()).is_ok()).count();
        if lookups > SMALL_CALL {
            let n = u32::try_from(lookups).unwrap_or(u32::MAX);
            self.inner.anonymous_lookups.take(n, self.now()).map_err(|wait| {
                self.metrics().lifecycle("throttled");
                ServiceError::Busy(wait)
            })?;
        }
        let reported: Vec<_> =
            secrets.iter().map(|s| LeakedSecret { secret: s.clone(), ..Default::default() }).collect();
        self.report_leaks(&reported, LeakSource::SelfRevocation, LeakAction::Disable, None, client_ip).await?;
        Ok(())
    }

    /// A verified leak report. For each secret, whether it was a live key
    /// (disabled now, or only recorded with `LeakAction::Notify`); a secret
    /// named twice is judged once. Each live key is audited as `key.leaked`
    /// in its organization's trail, and a disabled one stops with the very
    /// next request here and on other nodes within a poll.
    ///
    /// A signed report names itself by `digest` (of its signed body): one
    /// received before is not acted on again, so a replay changes nothing
    /// (its answer still says which secrets are live keys).
    pub async fn report_leaks(
        &self,
        reported: &[LeakedSecret],
        source: LeakSource,
        action: LeakAction,
        digest: Option<&str>,
        client_ip: Option<String>,
    ) -> Result<Vec<bool>, ServiceError> {
        if reported.len() > MAX_SECRETS {
            return Err(ServiceError::invalid("secrets", format!("at most {MAX_SECRETS} secrets per request")));
        }
        // Checksums first: junk costs no storage at all.
        let hashes: Vec<Option<SecretHash>> =
            reported.iter().map(|r| Secret::parse(r.secret.trim()).ok().map(|s| s.hash())).collect();
        let mut live: HashMap<SecretHash, bool> = HashMap::new();
        if hashes.iter().all(Option::is_none) {
            return Ok(vec![false; reported.len()]);
        }
        let now = self.now();
        // Looked up on a reader first: a list of dead or unknown keys, what an
        // anonymous caller can send at will, takes no write turn at all.
        let mut candidates = Vec::new();
        {
            let mut conn = self.store().read().await?;
            for (item, hash) in reported.iter().zip(&hashes) {
                let Some(hash) = hash else { continue };
                if live.contains_key(hash) {
                    continue;
                }
                live.insert(*hash, false);
                let found = keys::find_leaked(&mut conn, hash).await?;
                if let Some(key) = found.filter(|k| !k.disabled && !is_expired(k.expires, now)) {
                    candidates.push((item, *hash, key));
                }
            }
        }
        if candidates.is_empty() {
            return Ok(vec![false; reported.len()]);
        }
        let mut tx = self.store().begin().await?;
        if let Some(digest) = digest {
            if !leak_reports::remember(tx.conn(), digest, now).await? {
                tracing::info!(source = source.as_str(), "a leak report received before was sent again; not acted on");
                let seen: std::collections::HashSet<SecretHash> = candidates.iter().map(|(_, h, _)| *h).collect();
                return Ok(hashes.iter().map(|h| h.is_some_and(|h| seen.contains(&h))).collect());
            }
        }
        let mut disabled = Vec::new();
        let mut notices = 0;
        for (item, hash, key) in candidates {
            if action == LeakAction::Disable {
                // Of two reports racing, the one that disables it reports it.
                if !keys::disable(tx.conn(), &key.key_id).await? {
                    continue;
                }
                disabled.push(CredentialChange::Key(key.key_id.clone()));
            }
            live.insert(hash, true);
            let by = Principal::anonymous(key.org_id.clone(), client_ip.clone());
            let mut detail = json!({
                "serviceAccountId": key.account_id, "source": source.as_str(), "action": action.as_str(),
            });
            if let Some(url) = &item.url {
                detail["url"] = json!(url);
            }
            if let Some(found_in) = &item.found_in {
                detail["foundIn"] = json!(found_in);
            }
            let target = Target::Key(&key.key_id);
            audit::record(tx.conn(), &by, now, Action::KeyLeaked, target, Some(&detail)).await?;
            webhooks::announce(tx.conn(), &by, now, Event::KeyLeaked, target, Some(&detail)).await?;
            if let Some(email) = &key.confirmed_email {
                tell_owner(tx.conn(), &key, email, item, source, action, now).await?;
                notices += 1;
            }
        }
        // Recorded last: the feed's counter is one row every credential
        // change waits on, so it is taken once the keys' rows are held,
        // never between them (which could deadlock with a change of one).
        for change in &disabled {
            credential_changes::record(tx.conn(), change, now).await?;
        }
        tx.commit().await?;
        for change in &disabled {
            self.credential_changed(change);
        }
        for _ in 0..notices {
            self.metrics().mail("queued");
        }
        let reported_live = live.values().filter(|v| **v).count();
        if reported_live > 0 {
            self.metrics().lifecycle("leaked");
            tracing::info!(
                keys = reported_live,
                source = source.as_str(),
                action = action.as_str(),
                "keys reported as leaked"
            );
        }
        Ok(hashes.iter().map(|h| h.is_some_and(|h| live.get(&h).copied().unwrap_or(false))).collect())
    }
}

/// Queues the notice to the account's confirmed address, in the
/// transaction that records the leak.
async fn tell_owner(
    conn: &mut Conn,
    key: &LeakedKey,
    email: &str,
    item: &LeakedSecret,
    source: LeakSource,
    action: LeakAction,
    now: UnixTime,
) -> Result<(), ServiceError> {
    let notice = Mail::KeyLeaked(LeakPayload {
        account_id: key.account_id.clone(),
        account_name: key.account_name.clone(),
        key_id: key.key_id.clone(),
        key_name: key.key_name.clone(),
        source: source.as_str().to_owned(),
        disabled: action == LeakAction::Disable,
        url: item.url.clone(),
        reported: now,
    });
    super::mail::queue(conn, &key.org_id, email, &notice, now).await?;
    Ok(())
}

fn is_expired(expires: Option<UnixTime>, now: UnixTime) -> bool {
    expires.is_some_and(|at| at <= now)
}
