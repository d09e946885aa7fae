//! Who is calling, in which organization, with which role.

use crate::domain::{Actor, ActorKind, Ceiling, CreatedBy, Email, Id, Role};
use crate::service::ServiceError;

/// The caller of one request, already pinned to one organization.
#[derive(Debug, Clone)]
pub struct Principal {
    pub actor: Actor,
    pub org_id: Id,
    pub role: Role,
    pub client_ip: Option<String>,
}

impl Principal {
    /// The first line of every use case: the weakest role allowed to do it.
    pub fn require(&self, role: Role) -> Result<(), ServiceError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(ServiceError::forbidden(format!("this needs the {role} role; the caller is {}", self.role)))
        }
    }

    /// Nobody hands out or acts for a credential more powerful than itself.
    pub fn require_at_least(&self, target: Role, what: &str) -> Result<(), ServiceError> {
        if self.role >= target {
            Ok(())
        } else {
            Err(ServiceError::forbidden(format!("a {} cannot {what} with the {target} role", self.role)))
        }
    }

    /// The operator acting on an organization from the command line.
    pub fn operator(org_id: Id) -> Self {
        Self { actor: Actor::Operator, org_id, role: Role::Admin, client_ip: None }
    }

    /// keyward itself, acting on an organization in the background.
    pub fn system(org_id: Id) -> Self {
        Self { actor: Actor::System, org_id, role: Role::Admin, client_ip: None }
    }

    /// Whoever revoked a leaked secret, acting on that key's organization.
    pub fn anonymous(org_id: Id, client_ip: Option<String>) -> Self {
        Self { actor: Actor::Anonymous, org_id, role: Role::Viewer, client_ip }
    }

    /// Whoever opened a link mailed to an address of `org_id`.
    pub fn email_link(org_id: Id, client_ip: Option<String>) -> Self {
        Self { actor: Actor::EmailLink, org_id, role: Role::Viewer, client_ip }
    }

    pub fn kind(&self) -> ActorKind {
        self.actor.kind()
    }

    /// The id recorded as a key's `createdBy` and in audit events.
    pub fn actor_id(&self) -> Option<&Id> {
        self.actor.id()
    }

    /// What any key this caller makes or changes must stay within: a key's
    /// own narrowing and expiry; nothing for a person or the operator, whose
    /// role alone bounds them.
    pub fn ceiling(&self) -> Ceiling {
        match &self.actor {
            Actor::ServiceAccount { narrowing, expires, .. } => Ceiling::of_key(narrowing, *expires),
            _ => Ceiling::default(),
        }
    }

    pub fn key_id(&self) -> Option<&Id> {
        self.actor.key_id()
    }

    pub fn created_by(&self) -> CreatedBy {
        CreatedBy::from(&self.actor)
    }
}

/// Who proved themselves, before the request picked an organization.
#[derive(Debug, Clone)]
pub enum Identity {
    ServiceAccount(super::auth::Authenticated),
    User { id: Id, email: Email, memberships: Vec<crate::domain::entity::Membership> },
}

impl Identity {
    /// The person behind a session, with their account's id and address,
    /// for what only a person does of themselves (`what`); a key is refused.
    pub fn person(&self, what: &str) -> Result<(&Id, &Email), ServiceError> {
        match self {
            Identity::User { id, email, .. } => Ok((id, email)),
            Identity::ServiceAccount(_) => Err(ServiceError::forbidden(format!("only a person can {what}, not a key"))),
        }
    }

    /// Pins the request to one organization (`orgId`): a key only to its own,
    /// a user to any it belongs to, and a user of several must say which. A
    /// user's memberships are those they have taken up: an organization
    /// that has only invited them is one they are not in.
    pub fn pin(self, org: Option<Id>, client_ip: Option<String>) -> Result<Principal, ServiceError> {
        match self {
            Identity::ServiceAccount(who) => {
                if org.as_ref().is_some_and(|o| o != &who.org_id) {
                    return Err(ServiceError::forbidden("a key may only act in its own organization"));
                }
                Ok(Principal {
                    actor: Actor::ServiceAccount {
                        id: who.account_id,
                        key_id: who.key_id,
                        narrowing: who.narrowing,
                        expires: who.expires,
                    },
                    org_id: who.org_id,
                    role: who.role,
                    client_ip,
                })
            }
            Identity::User { email, memberships, .. } => {
                let membership = match org {
                    Some(org) => memberships
                        .into_iter()
                        .find(|m| m.org_id == org)
                        .ok_or_else(|| ServiceError::forbidden("you are not a member of that organization"))?,
                    None if memberships.len() > 1 => {
                        return Err(ServiceError::BadRequest(
                            "orgId is required: you belong to several organizations".into(),
                        ));
                    }
                    None => memberships
                        .into_iter()
                        .next()
                        .ok_or_else(|| ServiceError::forbidden("you belong to no organization"))?,
                };
                Ok(Principal {
                    actor: Actor::User { id: membership.member_id, email },
                    org_id: membership.org_id,
                    role: membership.role,
                    client_ip,
                })
            }
        }
    }
}
