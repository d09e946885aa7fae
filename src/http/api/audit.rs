//! `/api/audit/v1/event`: the organization's audit trail.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{PageQuery, PageRequest, PageView};
use crate::domain::UnixTime;
use crate::domain::entity::AuditEvent;
use crate::domain::entity::{ActionFilter, AuditFilter};
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::error::ApiError;
use crate::http::extract::{ApiQuery, text_filter};

const LISTING: &str = "audit";

/// One change: who did what, to what, when, from where, and how it ended.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEventView {
    pub id: String,
    /// Unix seconds.
    pub time: UnixTime,
    /// `serviceAccount`, `user` or `operator`; `emailLink` for whoever opened
    /// an email confirmation link, `system` for keyward itself (`mail.failed`,
    /// `webhook.disabled`).
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

impl From<AuditEvent> for AuditEventView {
    fn from(e: AuditEvent) -> Self {
        Self {
            id: e.id.to_string(),
            time: e.at,
            actor_kind: e.actor_kind.as_str().to_owned(),
            actor_id: e.actor_id.map(|id| id.to_string()),
            key_id: e.key_id.map(|id| id.to_string()),
            action: e.action.as_str().to_owned(),
            target_kind: e.target_kind.map(|k| k.as_str().to_owned()),
            target_id: e.target_id.map(|id| id.to_string()),
            client_ip: e.client_ip,
            outcome: e.outcome.as_str().to_owned(),
            detail: e.detail.and_then(|d| serde_json::from_str(&d).ok()),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    #[serde(flatten)]
    #[param(ignore)]
    page: PageQuery,
    /// Only events by this actor (a service account's or a user's id).
    #[serde(rename = "actorId")]
    #[param(rename = "actorId")]
    actor_id: Option<String>,
    /// Only this action (`key.delete`), or a family of them (`key.*`).
    action: Option<String>,
    /// Only events about this target (an account's, key's, user's or
    /// organization's id).
    #[serde(rename = "targetId")]
    #[param(rename = "targetId")]
    target_id: Option<String>,
}

/// The longest id or action a filter may name.
const MAX_FILTER_LEN: usize = 100;

fn filter_of(q: &AuditQuery) -> Result<AuditFilter, ApiError> {
    let text = |field: &'static str, value: &Option<String>| text_filter(field, value.as_deref(), MAX_FILTER_LEN);
    let action = match text("action", &q.action)? {
        None => None,
        Some(a) => {
            let (name, family) = match a.strip_suffix(".*") {
                Some(prefix) => (prefix, true),
                None => (a.as_str(), false),
            };
            let well_formed = !name.is_empty()
                && name.split('.').all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphabetic()));
            if !well_formed {
                return Err(ApiError::bad_request("action", "action must be like key.delete or key.*"));
            }
            Some(if family { ActionFilter::Prefix(format!("{name}.")) } else { ActionFilter::Exactly(a) })
        }
    };
    Ok(AuditFilter { actor_id: text("actorId", &q.actor_id)?, action, target_id: text("targetId", &q.target_id)? })
}

/// List audit events.
///
/// Admins. Newest first, paged like service accounts; `actorId`, `action`
/// (exact, or `key.*` for a family) and `targetId` narrow it, together.
#[utoipa::path(
    operation_id = "listAuditEvents", get, path = "/api/audit/v1/event", tag = "audit", params(AuditQuery, PageQuery),
    responses((status = 200, description = "A page of events", body = PageView<AuditEventView>)),
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<PageView<AuditEventView>>, ApiError> {
    let page = PageRequest::parse(LISTING, &q.page)?;
    let filter = filter_of(&q)?;
    let events = state.service.list_audit_events(&p, &filter, page.position, page.limit).await?;
    Ok(Json(PageView::of(LISTING, events, AuditEventView::from)))
}
