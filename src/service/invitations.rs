//! Invitations: telling a person, and only them, that an organization added
//! them, and their answer. Nobody joins an organization without consenting
//! (SPEC §9): a membership starts pending and lets its person act nowhere
//! until they take it up, by choosing their first password through its
//! link when they have no account yet, or by accepting it when they have
//! one (in the app, or through the link the invitation carries, logged in
//! as that account). They may decline it instead, which removes it.
//!
//! Adding a member queues one outbox row naming the membership, in the
//! transaction that adds it. The mail worker learns what the message says
//! when it sends it (`prepare_mail`, in `service/mail.rs`): a person without
//! a password gets a link to choose one; a person with one gets a link to
//! the page where they accept (each token minted then, only its hash stored,
//! bound to this membership). The row, the API's answer and the audit event are the same
//! either way, so the organization cannot tell whether the address already
//! had an account elsewhere.

use serde_json::json;

use super::audit::{self, Action, Target};
use super::mail::{InvitationPayload, Mail};
use super::principal::Identity;
use super::webhooks;
use super::{Principal, Service, ServiceError};
use crate::domain::entity::{Member, Membership, PendingInvitation};
use crate::domain::webhook::Event;
use crate::domain::{Actor, Email, Id, LinkPurpose, Token, UnixTime};
use crate::store::{Conn, StoreError, invitations, orgs, users};

/// How a person took a membership up, as the trail records it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AcceptedVia {
    /// Chose their first password through the invitation's link.
    PasswordLink,
    /// Logged in, opened the invitation's link and confirmed.
    Link,
    /// Logged in and accepted it in the app.
    App,
}

impl AcceptedVia {
    fn as_str(self) -> &'static str {
        match self {
            AcceptedVia::PasswordLink => "passwordLink",
            AcceptedVia::Link => "link",
            AcceptedVia::App => "app",
        }
    }
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

/// Records on `conn` that the person took `member` up, and retires the
/// membership's other links.
pub(crate) async fn record_acceptance(
    conn: &mut Conn,
    by: &Principal,
    member: &Member,
    via: AcceptedVia,
    now: UnixTime,
) -> Result<(), StoreError> {
    invitations::retire_for_member(conn, &member.org_id, &member.id, now).await?;
    let detail = json!({"role": member.role, "via": via.as_str()});
    audit::record(conn, by, now, Action::UserAccept, Target::User(&member.id), Some(&detail)).await?;
    webhooks::announce(conn, by, now, Event::UserAccepted, Target::User(&member.id), Some(&detail)).await
}

/// The person acting on their own membership of `member`'s organization,
/// under the id that organization knows them by.
fn as_member(member: &Member, email: &Email, client_ip: Option<String>) -> Principal {
    Principal {
        actor: Actor::User { id: member.id.clone(), email: email.clone() },
        org_id: member.org_id.clone(),
        role: member.role,
        client_ip,
    }
}

fn no_invitation() -> ServiceError {
    ServiceError::NotFound("invitation")
}

impl Service {
    /// A person, of themselves: the invitations they have not answered. A
    /// key is refused: invitations are a person's to answer.
    pub async fn my_invitations(&self, who: &Identity) -> Result<Vec<PendingInvitation>, ServiceError> {
        let (user, _) = who.person("answer invitations")?;
        let mut conn = self.store().read().await?;
        Ok(users::pending_invitations(&mut conn, user).await?)
    }

    /// A person, of themselves: takes up their pending membership of `org`,
    /// which from then on appears in their sessions. With `token` (the
    /// invitation's link), the link must be a live one of that very
    /// membership, and is used up: a link never acts for anyone but the
    /// person logged in. `404` when they have no pending invitation there
    /// (none, taken up already, declined or withdrawn); `422` naming
    /// `token` for a link that is unknown, used, expired or not theirs.
    pub async fn accept_invitation(
        &self,
        who: &Identity,
        org: &Id,
        token: Option<&Token>,
        client_ip: Option<String>,
    ) -> Result<Membership, ServiceError> {
        let (user, email) = who.person("answer invitations")?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        // Rows in the order an admin's removal takes them (the organization,
        // then the membership), so that the two wait for each other rather
        // than both acting on what the other is changing.
        orgs::lock(tx.conn(), org).await?;
        let member = users::membership_of(tx.conn(), org, user).await?.ok_or_else(no_invitation)?;
        if member.accepted.is_some() {
            return Err(no_invitation());
        }
        let via = match token {
            Some(token) => {
                let refused = || ServiceError::invalid("token", "this link is unknown, used, expired or not yours");
                let token_hash = token.hash_hex();
                let found = invitations::find_live(tx.conn(), &token_hash, LinkPurpose::Accept, now).await?;
                if found.as_ref() != Some(&(member.org_id.clone(), member.id.clone())) {
                    return Err(refused());
                }
                if !invitations::use_link(tx.conn(), &token_hash, LinkPurpose::Accept, now).await? {
                    return Err(refused());
                }
                AcceptedVia::Link
            }
            None => AcceptedVia::App,
        };
        // One caller wins: a second accept, or a removal that came first,
        // finds nothing pending.
        if !users::accept_pending(tx.conn(), org, &member.id, now).await? {
            return Err(no_invitation());
        }
        let org_record = orgs::get(tx.conn(), org).await?.ok_or_else(no_invitation)?;
        let by = as_member(&member, email, client_ip);
        record_acceptance(tx.conn(), &by, &member, via, now).await?;
        tx.commit().await?;
        Ok(Membership { member_id: member.id, org_id: member.org_id, org_name: org_record.name, role: member.role })
    }

    /// A person, of themselves: declines their pending membership of `org`,
    /// which is removed as an admin's removal would (its links die, its
    /// unsent invitation is cancelled; a person then left in no
    /// organization is deleted). `404` when they have no pending invitation
    /// there; a membership already taken up is left to the organization's
    /// admins.
    pub async fn decline_invitation(
        &self,
        who: &Identity,
        org: &Id,
        client_ip: Option<String>,
    ) -> Result<(), ServiceError> {
        let (user, email) = who.person("answer invitations")?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        // Rows in the order an admin's removal takes them (the organization,
        // then the membership), so that the two wait for each other rather
        // than both acting on what the other is changing.
        orgs::lock(tx.conn(), org).await?;
        let member = users::membership_of(tx.conn(), org, user).await?.ok_or_else(no_invitation)?;
        if member.accepted.is_some() {
            return Err(no_invitation());
        }
        // As in a removal: the membership first (its links go with it).
        users::remove_membership(tx.conn(), &member).await?;
        cancel(tx.conn(), &member, now).await?;
        let by = as_member(&member, email, client_ip);
        let detail = json!({"role": member.role});
        audit::record(tx.conn(), &by, now, Action::UserDecline, Target::User(&member.id), Some(&detail)).await?;
        webhooks::announce(tx.conn(), &by, now, Event::UserDeclined, Target::User(&member.id), Some(&detail)).await?;
        tx.commit().await?;
        Ok(())
    }
}
