//! `/api/webhook/v1/webhook`: an organization's webhook endpoints, their
//! signing secrets (shown once) and their deliveries.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{OrgQuery, PageRequest, PageView, PathIds};
use crate::domain::UnixTime;
use crate::domain::entity::{WebhookDelivery, WebhookEndpoint};
use crate::domain::webhook::{EndpointUrl, Subscriptions};
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::error::{ApiError, Problem};
use crate::http::extract::{ApiQuery, JsonBody, nullable};
use crate::service::webhooks::{CreatedWebhook, NewWebhook, WebhookPatch};

pub const PATH: &str = "/api/webhook/v1/webhook";
const LISTING: &str = "webhook";
const DELIVERY_LISTING: &str = "webhook-delivery";

/// An endpoint, without its secret.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookView {
    pub id: String,
    pub org_id: String,
    pub url: String,
    /// Event names (`key.created`) and families (`key.*`) it receives.
    pub events: Vec<String>,
    /// A disabled endpoint is sent nothing.
    pub disabled: bool,
    /// Unix seconds.
    pub created: UnixTime,
    /// When the signing secret was made (Unix seconds).
    pub secret_created: UnixTime,
}

impl From<WebhookEndpoint> for WebhookView {
    fn from(e: WebhookEndpoint) -> Self {
        Self {
            id: e.id.to_string(),
            org_id: e.org_id.to_string(),
            events: Subscriptions::from_stored(&e.events).names(),
            url: e.url,
            disabled: e.disabled,
            created: e.created,
            secret_created: e.secret_created,
        }
    }
}

/// A new endpoint with its signing secret, shown only this once.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedWebhookView {
    pub id: String,
    pub org_id: String,
    pub url: String,
    pub events: Vec<String>,
    pub disabled: bool,
    pub created: UnixTime,
    pub secret_created: UnixTime,
    /// `whsec_` and base64: the Standard Webhooks signing secret. Never
    /// shown again.
    pub secret: String,
}

impl From<CreatedWebhook> for CreatedWebhookView {
    fn from(c: CreatedWebhook) -> Self {
        let secret = c.secret.expose();
        let v = WebhookView::from(c.endpoint);
        Self {
            id: v.id,
            org_id: v.org_id,
            url: v.url,
            events: v.events,
            disabled: v.disabled,
            created: v.created,
            secret_created: v.secret_created,
            secret,
        }
    }
}

/// A new signing secret, shown only this once.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSecretView {
    pub id: String,
    /// `whsec_` and base64. Every attempt from now on is signed with it.
    pub secret: String,
}

/// One delivery and how it went.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    /// Also the `webhook-id` header, the same on every attempt.
    pub id: String,
    /// For example `key.created`.
    pub event_type: String,
    /// `pending`, `delivered` or `failed` (given up on after 24 hours of
    /// failing, or cancelled because the endpoint was disabled).
    pub status: String,
    pub attempts: i64,
    /// The HTTP status of the last answer, if one came.
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    /// Unix seconds.
    pub created: UnixTime,
    pub delivered_at: Option<UnixTime>,
    /// While pending: not before this (Unix seconds).
    pub next_attempt_at: Option<UnixTime>,
}

impl From<WebhookDelivery> for DeliveryView {
    fn from(d: WebhookDelivery) -> Self {
        Self {
            id: d.id.to_string(),
            event_type: d.event_type,
            next_attempt_at: (d.status == "pending").then_some(d.next_attempt_at),
            status: d.status,
            attempts: d.attempts,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            created: d.created,
            delivered_at: d.delivered_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateWebhook {
    /// http(s) URL of at most 2048 characters; it must not resolve to a
    /// loopback or private address unless the server runs with
    /// `--webhook-allow-private`.
    #[schema(required = true, example = "https://hooks.example.com/keyward")]
    url: Option<String>,
    /// 1 to 50 event names (`key.created`) or families (`key.*`).
    #[schema(required = true, example = json!(["key.*", "account.deleted"]))]
    events: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateWebhook {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    url: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<String>>)]
    events: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<bool>)]
    disabled: Option<Option<bool>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Pin to organization (Organization.id).
    #[serde(rename = "orgId")]
    #[param(rename = "orgId")]
    #[allow(dead_code)]
    org_id: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// `nextCursor` from the previous page.
    cursor: Option<String>,
}

fn parse_url(raw: &str) -> Result<EndpointUrl, ApiError> {
    EndpointUrl::parse(raw).map_err(|why| ApiError::invalid_field("url", why))
}

fn parse_events(raw: &[String]) -> Result<Subscriptions, ApiError> {
    Subscriptions::parse(raw).map_err(|(i, why)| match i {
        Some(i) => ApiError::invalid_field(format!("events[{i}]"), why),
        None => ApiError::invalid_field("events", why),
    })
}

