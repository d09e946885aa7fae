//! `/api/audit/v1/event`: the organization's audit trail.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{PageRequest, PageView};
use crate::domain::UnixTime;
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::error::{ApiError, Problem};
use crate::http::extract::ApiQuery;
use crate::store::AuditRecord;

const LISTING: &str = "audit";

/// One change: who did what, to what, when, from where, and how it ended.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEventView {
    pub id: String,
    /// Unix seconds.
    pub time: UnixTime,
    /// `serviceAccount`, `user` or `operator`; `emailLink` for whoever opened
    /// an email confirmation link, `system` for keyward itself (`mail.failed`).
    pub actor_kind: String,
    pub actor_id: Option<String>,
    /// The key the actor used, when it was a service account.
    pub key_id: Option<String>,
    /// For example `serviceAccount.create`, `key.delete`.
    pub action: String,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub client_ip: Option<String>,
    /// `success`.
    pub outcome: String,
    /// What changed, without any secret.
    #[schema(value_type = Option<Object>)]
    pub detail: Option<serde_json::Value>,
}

impl From<AuditRecord> for AuditEventView {
    fn from(e: AuditRecord) -> Self {
        Self {
            id: e.id.to_string(),
            time: e.at,
            actor_kind: e.actor_kind,
            actor_id: e.actor_id,
            key_id: e.key_id,
            action: e.action,
            target_kind: e.target_kind,
            target_id: e.target_id,
            client_ip: e.client_ip,
            outcome: e.outcome,
            detail: e.detail.and_then(|d| serde_json::from_str(&d).ok()),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Pin to organization (Organization.id).
    #[serde(rename = "orgId")]
    #[param(rename = "orgId")]
    #[allow(dead_code)]
    org_id: Option<String>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<String>,
    /// `nextCursor` from the previous page.
    cursor: Option<String>,
}

/// List audit events.
///
/// Admins. Newest first, paged like service accounts.
#[utoipa::path(
    operation_id = "listAuditEvents", get, path = "/api/audit/v1/event", tag = "audit", params(AuditQuery),
    responses(
        (status = 200, description = "A page of events", body = PageView<AuditEventView>),
        (status = 403, description = "Admins only", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []), ("basic" = []), ("session" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<PageView<AuditEventView>>, ApiError> {
    let page = PageRequest::parse(LISTING, q.limit.as_deref(), q.cursor.as_deref())?;
    let events = state.service.list_audit_events(&p, page.position, page.limit).await?;
    Ok(Json(PageView::of(LISTING, events, AuditEventView::from)))
}
