//! The outbox worker: claims one due message at a time under a lease, sends
//! it, and marks it sent; a failed attempt is retried with exponential
//! backoff until the message has failed for too long, when it is given up
//! on, logged and written to the audit trail. Beside that, a periodic scan
//! queues warnings for keys about to expire.
//!
//! Every node runs one; the lease and PostgreSQL's row locks make each
//! message one node's alone, and nothing here lives only in memory: a node
//! killed mid-send leaves a lease that runs out, and another (or the same,
//! restarted) node sends the message then.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde_json::json;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{
    CONFIRM_EMAIL, CONFIRMATION_LIFETIME, ConfirmPayload, ExpiryPayload, INVITATION, InvitationPayload, KEY_EXPIRY,
    KEY_LEAKED, LeakPayload, MailConfig, render,
};
use crate::domain::{Id, Token, UnixTime};
use crate::service::Service;
use crate::service::invitations::INVITATION_LINK_LIFETIME;
use crate::store::mail::{self, OutboxRecord};
use crate::store::{AuditRecord, StoreError, accounts, audit, invitations};

/// Sent and abandoned messages are kept this long for inspection.
const KEEP_DONE: i64 = 30 * 86_400;
/// Keys warned about per scan; the next scan takes the rest.
const SCAN_BATCH: i64 = 500;

/// Starts the worker on the current runtime; it runs until aborted.
pub fn spawn(service: Service, config: MailConfig) -> JoinHandle<()> {
    tracing::info!(
        transport = %config.transport.describe(),
        from = %config.from,
        expiry_warning_days = config.expiry_warning_days,
        "mail: delivering the outbox"
    );
    tokio::spawn(run(service, Arc::new(config)))
}

async fn run(service: Service, config: Arc<MailConfig>) {
    let mut next_scan = Instant::now();
    loop {
        if Instant::now() >= next_scan {
            next_scan = Instant::now() + config.scan_interval;
            if let Err(e) = warn_of_expiring_keys(&service, &config).await {
                tracing::warn!(error = %e, "mail: could not look for keys about to expire");
            }
            if let Err(e) = prune(&service).await {
                tracing::warn!(error = %e, "mail: could not prune the outbox");
            }
        }
        // Drain what is due, then rest.
        loop {
            match deliver_one(&service, &config).await {
                Ok(true) => continue,
                Ok(false) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "mail: the outbox could not be read or updated; retrying shortly");
                    break;
                }
            }
        }
        if let Err(e) = observe_backlog(&service).await {
            tracing::debug!(error = %e, "mail: could not measure the outbox");
        }
        tokio::time::sleep(config.poll_interval).await;
    }
}

