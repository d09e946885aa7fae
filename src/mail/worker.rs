//! The outbox worker: claims one due message at a time under a lease,
//! renders and sends it, and tells the service how that went (sent, no
//! longer wanted, or failed: retried with backoff until it has failed for
//! too long). Beside that, a periodic scan queues warnings for keys about to
//! expire. What is stored and recorded is the service's (`service::mail`).
//!
//! Every node runs one; the lease and PostgreSQL's row locks make each
//! message one node's alone, and nothing here lives only in memory: a node
//! killed mid-send leaves a lease that runs out, and another (or the same,
//! restarted) node sends the message then.

use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{MailConfig, render};
use crate::domain::LinkPurpose;
use crate::service::mail::{
    CONFIRMATION_LIFETIME, INVITATION_LINK_LIFETIME, InvitationLink, Outgoing, Prepared, Retry,
};
use crate::service::{Service, ServiceError};

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
            if let Err(e) = service.queue_expiry_warnings(config.expiry_warning_days).await {
                tracing::warn!(error = %e, "mail: could not look for keys about to expire");
            }
            if let Err(e) = service.prune_mail().await {
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
        if let Err(e) = service.observe_mail_backlog().await {
            tracing::debug!(error = %e, "mail: could not measure the outbox");
        }
        tokio::time::sleep(config.poll_interval).await;
    }
}

/// Claims and handles one due message; false when none was due.
async fn deliver_one(service: &Service, config: &MailConfig) -> Result<bool, ServiceError> {
    let Some(message) = service.claim_mail(config.policy.lease).await? else { return Ok(false) };
    match send(service, config, &message).await {
        Ok(None) => {
            service.mail_sent(&message).await?;
            tracing::info!(message_id = %message.id, kind = %message.kind, attempts = message.attempts + 1, "mail: sent");
        }
        Ok(Some(why)) => {
            service.mail_cancelled(&message, why).await?;
            tracing::info!(message_id = %message.id, kind = %message.kind, reason = why, "mail: not sent");
        }
        Err(e) => {
            let error = format!("{e:#}");
            let attempts = message.attempts + 1;
            match service.mail_failed(&message, &error, &config.policy).await? {
                Retry::GaveUp => tracing::warn!(
                    message_id = %message.id, kind = %message.kind, attempts, error = %error,
                    "mail: giving up on a message that kept failing"
                ),
                Retry::In(wait) => tracing::info!(
                    message_id = %message.id, kind = %message.kind, attempts, retry_in = wait, error = %error,
                    "mail: sending failed; will retry"
                ),
            }
        }
    }
    Ok(true)
}

/// Renders and sends `m`: `Some(why)` when it is no longer wanted.
async fn send(service: &Service, config: &MailConfig, m: &Outgoing) -> anyhow::Result<Option<&'static str>> {
    // An address no mailer accepts can only fail: retrying it for a day,
    // minting a link each time, would serve nobody. (Addresses are checked
    // when given; this catches any stored before that check.)
    if m.recipient.parse::<lettre::message::Mailbox>().is_err() {
        return Ok(Some("the address cannot receive mail"));
    }
    let rendered = match service.prepare_mail(m).await? {
        Prepared::Cancelled(why) => return Ok(Some(why)),
        Prepared::ConfirmEmail { account_name, email, token } => {
            let link = format!("{}/confirm-email?token={}", config.public_url, token.expose());
            render::confirmation(&account_name, &email, &link, CONFIRMATION_LIFETIME.as_secs() / 3600)
        }
        Prepared::Invitation(invitation) => {
            let days = INVITATION_LINK_LIFETIME.as_secs() / 86_400;
            let (org_name, role) = (&invitation.org_name, invitation.role);
            match &invitation.link {
                Some(InvitationLink { purpose: LinkPurpose::Password, token }) => {
                    let link = format!("{}/set-password?token={}", config.public_url, token.expose());
                    render::invitation(org_name, role, &link, days)
                }
                Some(InvitationLink { purpose: LinkPurpose::Accept, token }) => {
                    let link =
                        format!("{}/accept-invitation?token={}&org={}", config.public_url, token.expose(), m.org_id);
                    render::accept_invitation(org_name, role, &link, days)
                }
                Some(InvitationLink { purpose: LinkPurpose::Setup, .. }) | None => {
                    render::invitation_notice(org_name, role, &format!("{}/login", config.public_url))
                }
            }
        }
        Prepared::KeyExpiry(p) => render::key_expiry(&p, service.now(), &config.public_url),
        Prepared::KeyLeaked(p) => render::key_leaked(&p, &config.public_url),
        Prepared::WebhookDisabled { notice, org_name } => {
            render::webhook_disabled(&notice, &org_name, &config.public_url)
        }
    };
    let message_id = format!("<{}@{}>", m.id, config.message_id_host);
    let message = render::message(&config.from, &m.recipient, message_id, rendered)?;
    config.transport.send(m.id.as_str(), &message).await?;
    Ok(None)
}
