//! `/api/service-account/v1/service-account/{id}/key`: a service account's
//! API keys. Creating and rotating are the only answers carrying a secret.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{IdempotencyHeader, OrgQuery, PageRequest, PageView, PathIds};
use crate::domain::UnixTime;
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::error::{ApiError, Problem};
use crate::http::extract::{ApiQuery, Body, JsonBody, nullable, parse_name};
use crate::service::keys::{KeyPatch, Lifetime, MintedKey, NewKey};
use crate::store::{KeyRecord, KeyWithAccount};

/// A key's metadata. Never its secret.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyView {
    pub key_id: String,
    /// Unix seconds.
    pub created: UnixTime,
    pub name: Option<String>,
    /// When the key stops working (Unix seconds); null for never.
    pub expires: Option<UnixTime>,
    /// When the key last authenticated (Unix seconds), if ever; written at
    /// most once a minute per key.
    pub last_used: Option<UnixTime>,
    pub disabled: bool,
    /// Who made the key: `serviceAccount:<id>`, `user:<id>` or `operator`.
    pub created_by: String,
}

impl From<KeyRecord> for KeyView {
    fn from(k: KeyRecord) -> Self {
        Self {
            key_id: k.id.to_string(),
            created: k.created,
            name: k.name,
            expires: k.expires,
            last_used: k.last_used,
            disabled: k.disabled,
            created_by: k.created_by,
        }
    }
}

/// A key as just created: the one answer that carries its secret.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedKeyView {
    pub created: UnixTime,
    pub key_id: String,
    /// The secret. Shown only here, never again.
    #[schema(example = "kw_…")]
    pub secret: String,
    pub name: Option<String>,
    pub expires: Option<UnixTime>,
}