/// What became of one claimed message.
enum Outcome {
    Sent,
    /// No longer wanted (the account or membership is gone, the address
    /// changed or is confirmed already); the reason is kept in `last_error`.
    Cancelled(&'static str),
}

/// Claims and handles one due message; false when none was due.
pub async fn deliver_one(service: &Service, config: &MailConfig) -> Result<bool, StoreError> {
    let store = service.store();
    let now = service.now();
    if !mail::any_due(&mut *store.read().await?, now).await? {
        return Ok(false);
    }
    let mut tx = store.begin().await?;
    let claimed = mail::claim(tx.conn(), store.engine(), now, now + config.lease.as_secs() as i64).await?;
    tx.commit().await?;
    let Some(message) = claimed else { return Ok(false) };
    let outcome = send(service, config, &message).await;
    let now = service.now();
    let mut tx = store.begin().await?;
    match outcome {
        Ok(Outcome::Sent) => {
            mail::mark_sent(tx.conn(), &message.id, now).await?;
            tx.commit().await?;
            service.metrics().mail("sent");
            tracing::info!(message_id = %message.id, kind = %message.kind, attempts = message.attempts + 1, "mail: sent");
        }
        Ok(Outcome::Cancelled(why)) => {
            mail::give_up(tx.conn(), &message.id, message.attempts, now, &format!("cancelled: {why}")).await?;
            tx.commit().await?;
            service.metrics().mail("cancelled");
            tracing::info!(message_id = %message.id, kind = %message.kind, reason = why, "mail: not sent");
        }
        Err(e) => {
            let attempts = message.attempts + 1;
            let error = format!("{e:#}");
            if now - message.created >= config.give_up_after.as_secs() as i64 {
                mail::give_up(tx.conn(), &message.id, attempts, now, &error).await?;
                audit_failure(tx.conn(), &message, attempts, &error, now).await?;
                tx.commit().await?;
                service.metrics().mail("failed");
                tracing::warn!(
                    message_id = %message.id, kind = %message.kind, attempts, error = %error,
                    "mail: giving up on a message that kept failing"
                );
            } else {
                let wait = backoff(attempts, config.max_backoff);
                mail::reschedule(tx.conn(), &message.id, attempts, now + wait, &error).await?;
                tx.commit().await?;
                service.metrics().mail("retried");
                tracing::info!(
                    message_id = %message.id, kind = %message.kind, attempts, retry_in = wait, error = %error,
                    "mail: sending failed; will retry"
                );
            }
        }
    }
    Ok(true)
}

/// Seconds before the next attempt after `attempts` failures: 1, 2, 4, …
/// up to `max`.
pub fn backoff(attempts: i64, max: Duration) -> i64 {
    let exp = attempts.saturating_sub(1).clamp(0, 30) as u32;
    (1i64 << exp).min(max.as_secs().max(1) as i64)
}

/// Renders and sends `m`. A confirmation request or an invitation gets its
/// link here: the token is minted now and only its hash stored, so a retry
/// carries a new link and the outbox never holds a usable one.
async fn send(service: &Service, config: &MailConfig, m: &OutboxRecord) -> anyhow::Result<Outcome> {
    let now = service.now();
    // An address no mailer accepts can only fail: retrying it for a day,
    // minting a link each time, would serve nobody. (Addresses are checked
    // when given; this catches any stored before that check.)
    if m.recipient.parse::<lettre::message::Mailbox>().is_err() {
        return Ok(Outcome::Cancelled("the address cannot receive mail"));
    }
    let rendered = match m.kind.as_str() {
        CONFIRM_EMAIL => {
            let p: ConfirmPayload = serde_json::from_str(&m.payload).context("reading the outbox payload")?;
            let mut tx = service.store().begin().await?;
            let Some(account) = accounts::get(tx.conn(), &m.org_id, &p.account_id).await? else {
                return Ok(Outcome::Cancelled("the service account was deleted"));
            };
            if account.email.as_deref() != Some(p.email.as_str()) {
                return Ok(Outcome::Cancelled("the service account's address changed"));
            }
            if account.email_confirmed {
                return Ok(Outcome::Cancelled("the address is confirmed already"));
            }
            let token = Token::generate().map_err(|e| anyhow::anyhow!("drawing a token: {e}"))?;
            let expires = now + CONFIRMATION_LIFETIME.as_secs() as i64;
            mail::insert_confirmation(tx.conn(), &token.hash_hex(), &account.id, &p.email, now, expires).await?;
            tx.commit().await?;
            let link = format!("{}/confirm-email?token={}", config.public_url, token.expose());
            render::confirmation(&account.name, &p.email, &link, CONFIRMATION_LIFETIME.as_secs() / 3600)
        }
        INVITATION => {
            let p: InvitationPayload = serde_json::from_str(&m.payload).context("reading the outbox payload")?;
            let Some(invitation) = service.invitation_to_send(&m.org_id, &p.member_id).await? else {
                return Ok(Outcome::Cancelled("the membership was removed"));
            };
            match &invitation.link {
                Some(token) => {
                    let link = format!("{}/set-password?token={}", config.public_url, token.expose());
                    let days = INVITATION_LINK_LIFETIME.as_secs() / 86_400;
                    render::invitation(&invitation.org_name, invitation.role, &link, days)
                }
                None => {
                    render::member_added(&invitation.org_name, invitation.role, &format!("{}/login", config.public_url))
                }
            }
        }
        KEY_EXPIRY => {
            let p: ExpiryPayload = serde_json::from_str(&m.payload).context("reading the outbox payload")?;
            if p.expires <= now {
                return Ok(Outcome::Cancelled("the key expired before the warning could be sent"));
            }
            render::key_expiry(&p, now, &config.public_url)
        }
        KEY_LEAKED => {
            let p: LeakPayload = serde_json::from_str(&m.payload).context("reading the outbox payload")?;
            render::key_leaked(&p, &config.public_url)
        }
        other => anyhow::bail!("unknown kind of message {other:?}"),
    };
    let message_id = format!("<{}@{}>", m.id, config.message_id_host);
    let message = render::message(&config.from, &m.recipient, message_id, rendered)?;
    config.transport.send(m.id.as_str(), &message).await?;
    Ok(Outcome::Sent)
}

/// `mail.failed` in the organization's trail, against the account or the
/// membership the message was about.
async fn audit_failure(
    conn: &mut crate::store::Conn,
    m: &OutboxRecord,
    attempts: i64,
    error: &str,
    now: UnixTime,
) -> Result<(), StoreError> {
    let payload = serde_json::from_str::<serde_json::Value>(&m.payload).unwrap_or_default();
    let target = match (payload["accountId"].as_str(), payload["memberId"].as_str()) {
        (Some(account), _) => Some(("serviceAccount", account.to_owned())),
        (None, Some(member)) => Some(("user", member.to_owned())),
        (None, None) => None,
    };
    audit::insert(
        conn,
        &AuditRecord {
            id: Id::generate(),
            org_id: Some(m.org_id.to_string()),
            at: now,
            actor_kind: "system".to_owned(),
            actor_id: None,
            key_id: None,
            action: crate::service::audit::Action::MailFailed.as_str().to_owned(),
            target_kind: target.as_ref().map(|(kind, _)| (*kind).to_owned()),
            target_id: target.map(|(_, id)| id),
            client_ip: None,
            outcome: "failure".to_owned(),
            detail: Some(
                json!({
                    "messageId": m.id,
                    "kind": m.kind,
                    "recipient": m.recipient,
                    "attempts": attempts,
                    "queued": m.created,
                    "lastError": error,
                })
                .to_string(),
            ),
        },
    )
    .await
}

/// Queues one warning per key expiring within the threshold, of accounts
/// with a confirmed address. The warning's row in `expiry_warnings` and its
/// outbox row commit together; the row's primary key makes a second one
/// (another node, a restart) a no-op.
pub async fn warn_of_expiring_keys(service: &Service, config: &MailConfig) -> Result<usize, StoreError> {
    let days = i64::from(config.expiry_warning_days);
    if days == 0 {
        return Ok(0);
    }
    let store = service.store();
    let now = service.now();
    let due = mail::keys_to_warn(&mut *store.read().await?, now, now + days * 86_400, days, SCAN_BATCH).await?;
    let mut queued = 0;
    for key in due {
        let mut tx = store.begin().await?;
        if mail::record_expiry_warning(tx.conn(), &key.key_id, days, now).await? {
            let payload = ExpiryPayload {
                account_id: key.account_id,
                account_name: key.account_name,
                key_id: key.key_id,
                key_name: key.key_name,
                expires: key.expires,
                threshold_days: days,
            };
            mail::enqueue(
                tx.conn(),
                &OutboxRecord {
                    id: Id::generate(),
                    org_id: key.org_id,
                    kind: KEY_EXPIRY.to_owned(),
                    recipient: key.email,
                    payload: json!(payload).to_string(),
                    created: now,
                    attempts: 0,
                },
            )
            .await?;
            tx.commit().await?;
            service.metrics().mail("queued");
            queued += 1;
        }
    }
    Ok(queued)
}

async fn prune(service: &Service) -> Result<(), StoreError> {
    let mut tx = service.store().begin().await?;
    mail::prune(tx.conn(), service.now() - KEEP_DONE).await?;
    invitations::prune(tx.conn(), service.now() - KEEP_DONE).await?;
    tx.commit().await
}

async fn observe_backlog(service: &Service) -> Result<(), StoreError> {
    let oldest = mail::oldest_undelivered(&mut *service.store().read().await?).await?;
    service.metrics().mail_oldest_undelivered(oldest.map_or(0, |t| service.now() - t));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let hour = Duration::from_secs(3600);
        let waits: Vec<i64> = (1..=14).map(|a| backoff(a, hour)).collect();
        assert_eq!(&waits[..6], &[1, 2, 4, 8, 16, 32]);
        assert_eq!(waits[13], 3600);
        assert_eq!(backoff(1_000, hour), 3600);
    }
}
