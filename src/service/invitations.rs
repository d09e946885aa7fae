//! Invitations: telling a person, and only them, that an organization added
//! them, with a link to choose a first password when they have none.
//!
//! Adding a member queues one outbox row naming the membership, in the
//! transaction that adds it. The mail worker asks `invitation_to_send` what
//! the message says when it sends it: a person without a password gets a
//! link bound to this membership (its token minted then, only the hash
//! stored); a person with one gets a notice and no link. The row, the API's
//! answer and the audit event are the same either way, so the organization
//! cannot tell whether the address already had an account elsewhere.

use std::time::Duration;

use super::{Service, ServiceError};
use crate::domain::{Id, Role, Token, UnixTime};
use crate::mail::{INVITATION, InvitationPayload};
use crate::store::mail::{self, OutboxRecord};
use crate::store::{Conn, MemberRecord, StoreError, invitations, orgs, users};

/// How long an invitation's link works.
pub const INVITATION_LINK_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// What an invitation says, read when it is sent.
#[derive(Debug)]
pub struct Invitation {
    pub org_name: String,
    pub role: Role,
    /// The one-time link's token, for a person who has no password yet.
    pub link: Option<Token>,
}

/// Queues the invitation of `member`, on `conn`, which should be the
/// transaction that added the membership.
pub(crate) async fn queue(conn: &mut Conn, member: &MemberRecord, now: UnixTime) -> Result<(), StoreError> {
    let payload = InvitationPayload { member_id: member.id.clone() };
    mail::enqueue(
        conn,
        &OutboxRecord {
            id: Id::generate(),
            org_id: member.org_id.clone(),
            kind: INVITATION.to_owned(),
            recipient: member.email.clone(),
            payload: serde_json::to_string(&payload)
                .map_err(|e| StoreError::Other(sqlx::Error::Encode(Box::new(e))))?,
            created: now,
            attempts: 0,
        },
    )
    .await
}

/// A removed membership's invitations that have not gone out yet never will.
pub(crate) async fn cancel(conn: &mut Conn, member: &MemberRecord, now: UnixTime) -> Result<(), StoreError> {
    mail::cancel_queued(conn, &member.org_id, INVITATION, &member.id, "the membership was removed", now).await?;
    Ok(())
}

impl Service {
    /// The mail worker, about to send the invitation of membership `member`:
    /// `None` when the membership is gone (the message is then not sent).
    /// For a person without a password, mints the link and stores its hash,
    /// bound to this membership.
    pub async fn invitation_to_send(&self, org: &Id, member: &Id) -> Result<Option<Invitation>, ServiceError> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let Some(m) = users::get_member(tx.conn(), org, member).await? else { return Ok(None) };
        let Some(org_record) = orgs::get(tx.conn(), org).await? else { return Ok(None) };
        let Some(user) = users::get(tx.conn(), &m.user_id).await? else { return Ok(None) };
        // The link goes to the address this organization typed, which matches
        // the person's ignoring case; it carries a link only when it is the
        // person's address to the letter, so that a differently cased local
        // part (a different mailbox on some servers) gets the notice alone.
        let link = if user.password_hash.is_none() && m.email == user.email {
            let token =
                Token::generate().map_err(|e| ServiceError::Internal(anyhow::anyhow!("no OS randomness: {e}")))?;
            let expires = now + INVITATION_LINK_LIFETIME.as_secs() as i64;
            invitations::insert(tx.conn(), &token.hash_hex(), org, member, now, expires).await?;
            Some(token)
        } else {
            None
        };
        tx.commit().await?;
        Ok(Some(Invitation { org_name: org_record.name, role: m.role, link }))
    }
}
