//! People: accounts for the web app, their memberships and roles, passwords
//! and sessions.

use std::time::Duration;

use std::net::IpAddr;

use serde_json::json;

use super::audit::{self, Action, Target};
use super::invitations::{self, AcceptedVia};
use super::principal::Identity;
use super::throttle::Subject;
use super::webhooks;
use super::{Page, Principal, Service, ServiceError};
use crate::domain::entity::{Member, User};
use crate::domain::webhook::Event;
use crate::domain::{Email, Id, LinkPurpose, Role, Token, UnixTime};
use crate::store::invitations as store_invitations;
use crate::store::{StoreError, orgs, sessions, users};

pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
pub use super::passwords::{MAX_PASSWORD_LEN, MIN_PASSWORD_LEN, check_password_rules};

/// How a login attempt ended.
#[derive(Debug)]
pub enum LoginOutcome {
    Session(Session),
    /// Wrong email or password (the two are not told apart).
    Refused,
    /// Too many failures for this address or email: refused whatever the
    /// password, for this many more seconds.
    Throttled(u64),
}

/// A login that succeeded: the cookie's token and when it ends.
#[derive(Debug)]
pub struct Session {
    pub token: Token,
    pub expires: UnixTime,
    pub user_id: Id,
}

/// How a person is added to an organization.
enum Joining {
    /// Invited by an admin: told by email, never through the admin.
    Invited,
    /// Added by the operator, with this password hash for a new person (a
    /// person who has an account is invited instead).
    WithPassword(String),
}

fn membership_conflict(e: StoreError) -> ServiceError {
    match e {
        StoreError::Conflict(_) => ServiceError::Conflict {
            field: "email",
            detail: "that person is already a member of this organization".into(),
        },
        other => other.into(),
    }
}

impl Service {
    /// The operator at the command line: a user with a password, who can
    /// log in as this member at once. An address that already has an
    /// account is invited like an admin's invitation would (its password
    /// stays as it was): nobody joins an organization without consenting,
    /// whoever adds them.
    pub async fn create_user(
        &self,
        org: &Id,
        email: Email,
        role: Role,
        password: String,
    ) -> Result<Member, ServiceError> {
        check_password_rules(&password)?;
        self.get_org(org).await?;
        let hash = self.hash_password(password).await?;
        let by = Principal::operator(org.clone());
        self.add_member(&by, email, role, Joining::WithPassword(hash)).await
    }

    /// Admins: adds the person with `email` to the organization with a role
    /// no higher than the caller's, as a pending member, and emails them: a
    /// link to choose a password when they have none, a link to accept when
    /// they have an account. The membership lets them act nowhere until they
    /// take it up. The answer is the same whether or not the address had an
    /// account anywhere, and never holds a link.
    pub async fn invite_user(&self, p: &Principal, email: Email, role: Role) -> Result<Member, ServiceError> {
        p.require(Role::Admin)?;
        p.require_at_least(role, "invite a user")?;
        self.add_member(p, email, role, Joining::Invited).await
    }

