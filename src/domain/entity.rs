//! What keyward keeps: organizations, people and their memberships, service
//! accounts, their keys, webhook endpoints and their deliveries, and the
//! audit trail. Plain data in the domain's own types; the store reads and
//! writes them, the service decides what they may become.

use std::fmt;

use super::audit::{Action, Outcome, TargetKind};
use super::webhook::{DeliveryStatus, Event, Subscriptions};
use super::{ActorKind, CreatedBy, Email, Id, Meta, Name, Narrowing, Role, UnixTime};

#[derive(Debug, Clone)]
pub struct Org {
    pub id: Id,
    pub name: Name,
    pub created: UnixTime,
}

/// The organization's own limits on key lifetimes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OrgPolicy {
    /// Seconds; `None`: only the server's limit applies.
    pub max_key_lifetime: Option<i64>,
    /// Every key must expire.
    pub require_expiry: bool,
}

/// A person's account: the same in every organization they belong to.
#[derive(Clone)]
pub struct User {
    pub id: Id,
    pub email: Email,
    pub password_hash: Option<String>,
    pub created: UnixTime,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("password_hash", &self.password_hash.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A person as one organization sees them: their membership there, and
/// nothing of their account beyond it.
#[derive(Debug, Clone)]
pub struct Member {
    /// The membership's own id: the person's id within this organization.
    pub id: Id,
    /// The account behind the membership. For the service layer only: it is
    /// the same in every organization, so no organization is shown it.
    pub user_id: Id,
    /// As this organization typed it.
    pub email: Email,
    pub org_id: Id,
    pub role: Role,
    pub created: UnixTime,
    /// When the person took the membership up; `None` while it is pending.
    pub accepted: Option<UnixTime>,
}

/// One organization of a user, as the user sees it.
#[derive(Debug, Clone)]
pub struct Membership {
    /// The user's id within that organization (`Member::id`).
    pub member_id: Id,
    pub org_id: Id,
    pub org_name: Name,
    pub role: Role,
}

/// An organization's invitation that its person has not answered yet: the
/// pending membership, as the invited person sees it.
#[derive(Debug, Clone)]
pub struct PendingInvitation {
    /// The person's id within that organization once they accept
    /// (`Member::id`).
    pub member_id: Id,
    pub org_id: Id,
    pub org_name: Name,
    /// The role the organization offers.
    pub role: Role,
    /// When the organization added them.
    pub invited: UnixTime,
}

#[derive(Debug, Clone)]
pub struct ServiceAccount {
    pub id: Id,
    pub org_id: Id,
    pub name: Name,
    pub role: Role,
    pub enable_basic_auth: bool,
    pub email: Option<Email>,
    pub email_confirmed: bool,
    pub disabled: bool,
    pub created: UnixTime,
    pub last_used: Option<UnixTime>,
    /// When it was deleted; `None` while it lives.
    pub deleted: Option<UnixTime>,
    pub meta: Option<Meta>,
}

/// A key's metadata. The secret's hash is deliberately not part of it.
#[derive(Debug, Clone)]
pub struct ApiKey {
    pub id: Id,
    pub account_id: Id,
    pub name: Option<Name>,
    pub created: UnixTime,
    /// Who made it (`serviceAccount:…`, `user:…`, `operator`).
    pub created_by: CreatedBy,
    pub expires: Option<UnixTime>,
    pub last_used: Option<UnixTime>,
    pub disabled: bool,
    pub narrowing: Narrowing,
}

/// A key with its account's name, for reports across accounts.
#[derive(Debug, Clone)]
pub struct KeyWithAccount {
    pub key: ApiKey,
    pub account_name: Name,
}

/// One event of the trail, as stored and shown.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub id: Id,
    pub org_id: Option<Id>,
    pub at: UnixTime,
    pub actor_kind: ActorKind,
    /// The service account's or the person's id.
    pub actor_id: Option<Id>,
    /// The key a service account acted with.
    pub key_id: Option<Id>,
    pub action: Action,
    pub target_kind: Option<TargetKind>,
    pub target_id: Option<Id>,
    pub client_ip: Option<String>,
    pub outcome: Outcome,
    /// JSON; never a secret.
    pub detail: Option<String>,
}

/// Which events a listing of the trail keeps: each filter given must match.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub actor_id: Option<String>,
    /// An action, or a family of them by its prefix (`key.` for `key.*`).
    pub action: Option<ActionFilter>,
    pub target_id: Option<String>,
}

#[derive(Debug, Clone)]
pub enum ActionFilter {
    Exactly(String),
    Prefix(String),
}

/// A webhook endpoint; its secret stays sealed.
#[derive(Debug, Clone)]
pub struct WebhookEndpoint {
    pub id: Id,
    pub org_id: Id,
    pub url: String,
    /// What it subscribed to.
    pub events: Subscriptions,
    /// Sealed for `webhook:{id}`; never the secret itself.
    pub secret_sealed: String,
    pub disabled: bool,
    pub created: UnixTime,
    pub secret_created: UnixTime,
    /// Why keyward disabled the endpoint itself; `None` when it is enabled
    /// or an admin disabled it.
    pub disabled_reason: Option<String>,
    /// When the first of the attempts failing since the endpoint's last
    /// success failed; `None` while it succeeds.
    pub failing_since: Option<UnixTime>,
    /// Attempts failed since the last success.
    pub failures: i64,
}

/// One delivery of an event to an endpoint.
#[derive(Debug, Clone)]
pub struct WebhookDelivery {
    pub id: Id,
    pub endpoint_id: Id,
    pub event_type: Event,
    pub payload: String,
    pub created: UnixTime,
    pub attempts: i64,
    pub next_attempt_at: UnixTime,
    pub status: DeliveryStatus,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub delivered_at: Option<UnixTime>,
}
