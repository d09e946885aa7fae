//! First run: a one-time setup link, logged while the database has no users,
//! that creates the first organization and its admin.

use std::time::Duration;

use serde_json::json;

use super::audit::{self, Action, Target};
use super::passwords::check_password_rules;
use super::users::{SESSION_LIFETIME, Session};
use super::{Principal, Service, ServiceError};
use crate::domain::entity::{Member, Org, User};
use crate::domain::{Actor, Email, Id, LinkPurpose, Name, Role, Token};
use crate::store::{invitations, orgs, sessions, users};

/// How long a first-run link works.
pub const SETUP_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);
const PURPOSE: LinkPurpose = LinkPurpose::Setup;

/// What the setup page asks for.
#[derive(Debug)]
pub struct FirstAdmin {
    pub org_name: Name,
    pub email: Email,
    pub password: String,
}

/// What setup made: the organization, and the admin's first session.
#[derive(Debug)]
pub struct SetupDone {
    pub org: Org,
    pub session: Session,
}

fn new_token() -> Result<Token, ServiceError> {
    Ok(Token::generate()?)
}

impl Service {
    /// The operator starting a server: when nobody can log in yet, a fresh
    /// one-time setup token (earlier unused ones stop working). `None` once
    /// the database has users.
    pub async fn first_run_token(&self) -> Result<Option<Token>, ServiceError> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        if users::count(tx.conn()).await? > 0 {
            return Ok(None);
        }
        let token = new_token()?;
        sessions::delete_unused_tokens(tx.conn(), PURPOSE).await?;
        let expires = now + SETUP_TOKEN_LIFETIME.as_secs() as i64;
        sessions::insert_token(tx.conn(), &token.hash_hex(), PURPOSE, None, now, expires).await?;
        tx.commit().await?;
        Ok(Some(token))
    }

    /// Whether a one-time link would still work; the pages ask this before
    /// showing a form. A setup link dies once users exist; an invitation's
    /// link with its membership, a password link once its person has a
    /// password, an accept link once its membership is taken up.
    pub async fn one_time_link_is_live(&self, token: &Token, purpose: LinkPurpose) -> Result<bool, ServiceError> {
        let mut conn = self.store().read().await?;
        let now = self.now();
        match purpose {
            LinkPurpose::Setup => Ok(sessions::token_is_live(&mut conn, &token.hash_hex(), purpose, now).await?
                && users::count(&mut conn).await? == 0),
            LinkPurpose::Password | LinkPurpose::Accept => {
                Ok(invitations::find_live(&mut conn, &token.hash_hex(), purpose, now).await?.is_some())
            }
        }
    }

    /// Anyone holding the setup link, once: creates the organization and its
    /// admin in one transaction, consumes the link and opens a session.
    /// `422` names `token` for a used, expired or unknown link, or a link
    /// outlived by users created some other way.
    pub async fn complete_setup(
        &self,
        token: &Token,
        first: FirstAdmin,
        client_ip: Option<String>,
    ) -> Result<SetupDone, ServiceError> {
        check_password_rules(&first.password)?;
        let refused = || ServiceError::invalid("token", "this setup link is unknown, used or expired");
        // argon2 is deliberately slow: spend it only on a live link, or anyone
        // could make the server hash passwords on demand.
        if !self.one_time_link_is_live(token, PURPOSE).await? {
            return Err(refused());
        }
        let hash = self.hash_password(first.password).await?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        sessions::consume_token(tx.conn(), &token.hash_hex(), PURPOSE, now).await?.ok_or_else(refused)?;
        if users::count(tx.conn()).await? > 0 {
            return Err(refused());
        }
        let org = Org { id: Id::generate(), name: first.org_name.clone(), created: now };
        let user = User { id: Id::generate(), email: first.email.clone(), password_hash: Some(hash), created: now };
        orgs::insert(tx.conn(), &org).await?;
        users::insert(tx.conn(), &user).await?;
        let member = Member {
            id: Id::generate(),
            user_id: user.id.clone(),
            email: user.email.clone(),
            org_id: org.id.clone(),
            role: Role::Admin,
            created: now,
            accepted: Some(now),
        };
        users::add_membership(tx.conn(), &member).await?;
        let by = Principal {
            actor: Actor::User { id: member.id.clone(), email: user.email.clone() },
            org_id: org.id.clone(),
            role: Role::Admin,
            client_ip,
        };
        audit::record(tx.conn(), &by, now, Action::OrgCreate, Target::Org(&org.id), Some(&json!({"via": "setup"})))
            .await?;
        let detail = json!({"role": Role::Admin, "via": "setup"});
        audit::record(tx.conn(), &by, now, Action::UserAdd, Target::User(&member.id), Some(&detail)).await?;
        // `user.added` is not announced: an organization made this instant
        // has no webhook endpoint to tell.
        let session = new_token()?;
        let expires = now + SESSION_LIFETIME.as_secs() as i64;
        sessions::insert(tx.conn(), &session.hash_hex(), &user.id, now, expires).await?;
        tx.commit().await?;
        Ok(SetupDone { org, session: Session { token: session, expires, user_id: user.id } })
    }
}
