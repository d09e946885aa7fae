//! The mail outbox's use cases: what a change queues in its own transaction,
//! and what the worker of `crate::mail` asks for as it drains the queue
//! (claim a message, learn what it should say now, report how sending went).
//! Rendering and transports live in `crate::mail`; nothing here speaks SMTP.
//!
//! Rows hold no secret: a confirmation or invitation link's token is minted
//! when the message is prepared for sending, and only its hash is stored, so
//! a retry carries a new link and the outbox never holds a usable one.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::audit::{self, Action, Outcome, Target};
use super::{Principal, Service, ServiceError};
use crate::domain::{Id, LinkPurpose, Role, Token, UnixTime};
use crate::store::mail::{self as store, OutboxRecord};
use crate::store::{Conn, StoreError, accounts, invitations, orgs, users, webhooks};

/// How long a confirmation link works.
pub const CONFIRMATION_LIFETIME: Duration = Duration::from_secs(48 * 3600);
/// How long an invitation's link works.
pub const INVITATION_LINK_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);
/// Sent and abandoned messages are kept this long for inspection.
const KEEP_DONE: i64 = 30 * 86_400;
/// Keys warned about per scan; the next scan takes the rest.
const SCAN_BATCH: i64 = 500;

/// What a confirmation request is rendered from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmPayload {
    pub account_id: Id,
    pub email: String,
    pub account_name: String,
}

/// What an invitation is rendered from: the membership alone. Everything
/// else (the organization's name, the role, whether the person has a
/// password) is read when it is sent, so the message says what holds then.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitationPayload {
    pub member_id: Id,
}

/// What an expiry warning is rendered from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpiryPayload {
    pub account_id: Id,
    pub account_name: String,
    pub key_id: Id,
    pub key_name: Option<String>,
    pub expires: UnixTime,
    pub threshold_days: i64,
}

/// What a leak notice is rendered from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeakPayload {
    pub account_id: Id,
    pub account_name: String,
    pub key_id: Id,
    pub key_name: Option<String>,
    /// `github` or `self-revocation`.
    pub source: String,
    /// Whether the key was disabled (or only reported).
    pub disabled: bool,
    /// Where the reporter found it, when it says.
    pub url: Option<String>,
    pub reported: UnixTime,
}

/// What the notice of an endpoint keyward disabled is rendered from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDisabledPayload {
    pub webhook_id: Id,
    pub url: String,
    /// When the first of the failed attempts failed.
    pub failing_since: UnixTime,
    pub failures: i64,
    /// What the last attempt came to (never a URL or a secret).
    pub last_error: String,
    /// When it was disabled.
    pub disabled: UnixTime,
}

/// A message as it is queued: its kind is the outbox row's `kind`, its
/// payload the row's JSON.
#[derive(Debug, Clone)]
pub enum Mail {
    /// Asks a service account's owner to confirm its address.
    ConfirmEmail(ConfirmPayload),
    /// Invites a person to an organization that added them: with a link to
    /// choose a password when they have none yet, to accept when they have
    /// an account (a notice without a link to an address spelled otherwise
    /// than the account's).
    Invitation(InvitationPayload),
    /// Warns that a key will expire.
    KeyExpiry(ExpiryPayload),
    /// Tells an account's owner that one of its keys was found leaked.
    KeyLeaked(LeakPayload),
    /// Tells an organization's admin that keyward disabled one of its
    /// webhook endpoints, which had failed for days.
    WebhookDisabled(WebhookDisabledPayload),
}

impl Mail {
    const CONFIRM_EMAIL: &'static str = "confirm-email";
    const INVITATION: &'static str = "invitation";
    const KEY_EXPIRY: &'static str = "key-expiry";
    const KEY_LEAKED: &'static str = "key-leaked";
    const WEBHOOK_DISABLED: &'static str = "webhook-disabled";

