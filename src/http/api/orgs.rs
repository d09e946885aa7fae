//! `/api/org/v1/org`: the organizations the caller belongs to.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::OrgQuery;
use crate::domain::Role;
use crate::http::AppState;
use crate::http::auth::{RequestedOrg, Who};
use crate::http::error::ApiError;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrgView {
    pub id: String,
    pub name: String,
    /// The caller's role there.
    pub role: Role,
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
    operation_id = "listOrgs", get, path = "/api/org/v1/org", tag = "organizations", params(OrgQuery),
    responses(
        (status = 200, description = "The caller's organizations", body = OrgList),
        (status = 403, description = "orgId names an organization the caller may not pin", body = crate::http::error::Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []), ("basic" = []), ("session" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    Who(who): Who,
    RequestedOrg(pin): RequestedOrg,
) -> Result<Json<OrgList>, ApiError> {
    // `orgId` narrows nothing here, but a pin the caller may not make is
    // refused as on every other call (SPEC §3).
    if pin.is_some() {
        who.clone().pin(pin, None)?;
    }
    let items = state
        .service
        .list_orgs(&who)
        .await?
        .into_iter()
        .map(|m| OrgView { id: m.org_id.to_string(), name: m.org_name, role: m.role })
        .collect();
    Ok(Json(OrgList { items }))
}
