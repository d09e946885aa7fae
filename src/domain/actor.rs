//! Who acts: the caller behind a change (`Actor`), the kind of actor the
//! trail and webhook events record (`ActorKind`), and who made a key
//! (`CreatedBy`).

use std::fmt;
use std::sync::Arc;

use super::{Email, Id, Narrowing, UnixTime};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A service account authenticated by one of its keys (or an access
    /// token of one), with what narrows that key: the ceiling of any key it
    /// makes or changes.
    ServiceAccount { id: Id, key_id: Id, narrowing: Arc<Narrowing>, expires: Option<UnixTime> },
    /// A person, through the web app's session. `id` is their membership's
    /// id in the organization acted in (what that organization's user
    /// listing shows), not their account's, which is the same everywhere
    /// and would tie what they do here to who they are elsewhere.
    User { id: Id, email: Email },
    /// The operator at the command line, who holds the database itself.
    Operator,
    /// keyward's own background work (the purge of deleted accounts).
    System,
    /// Someone who proved nothing but holding a secret (a leak report).
    Anonymous,
    /// Whoever opened a link sent to an address: no account or user stands
    /// behind the request.
    EmailLink,
}

impl Actor {
    pub fn kind(&self) -> ActorKind {
        match self {
            Actor::ServiceAccount { .. } => ActorKind::ServiceAccount,
            Actor::User { .. } => ActorKind::User,
            Actor::Operator => ActorKind::Operator,
            Actor::System => ActorKind::System,
            Actor::Anonymous => ActorKind::Anonymous,
            Actor::EmailLink => ActorKind::EmailLink,
        }
    }

    /// The service account's or the person's id; `None` for the others.
    pub fn id(&self) -> Option<&Id> {
        match self {
            Actor::ServiceAccount { id, .. } | Actor::User { id, .. } => Some(id),
            Actor::Operator | Actor::System | Actor::Anonymous | Actor::EmailLink => None,
        }
    }

    /// The key a service account acted with.
    pub fn key_id(&self) -> Option<&Id> {
        match self {
            Actor::ServiceAccount { key_id, .. } => Some(key_id),
            _ => None,
        }
    }
}

/// The kind of actor, as the trail records it and webhook events tell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActorKind {
    ServiceAccount,
    User,
    Operator,
    System,
    Anonymous,
    EmailLink,
}

impl ActorKind {
    pub const ALL: [ActorKind; 6] = [
        ActorKind::ServiceAccount,
        ActorKind::User,
        ActorKind::Operator,
        ActorKind::System,
        ActorKind::Anonymous,
        ActorKind::EmailLink,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::ServiceAccount => "serviceAccount",
            ActorKind::User => "user",
            ActorKind::Operator => "operator",
            ActorKind::System => "system",
            ActorKind::Anonymous => "anonymous",
            ActorKind::EmailLink => "emailLink",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for ActorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who made a key: the kind of actor, and their id when they have one.
/// Written `kind:id` (`serviceAccount:…`, `user:…`), or the kind alone
/// (`operator`), as stored and shown in `createdBy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedBy {
    pub kind: ActorKind,
    pub id: Option<Id>,
}

impl CreatedBy {
    /// Reads what `Display` wrote; `None` for a kind no actor has.
    pub fn parse(s: &str) -> Option<Self> {
        let (kind, id) = match s.split_once(':') {
            Some((kind, id)) => (kind, Some(Id::from_stored(id.to_owned()))),
            None => (s, None),
        };
        Some(Self { kind: ActorKind::parse(kind)?, id })
    }
}

impl From<&Actor> for CreatedBy {
    fn from(actor: &Actor) -> Self {
        Self { kind: actor.kind(), id: actor.id().cloned() }
    }
}

impl fmt::Display for CreatedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.id {
            Some(id) => write!(f, "{}:{id}", self.kind),
            None => f.write_str(self.kind.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_back_as_themselves() {
        for k in ActorKind::ALL {
            assert_eq!(ActorKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(ActorKind::parse("robot"), None);
    }

    #[test]
    fn created_by_keeps_the_text_it_always_had() {
        let id = Id::generate();
        let key = CreatedBy { kind: ActorKind::ServiceAccount, id: Some(id.clone()) };
        assert_eq!(key.to_string(), format!("serviceAccount:{id}"));
        assert_eq!(CreatedBy::parse(&key.to_string()), Some(key));
        let operator = CreatedBy::from(&Actor::Operator);
        assert_eq!(operator.to_string(), "operator");
        assert_eq!(CreatedBy::parse("operator"), Some(operator));
        let email = Email::parse("a@example.com").expect("email");
        let person = CreatedBy::from(&Actor::User { id: id.clone(), email });
        assert_eq!(person.to_string(), format!("user:{id}"));
        assert_eq!(CreatedBy::parse("robot:1"), None);
    }
}