    /// The outbox row's `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Mail::ConfirmEmail(_) => Self::CONFIRM_EMAIL,
            Mail::Invitation(_) => Self::INVITATION,
            Mail::KeyExpiry(_) => Self::KEY_EXPIRY,
            Mail::KeyLeaked(_) => Self::KEY_LEAKED,
            Mail::WebhookDisabled(_) => Self::WEBHOOK_DISABLED,
        }
    }

    fn payload(&self) -> String {
        match self {
            Mail::ConfirmEmail(p) => json!(p),
            Mail::Invitation(p) => json!(p),
            Mail::KeyExpiry(p) => json!(p),
            Mail::KeyLeaked(p) => json!(p),
            Mail::WebhookDisabled(p) => json!(p),
        }
        .to_string()
    }

    fn from_stored(kind: &str, payload: &str) -> Result<Self, String> {
        let read = |e: serde_json::Error| format!("reading the outbox payload of a {kind} message: {e}");
        Ok(match kind {
            Self::CONFIRM_EMAIL => Mail::ConfirmEmail(serde_json::from_str(payload).map_err(read)?),
            Self::INVITATION => Mail::Invitation(serde_json::from_str(payload).map_err(read)?),
            Self::KEY_EXPIRY => Mail::KeyExpiry(serde_json::from_str(payload).map_err(read)?),
            Self::KEY_LEAKED => Mail::KeyLeaked(serde_json::from_str(payload).map_err(read)?),
            Self::WEBHOOK_DISABLED => Mail::WebhookDisabled(serde_json::from_str(payload).map_err(read)?),
            other => return Err(format!("unknown kind of message {other:?}")),
        })
    }

    /// What a failure is recorded against in the trail.
    fn target(&self) -> Target<'_> {
        match self {
            Mail::ConfirmEmail(ConfirmPayload { account_id, .. })
            | Mail::KeyExpiry(ExpiryPayload { account_id, .. })
            | Mail::KeyLeaked(LeakPayload { account_id, .. }) => Target::ServiceAccount(account_id),
            Mail::Invitation(InvitationPayload { member_id }) => Target::User(member_id),
            Mail::WebhookDisabled(WebhookDisabledPayload { webhook_id, .. }) => Target::Webhook(webhook_id),
        }
    }
}

/// Queues `mail` to `recipient`, due at once, on `conn`: the transaction of
/// the change that asks for it.
pub(crate) async fn queue(
    conn: &mut Conn,
    org: &Id,
    recipient: &str,
    mail: &Mail,
    now: UnixTime,
) -> Result<(), StoreError> {
    store::enqueue(
        conn,
        &OutboxRecord {
            id: Id::generate(),
            org_id: org.clone(),
            kind: mail.kind().to_owned(),
            recipient: recipient.to_owned(),
            payload: mail.payload(),
            created: now,
            attempts: 0,
        },
    )
    .await
}

/// A removed membership's invitations that have not gone out yet never will.
pub(crate) async fn cancel_invitations(
    conn: &mut Conn,
    org: &Id,
    member: &Id,
    now: UnixTime,
) -> Result<(), StoreError> {
    store::cancel_queued(conn, org, Mail::INVITATION, member, "the membership was removed", now).await?;
    Ok(())
}

/// A message one worker holds under its lease.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub id: Id,
    pub org_id: Id,
    /// The outbox row's `kind`, for logs.
    pub kind: String,
    pub recipient: String,
    /// When it was queued.
    pub created: UnixTime,
    /// Failed attempts before this one.
    pub attempts: i64,
    payload: String,
}

impl From<OutboxRecord> for Outgoing {
    fn from(r: OutboxRecord) -> Self {
        Self {
            id: r.id,
            org_id: r.org_id,
            kind: r.kind,
            recipient: r.recipient,
            created: r.created,
            attempts: r.attempts,
            payload: r.payload,
        }
    }
}

/// What an invitation says, read when it is sent.
#[derive(Debug)]
pub struct Invitation {
    pub org_name: String,
    pub role: Role,
    /// The one-time link, when the message may carry one.
    pub link: Option<InvitationLink>,
}

/// An invitation's one-time link: its token and what it is for.
#[derive(Debug)]
pub struct InvitationLink {
    /// `Password` for a person with no password yet, `Accept` for one who
    /// has an account.
    pub purpose: LinkPurpose,
    pub token: Token,
}

