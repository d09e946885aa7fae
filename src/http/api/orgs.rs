//! `/api/org/v1/org`: the organizations the caller belongs to.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::Role;
use crate::http::AppState;
use crate::http::auth::Who;
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
    get, path = "/api/org/v1/org", tag = "organizations",
    responses((status = 200, description = "The caller's organizations", body = OrgList)),
    security(("apiKey" = []), ("basic" = []), ("session" = []))
)]
pub async fn list(State(state): State<AppState>, Who(who): Who) -> Result<Json<OrgList>, ApiError> {
    let items = state
        .service
        .list_orgs(&who)
        .await?
        .into_iter()
        .map(|m| OrgView { id: m.org_id.to_string(), name: m.org_name, role: m.role })
        .collect();
    Ok(Json(OrgList { items }))
}
