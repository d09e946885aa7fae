//! People: accounts for the web app, their passwords, sessions and roles.

use std::time::Duration;

use std::net::IpAddr;

use serde_json::json;

use super::audit::{self, Action, Target};
use super::principal::Identity;
use super::throttle::Subject;
use super::{Page, Principal, Service, ServiceError};
use crate::domain::{Email, Id, Role, Token, UnixTime};
use crate::store::{MemberRecord, UserRecord, orgs, sessions, users};

pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
pub const SETUP_LINK_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);
pub use super::passwords::{MAX_PASSWORD_LEN, MIN_PASSWORD_LEN, check_password_rules};

/// A new user and the one-time link to choose a password, when one is owed.
#[derive(Debug)]
pub struct NewMember {
    pub member: MemberRecord,
    pub password_token: Option<Token>,
}

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

impl Service {
    /// The operator at the command line: a user with a password, or an existing
    /// user added to one more organization.
    pub async fn create_user(
        &self,
        org: &Id,
        email: Email,
        role: Role,
        password: String,
    ) -> Result<MemberRecord, ServiceError> {
        check_password_rules(&password)?;
        self.get_org(org).await?;
        let hash = self.hash_password(password).await?;
        let by = Principal::operator(org.clone());
        self.add_member(&by, email, role, Some(hash)).await.map(|n| n.member)
    }

    /// Admins: invites a person by email with a role no higher than the
    /// caller's; a new user gets a one-time link to set a password.
    pub async fn invite_user(&self, p: &Principal, email: Email, role: Role) -> Result<NewMember, ServiceError> {
        p.require(Role::Admin)?;
        p.require_at_least(role, "invite a user")?;
        self.add_member(p, email, role, None).await
    }

    async fn add_member(
        &self,
        by: &Principal,
        email: Email,
        role: Role,
        password_hash: Option<String>,
    ) -> Result<NewMember, ServiceError> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let (user_id, token) = match users::find_by_email(tx.conn(), email.as_str()).await? {
            Some(existing) => (existing.id, None),
            None => {
                let user =
                    UserRecord { id: Id::generate(), email: email.as_str().to_owned(), password_hash, created: now };
                users::insert(tx.conn(), &user).await?;
                let token = if user.password_hash.is_none() {
                    let token = Token::generate()?;
                    let expires = now + SETUP_LINK_LIFETIME.as_secs() as i64;
                    sessions::insert_token(tx.conn(), &token.hash_hex(), "password", Some(&user.id), now, expires)
                        .await?;
                    Some(token)
                } else {
                    None
                };
                (user.id, token)
            }
        };
        users::add_membership(tx.conn(), &user_id, &by.org_id, role, now).await.map_err(|e| match e {
            crate::store::StoreError::Conflict(_) => ServiceError::Conflict {
                field: "email",
                detail: "that person is already a member of this organization".into(),
            },
            other => other.into(),
        })?;
        audit::record(tx.conn(), by, now, Action::UserAdd, Target::User(&user_id), Some(json!({"role": role}))).await?;
        let member = users::get_member(tx.conn(), &by.org_id, &user_id).await?.ok_or(ServiceError::NotFound("user"))?;
        tx.commit().await?;
        Ok(NewMember { member, password_token: token })
    }

    /// Admins.
    pub async fn list_users(
        &self,
        p: &Principal,
        after: Option<Id>,
        limit: usize,
    ) -> Result<Page<MemberRecord, Id>, ServiceError> {
        p.require(Role::Admin)?;
        let mut conn = self.store().read().await?;
        let rows = users::list_members(&mut conn, &p.org_id, after.as_ref(), limit as i64 + 1).await?;
        Ok(Page::from_overfetch(rows, limit, |m| m.id.clone()))
    }

    /// Admins. The last admin of an organization cannot step down.
    pub async fn set_user_role(&self, p: &Principal, user: &Id, role: Role) -> Result<MemberRecord, ServiceError> {
        p.require(Role::Admin)?;
        p.require_at_least(role, "give a user")?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        orgs::lock(tx.conn(), &p.org_id).await?;
        let before = users::get_member(tx.conn(), &p.org_id, user).await?.ok_or(ServiceError::NotFound("user"))?;
        if before.role == Role::Admin && role != Role::Admin && users::count_admins(tx.conn(), &p.org_id).await? <= 1 {
            return Err(ServiceError::Conflict {
                field: "role",
                detail: "the organization's last admin cannot be demoted".into(),
            });
        }
        users::set_role(tx.conn(), &p.org_id, user, role).await?;
        let detail = json!({"role": {"from": before.role, "to": role}});
        audit::record(tx.conn(), p, now, Action::UserUpdate, Target::User(user), Some(detail)).await?;
        let after = users::get_member(tx.conn(), &p.org_id, user).await?.ok_or(ServiceError::NotFound("user"))?;
        tx.commit().await?;
        Ok(after)
    }

    /// Admins. Removes the user from the organization (and altogether when it
    /// was the last), ending its sessions.
    pub async fn remove_user(&self, p: &Principal, user: &Id) -> Result<(), ServiceError> {
        p.require(Role::Admin)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        orgs::lock(tx.conn(), &p.org_id).await?;
        let member = users::get_member(tx.conn(), &p.org_id, user).await?.ok_or(ServiceError::NotFound("user"))?;
        if member.role == Role::Admin && users::count_admins(tx.conn(), &p.org_id).await? <= 1 {
            return Err(ServiceError::Conflict {
                field: "id",
                detail: "the organization's last admin cannot be removed".into(),
            });
        }
        users::remove_membership(tx.conn(), &p.org_id, user).await?;
        sessions::delete_for_user(tx.conn(), user).await?;
        audit::record(tx.conn(), p, now, Action::UserRemove, Target::User(user), None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets a password through a one-time link.
    pub async fn set_password_with_token(&self, token: &Token, password: String) -> Result<(), ServiceError> {
        check_password_rules(&password)?;
        // argon2 is deliberately slow: spend it only on a live link.
        if !self.one_time_link_is_live(token, "password").await? {
            return Err(ServiceError::invalid("token", "this link is unknown, used or expired"));
        }
        let hash = self.hash_password(password).await?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let user = sessions::consume_token(tx.conn(), &token.hash_hex(), "password", now)
            .await?
            .flatten()
            .ok_or_else(|| ServiceError::invalid("token", "this link is unknown, used or expired"))?;
        users::set_password_hash(tx.conn(), &user, &hash).await?;
        sessions::delete_for_user(tx.conn(), &user).await?;
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
        let user = {
            let mut conn = self.store().read().await?;
            users::find_by_email(&mut conn, email).await?
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

    /// The user behind a session cookie, with its memberships.
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