/// What a message should say, decided when it is sent.
#[derive(Debug)]
pub enum Prepared {
    /// No longer wanted (the account or membership is gone, the address
    /// changed or is confirmed already): why.
    Cancelled(&'static str),
    /// A confirmation request, with its link's freshly minted token.
    ConfirmEmail {
        account_name: String,
        email: String,
        token: Token,
    },
    Invitation(Invitation),
    KeyExpiry(ExpiryPayload),
    KeyLeaked(LeakPayload),
    /// An endpoint keyward disabled, still disabled, with its
    /// organization's name.
    WebhookDisabled {
        notice: WebhookDisabledPayload,
        org_name: String,
    },
}

/// What became of a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Tried again in this many seconds.
    In(i64),
    /// Failing for too long: given up on, and recorded in the trail.
    GaveUp,
}

/// How the worker works the outbox: set from the command line.
#[derive(Debug, Clone, Copy)]
pub struct OutboxPolicy {
    /// How long a claimed message is a worker's alone; longer than any send.
    pub lease: Duration,
    /// A message failing for this long is given up on.
    pub give_up_after: Duration,
    /// The wait after a message's first failure; it doubles with each next.
    pub first_backoff: Duration,
    /// The longest wait between two attempts at one message.
    pub max_backoff: Duration,
}

/// Seconds before the next attempt after `attempts` failures: `first`, twice
/// that, four times… up to `max`. Attempts are scheduled by the second, so a
/// wait under one (only tests set a `first` that short) is no wait: the
/// message is due again at once.
pub fn backoff(attempts: i64, first: Duration, max: Duration) -> i64 {
    let exp = attempts.saturating_sub(1).clamp(0, 30) as u32;
    first.saturating_mul(1 << exp).min(max).as_secs() as i64
}

impl Service {
    /// The mail worker: claims one due message under a lease of `lease`;
    /// `None` when none is due. Each message is one worker's alone.
    pub async fn claim_mail(&self, lease: Duration) -> Result<Option<Outgoing>, ServiceError> {
        let now = self.now();
        // A cheap read first, so that an idle worker does not take SQLite's
        // write turn every second.
        if !store::any_due(&mut *self.store().read().await?, now).await? {
            return Ok(None);
        }
        let mut tx = self.store().begin().await?;
        let claimed = store::claim(tx.conn(), self.store().engine(), now, now + lease.as_secs() as i64).await?;
        tx.commit().await?;
        Ok(claimed.map(Outgoing::from))
    }

    /// The mail worker, about to send `m`: what it should say now, or why it
    /// is no longer wanted. Mints a confirmation's or an invitation's link
    /// here, storing only its hash.
    pub async fn prepare_mail(&self, m: &Outgoing) -> Result<Prepared, ServiceError> {
        let mail = Mail::from_stored(&m.kind, &m.payload).map_err(|e| ServiceError::Internal(anyhow::anyhow!(e)))?;
        let now = self.now();
        Ok(match mail {
            Mail::ConfirmEmail(p) => {
                let mut tx = self.store().begin().await?;
                let Some(account) = accounts::get(tx.conn(), &m.org_id, &p.account_id).await? else {
                    return Ok(Prepared::Cancelled("the service account was deleted"));
                };
                if account.email.as_deref() != Some(p.email.as_str()) {
                    return Ok(Prepared::Cancelled("the service account's address changed"));
                }
                if account.email_confirmed {
                    return Ok(Prepared::Cancelled("the address is confirmed already"));
                }
                let token = Token::generate()?;
                let expires = now + CONFIRMATION_LIFETIME.as_secs() as i64;
                store::insert_confirmation(tx.conn(), &token.hash_hex(), &account.id, &p.email, now, expires).await?;
                tx.commit().await?;
                Prepared::ConfirmEmail { account_name: account.name.into(), email: p.email, token }
            }
            Mail::Invitation(p) => match self.prepare_invitation(&m.org_id, &p.member_id).await? {
                Some(invitation) => Prepared::Invitation(invitation),
                None => Prepared::Cancelled("the membership was removed or already taken up"),
            },
            Mail::KeyExpiry(p) if p.expires <= now => {
                Prepared::Cancelled("the key expired before the warning could be sent")
            }
            Mail::KeyExpiry(p) => Prepared::KeyExpiry(p),
            Mail::KeyLeaked(p) => Prepared::KeyLeaked(p),
            Mail::WebhookDisabled(p) => {
                let mut conn = self.store().read().await?;
                match webhooks::get(&mut conn, &m.org_id, &p.webhook_id).await? {
                    None => Prepared::Cancelled("the webhook endpoint was deleted"),
                    Some(e) if !e.disabled => Prepared::Cancelled("the webhook endpoint was enabled again"),
                    Some(_) => {
                        let org_name = orgs::get(&mut conn, &m.org_id).await?.map(|o| o.name.to_string());
                        Prepared::WebhookDisabled { notice: p, org_name: org_name.unwrap_or_default() }
                    }
                }
            }
        })
    }