impl From<MintedKey> for CreatedKeyView {
    fn from(m: MintedKey) -> Self {
        Self {
            created: m.key.created,
            key_id: m.key.id.to_string(),
            secret: m.secret.expose().to_owned(),
            name: m.key.name,
            expires: m.key.expires,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateKey {
    name: Option<String>,
    /// Lifetime in seconds from now.
    expires_in: Option<i64>,
    /// Expiry as a Unix time. Give this or `expiresIn`, not both.
    expires: Option<i64>,
}

impl Body for CreateKey {
    const FIELDS: &'static [&'static str] = &["name", "expiresIn", "expires"];
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateKey {
    /// A new name; null clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    name: Option<Option<String>>,
    /// A disabled key is refused until enabled again.
    disabled: Option<bool>,
}

impl Body for UpdateKey {
    const FIELDS: &'static [&'static str] = &["name", "disabled"];
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RotateKey {
    /// Seconds the old key keeps working (default 0: it stops at once).
    grace_period: Option<i64>,
}

impl Body for RotateKey {
    const FIELDS: &'static [&'static str] = &["gracePeriod"];
}

/// Create a new serviceAccount key.
///
/// Editors, for accounts whose role does not exceed their own. The body may
/// be `{}` or absent. `409` when the account holds its limit of keys.
#[utoipa::path(
    operation_id = "createServiceAccountKey", post, path = "/api/service-account/v1/service-account/{id}/key", tag = "keys",
    params(("id" = String, Path, description = "ServiceAccount id"), OrgQuery, IdempotencyHeader),
    request_body(content = Option<CreateKey>),
    responses(
        (status = 201, description = "ServiceAccount key created", body = CreatedKeyView),
        (status = 403, description = "The caller may not do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such service account", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The account holds its limit of keys", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is wrong", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []), ("basic" = []), ("session" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    Caller(p): Caller,
    ids: PathIds,
    JsonBody(body): JsonBody<CreateKey>,
) -> Result<(StatusCode, Json<CreatedKeyView>), ApiError> {
    let account = ids.one()?;
    let lifetime = match (body.expires_in, body.expires) {
        (Some(_), Some(_)) => return Err(ApiError::invalid_field("expires", "give expiresIn or expires, not both")),
        (Some(seconds), None) => Lifetime::For(seconds),
        (None, Some(at)) => Lifetime::Until(at),
        (None, None) => Lifetime::Unlimited,
    };
    let new = NewKey { name: body.name.as_deref().map(|n| parse_name("name", n)).transpose()?, lifetime };
    let minted = state.service.create_key(&p, &account, new).await?;
    Ok((StatusCode::CREATED, Json(minted.into())))
}

/// List a serviceAccount's keys.
///
/// Everyone in the organization. Metadata only.
#[utoipa::path(
    operation_id = "listServiceAccountKeys", get, path = "/api/service-account/v1/service-account/{id}/key", tag = "keys",
    params(("id" = String, Path, description = "ServiceAccount id"), OrgQuery),
    responses(
        (status = 200, description = "The account's keys", body = Vec<KeyView>),
        (status = 404, description = "No such service account", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []), ("basic" = []), ("session" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(p): Caller,
    ids: PathIds,
) -> Result<Json<Vec<KeyView>>, ApiError> {
    let account = ids.one()?;
    let keys = state.service.list_keys(&p, &account).await?;
    Ok(Json(keys.into_iter().map(KeyView::from).collect()))
}

/// Change a serviceAccount key.
///
/// Editors, for accounts whose role does not exceed their own: `name`
/// and `disabled`. A disabled key is refused from the very next request.
#[utoipa::path(
    operation_id = "updateServiceAccountKey", patch, path = "/api/service-account/v1/service-account/{id}/key/{key-id}", tag = "keys",
    params(("id" = String, Path, description = "ServiceAccount id"), ("key-id" = String, Path, description = "The id of the key"), OrgQuery),
    request_body = UpdateKey,
    responses(
        (status = 200, description = "The changed key", body = KeyView),
        (status = 404, description = "No such service account or key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is wrong", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []), ("basic" = []), ("session" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    Caller(p): Caller,
    ids: PathIds,
    JsonBody(body): JsonBody<UpdateKey>,
) -> Result<Json<KeyView>, ApiError> {
    let (account, key) = ids.two()?;
    let name = match body.name {
        None => None,
        Some(None) => Some(None),
        Some(Some(n)) => Some(Some(parse_name("name", &n)?)),
    };
    let patch = KeyPatch { name, disabled: body.disabled };
    Ok(Json(state.service.update_key(&p, &account, &key, patch).await?.into()))
}

/// Delete a serviceAccount key.
///
/// Editors, for accounts whose role does not exceed their own. The key is
/// refused from the very next request.
#[utoipa::path(
    operation_id = "deleteServiceAccountKey", delete, path = "/api/service-account/v1/service-account/{id}/key/{key-id}", tag = "keys",
    params(("id" = String, Path, description = "ServiceAccount id"), ("key-id" = String, Path, description = "The id of the key to delete"), OrgQuery),
    responses(
        (status = 204, description = "ServiceAccount key deleted"),
        (status = 404, description = "No such service account or key", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []), ("basic" = []), ("session" = []))
)]
pub async fn delete(State(state): State<AppState>, Caller(p): Caller, ids: PathIds) -> Result<StatusCode, ApiError> {
    let (account, key) = ids.two()?;
    state.service.delete_key(&p, &account, &key).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rotate a serviceAccount key.
///
/// Editors, for accounts whose role does not exceed their own. Returns a
/// new key with its secret; the old one expires after `gracePeriod` seconds
/// (default 0: at once).
#[utoipa::path(
    operation_id = "rotateServiceAccountKey", post, path = "/api/service-account/v1/service-account/{id}/key/{key-id}/rotate", tag = "keys",
    params(("id" = String, Path, description = "ServiceAccount id"), ("key-id" = String, Path, description = "The id of the key to replace"), OrgQuery, IdempotencyHeader),
    request_body(content = Option<RotateKey>),
    responses(
        (status = 201, description = "The new key", body = CreatedKeyView),
        (status = 404, description = "No such service account or key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The key has already expired", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is wrong", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []), ("basic" = []), ("session" = []))
)]
pub async fn rotate(
    State(state): State<AppState>,
    Caller(p): Caller,
    ids: PathIds,
    JsonBody(body): JsonBody<RotateKey>,
) -> Result<(StatusCode, Json<CreatedKeyView>), ApiError> {
    let (account, key) = ids.two()?;
    let minted = state.service.rotate_key(&p, &account, &key, body.grace_period.unwrap_or(0)).await?;
    Ok((StatusCode::CREATED, Json(minted.into())))
}

const UNUSED_LISTING: &str = "unused";

/// A key nobody has used for a while, and whose it is.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnusedKeyView {
    pub service_account_id: String,
    pub service_account_name: String,
    #[serde(flatten)]
    pub key: KeyView,
}

impl From<KeyWithAccount> for UnusedKeyView {
    fn from(k: KeyWithAccount) -> Self {
        Self {
            service_account_id: k.key.account_id.to_string(),
            service_account_name: k.account_name,
            key: k.key.into(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnusedQuery {
    /// Pin to organization (Organization.id).
    #[serde(rename = "orgId")]
    #[param(rename = "orgId")]
    #[allow(dead_code)]
    org_id: Option<String>,
    /// Unused for at least this many days, 1 to 3650 (default 30).
    days: Option<String>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<String>,
    /// `nextCursor` from the previous page.
    cursor: Option<String>,
}

/// Report keys unused for N days.
///
/// Everyone in the organization. Live keys (not expired) whose `lastUsed` —
/// or, never used, whose `created` — is more than `days` days ago, across
/// every service account: the candidates for deletion.
#[utoipa::path(
    operation_id = "listUnusedKeys", get, path = "/api/service-account/v1/key/unused", tag = "keys", params(UnusedQuery),
    responses(
        (status = 200, description = "A page of unused keys", body = PageView<UnusedKeyView>),
        (status = 400, description = "A bad query parameter", body = Problem, content_type = "application/problem+json"),
    ),
    security(("apiKey" = []), ("basic" = []), ("session" = []))
)]
pub async fn unused(
    State(state): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<UnusedQuery>,
) -> Result<Json<PageView<UnusedKeyView>>, ApiError> {
    let days = match q.days.as_deref() {
        None => 30,
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|d| (1..=3650).contains(d))
            .ok_or_else(|| ApiError::bad_request("days", "days must be a whole number from 1 to 3650"))?,
    };
    let page = PageRequest::parse(UNUSED_LISTING, q.limit.as_deref(), q.cursor.as_deref())?;
    let keys = state.service.list_unused_keys(&p, days, page.position, page.limit).await?;
    Ok(Json(PageView::of(UNUSED_LISTING, keys, UnusedKeyView::from)))
}
