//! `/api/org/v1/org`: the organizations the caller belongs to, and their
//! key policy.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::PathId;
use crate::domain::Role;
use crate::domain::entity::OrgPolicy;
use crate::http::AppState;
use crate::http::auth::{ClientIp, RequestedOrg, Who};
use crate::http::error::{ApiError, Problem};
use crate::http::extract::{JsonBody, nullable};
use crate::service::ServiceError;
use crate::service::orgs::PolicyPatch;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrgView {
    pub id: String,
    pub name: String,
    /// The caller's role there.
    pub role: Role,
    /// The longest lifetime a new key may be given here, in seconds; null:
    /// only the server's limit. A key asked for without a lifetime gets the
    /// server's default lifetime, else this (or the server's limit).
    pub max_key_lifetime: Option<i64>,
    /// Every new key must expire: without a maximum or a server default, a
    /// key asked for without `expiresIn` or `expires` is refused (`422`).
    pub require_expiry: bool,
}

impl OrgView {
    pub(crate) fn new(id: String, name: String, role: Role, policy: OrgPolicy) -> Self {
        Self { id, name, role, max_key_lifetime: policy.max_key_lifetime, require_expiry: policy.require_expiry }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateOrg {
    /// Seconds, 1 to 100 years; null removes the organization's maximum.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    max_key_lifetime: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<bool>)]
    require_expiry: Option<Option<bool>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrgList {
    pub items: Vec<OrgView>,
}

/// List my organizations.
///
/// Any authenticated caller: a key sees its own organization, a user each
/// one it belongs to.
#[utoipa::path(
    operation_id = "listOrgs", get, path = "/api/org/v1/org", tag = "organizations",
    responses(
        (status = 200, description = "The caller's organizations", body = OrgList),
        (status = 403, description = "orgId names an organization the caller may not pin", body = Problem),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    Who(who): Who,
    RequestedOrg(pin): RequestedOrg,
) -> Result<Json<OrgList>, ApiError> {
    // `orgId` narrows nothing here, but a pin the caller may not make is
    // refused as on every other call.
    if pin.is_some() {
        who.clone().pin(pin, None)?;
    }
    let memberships = state.service.list_orgs(&who).await?;
    let ids: Vec<_> = memberships.iter().map(|m| m.org_id.clone()).collect();
    let policies = state.service.org_policies(&ids).await?;
    let items = memberships
        .into_iter()
        .zip(policies)
        .map(|(m, policy)| OrgView::new(m.org_id.to_string(), m.org_name.into(), m.role, policy))
        .collect();
    Ok(Json(OrgList { items }))
}

/// Change an organization's key policy.
///
/// Admins of that organization. `maxKeyLifetime` (seconds, or null) and
/// `requireExpiry` apply to keys created or rotated from now on; the
/// server's `--max-key-lifetime` still caps them. `404` for an organization
/// the caller does not belong to, `403` for its non-admins.
#[utoipa::path(
    operation_id = "updateOrg", patch, path = "/api/org/v1/org/{id}", tag = "organizations", params(PathId),
    request_body = UpdateOrg,
    responses(
        (status = 200, description = "The organization with its policy", body = OrgView),
        (status = 403, description = "The caller is not an admin there", body = Problem),
        (status = 404, description = "No such organization of the caller's", body = Problem),
    ),
)]
pub async fn update(
    State(state): State<AppState>,
    Who(who): Who,
    RequestedOrg(pin): RequestedOrg,
    ClientIp(client): ClientIp,
    PathId(org): PathId,
    JsonBody(body): JsonBody<UpdateOrg>,
) -> Result<Json<OrgView>, ApiError> {
    let client = client.map(|ip| ip.to_string());
    // A pin the caller may not make is refused as everywhere (403); then an
    // organization it does not belong to is one that does not exist for it.
    if pin.is_some() {
        who.clone().pin(pin, client.clone())?;
    }
    let p = who.pin(Some(org), client).map_err(|err| match err {
        ServiceError::Forbidden(_) => ServiceError::NotFound("organization"),
        other => other,
    })?;
    let require_expiry = match body.require_expiry {
        Some(None) => return Err(ApiError::invalid_field("requireExpiry", "must be true or false")),
        Some(Some(flag)) => Some(flag),
        None => None,
    };
    let patch = PolicyPatch { max_key_lifetime: body.max_key_lifetime, require_expiry };
    let policy = state.service.update_org_policy(&p, patch).await?;
    let record = state.service.get_org(&p.org_id).await?;
    Ok(Json(OrgView::new(record.id.to_string(), record.name.into(), p.role, policy)))
}