    /// About to send the invitation of membership `member`:
    /// `None` when the membership is gone or no longer pending (the message
    /// is then not sent). Mints the link and stores its hash, bound to this
    /// membership: to choose a password for a person without one, to
    /// accept for a person with one.
    async fn prepare_invitation(&self, org: &Id, member: &Id) -> Result<Option<Invitation>, ServiceError> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let Some(m) = users::get_member(tx.conn(), org, member).await? else { return Ok(None) };
        if m.accepted.is_some() {
            return Ok(None);
        }
        let Some(org_record) = orgs::get(tx.conn(), org).await? else { return Ok(None) };
        let Some(user) = users::get(tx.conn(), &m.user_id).await? else { return Ok(None) };
        // The link goes to the address this organization typed, which matches
        // the person's ignoring case; it carries a link only when it is the
        // person's address to the letter, so that a differently cased local
        // part (a different mailbox on some servers) gets the notice alone.
        let link = if m.email == user.email {
            let purpose = if user.password_hash.is_none() { LinkPurpose::Password } else { LinkPurpose::Accept };
            let token = Token::generate()?;
            let expires = now + INVITATION_LINK_LIFETIME.as_secs() as i64;
            invitations::insert(tx.conn(), &token.hash_hex(), purpose, org, member, now, expires).await?;
            Some(InvitationLink { purpose, token })
        } else {
            None
        };
        tx.commit().await?;
        Ok(Some(Invitation { org_name: org_record.name.into(), role: m.role, link }))
    }

    /// The mail worker: `m` went out.
    pub async fn mail_sent(&self, m: &Outgoing) -> Result<(), ServiceError> {
        let mut tx = self.store().begin().await?;
        store::mark_sent(tx.conn(), &m.id, self.now()).await?;
        tx.commit().await?;
        self.metrics().mail("sent");
        Ok(())
    }

    /// The mail worker: `m` is no longer wanted, for reason `why`.
    pub async fn mail_cancelled(&self, m: &Outgoing, why: &str) -> Result<(), ServiceError> {
        let mut tx = self.store().begin().await?;
        store::give_up(tx.conn(), &m.id, m.attempts, self.now(), &format!("cancelled: {why}")).await?;
        tx.commit().await?;
        self.metrics().mail("cancelled");
        Ok(())
    }

    /// The mail worker: sending `m` failed with `error`. It is retried with
    /// exponential backoff until it has failed for too long; then it is given
    /// up on, and `mail.failed` goes to the organization's trail against the
    /// account or the membership the message was about.
    pub async fn mail_failed(&self, m: &Outgoing, error: &str, policy: &OutboxPolicy) -> Result<Retry, ServiceError> {
        let now = self.now();
        let attempts = m.attempts + 1;
        let mut tx = self.store().begin().await?;
        if now - m.created < policy.give_up_after.as_secs() as i64 {
            let wait = backoff(attempts, policy.first_backoff, policy.max_backoff);
            store::reschedule(tx.conn(), &m.id, attempts, now + wait, error).await?;
            tx.commit().await?;
            self.metrics().mail("retried");
            return Ok(Retry::In(wait));
        }
        store::give_up(tx.conn(), &m.id, attempts, now, error).await?;
        let mail = Mail::from_stored(&m.kind, &m.payload).ok();
        let detail = json!({
            "messageId": m.id,
            "kind": m.kind,
            "recipient": m.recipient,
            "attempts": attempts,
            "queued": m.created,
            "lastError": error,
        });
        let system = Principal::system(m.org_id.clone());
        let target = mail.as_ref().map(Mail::target);
        audit::record_outcome(tx.conn(), &system, now, Action::MailFailed, target, Outcome::Failure, Some(&detail))
            .await?;
        tx.commit().await?;
        self.metrics().mail("failed");
        Ok(Retry::GaveUp)
    }

    /// Queues one warning per key expiring within `days`, of accounts with a
    /// confirmed address. The warning's row in `expiry_warnings` and its
    /// outbox row commit together; the row's primary key makes a second one
    /// (another node, a restart) a no-op. Answers how many were queued.
    pub async fn queue_expiry_warnings(&self, days: u32) -> Result<usize, ServiceError> {
        let days = i64::from(days);
        if days == 0 {
            return Ok(0);
        }
        let now = self.now();
        let due =
            store::keys_to_warn(&mut *self.store().read().await?, now, now + days * 86_400, days, SCAN_BATCH).await?;
        let mut queued = 0;
        for key in due {
            let mut tx = self.store().begin().await?;
            if store::record_expiry_warning(tx.conn(), &key.key_id, days, now).await? {
                let warning = Mail::KeyExpiry(ExpiryPayload {
                    account_id: key.account_id,
                    account_name: key.account_name,
                    key_id: key.key_id,
                    key_name: key.key_name,
                    expires: key.expires,
                    threshold_days: days,
                });
                queue(tx.conn(), &key.org_id, &key.email, &warning, now).await?;
                tx.commit().await?;
                self.metrics().mail("queued");
                queued += 1;
            }
        }
        Ok(queued)
    }

    /// Forgets sent and abandoned messages, and used or dead invitation
    /// links, after 30 days.
    pub async fn prune_mail(&self) -> Result<(), ServiceError> {
        let mut tx = self.store().begin().await?;
        store::prune(tx.conn(), self.now() - KEEP_DONE).await?;
        invitations::prune(tx.conn(), self.now() - KEEP_DONE).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets the metric of how long the oldest undelivered message has waited.
    pub async fn observe_mail_backlog(&self) -> Result<(), ServiceError> {
        let oldest = store::oldest_undelivered(&mut *self.store().read().await?).await?;
        self.metrics().mail_oldest_undelivered(oldest.map_or(0, |t| self.now() - t));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let hour = Duration::from_secs(3600);
        let second = Duration::from_secs(1);
        let waits: Vec<i64> = (1..=14).map(|a| backoff(a, second, hour)).collect();
        assert_eq!(&waits[..6], &[1, 2, 4, 8, 16, 32]);
        assert_eq!(waits[13], 3600);
        assert_eq!(backoff(1_000, second, hour), 3600);
        // Shorter first waits round down to whole seconds.
        let quick: Vec<i64> = (1..=8).map(|a| backoff(a, Duration::from_millis(20), hour)).collect();
        assert_eq!(quick, [0, 0, 0, 0, 0, 0, 1, 2]);
    }

    #[test]
    fn every_kind_reads_back_as_itself() {
        let id = Id::generate();
        let all = [
            Mail::ConfirmEmail(ConfirmPayload {
                account_id: id.clone(),
                email: "a@b.c".into(),
                account_name: "a".into(),
            }),
            Mail::Invitation(InvitationPayload { member_id: id.clone() }),
            Mail::KeyExpiry(ExpiryPayload {
                account_id: id.clone(),
                account_name: "a".into(),
                key_id: id.clone(),
                key_name: None,
                expires: 1,
                threshold_days: 7,
            }),
            Mail::KeyLeaked(LeakPayload {
                account_id: id.clone(),
                account_name: "a".into(),
                key_id: id,
                key_name: Some("k".into()),
                source: "github".into(),
                disabled: true,
                url: None,
                reported: 1,
            }),
            Mail::WebhookDisabled(WebhookDisabledPayload {
                webhook_id: Id::generate(),
                url: "https://hooks.example.com/k".into(),
                failing_since: 1,
                failures: 20,
                last_error: "timed out".into(),
                disabled: 432_001,
            }),
        ];
        for mail in all {
            let back = Mail::from_stored(mail.kind(), &mail.payload()).expect("reads back");
            assert_eq!(back.kind(), mail.kind());
            assert_eq!(back.payload(), mail.payload());
        }
        assert!(Mail::from_stored("postcard", "{}").is_err());
        assert!(Mail::from_stored(Mail::INVITATION, "{}").is_err());
    }
}
