//! `/api/service-account/v1/service-account/{id}/key`: a service account's
//! API keys. Creating and rotating are the only answers carrying a secret.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::{IntoParams, ToSchema};

use super::{IdempotencyHeader, KeyPath, PageQuery, PageRequest, PageView, PathId};
use crate::domain::entity::{ApiKey, KeyWithAccount};
use crate::domain::{Cidr, Meta, Narrowing, RateLimit, Role, Scope, UnixTime, cidr, scope};
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::error::{ApiError, Problem};
use crate::http::extract::{ApiQuery, JsonBody, nullable, parse_name};
use crate::service::idempotency::ReplayGuard;
use crate::service::keys::{KeyPatch, Lifetime, MintedKey, NewKey};

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
    /// The key's own role, at most its account's; null: the account's. The
    /// key acts with the lesser of the two.
    pub role: Option<Role>,
    /// Free-form permissions for the services behind a gateway.
    pub scopes: Vec<String>,
    /// The address ranges the key may be used from; empty: anywhere.
    pub allowed_cidrs: Vec<String>,
    /// At most `limit` successful uses in any sliding `period` seconds; null: unlimited.
    pub rate_limit: Option<RateLimitView>,
    /// A JSON object, as it was set.
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Meta>,
}

/// What narrows a key, as key metadata shows it.
struct NarrowingView {
    role: Option<Role>,
    scopes: Vec<String>,
    allowed_cidrs: Vec<String>,
    rate_limit: Option<RateLimitView>,
    meta: Option<Meta>,
}

impl From<&Narrowing> for NarrowingView {
    fn from(n: &Narrowing) -> Self {
        Self {
            role: n.role,
            scopes: n.scopes.iter().map(ToString::to_string).collect(),
            allowed_cidrs: n.allowed_cidrs.iter().map(ToString::to_string).collect(),
            rate_limit: n
                .rate_limit
                .map(|r| RateLimitView { limit: Some(i64::from(r.limit)), period: Some(i64::from(r.period)) }),
            meta: n.meta.clone(),
        }
    }
}

/// A rate limit: at most `limit` successful uses in any sliding window of `period` seconds.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimitView {
    #[schema(required = true, minimum = 1, maximum = 1_000_000)]
    pub limit: Option<i64>,
    /// Seconds.
    #[schema(required = true, minimum = 1, maximum = 86_400)]
    pub period: Option<i64>,
}

impl From<ApiKey> for KeyView {
    fn from(k: ApiKey) -> Self {
        let n = NarrowingView::from(&k.narrowing);
        Self {
            key_id: k.id.to_string(),
            created: k.created,
            name: k.name.map(String::from),
            expires: k.expires,
            last_used: k.last_used,
            disabled: k.disabled,
            created_by: k.created_by.to_string(),
            role: n.role,
            scopes: n.scopes,
            allowed_cidrs: n.allowed_cidrs,
            rate_limit: n.rate_limit,
            meta: n.meta,
        }
    }
}

fn parse_role(raw: &str) -> Result<Role, ApiError> {
    raw.parse().map_err(|e: crate::domain::role::RoleError| ApiError::invalid_field("role", e.to_string()))
}

/// A list field's error names the element at fault: `scopes[3]`.
fn list_error(field: &'static str) -> impl Fn(crate::domain::narrow::ListError) -> ApiError {
    move |(index, detail)| match index {
        Some(i) => ApiError::invalid_field(format!("{field}[{i}]"), detail),
        None => ApiError::invalid_field(field, detail),
    }
}

fn parse_scopes(raw: &[String]) -> Result<Vec<Scope>, ApiError> {
    scope::parse_list(raw).map_err(list_error("scopes"))
}

fn parse_cidrs(raw: &[String]) -> Result<Vec<Cidr>, ApiError> {
    cidr::parse_list(raw).map_err(list_error("allowedCidrs"))
}

fn parse_rate_limit(raw: &RateLimitView) -> Result<RateLimit, ApiError> {
    let limit = raw.limit.ok_or_else(|| ApiError::invalid_field("rateLimit.limit", "is required"))?;
    let period = raw.period.ok_or_else(|| ApiError::invalid_field("rateLimit.period", "is required"))?;
    RateLimit::parse(limit, period)
        .map_err(|e| ApiError::invalid_field(format!("rateLimit.{}", e.member()), e.to_string()))
}

pub(crate) fn parse_meta(raw: Box<RawValue>) -> Result<Meta, ApiError> {
    Meta::parse(&raw).map_err(|e| ApiError::invalid_field("meta", e.to_string()))
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
    /// The key's own role, at most its account's; null: the account's. The
    /// key acts with the lesser of the two.
    pub role: Option<Role>,
    /// Free-form permissions for the services behind a gateway.
    pub scopes: Vec<String>,
    /// The address ranges the key may be used from; empty: anywhere.
    pub allowed_cidrs: Vec<String>,
    /// At most `limit` successful uses in any sliding `period` seconds; null: unlimited.
    pub rate_limit: Option<RateLimitView>,
    /// A JSON object, as it was set.
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Meta>,
}

