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

use super::mail::{InvitationPayload, Mail};
use super::{Service, ServiceError};
use crate::domain::entity::Member;
use crate::domain::{Id, Role, Token, UnixTime};
use crate::store::{Conn, StoreError, invitations, orgs, users};

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
pub(crate) async fn queue(conn: &mut Conn, member: &Member, now: UnixTime) -> Result<(), StoreError> {
    let invitation = Mail::Invitation(InvitationPayload { member_id: member.id.clone() });
    super::mail::queue(conn, &member.org_id, &member.email, &invitation, now).await
}

/// A removed membership's invitations that have not gone out yet never will.
pub(crate) async fn cancel(conn: &mut Conn, member: &Member, now: UnixTime) -> Result<(), StoreError> {
    super::mail::cancel_invitations(conn, &member.org_id, &member.id, now).await
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
            let token = Token::generate()?;
            let expires = now + INVITATION_LINK_LIFETIME.as_secs() as i64;
            invitations::insert(tx.conn(), &token.hash_hex(), org, member, now, expires).await?;
            Some(token)
        } else {
            None
        };
        tx.commit().await?;
        Ok(Some(Invitation { org_name: org_record.name.into(), role: m.role, link }))
    }
}
