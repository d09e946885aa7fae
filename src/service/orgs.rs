//! Organizations.

use super::audit::{self, Target};
use super::principal::Identity;
use super::{Principal, Service, ServiceError};
use crate::domain::{Id, Name};
use crate::store::{MembershipRecord, OrgRecord, orgs};

impl Service {
    /// The operator at the command line: organizations are not made over the API.
    pub async fn create_org(&self, name: Name) -> Result<OrgRecord, ServiceError> {
        let org = OrgRecord { id: Id::generate(), name: name.as_str().to_owned(), created: self.now() };
        let by = Principal::operator(org.id.clone());
        let mut tx = self.store().begin().await?;
        orgs::insert(tx.conn(), &org).await?;
        audit::record(tx.conn(), &by, org.created, "org.create", Target::Org(&org.id), None).await?;
        tx.commit().await?;
        Ok(org)
    }

    pub async fn get_org(&self, id: &Id) -> Result<OrgRecord, ServiceError> {
        let mut conn = self.store().read().await?;
        orgs::get(&mut conn, id).await?.ok_or(ServiceError::NotFound("organization"))
    }

    /// The organizations the caller belongs to, with its role in each.
    pub async fn list_orgs(&self, who: &Identity) -> Result<Vec<MembershipRecord>, ServiceError> {
        match who {
            Identity::User { memberships, .. } => Ok(memberships.clone()),
            Identity::ServiceAccount(sa) => {
                let org = self.get_org(&sa.org_id).await?;
                // A service account is its organization's member in its own right.
                Ok(vec![MembershipRecord {
                    member_id: sa.account_id.clone(),
                    org_id: org.id,
                    org_name: org.name,
                    role: sa.role,
                }])
            }
        }
    }
}
