//! `/api/webhook/v1/webhook`: an organization's webhook endpoints, their
//! signing secrets (shown once) and their deliveries.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{PageQuery, PageRequest, PageView, PathId};
use crate::domain::UnixTime;
use crate::domain::entity::{WebhookDelivery, WebhookEndpoint};
use crate::domain::webhook::{DeliveryStatus, EndpointUrl, Subscriptions};
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
    /// Why keyward disabled the endpoint itself, after every attempt to
    /// deliver to it failed for days; `null` when it is enabled, or an admin
    /// disabled it. Enabling it clears this.
    pub disabled_reason: Option<String>,
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
            events: e.events.names(),
            url: e.url,
            disabled: e.disabled,
            disabled_reason: e.disabled_reason,
            created: e.created,
            secret_created: e.secret_created,
        }
    }
}

/// A new endpoint with its signing secret, shown only this once.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedWebhookView {
    #[serde(flatten)]
    pub endpoint: WebhookView,
    /// `whsec_` and base64: the Standard Webhooks signing secret. Never
    /// shown again.
    pub secret: String,
}

impl From<CreatedWebhook> for CreatedWebhookView {
    fn from(c: CreatedWebhook) -> Self {
        Self { secret: c.secret.expose(), endpoint: c.endpoint.into() }
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
            event_type: d.event_type.as_str().to_owned(),
            next_attempt_at: (d.status == DeliveryStatus::Pending).then_some(d.next_attempt_at),
            status: d.status.as_str().to_owned(),
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
/// `events[2]`), also for a URL whose host is a loopback or private address
/// or `localhost`. A name is resolved where deliveries are made: one that
/// leads to a private address is refused there, each attempt recording why.
#[utoipa::path(
    operation_id = "createWebhook", post, path = PATH, tag = "webhooks", request_body = CreateWebhook,
    responses(
        (status = 201, description = "Endpoint created; `secret` is shown only now", body = CreatedWebhookView),
        (status = 409, description = "The organization has its 20 webhooks already", body = Problem),
    ),
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
    operation_id = "listWebhooks", get, path = PATH, tag = "webhooks", params(PageQuery),
    responses((status = 200, description = "A page of endpoints", body = PageView<WebhookView>)),
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<PageView<WebhookView>>, ApiError> {
    p.require(crate::domain::Role::Admin)?;
    let page = PageRequest::parse(LISTING, &q)?;
    let endpoints = state.service.list_webhooks(&p, page.position, page.limit).await?;
    Ok(Json(PageView::of(LISTING, endpoints, WebhookView::from)))
}

/// Get a webhook endpoint.
///
/// Admins. `404` for an unknown id or one of another organization.
#[utoipa::path(
    operation_id = "getWebhook", get, path = "/api/webhook/v1/webhook/{id}", tag = "webhooks", params(PathId),
    responses((status = 200, description = "The endpoint", body = WebhookView)),
)]
pub async fn get(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathId(id): PathId,
) -> Result<Json<WebhookView>, ApiError> {
    p.require(crate::domain::Role::Admin)?;
    Ok(Json(state.service.get_webhook(&p, &id).await?.into()))
}

/// Change a webhook endpoint.
///
/// Admins. Any of `url`, `events` and `disabled`; fields left out keep
/// their value. A disabled endpoint is sent nothing: what was queued for it
/// is given up on when its turn comes. An endpoint failing for days is
/// disabled by keyward itself (with `disabledReason`); enabling it again
/// starts its count of failures afresh.
#[utoipa::path(
    operation_id = "updateWebhook", patch, path = "/api/webhook/v1/webhook/{id}", tag = "webhooks",
    params(PathId),
    request_body = UpdateWebhook,
    responses((status = 200, description = "The changed endpoint", body = WebhookView)),
)]
pub async fn update(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathId(id): PathId,
    JsonBody(body): JsonBody<UpdateWebhook>,
) -> Result<Json<WebhookView>, ApiError> {
    p.require(crate::domain::Role::Admin)?;
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
    params(PathId),
    responses((status = 204, description = "Endpoint deleted")),
)]
pub async fn delete(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    p.require(crate::domain::Role::Admin)?;
    state.service.delete_webhook(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replace a webhook endpoint's signing secret.
///
/// Admins. Answers the new secret, shown only this once; every attempt from
/// now on, retries included, is signed with it.
#[utoipa::path(
    operation_id = "rotateWebhookSecret", post, path = "/api/webhook/v1/webhook/{id}/rotate-secret", tag = "webhooks",
    params(PathId),
    responses((status = 200, description = "The new secret", body = WebhookSecretView)),
)]
pub async fn rotate_secret(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathId(id): PathId,
) -> Result<Json<WebhookSecretView>, ApiError> {
    p.require(crate::domain::Role::Admin)?;
    let secret = state.service.rotate_webhook_secret(&p, &id).await?;
    Ok(Json(WebhookSecretView { id: id.to_string(), secret: secret.expose() }))
}

/// List an endpoint's deliveries.
///
/// Admins. Newest first, paged like the endpoints, with each one's status
/// and last attempt. Finished deliveries are kept 30 days.
#[utoipa::path(
    operation_id = "listWebhookDeliveries", get, path = "/api/webhook/v1/webhook/{id}/delivery", tag = "webhooks",
    params(PathId, PageQuery),
    responses((status = 200, description = "A page of deliveries", body = PageView<DeliveryView>)),
)]
pub async fn deliveries(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathId(id): PathId,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<PageView<DeliveryView>>, ApiError> {
    p.require(crate::domain::Role::Admin)?;
    let page = PageRequest::parse(DELIVERY_LISTING, &q)?;
    let deliveries = state.service.list_webhook_deliveries(&p, &id, page.position, page.limit).await?;
    Ok(Json(PageView::of(DELIVERY_LISTING, deliveries, DeliveryView::from)))
}