/// Create a webhook endpoint.
///
/// Admins. Answers the endpoint with its signing secret, which is never
/// shown again. `422` names the field at fault (`url`, `events`,
/// `events[2]`), also for a URL that resolves to a loopback or private
/// address.
#[utoipa::path(
    operation_id = "createWebhook", post, path = PATH, tag = "webhooks", params(OrgQuery),
    request_body = CreateWebhook,
    responses(
        (status = 201, description = "Endpoint created; `secret` is shown only now", body = CreatedWebhookView),
        (status = 403, description = "Admins only", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The organization has its 20 webhooks already", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []), ("basic" = []), ("session" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    Caller(p): Caller,
    JsonBody(body): JsonBody<CreateWebhook>,
) -> Result<(StatusCode, Json<CreatedWebhookView>), ApiError> {
    p.require(crate::domain::Role::Admin)?;
    let url = parse_url(body.url.as_deref().ok_or_else(|| ApiError::invalid_field("url", "is required"))?)?;
    let events = parse_events(&body.events.ok_or_else(|| ApiError::invalid_field("events", "is required"))?)?;
    let created = state.service.create_webhook(&p, NewWebhook { url, events }).await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// List webhook endpoints.
///
/// Admins. Creation order, with stable cursors; never a secret.
#[utoipa::path(
    operation_id = "listWebhooks", get, path = PATH, tag = "webhooks", params(ListQuery),
    responses(
        (status = 200, description = "A page of endpoints", body = PageView<WebhookView>),
        (status = 403, description = "Admins only", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []), ("basic" = []), ("session" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<PageView<WebhookView>>, ApiError> {
    p.require(crate::domain::Role::Admin)?;
    let page = PageRequest::parse(LISTING, q.limit.as_deref(), q.cursor.as_deref())?;
    let endpoints = state.service.list_webhooks(&p, page.position, page.limit).await?;
    Ok(Json(PageView::of(LISTING, endpoints, WebhookView::from)))
}

/// Get a webhook endpoint.
///
/// Admins. `404` for an unknown id or one of another organization.
#[utoipa::path(
    operation_id = "getWebhook", get, path = "/api/webhook/v1/webhook/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id"), OrgQuery),
    responses(
        (status = 200, description = "The endpoint", body = WebhookView),
        (status = 403, description = "Admins only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []), ("basic" = []), ("session" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    Caller(p): Caller,
    ids: PathIds,
) -> Result<Json<WebhookView>, ApiError> {
    p.require(crate::domain::Role::Admin)?;
    let id = ids.one()?;
    Ok(Json(state.service.get_webhook(&p, &id).await?.into()))
}

/// Change a webhook endpoint.
///
/// Admins. Any of `url`, `events` and `disabled`; fields left out keep
/// their value. A disabled endpoint is sent nothing: what was queued for it
/// is given up on when its turn comes.
#[utoipa::path(
    operation_id = "updateWebhook", patch, path = "/api/webhook/v1/webhook/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id"), OrgQuery),
    request_body = UpdateWebhook,
    responses(
        (status = 200, description = "The changed endpoint", body = WebhookView),
        (status = 403, description = "Admins only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []), ("basic" = []), ("session" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    Caller(p): Caller,
    ids: PathIds,
    JsonBody(body): JsonBody<UpdateWebhook>,
) -> Result<Json<WebhookView>, ApiError> {
    p.require(crate::domain::Role::Admin)?;
    let id = ids.one()?;
    let not_null = |field: &'static str| move || ApiError::invalid_field(field, "must not be null");
    let patch = WebhookPatch {
        url: body.url.map(|u| u.ok_or_else(not_null("url")).and_then(|u| parse_url(&u))).transpose()?,
        events: body.events.map(|e| e.ok_or_else(not_null("events")).and_then(|e| parse_events(&e))).transpose()?,
        disabled: body.disabled.map(|d| d.ok_or_else(not_null("disabled"))).transpose()?,
    };
    Ok(Json(state.service.update_webhook(&p, &id, patch).await?.into()))
}

/// Delete a webhook endpoint.
///
/// Admins. Its queued and past deliveries go with it.
#[utoipa::path(
    operation_id = "deleteWebhook", delete, path = "/api/webhook/v1/webhook/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id"), OrgQuery),
    responses(
        (status = 204, description = "Endpoint deleted"),
        (status = 403, description = "Admins only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []), ("basic" = []), ("session" = []))
)]
pub async fn delete(State(state): State<AppState>, Caller(p): Caller, ids: PathIds) -> Result<StatusCode, ApiError> {
    p.require(crate::domain::Role::Admin)?;
    let id = ids.one()?;
    state.service.delete_webhook(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replace a webhook endpoint's signing secret.
///
/// Admins. Answers the new secret, shown only this once; every attempt from
/// now on, retries included, is signed with it.
#[utoipa::path(
    operation_id = "rotateWebhookSecret", post, path = "/api/webhook/v1/webhook/{id}/rotate-secret", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id"), OrgQuery),
    responses(
        (status = 200, description = "The new secret", body = WebhookSecretView),
        (status = 403, description = "Admins only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []), ("basic" = []), ("session" = []))
)]
pub async fn rotate_secret(
    State(state): State<AppState>,
    Caller(p): Caller,
    ids: PathIds,
) -> Result<Json<WebhookSecretView>, ApiError> {
    p.require(crate::domain::Role::Admin)?;
    let id = ids.one()?;
    let secret = state.service.rotate_webhook_secret(&p, &id).await?;
    Ok(Json(WebhookSecretView { id: id.to_string(), secret: secret.expose() }))
}

/// List an endpoint's deliveries.
///
/// Admins. Newest first, paged like the endpoints, with each one's status
/// and last attempt. Finished deliveries are kept 30 days.
#[utoipa::path(
    operation_id = "listWebhookDeliveries", get, path = "/api/webhook/v1/webhook/{id}/delivery", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id"), ListQuery),
    responses(
        (status = 200, description = "A page of deliveries", body = PageView<DeliveryView>),
        (status = 403, description = "Admins only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []), ("basic" = []), ("session" = []))
)]
pub async fn deliveries(
    State(state): State<AppState>,
    Caller(p): Caller,
    ids: PathIds,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<PageView<DeliveryView>>, ApiError> {
    p.require(crate::domain::Role::Admin)?;
    let id = ids.one()?;
    let page = PageRequest::parse(DELIVERY_LISTING, q.limit.as_deref(), q.cursor.as_deref())?;
    let deliveries = state.service.list_webhook_deliveries(&p, &id, page.position, page.limit).await?;
    Ok(Json(PageView::of(DELIVERY_LISTING, deliveries, DeliveryView::from)))
}