impl From<MintedKey> for CreatedKeyView {
    fn from(m: MintedKey) -> Self {
        let n = NarrowingView::from(&m.key.narrowing);
        Self {
            created: m.key.created,
            key_id: m.key.id.to_string(),
            secret: m.secret.expose().to_owned(),
            name: m.key.name.map(String::from),
            expires: m.key.expires,
            role: n.role,
            scopes: n.scopes,
            allowed_cidrs: n.allowed_cidrs,
            rate_limit: n.rate_limit,
            meta: n.meta,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateKey {
    name: Option<String>,
    /// Lifetime in seconds from now.
    expires_in: Option<i64>,
    /// Expiry as a Unix time. Give this or `expiresIn`, not both.
    expires: Option<i64>,
    /// The key's own role: at most the account's (and the caller's); it acts
    /// with the lesser of the two. Default: the account's.
    #[schema(value_type = Option<Role>)]
    role: Option<String>,
    /// Up to 50 scopes, each `^[a-z0-9][a-z0-9_.:-]{0,63}$`; duplicates are dropped.
    #[schema(max_items = 50)]
    scopes: Option<Vec<String>>,
    /// Up to 50 IPv4/IPv6 CIDR ranges the key may be used from (a bare
    /// address is its /32 or /128). Default: anywhere.
    #[schema(max_items = 50)]
    allowed_cidrs: Option<Vec<String>>,
    rate_limit: Option<RateLimitView>,
    /// A JSON object of at most 4096 bytes serialized, returned as given.
    #[schema(value_type = Option<Object>)]
    meta: Option<Box<RawValue>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateKey {
    /// A new name; null clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    name: Option<Option<String>>,
    /// A disabled key is refused until enabled again.
    disabled: Option<bool>,
    /// At most the account's (and the caller's) role; null: the account's.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Role>)]
    role: Option<Option<String>>,
    /// Replaces the scopes; null or `[]` removes them.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<String>>, max_items = 50)]
    scopes: Option<Option<Vec<String>>>,
    /// Replaces the ranges; null or `[]`: anywhere.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<String>>, max_items = 50)]
    allowed_cidrs: Option<Option<Vec<String>>>,
    /// null removes the rate limit.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<RateLimitView>)]
    rate_limit: Option<Option<RateLimitView>>,
    /// null removes it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Object>)]
    meta: Option<Option<Box<RawValue>>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotateKey {
    /// Seconds the old key keeps working (default 0: it stops at once).
    grace_period: Option<i64>,
}

/// Create a new serviceAccount key.
///
/// Editors, for accounts whose role does not exceed their own. The body may
/// be `{}` or absent. A key may be narrower than its account: a lesser
/// `role`, `scopes`, `allowedCidrs`, a `rateLimit`, and `meta` for gateways.
/// `409` when the account holds its limit of keys; `422` names a bad field
/// (`scopes[3]`, `rateLimit.limit`…).
#[utoipa::path(
    operation_id = "createServiceAccountKey", post, path = "/api/service-account/v1/service-account/{id}/key", tag = "keys",
    params(PathId, IdempotencyHeader),
    request_body = CreateKey,
    responses(
        (status = 201, description = "ServiceAccount key created", body = CreatedKeyView),
        (status = 409, description = "The account holds its limit of keys", body = Problem),
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathId(account): PathId,
    JsonBody(body): JsonBody<CreateKey>,
) -> Result<(StatusCode, Extension<ReplayGuard>, Json<CreatedKeyView>), ApiError> {
    let lifetime = match (body.expires_in, body.expires) {
        (Some(_), Some(_)) => return Err(ApiError::invalid_field("expires", "give expiresIn or expires, not both")),
        (Some(seconds), None) => Lifetime::For(seconds),
        (None, Some(at)) => Lifetime::Until(at),
        (None, None) => Lifetime::Unlimited,
    };
    let narrowing = Narrowing {
        role: body.role.as_deref().map(parse_role).transpose()?,
        scopes: body.scopes.as_deref().map(parse_scopes).transpose()?.unwrap_or_default(),
        allowed_cidrs: body.allowed_cidrs.as_deref().map(parse_cidrs).transpose()?.unwrap_or_default(),
        rate_limit: body.rate_limit.as_ref().map(parse_rate_limit).transpose()?,
        meta: body.meta.map(parse_meta).transpose()?,
    };
    let new = NewKey { name: body.name.as_deref().map(|n| parse_name("name", n)).transpose()?, lifetime, narrowing };
    let minted = state.service.create_key(&p, &account, new).await?;
    Ok((StatusCode::CREATED, Extension(minted.guard.clone()), Json(minted.into())))
}

/// List a serviceAccount's keys.
///
/// Everyone in the organization. Metadata only.
#[utoipa::path(
    operation_id = "listServiceAccountKeys", get, path = "/api/service-account/v1/service-account/{id}/key", tag = "keys",
    params(PathId),
    responses((status = 200, description = "The account's keys", body = Vec<KeyView>)),
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathId(account): PathId,
) -> Result<Json<Vec<KeyView>>, ApiError> {
    let keys = state.service.list_keys(&p, &account).await?;
    Ok(Json(keys.into_iter().map(KeyView::from).collect()))
}

/// Change a serviceAccount key.
///
/// Editors, for accounts whose role does not exceed their own: `name`,
/// `disabled`, and what narrows the key (`role`, `scopes`, `allowedCidrs`,
/// `rateLimit`, `meta`; null clears). A change takes effect from the very
/// next request, like a revocation.
#[utoipa::path(
    operation_id = "updateServiceAccountKey", patch, path = "/api/service-account/v1/service-account/{id}/key/{key-id}", tag = "keys",
    params(KeyPath),
    request_body = UpdateKey,
    responses((status = 200, description = "The changed key", body = KeyView)),
)]
pub async fn update(
    State(state): State<AppState>,
    Caller(p): Caller,
    KeyPath(account, key): KeyPath,
    JsonBody(body): JsonBody<UpdateKey>,
) -> Result<Json<KeyView>, ApiError> {
    let name = match body.name {
        None => None,
        Some(None) => Some(None),
        Some(Some(n)) => Some(Some(parse_name("name", &n)?)),
    };
    let patch = KeyPatch {
        name,
        disabled: body.disabled,
        role: body.role.map(|r| r.as_deref().map(parse_role).transpose()).transpose()?,
        scopes: body
            .scopes
            .map(|s| s.as_deref().map(parse_scopes).transpose().map(Option::unwrap_or_default))
            .transpose()?,
        allowed_cidrs: body
            .allowed_cidrs
            .map(|c| c.as_deref().map(parse_cidrs).transpose().map(Option::unwrap_or_default))
            .transpose()?,
        rate_limit: body.rate_limit.map(|r| r.as_ref().map(parse_rate_limit).transpose()).transpose()?,
        meta: body.meta.map(|m| m.map(parse_meta).transpose()).transpose()?,
    };
    Ok(Json(state.service.update_key(&p, &account, &key, patch).await?.into()))
}

/// Delete a serviceAccount key.
///
/// Editors, for accounts whose role does not exceed their own. The key is
/// refused from the very next request.
#[utoipa::path(
    operation_id = "deleteServiceAccountKey", delete, path = "/api/service-account/v1/service-account/{id}/key/{key-id}", tag = "keys",
    params(KeyPath),
    responses((status = 204, description = "ServiceAccount key deleted")),
)]
pub async fn delete(
    State(state): State<AppState>,
    Caller(p): Caller,
    KeyPath(account, key): KeyPath,
) -> Result<StatusCode, ApiError> {
    state.service.delete_key(&p, &account, &key).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rotate a serviceAccount key.
///
/// Editors, for accounts whose role does not exceed their own. Returns a
/// new key with its secret, narrowed as the old one and ending when it
/// would have; the old one expires after `gracePeriod` seconds (default 0:
/// at once).
#[utoipa::path(
    operation_id = "rotateServiceAccountKey", post, path = "/api/service-account/v1/service-account/{id}/key/{key-id}/rotate", tag = "keys",
    params(KeyPath, IdempotencyHeader),
    request_body = RotateKey,
    responses(
        (status = 201, description = "The new key", body = CreatedKeyView),
        (status = 409, description = "The key has already expired", body = Problem),
    ),
)]
pub async fn rotate(
    State(state): State<AppState>,
    Caller(p): Caller,
    KeyPath(account, key): KeyPath,
    JsonBody(body): JsonBody<RotateKey>,
) -> Result<(StatusCode, Extension<ReplayGuard>, Json<CreatedKeyView>), ApiError> {
    let minted = state.service.rotate_key(&p, &account, &key, body.grace_period.unwrap_or(0)).await?;
    Ok((StatusCode::CREATED, Extension(minted.guard.clone()), Json(minted.into())))
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
            service_account_name: k.account_name.into(),
            key: k.key.into(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnusedQuery {
    /// Unused for at least this many days, 1 to 3650 (default 30).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 3650)]
    days: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    page: PageQuery,
}

/// Report keys unused for N days.
///
/// Everyone in the organization. Live keys (not expired) whose `lastUsed` —
/// or, never used, whose `created` — is more than `days` days ago, across
/// every service account: the candidates for deletion.
#[utoipa::path(
    operation_id = "listUnusedKeys", get, path = "/api/service-account/v1/key/unused", tag = "keys", params(UnusedQuery, PageQuery),
    responses((status = 200, description = "A page of unused keys", body = PageView<UnusedKeyView>)),
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
    let page = PageRequest::parse(UNUSED_LISTING, &q.page)?;
    let keys = state.service.list_unused_keys(&p, days, page.position, page.limit).await?;
    Ok(Json(PageView::of(UNUSED_LISTING, keys, UnusedKeyView::from)))
}
