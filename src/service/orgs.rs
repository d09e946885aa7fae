//! Organizations, and the key policy their admins set.

use super::audit::{self, Action, Target};
use super::principal::Identity;
use super::{Principal, Service, ServiceError};
use serde_json::json;

use crate::domain::entity::OrgPolicy;
use crate::domain::entity::{Membership, Org};
use crate::domain::{Id, Name, Role};
use crate::store::orgs;

/// The longest `maxKeyLifetime` an organization may set: a hundred years,
/// far past any real use, and far from overflowing a Unix time.
pub const LONGEST_POLICY: i64 = 100 * 365 * 86_400;

/// `None` leaves a field as it is; `max_key_lifetime: Some(None)` removes
/// the organization's maximum.
#[derive(Debug, Clone, Default)]
pub struct PolicyPatch {
    pub max_key_lifetime: Option<Option<i64>>,
    pub require_expiry: Option<bool>,
}

impl Service {
    /// The operator at the command line: organizations are not made over the API.
    pub async fn create_org(&self, name: Name) -> Result<Org, ServiceError> {
        let org = Org { id: Id::generate(), name, created: self.now() };
        let by = Principal::operator(org.id.clone());
        let mut tx = self.store().begin().await?;
        orgs::insert(tx.conn(), &org).await?;
        audit::record(tx.conn(), &by, org.created, Action::OrgCreate, Target::Org(&org.id), None).await?;
        tx.commit().await?;
        Ok(org)
    }

    pub async fn get_org(&self, id: &Id) -> Result<Org, ServiceError> {
        let mut conn = self.store().read().await?;
        orgs::get(&mut conn, id).await?.ok_or(ServiceError::NotFound("organization"))
    }

    /// Admins of the organization. Applies to keys created or rotated from
    /// now on; keys that exist keep their expiry.
    pub async fn update_org_policy(&self, p: &Principal, patch: PolicyPatch) -> Result<OrgPolicy, ServiceError> {
        p.require(Role::Admin)?;
        if let Some(Some(seconds)) = patch.max_key_lifetime {
            if !(1..=LONGEST_POLICY).contains(&seconds) {
                return Err(ServiceError::invalid(
                    "maxKeyLifetime",
                    format!("must be from 1 to {LONGEST_POLICY} seconds, or null for none"),
                ));
            }
        }
        let now = self.now();
        let mut tx = self.store().begin().await?;
        orgs::lock(tx.conn(), &p.org_id).await?;
        let before = orgs::policy(tx.conn(), &p.org_id).await?.ok_or(ServiceError::NotFound("organization"))?;
        let after = OrgPolicy {
            max_key_lifetime: patch.max_key_lifetime.unwrap_or(before.max_key_lifetime),
            require_expiry: patch.require_expiry.unwrap_or(before.require_expiry),
        };
        orgs::set_policy(tx.conn(), &p.org_id, &after).await?;
        let mut detail = serde_json::Map::new();
        if before.max_key_lifetime != after.max_key_lifetime {
            detail.insert(
                "maxKeyLifetime".into(),
                json!({"from": before.max_key_lifetime, "to": after.max_key_lifetime}),
            );
        }
        if before.require_expiry != after.require_expiry {
            detail.insert("requireExpiry".into(), json!({"from": before.require_expiry, "to": after.require_expiry}));
        }
        let target = Target::Org(&p.org_id);
        audit::record(tx.conn(), p, now, Action::OrgUpdate, target, Some(&serde_json::Value::Object(detail))).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// The key policies of `orgs`, in their order; an unknown one has none.
    pub async fn org_policies(&self, orgs: &[Id]) -> Result<Vec<OrgPolicy>, ServiceError> {
        let mut conn = self.store().read().await?;
        let found = orgs::policies(&mut conn, orgs).await?;
        Ok(orgs
            .iter()
            .map(|id| found.iter().find(|(o, _)| o == id).map(|(_, policy)| *policy).unwrap_or_default())
            .collect())
    }

    /// The organizations the caller belongs to, with its role in each.
    pub async fn list_orgs(&self, who: &Identity) -> Result<Vec<Membership>, ServiceError> {
        match who {
            Identity::User { memberships, .. } => Ok(memberships.clone()),
            Identity::ServiceAccount(sa) => {
                let org = self.get_org(&sa.org_id).await?;
                // A service account is its organization's member in its own right.
                Ok(vec![Membership {
                    member_id: sa.account_id.clone(),
                    org_id: org.id,
                    org_name: org.name,
                    role: sa.role,
                }])
            }
        }
    }
}