    async fn add_member(
        &self,
        by: &Principal,
        email: Email,
        role: Role,
        joining: Joining,
    ) -> Result<Member, ServiceError> {
        let now = self.now();
        let (password_hash, invited) = match joining {
            Joining::Invited => (None, true),
            Joining::WithPassword(hash) => (Some(hash), false),
        };
        let mut tx = self.store().begin().await?;
        let candidate = User { id: Id::generate(), email: email.clone(), password_hash, created: now };
        users::insert_if_absent(tx.conn(), &candidate).await?;
        let user = users::find_by_email(tx.conn(), &email.folded())
            .await?
            .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("the user just written is missing")))?;
        // Someone the operator has just given a password can log in as this
        // member at once. Anyone else consents first, by choosing a password
        // through the invitation or by accepting it: until then the
        // membership is pending, whatever the person's standing elsewhere,
        // and their sessions and logins do not see it.
        let pending = invited || user.id != candidate.id;
        let member = Member {
            id: Id::generate(),
            user_id: user.id,
            email: email.clone(),
            org_id: by.org_id.clone(),
            role,
            created: now,
            accepted: (!pending).then_some(now),
        };
        users::add_membership(tx.conn(), &member).await.map_err(membership_conflict)?;
        if pending {
            invitations::queue(tx.conn(), &member, now).await?;
        }
        let detail = json!({"role": role});
        audit::record(tx.conn(), by, now, Action::UserAdd, Target::User(&member.id), Some(&detail)).await?;
        webhooks::announce(tx.conn(), by, now, Event::UserAdded, Target::User(&member.id), Some(&detail)).await?;
        tx.commit().await?;
        if pending {
            self.metrics().mail("queued");
        }
        Ok(member)
    }

    /// Admins.
    pub async fn list_users(
        &self,
        p: &Principal,
        after: Option<Id>,
        limit: usize,
    ) -> Result<Page<Member, Id>, ServiceError> {
        p.require(Role::Admin)?;
        let mut conn = self.store().read().await?;
        let rows = users::list_members(&mut conn, &p.org_id, after.as_ref(), limit as i64 + 1).await?;
        Ok(Page::from_overfetch(rows, limit, |m| m.id.clone()))
    }

    /// Admins. The last admin of an organization cannot step down.
    pub async fn set_user_role(&self, p: &Principal, member: &Id, role: Role) -> Result<Member, ServiceError> {
        p.require(Role::Admin)?;
        p.require_at_least(role, "give a user")?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        orgs::lock(tx.conn(), &p.org_id).await?;
        let before = users::get_member(tx.conn(), &p.org_id, member).await?.ok_or(ServiceError::NotFound("user"))?;
        if before.role == Role::Admin && role != Role::Admin && users::count_admins(tx.conn(), &p.org_id).await? <= 1 {
            return Err(ServiceError::Conflict {
                field: "role",
                detail: "the organization's last admin cannot be demoted".into(),
            });
        }
        users::set_role(tx.conn(), &p.org_id, member, role).await?;
        let detail = json!({"role": {"from": before.role, "to": role}});
        audit::record(tx.conn(), p, now, Action::UserUpdate, Target::User(member), Some(&detail)).await?;
        webhooks::announce(tx.conn(), p, now, Event::UserUpdated, Target::User(member), Some(&detail)).await?;
        let after = users::get_member(tx.conn(), &p.org_id, member).await?.ok_or(ServiceError::NotFound("user"))?;
        tx.commit().await?;
        Ok(after)
    }

    /// Admins. Removes the member from the organization: the links its
    /// invitation sent stop working and its unsent invitation is cancelled.
    /// The person's sessions go on serving their other organizations; only
    /// a person left in none is deleted, and their sessions with them.
    pub async fn remove_user(&self, p: &Principal, id: &Id) -> Result<(), ServiceError> {
        p.require(Role::Admin)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        orgs::lock(tx.conn(), &p.org_id).await?;
        let member = users::get_member(tx.conn(), &p.org_id, id).await?.ok_or(ServiceError::NotFound("user"))?;
        if member.role == Role::Admin && users::count_admins(tx.conn(), &p.org_id).await? <= 1 {
            return Err(ServiceError::Conflict {
                field: "id",
                detail: "the organization's last admin cannot be removed".into(),
            });
        }
        // Deleting the membership deletes its links (a foreign key). It comes
        // first so that a password being set through one of them meanwhile
        // locks the same rows in the same order: membership, then link.
        users::remove_membership(tx.conn(), &member).await?;
        invitations::cancel(tx.conn(), &member, now).await?;
        audit::record(tx.conn(), p, now, Action::UserRemove, Target::User(&member.id), None).await?;
        webhooks::announce(tx.conn(), p, now, Event::UserRemoved, Target::User(&member.id), None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Anyone holding an invitation's link, once: chooses the first password
    /// of the person it was sent to, while the membership that sent it
    /// exists and the person has no password yet, and takes that membership
    /// up (choosing a password through an invitation is consent to it). The
    /// person's other password links stop working; their other pending
    /// memberships stay pending, for them to accept or decline once logged
    /// in.
    pub async fn set_password_with_token(
        &self,
        token: &Token,
        password: String,
        client_ip: Option<String>,
    ) -> Result<(), ServiceError> {
        check_password_rules(&password)?;
        let refused = || ServiceError::invalid("token", "this link is unknown, used, expired or withdrawn");
        // argon2 is deliberately slow: spend it only on a live link.
        if !self.one_time_link_is_live(token, LinkPurpose::Password).await? {
            return Err(refused());
        }
        let hash = self.hash_password(password).await?;
        let now = self.now();
        let token_hash = token.hash_hex();
        let mut tx = self.store().begin().await?;
        let (org, member) = store_invitations::find_live(tx.conn(), &token_hash, LinkPurpose::Password, now)
            .await?
            .ok_or_else(refused)?;
        // The membership first: a removal under way either finishes before
        // (and this finds no membership) or waits until this is done.
        if !users::accept_membership(tx.conn(), &org, &member, now).await? {
            return Err(refused());
        }
        if !store_invitations::use_link(tx.conn(), &token_hash, LinkPurpose::Password, now).await? {
            return Err(refused());
        }
        let member = users::get_member(tx.conn(), &org, &member).await?.ok_or_else(refused)?;
        if !users::set_first_password(tx.conn(), &member.user_id, &hash).await? {
            return Err(refused());
        }
        store_invitations::retire_for_user(tx.conn(), &member.user_id, now).await?;
        let by = Principal::email_link(org, client_ip);
        invitations::record_acceptance(tx.conn(), &by, &member, AcceptedVia::PasswordLink, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Checks a password and opens a session. Unknown email and wrong
    /// password are indistinguishable, in answer and in time. Past the
    /// failure limit for the address or the email, every attempt is refused.
    ///
    /// Each attempt is counted as a failure *before* the password is hashed
    /// and forgiven only when it succeeds, so that concurrent attempts cannot
    /// all slip under the limit while their hashes run.
    pub async fn login(
        &self,
        email: &str,
        password: String,
        client: Option<IpAddr>,
    ) -> Result<LoginOutcome, ServiceError> {
        let subjects: Vec<Subject> = client.map(Subject::addr).into_iter().chain([Subject::email(email)]).collect();
        let throttle = &self.inner.login_failures;
        let now = self.now();
        if let Some(wait) = subjects.iter().filter_map(|s| throttle.blocked(s, now)).max() {
            self.metrics().auth_outcome("login_throttled");
            return Ok(LoginOutcome::Throttled(wait));
        }
        if let Some(wait) = subjects.iter().filter_map(|s| throttle.fail(s, now)).max() {
            self.metrics().auth_outcome("login_throttled");
            return Ok(LoginOutcome::Throttled(wait));
        }
        if password.chars().count() > MAX_PASSWORD_LEN {
            // No password this long was ever accepted: nothing to hash.
            self.metrics().auth_outcome("login_failed");
            return Ok(LoginOutcome::Refused);
        }
        match self.check_password(email, password).await? {
            Some(session) => {
                subjects.iter().for_each(|s| throttle.forgive(s));
                self.metrics().auth_outcome("login_ok");
                Ok(LoginOutcome::Session(session))
            }
            None => {
                self.metrics().auth_outcome("login_failed");
                Ok(LoginOutcome::Refused)
            }
        }
    }

    async fn check_password(&self, email: &str, password: String) -> Result<Option<Session>, ServiceError> {
        // No address on file holds a control character (`Email::parse` never
        // took one), and PostgreSQL refuses a NUL in text: such a one is
        // simply unknown, and still costs the same hash below.
        let user = if email.chars().any(char::is_control) {
            None
        } else {
            users::find_by_email(&mut *self.store().read().await?, &Email::fold_typed(email)).await?
        };
        let stored = user.as_ref().and_then(|u| u.password_hash.clone());
        if !self.verify_password(password, stored).await? {
            return Ok(None);
        }
        let Some(user) = user else { return Ok(None) };
        let token = Token::generate()?;
        let now = self.now();
        let expires = now + SESSION_LIFETIME.as_secs() as i64;
        let mut tx = self.store().begin().await?;
        sessions::insert(tx.conn(), &token.hash_hex(), &user.id, now, expires).await?;
        tx.commit().await?;
        Ok(Some(Session { token, expires, user_id: user.id }))
    }

    pub async fn logout(&self, token: &Token) -> Result<(), ServiceError> {
        let mut tx = self.store().begin().await?;
        sessions::delete(tx.conn(), &token.hash_hex()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The user behind a session cookie, with the memberships they have
    /// taken up (a pending one lets them act nowhere).
    pub async fn session_identity(&self, token: &Token) -> Result<Option<Identity>, ServiceError> {
        let mut conn = self.store().read().await?;
        let Some(user_id) = sessions::user_of(&mut conn, &token.hash_hex(), self.now()).await? else {
            return Ok(None);
        };
        let Some(user) = users::get(&mut conn, &user_id).await? else { return Ok(None) };
        let memberships = users::memberships(&mut conn, &user.id).await?;
        Ok(Some(Identity::User { id: user.id, email: user.email, memberships }))
    }
}
